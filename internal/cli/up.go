package cli

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	restclient "k8s.io/client-go/rest"

	"petset/internal/agent/runtime/linux"
	"petset/internal/logging"
	"petset/internal/memtrim"
	"petset/internal/node"
)

// trimSettle is how long after the ready line the start-up's memory is
// given back (memtrim): the first informer syncs and node status writes
// are over by then.
const trimSettle = 3 * time.Second

// trimAfterStart gives back the memory only start-up used (memtrim); a
// failure costs only memory, so it is logged.
func trimAfterStart(ctx context.Context, cmd *cobra.Command) {
	if err := memtrim.AfterStart(ctx, trimSettle); err != nil {
		logging.FromContext(cmd.Context()).Warn("give back start-up memory", "err", err)
	}
}

func newUpCommand() *cobra.Command {
	var f controlPlaneFlags
	var nf nodeFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine: control plane, DNS and a local node agent",
		Long: `Run everything on this machine: embedded etcd, the API server, the controllers,
cluster DNS and a node agent whose pods are isolated Linux processes (needs
root; --isolation=none runs them as plain processes). With --simulate-nodes N,
N simulated nodes run instead, whose pods become Ready without running anything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := nf.simCapacity(); err != nil {
				return err
			}
			if nf.simulate == 0 {
				// The local node's pods reach the API server through the
				// relay on their bridge's gateway address.
				gw, err := node.Gateway(nf.podCIDR)
				if err != nil {
					return err
				}
				f.tlsSANs = append(f.tlsSANs, gw)
				if nf.isolation == linux.IsolationNamespaces && f.advertise == "" {
					// The kubernetes Service's endpoint is that relay.
					f.advertise, f.advertisePort = gw, 443
				}
			}
			cp, err := f.controlPlane(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// The control plane does not end with the signal: it stops
			// (cancel) once the nodes have stopped.
			cpCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			defer cancel()
			if err := f.serveProfiles(cpCtx); err != nil {
				return err
			}

			cpErr := make(chan error, 1)
			go func() { cpErr <- cp.Run(cpCtx) }()
			select {
			case <-cp.Ready():
			case err := <-cpErr:
				return err
			case <-ctx.Done():
				cancel()
				return <-cpErr
			}
			client := &restclient.Config{
				Host:            cp.ServerURL(),
				TLSClientConfig: restclient.TLSClientConfig{CAFile: cp.CAFile()},
				QPS:             200, Burst: 400, UserAgent: "petset-agent",
				// The node agent runs in this process: no gzip of its
				// watches and lists (see the API server's loopback config).
				DisableCompression: true,
			}
			nf.stopPodsOnExit = true
			nf.inProcess = cp.Handler()
			nf.sharedDir = f.sharedDir
			// The local nodes get certificates from the CA at hand.
			if nf.ca, err = cp.CA(); err != nil {
				cancel()
				<-cpErr
				return err
			}
			nodes, err := nf.nodes(client, f.dataDir, cp.JoinToken(), cmd)
			if err != nil {
				cancel()
				<-cpErr
				return err
			}
			// Nodes stop before the control plane, so their last status
			// writes reach it.
			nodeCtx, stopNodes := context.WithCancel(ctx)
			defer stopNodes()
			nodesReady := make(chan struct{})
			nodesErr := make(chan error, 1)
			go func() { nodesErr <- nf.runNodes(nodeCtx, nodes, nodesReady) }()
			select {
			case <-nodesReady:
				fmt.Fprintf(cmd.OutOrStdout(), "petset is ready; kubeconfig: %s\n", cp.KubeconfigPath())
				go trimAfterStart(ctx, cmd)
			case err := <-nodesErr:
				cancel()
				<-cpErr
				return fmt.Errorf("node: %w", err)
			case err := <-cpErr:
				stopNodes()
				<-nodesErr
				return err
			}
			var runErr error
			select {
			case <-ctx.Done():
			case runErr = <-nodesErr:
				nodesErr <- nil
			case runErr = <-cpErr:
				cpErr <- nil
			}
			stopNodes()
			nerr := <-nodesErr
			cancel()
			cerr := <-cpErr
			return errors.Join(runErr, nerr, cerr)
		},
	}
	f.register(cmd)
	nf.register(cmd, "simulate-nodes")
	return cmd
}
