package node

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"

	"petset/internal/agent"
	"petset/internal/agent/runtime"
	"petset/internal/agent/stream"
	"petset/internal/pki"
)

// agentRef lets the streaming server, which must listen before the agent
// exists (the agent publishes its port), reach the agent once it is built.
type agentRef struct {
	mu sync.Mutex
	a  *agent.Agent
}

var errAgentNotReady = errors.New("node agent is not running yet")

func (r *agentRef) get() (*agent.Agent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.a == nil {
		return nil, errAgentNotReady
	}
	return r.a, nil
}

// ContainerID finds the runtime's container of a pod's container.
func (r *agentRef) ContainerID(namespace, pod, container string, previous bool) (string, error) {
	a, err := r.get()
	if err != nil {
		return "", err
	}
	return a.ContainerID(namespace, pod, container, previous)
}

func (r *agentRef) set(a *agent.Agent) {
	r.mu.Lock()
	r.a = a
	r.mu.Unlock()
}

// clusterCA is the CA the node trusts the API server by (its client
// config's), which also signs the API server's client certificate.
func (n *Node) clusterCA() (*x509.CertPool, error) {
	tc := n.cfg.Client.TLSClientConfig
	data := tc.CAData
	if len(data) == 0 && tc.CAFile != "" {
		b, err := os.ReadFile(tc.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cluster CA: %w", err)
		}
		data = b
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("no cluster CA certificate in the client configuration")
	}
	return pool, nil
}

// startStreaming starts the node's streaming server (logs, exec, attach,
// port-forward) and returns its port once it listens.
func (n *Node) startStreaming(ctx context.Context, rt runtime.Runtime, goRun func(string, func(context.Context) error)) (int, error) {
	clientCAs, err := n.clusterCA()
	if err != nil {
		return 0, fmt.Errorf("node %s: streaming server: %w", n.cfg.Name, err)
	}
	cfg := stream.Config{
		Addr: n.cfg.StreamAddr, Pods: &n.agent, Runtime: rt,
		GetCertificate: servingCertificate(n.serving),
		// Only the API server, by its client certificate of the cluster CA.
		ClientCAs: clientCAs, AllowedClients: []string{pki.KubeletClientUser},
	}
	if n.cfg.Simulate {
		cfg.SimulatedNode = n.cfg.Name
	}
	srv, err := stream.New(cfg)
	if err != nil {
		return 0, fmt.Errorf("node %s: streaming server: %w", n.cfg.Name, err)
	}
	goRun("streaming server", srv.Run)
	select {
	case <-srv.Ready():
		return srv.Port(), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
