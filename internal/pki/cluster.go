package pki

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ServerToken is the token another server presents to join this one's
// cluster (petset server --server … --token-file). It is not the join
// token agents use: whoever holds it receives the cluster's CA keys.
func (f Files) ServerToken() string { return filepath.Join(f.Dir, "server.token") }

// EnsureServerToken creates the server token when it is missing.
func (f Files) EnsureServerToken() error {
	if _, err := os.Stat(f.ServerToken()); err == nil {
		return nil
	}
	tok, err := newToken()
	if err != nil {
		return err
	}
	return writePrivate(f.ServerToken(), []byte(tok+"\n"))
}

// sharedFiles are the credentials every server of one cluster holds the
// same (paths relative to the PKI directory): the cluster CA and etcd's CA
// with their keys (each server issues its own serving, peer and client
// certificates from them), the service-account signing key (a token one
// server issued is valid at every other), and the tokens. The rest of a
// server's credentials it makes itself.
var sharedFiles = []string{
	"ca.crt", "ca.key", filepath.Join("etcd", "ca.crt"), filepath.Join("etcd", "ca.key"),
	"sa.key", "sa.pub", "admin.token", "join.token", "server.token",
}

// ReadShared reads the credentials every server of the cluster shares,
// keyed by their path relative to the PKI directory.
func (f Files) ReadShared() (map[string][]byte, error) {
	out := make(map[string][]byte, len(sharedFiles))
	for _, name := range sharedFiles {
		b, err := os.ReadFile(filepath.Join(f.Dir, name))
		if err != nil {
			return nil, fmt.Errorf("read shared credential: %w", err)
		}
		out[name] = b
	}
	return out, nil
}

// WriteShared writes the credentials another server of the cluster sent
// (ReadShared's) into an empty PKI directory, every file mode 0600 but the
// certificates and sa.pub (0644). A directory that already holds a CA
// belongs to a cluster of its own: it is refused, nothing is written.
func (f Files) WriteShared(files map[string][]byte) error {
	if _, err := os.Stat(f.CACert()); err == nil {
		return fmt.Errorf("%s already holds a CA: this data dir belongs to a cluster of its own; join with a fresh --data-dir", f.Dir)
	}
	for _, name := range sharedFiles {
		if len(files[name]) == 0 {
			return fmt.Errorf("the cluster sent no %s", name)
		}
	}
	if err := os.MkdirAll(filepath.Join(f.Dir, "etcd"), 0o700); err != nil {
		return fmt.Errorf("create pki dir: %w", err)
	}
	if err := os.Chmod(f.Dir, 0o700); err != nil {
		return fmt.Errorf("create pki dir: %w", err)
	}
	// The CA certificate last: its presence marks a complete directory.
	var errs []error
	for _, name := range append(sharedFiles[1:], sharedFiles[0]) {
		p := filepath.Join(f.Dir, name)
		switch filepath.Ext(name) {
		case ".crt", ".pub":
			if err := os.WriteFile(p+".tmp", files[name], 0o644); err != nil {
				errs = append(errs, fmt.Errorf("write %s: %w", p, err))
			} else if err := os.Rename(p+".tmp", p); err != nil {
				errs = append(errs, fmt.Errorf("write %s: %w", p, err))
			}
		default:
			errs = append(errs, writePrivate(p, files[name]))
		}
	}
	return errors.Join(errs...)
}
