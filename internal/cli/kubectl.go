package cli

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/cmd"
)

// newKubectlCommand is kubectl itself, built in. Unless KUBECONFIG or
// --kubeconfig says otherwise, it uses the kubeconfig petset wrote.
func newKubectlCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl",
		Short:              "Run kubectl (built in) against petset",
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
				if p := filepath.Join(defaultDataDir(), "kubeconfig"); fileExists(p) {
					os.Setenv("KUBECONFIG", p)
				}
			}
			k := cmd.NewDefaultKubectlCommand()
			k.SetArgs(args)
			return k.ExecuteContext(c.Context())
		},
	}
}

func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--kubeconfig" || len(a) > 13 && a[:13] == "--kubeconfig=" {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
