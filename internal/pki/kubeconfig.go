package pki

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ServersExtension names the kubeconfig cluster extension that lists every
// API server of a cluster of servers (docs/ha.md): petset kubectl fails
// over among them; other clients ignore it and use the cluster's server.
const ServersExtension = "petset.io/servers"

type serversExtension struct {
	Servers []string `json:"servers"`
}

// WriteKubeconfig writes a kubeconfig (mode 0600) for server with the CA of
// f and a bearer token, with one context named "petset". With others (the
// other API servers of a cluster of servers), its cluster carries the
// ServersExtension listing server and then the others.
func (f Files) WriteKubeconfig(path, server, token string, others ...string) error {
	ca, err := os.ReadFile(f.CACert())
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cluster := &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	if len(others) > 0 {
		raw, err := json.Marshal(serversExtension{Servers: append([]string{server}, others...)})
		if err != nil {
			return fmt.Errorf("encode kubeconfig: %w", err)
		}
		cluster.Extensions = map[string]runtime.Object{ServersExtension: &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}}
	}
	cfg.Clusters["petset"] = cluster
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["petset"] = &clientcmdapi.Context{Cluster: "petset", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "petset"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	return writePrivate(path, b)
}

// KubeconfigServers are the API servers a kubeconfig cluster's
// ServersExtension lists, nil without one.
func KubeconfigServers(c *clientcmdapi.Cluster) []string {
	if c == nil {
		return nil
	}
	var raw []byte
	switch ext := c.Extensions[ServersExtension].(type) {
	case *runtime.Unknown:
		raw = ext.Raw
	default:
		return nil
	}
	var s serversExtension
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil
	}
	return s.Servers
}
