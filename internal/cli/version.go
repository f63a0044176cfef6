package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"petset/internal/apiserver"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print petset's version and the Kubernetes API version it serves",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok {
				v = bi.Main.Version
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v += " " + s.Value
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "petset %s\nKubernetes API: %s\n", v, apiserver.KubernetesVersion.GitVersion)
			return nil
		},
	}
}
