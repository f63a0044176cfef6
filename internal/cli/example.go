package cli

import (
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"petset/examples"
)

func init() {
	extraCommands = append(extraCommands, newExampleCommand)
}

// newExampleCommand runs one of the seeds' example apps; the image catalog
// maps the seeds' images (luksa/kubia-pet, …) to it.
func newExampleCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "example APP [args...]",
		Short:              fmt.Sprintf("Run an example app (%v)", examples.Names()),
		Hidden:             true,
		DisableFlagParsing: true,
		Args:               cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			main, ok := examples.App(args[0])
			if !ok {
				return fmt.Errorf("no example app %q; have %v", args[0], examples.Names())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return main(ctx, args[1:])
		},
	}
}
