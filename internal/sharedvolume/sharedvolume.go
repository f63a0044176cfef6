package sharedvolume

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ProvisionerName provisions a directory under the shared root per claim.
	ProvisionerName = "petset.io/shared"
	// ClassName is the StorageClass a server with a shared root installs.
	ClassName = "shared"
	// RootLabel is set by an agent with a shared root on its Node: the
	// root's ID. A shared volume's node affinity requires it, so a pod
	// using one may run on any node that reaches the same files.
	RootLabel = "petset.io/shared-volume-root"
	// DirAnnotation is set by such an agent on its Node: the root's path.
	DirAnnotation = "petset.io/shared-volume-dir"
	// Finalizer is put on every shared volume. The control plane's volume
	// controller removes the volume's directory and then the finalizer
	// once the PV is deleted and no longer bound.
	Finalizer = "petset.io/shared-volume"
	// IDFile holds the root's ID inside the root.
	IDFile = ".petset-shared-root"
)

// Ensure returns the ID of the shared root dir, making the directory and
// its ID file when missing. dir must be absolute.
func Ensure(dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("shared volume dir %q must be an absolute path", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("shared volume dir: %w", err)
	}
	path := filepath.Join(dir, IDFile)
	if id, err := readID(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("shared volume dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, IDFile+".*")
	if err != nil {
		return "", fmt.Errorf("shared volume dir: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(b[:]) + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("shared volume dir: %w", werr)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", fmt.Errorf("shared volume dir: %w", err)
	}
	// A link never replaces an existing file: of processes racing here,
	// the first wins and everyone reads its ID.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("shared volume dir: %w", err)
	}
	return readID(path)
}

func readID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("shared volume dir: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if len(id) == 0 || len(id) > 63 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", fmt.Errorf("shared volume dir: %s does not hold a shared-root ID (16 hex digits)", path)
	}
	return id, nil
}

// StorageClass is the "shared" class of the root with id: provisioned by
// petset.io/shared, reclaim policy Delete, bound on the first consumer and
// limited to the nodes that reach the root.
func StorageClass(id string) *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	return &storagev1.StorageClass{
		TypeMeta:          metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
		ObjectMeta:        metav1.ObjectMeta{Name: ClassName},
		Provisioner:       ProvisionerName,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &mode,
		AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{
			Key: RootLabel, Values: []string{id},
		}}}},
	}
}

// RootOf returns the shared-root ID a volume's required node affinity
// names, or "".
func RootOf(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			if e.Key == RootLabel && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}

// Under reports whether path lies strictly inside dir (both absolute).
func Under(dir, path string) bool {
	if dir == "" || !filepath.IsAbs(path) {
		return false
	}
	rel, err := filepath.Rel(dir, filepath.Clean(path))
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../")
}
