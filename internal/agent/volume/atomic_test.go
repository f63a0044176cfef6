package volume

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestWriteFilesAtomicLayout: files live behind ..data, which is swapped to
// a new directory when anything changes and left alone otherwise; names no
// longer projected disappear, and so do old data directories.
func TestWriteFilesAtomicLayout(t *testing.T) {
	dir := t.TempDir()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	if err := writeFiles(dir, map[string]file{"a": {[]byte("1"), 0o644}, "sub/b": {[]byte("2"), 0o600}}); err != nil {
		t.Fatal(err)
	}
	first, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil {
		t.Fatalf("no ..data link: %v", err)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "a")); l != "..data/a" {
		t.Errorf("a links to %q", l)
	}
	if read("a") != "1" || read("sub/b") != "2" {
		t.Errorf("contents %q %q", read("a"), read("sub/b"))
	}
	if st, _ := os.Stat(filepath.Join(dir, "sub/b")); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("sub/b mode %v", st)
	}

	if err := writeFiles(dir, map[string]file{"a": {[]byte("1"), 0o644}, "sub/b": {[]byte("2"), 0o600}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, "..data")); again != first {
		t.Errorf("unchanged files swapped ..data: %s -> %s", first, again)
	}

	if err := writeFiles(dir, map[string]file{"a": {[]byte("new"), 0o644}}); err != nil {
		t.Fatal(err)
	}
	second, _ := os.Readlink(filepath.Join(dir, "..data"))
	if second == first {
		t.Error("changed files did not swap ..data")
	}
	if read("a") != "new" {
		t.Errorf("a = %q", read("a"))
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("sub survives: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old data directory %s survives: %v", first, err)
	}
	if err := writeFiles(dir, map[string]file{"../x": {[]byte("x"), 0o644}}); err == nil {
		t.Error("a path escaping the volume was written")
	}
}

// tokens hands out numbered tokens and records what was forgotten.
type tokens struct {
	n      int
	forgot []types.UID
}

func (s *tokens) Token(_ context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error) {
	s.n++
	return []byte(pod.Spec.ServiceAccountName + "-" + src.Audience + "-" + string(rune('0'+s.n))), nil
}

func (s *tokens) Forget(uid types.UID) { s.forgot = append(s.forgot, uid) }

// TestProjectedServiceAccountToken: the token projection's file holds what
// the token source returns, next to the other sources; Unmount forgets the
// pod's tokens.
func TestProjectedServiceAccountToken(t *testing.T) {
	dir := t.TempDir()
	src := &tokens{}
	objs := objects{cms: map[string]*corev1.ConfigMap{"ns/kube-root-ca.crt": {Data: map[string]string{"ca.crt": "CA"}}}}
	m, err := New(Config{NodeName: "n1", VolumeDir: filepath.Join(dir, "v"), PodsDir: filepath.Join(dir, "pods"), Objects: objs, Fields: fieldsStub{}, Tokens: src})
	if err != nil {
		t.Fatal(err)
	}
	exp := int64(3607)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"},
		Spec: corev1.PodSpec{ServiceAccountName: "bot", Volumes: []corev1.Volume{{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp, Audience: "api"}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			},
		}}}}},
	}
	vols, err := m.Mount(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	v := vols["kube-api-access-abcde"]
	for name, want := range map[string]string{"token": "bot-api-1", "ca.crt": "CA"} {
		if b, err := os.ReadFile(filepath.Join(v.HostPath, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q (%v), want %q", name, b, err, want)
		}
	}
	if !v.ReadOnly {
		t.Error("projected volume not read-only")
	}
	if err := m.Unmount(context.Background(), pod.UID); err != nil {
		t.Fatal(err)
	}
	if len(src.forgot) != 1 || src.forgot[0] != "u1" {
		t.Errorf("forgotten %v, want [u1]", src.forgot)
	}
}
