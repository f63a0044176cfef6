package cli

import (
	"fmt"
	"os/signal"
	"runtime/debug"
	"strings"
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
		Use:   "example APP [args...]",
		Short: fmt.Sprintf("Run a built-in example app: %s (what the seeds' images run)", strings.Join(examples.Names(), ", ")),
		Long: fmt.Sprintf(`Run one of the example apps built into petset: %s.

They are the small programs behind the seeds' images: the image catalog maps
luksa/kubia-pet to "petset example kubia", luksa/kubia-pet-peers to
"kubiapeers", hello-stateful to "hellostateful", and uses "static" and
"dnsutils" when the host has no nginx or dig (see docs/images.md). Pods run
them as /.petset/petset example APP; run one by hand to try it, e.g.

  petset example kubia --listen 127.0.0.1:8080 --data-file /tmp/kubia.txt

"petset example APP --help" lists an app's flags.`, strings.Join(examples.Names(), ", ")),
		DisableFlagParsing: true,
		Args:               cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			main, ok := examples.App(args[0])
			if !ok {
				return fmt.Errorf("no example app %q; have %v", args[0], examples.Names())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// An app runs as long as its pod: give back the heap that
			// the binary's package inits grew (≈ 5 MB per app).
			debug.FreeOSMemory()
			return main(ctx, args[1:])
		},
	}
}
