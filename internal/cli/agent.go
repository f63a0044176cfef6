package cli

import (
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	restclient "k8s.io/client-go/rest"

	"petset/internal/logging"
)

func init() {
	extraCommands = append(extraCommands, newAgentCommand)
}

// newAgentCommand runs one node that joins a petset server.
func newAgentCommand() *cobra.Command {
	var nf nodeFlags
	var server, token, caFile, dataDir string
	var verbosity int
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node agent that joins a petset server and runs the pods bound to this node",
		Long: `Run a node agent that joins a petset server (started with petset server) and runs
the pods bound to this node. --token is the server's join token
(<server data dir>/pki/join.token) and --ca-file its CA (<server data dir>/pki/ca.crt).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == "" || token == "" {
				return fmt.Errorf("--server and --token are required")
			}
			if caFile == "" {
				return fmt.Errorf("--ca-file is required: the server's CA certificate (<server data dir>/pki/ca.crt)")
			}
			log := logging.Setup(cmd.ErrOrStderr(), verbosity)
			cmd.SetContext(withLogger(cmd.Context(), log))
			client := &restclient.Config{
				Host: server, BearerToken: token,
				TLSClientConfig: restclient.TLSClientConfig{CAFile: caFile},
				QPS:             200, Burst: 400, UserAgent: "petset-agent",
			}
			nodes, err := nf.nodes(client, dataDir, token, cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			ready := make(chan struct{})
			errc := make(chan error, 1)
			go func() { errc <- nf.runNodes(ctx, nodes, ready) }()
			select {
			case <-ready:
				fmt.Fprintf(cmd.OutOrStdout(), "petset agent is ready; node %s joined %s\n", nf.name, server)
			case err := <-errc:
				return err
			}
			return <-errc
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&server, "server", "", "URL of the petset API server (https://host:6443)")
	fs.StringVar(&token, "token", "", "the server's join token")
	fs.StringVar(&caFile, "ca-file", "", "the server's CA certificate")
	fs.StringVar(&dataDir, "data-dir", defaultDataDir(), "directory for the node's runtime state, pods and volumes")
	fs.IntVarP(&verbosity, "v", "v", 0, "log verbosity")
	nf.register(cmd, "simulate")
	return cmd
}
