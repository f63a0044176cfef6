package cli

import (
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func newUpCommand() *cobra.Command {
	var f controlPlaneFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine: control plane and a local node agent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cp, err := f.controlPlane(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runUntilDone(ctx, cmd, cp.Run, cp.Ready(), cp.KubeconfigPath)
		},
	}
	f.register(cmd)
	return cmd
}
