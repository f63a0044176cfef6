package cli

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// NewRoot returns the petset command with all its subcommands.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "petset",
		Short:         "Kubernetes StatefulSets in one binary",
		Long:          "petset runs stateful, replicated applications the way Kubernetes StatefulSets do, as one binary that speaks the Kubernetes API.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newUpCommand(), newServerCommand(), newKubectlCommand(), newVersionCommand())
	for _, extra := range extraCommands {
		root.AddCommand(extra())
	}
	return root
}

// extraCommands are commands of other files (agent, hidden roles).
var extraCommands []func() *cobra.Command

// DataDirEnv names the environment variable that sets the default data dir
// of every command (up, server, agent, kubectl).
const DataDirEnv = "PETSET_DATA_DIR"

// defaultDataDir is $PETSET_DATA_DIR if set, else /var/lib/petset for root,
// else $XDG_DATA_HOME/petset (~/.local/share/petset).
func defaultDataDir() string {
	if d := os.Getenv(DataDirEnv); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/petset"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "petset")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".petset"
	}
	return filepath.Join(home, ".local", "share", "petset")
}
