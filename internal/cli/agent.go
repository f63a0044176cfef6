package cli

import (
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	restclient "k8s.io/client-go/rest"

	"petset/internal/apiclient"
	"petset/internal/logging"
	"petset/internal/pki"
)

func init() {
	extraCommands = append(extraCommands, newAgentCommand)
}

// newAgentCommand runs one node that joins a petset server.
func newAgentCommand() *cobra.Command {
	var nf nodeFlags
	var server, token, tokenFile, caFile, dataDir string
	var verbosity int
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node agent that joins a petset server and runs the pods bound to this node",
		Long: `Run a node agent that joins a petset server (started with petset server) and runs
the pods bound to this node. --token-file names a file holding the server's
join token (a copy of <server data dir>/pki/join.token) and --ca-file its CA
(<server data dir>/pki/ca.crt). The join token is a bootstrap token: the agent
uses it once to request the node's client certificate (system:node:<name>),
kept in <data dir>/node/pki, and authenticates with that certificate from then
on; a node that has a certificate needs no token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == "" {
				return fmt.Errorf("--server is required")
			}
			if _, err := nf.simCapacity(); err != nil {
				return err
			}
			if nf.fenceTimeout < 0 {
				return fmt.Errorf("--fence-timeout must not be negative (0 turns the fence off)")
			}
			if nf.leaseDuration < time.Second || nf.leaseDuration%time.Second != 0 {
				return fmt.Errorf("--node-lease-duration must be a whole number of seconds, at least 1s")
			}
			if tokenFile != "" {
				t, err := pki.ReadToken(tokenFile)
				if err != nil {
					return fmt.Errorf("--token-file: %w", err)
				}
				token = t
			}
			if caFile == "" {
				return fmt.Errorf("--ca-file is required: the server's CA certificate (<server data dir>/pki/ca.crt)")
			}
			log := logging.Setup(cmd.ErrOrStderr(), verbosity)
			cmd.SetContext(logging.IntoContext(cmd.Context(), log))
			servers, err := apiclient.ParseServers(server)
			if err != nil {
				return fmt.Errorf("--server: %w", err)
			}
			client := &restclient.Config{
				TLSClientConfig: restclient.TLSClientConfig{CAFile: caFile},
				QPS:             200, Burst: 400, UserAgent: "petset-agent",
			}
			// Several servers: requests go to one that answers.
			if err := apiclient.Failover(cmd.Context(), client, servers); err != nil {
				return fmt.Errorf("--server: %w", err)
			}
			nf.otherServers = servers[1:]
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
	fs.StringVar(&server, "server", "", "URL of the petset API server (https://host:6443), or a comma-separated list of the servers of one cluster (docs/ha.md): requests go to one that answers")
	fs.StringVar(&tokenFile, "token-file", "", "file holding the server's join (bootstrap) token; needed until the node has its client certificate")
	fs.StringVar(&token, "token", "", "the server's join token (deprecated: visible in ps; use --token-file)")
	_ = fs.MarkHidden("token")
	_ = fs.MarkDeprecated("token", "it shows the token to every user of the machine; use --token-file")
	fs.StringVar(&caFile, "ca-file", "", "the server's CA certificate")
	fs.StringVar(&dataDir, "data-dir", defaultDataDir(), "directory for the node's runtime state, pods and volumes")
	fs.StringVar(&nf.sharedDir, "shared-volume-dir", "", sharedDirUsage+"; the node is labelled with the directory's ID")
	fs.IntVarP(&verbosity, "v", "v", 0, "log verbosity")
	nf.register(cmd, "simulate")
	fs.DurationVar(&nf.fenceTimeout, "fence-timeout", 20*time.Second, "cut the pods of this node off the network when the agent has not confirmed them with the API server for this long (docs/fencing.md); keep it below the server's --node-monitor-grace-period minus a quarter of --node-lease-duration; 0 turns the fence off (and with it automatic failover of this node's pods)")
	fs.DurationVar(&nf.leaseDuration, "node-lease-duration", 40*time.Second, "duration of the node's lease (kubelet's nodeLeaseDurationSeconds); the agent renews it every quarter of it")
	return cmd
}
