package pki

import (
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// WriteKubeconfig writes a kubeconfig (mode 0600) for server with the CA of
// f and a bearer token, with one context named "petset".
func (f Files) WriteKubeconfig(path, server, token string) error {
	ca, err := os.ReadFile(f.CACert())
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["petset"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["petset"] = &clientcmdapi.Context{Cluster: "petset", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "petset"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	return writePrivate(path, b)
}
