package volume

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
)

type objects struct {
	cms  map[string]*corev1.ConfigMap
	secs map[string]*corev1.Secret
	pvcs map[string]*corev1.PersistentVolumeClaim
	pvs  map[string]*corev1.PersistentVolume
	// reads counts the objects read, by kind, when set.
	reads map[string]int
}

func (o objects) read(kind string) {
	if o.reads != nil {
		o.reads[kind]++
	}
}

func nf(res, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: res}, name)
}

func (o objects) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	o.read("configmap")
	if c, ok := o.cms[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, nf("configmaps", name)
}
func (o objects) Secret(ns, name string) (*corev1.Secret, error) {
	o.read("secret")
	if c, ok := o.secs[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, nf("secrets", name)
}
func (o objects) PersistentVolumeClaim(ns, name string) (*corev1.PersistentVolumeClaim, error) {
	o.read("pvc")
	if c, ok := o.pvcs[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, nf("persistentvolumeclaims", name)
}
func (o objects) PersistentVolume(name string) (*corev1.PersistentVolume, error) {
	o.read("pv")
	if c, ok := o.pvs[name]; ok {
		return c, nil
	}
	return nil, nf("persistentvolumes", name)
}

type fieldsStub struct{}

func (fieldsStub) FieldRef(pod *corev1.Pod, path string) (string, error) {
	if path == "metadata.name" {
		return pod.Name, nil
	}
	return "", os.ErrInvalid
}
func (fieldsStub) ResourceFieldRef(*corev1.Pod, string, *corev1.ResourceFieldSelector) (string, error) {
	return "1", nil
}

func localPV(name, node, path string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: []string{Finalizer}},
		Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
}

func TestMountResolvesVolumes(t *testing.T) {
	dir := t.TempDir()
	volDir := filepath.Join(dir, "volumes")
	pvPath := filepath.Join(volDir, "pvc-123")
	hostDir := filepath.Join(dir, "host", "made")
	objs := objects{
		cms:  map[string]*corev1.ConfigMap{"ns/cfg": {Data: map[string]string{"a.conf": "A", "b.conf": "B"}}},
		secs: map[string]*corev1.Secret{"ns/sec": {Data: map[string][]byte{"pw": []byte("s3cret")}}},
		pvcs: map[string]*corev1.PersistentVolumeClaim{"ns/data-web-0": {
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pvc-123"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
		}},
		pvs:   map[string]*corev1.PersistentVolume{"pvc-123": localPV("pvc-123", "n1", pvPath)},
		reads: map[string]int{},
	}
	now := time.Unix(1_000_000, 0)
	m, err := New(Config{NodeName: "n1", VolumeDir: volDir, PodsDir: filepath.Join(dir, "pods"), Objects: objs, Fields: fieldsStub{},
		RefreshPeriod: 30 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	mode := int32(0o600)
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns", UID: "u1"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-web-0"}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir, Type: &dirOrCreate}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
				Items:                []corev1.KeyToPath{{Key: "a.conf", Path: "sub/a.conf", Mode: &mode}},
			}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
			{Name: "opt", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Optional: ptrTrue(),
			}}},
			{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			}}},
		}},
	}
	vols, err := m.Mount(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if vols["data"].HostPath != pvPath {
		t.Errorf("data -> %q", vols["data"].HostPath)
	}
	if st, err := os.Stat(pvPath); err != nil || st.Mode().Perm() != 0o777 {
		t.Errorf("pv dir: %v %v", st, err)
	}
	if _, err := os.Stat(hostDir); err != nil {
		t.Errorf("hostPath DirectoryOrCreate not created: %v", err)
	}
	read := func(vol, file string) string {
		b, err := os.ReadFile(filepath.Join(vols[vol].HostPath, file))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	if got := read("cfg", "sub/a.conf"); got != "A" {
		t.Errorf("cfg a = %q", got)
	}
	if _, err := os.Stat(filepath.Join(vols["cfg"].HostPath, "b.conf")); err == nil {
		t.Error("b.conf projected though items select a.conf only")
	}
	if st, _ := os.Stat(filepath.Join(vols["cfg"].HostPath, "sub/a.conf")); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st)
	}
	if got := read("sec", "pw"); got != "s3cret" {
		t.Errorf("secret = %q", got)
	}
	if got := read("info", "name"); got != "web-0" {
		t.Errorf("downward name = %q", got)
	}
	if !vols["cfg"].ReadOnly || vols["scratch"].ReadOnly {
		t.Error("read-only flags wrong")
	}

	want := map[string]int{"pvc": 1, "pv": 1, "configmap": 2, "secret": 1}
	if !maps.Equal(objs.reads, want) {
		t.Errorf("first mount read %v, want %v", objs.reads, want)
	}

	// Within the refresh period a Mount reads nothing and writes nothing.
	objs.cms["ns/cfg"].Data["a.conf"] = "A2"
	now = now.Add(29 * time.Second)
	again, err := m.Mount(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(again, vols) {
		t.Errorf("second mount %v, want %v", again, vols)
	}
	if got := read("cfg", "sub/a.conf"); got != "A" || !maps.Equal(objs.reads, want) {
		t.Errorf("within the refresh period: cfg = %q, reads %v", got, objs.reads)
	}

	// After it, a change of the ConfigMap is picked up; the claim is not
	// read again.
	now = now.Add(2 * time.Second)
	if _, err := m.Mount(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"pvc": 1, "pv": 1, "configmap": 4, "secret": 2}
	if got := read("cfg", "sub/a.conf"); got != "A2" || !maps.Equal(objs.reads, want) {
		t.Errorf("refreshed cfg = %q, reads %v, want %v", got, objs.reads, want)
	}

	// A label change (downwardAPI may show labels) refreshes at once.
	objs.cms["ns/cfg"].Data["a.conf"] = "A3"
	pod.Labels = map[string]string{"app": "web"}
	if _, err := m.Mount(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if got := read("cfg", "sub/a.conf"); got != "A3" {
		t.Errorf("cfg after a label change = %q", got)
	}

	// Unmount removes per-pod directories, never the PV's.
	if err := m.Unmount(context.Background(), pod.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(vols["scratch"].HostPath); !os.IsNotExist(err) {
		t.Errorf("emptyDir survives: %v", err)
	}
	if _, err := os.Stat(pvPath); err != nil {
		t.Errorf("pv dir removed: %v", err)
	}
}

func ptrTrue() *bool { b := true; return &b }

func TestMountErrors(t *testing.T) {
	dir := t.TempDir()
	objs := objects{pvcs: map[string]*corev1.PersistentVolumeClaim{"ns/pending": {}}}
	m, err := New(Config{NodeName: "n1", VolumeDir: filepath.Join(dir, "v"), PodsDir: filepath.Join(dir, "p"), Objects: objs, Fields: fieldsStub{}})
	if err != nil {
		t.Fatal(err)
	}
	dirType := corev1.HostPathDirectory
	for name, v := range map[string]corev1.VolumeSource{
		"unbound claim":      {PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pending"}},
		"missing configmap":  {ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}},
		"missing directory":  {HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(dir, "absent"), Type: &dirType}},
		"unsupported source": {NFS: &corev1.NFSVolumeSource{Server: "x", Path: "/"}},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: v}}}}
		if _, err := m.Mount(context.Background(), pod); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReclaimDelete(t *testing.T) {
	dir := t.TempDir()
	volDir := filepath.Join(dir, "volumes")
	mine := localPV("pvc-mine", "n1", filepath.Join(volDir, "pvc-mine"))
	other := localPV("pvc-other", "n2", filepath.Join(volDir, "pvc-other"))
	now := metav1.Now()
	mine.DeletionTimestamp, other.DeletionTimestamp = &now, &now
	for _, pv := range []*corev1.PersistentVolume{mine, other} {
		if err := os.MkdirAll(filepath.Join(pv.Spec.Local.Path, "sub"), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pv.Spec.Local.Path, "data"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	client := fake.NewSimpleClientset(mine, other)
	m, err := New(Config{NodeName: "n1", VolumeDir: volDir, PodsDir: filepath.Join(dir, "pods"), Objects: objects{}, Fields: fieldsStub{}, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, pv := range []*corev1.PersistentVolume{mine, other} {
		if err := m.ReconcilePV(ctx, pv); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(mine.Spec.Local.Path); !os.IsNotExist(err) {
		t.Errorf("deleted pv's directory remains: %v", err)
	}
	got, _ := client.CoreV1().PersistentVolumes().Get(ctx, "pvc-mine", metav1.GetOptions{})
	if len(got.Finalizers) != 0 {
		t.Errorf("finalizers %v", got.Finalizers)
	}
	if _, err := os.Stat(filepath.Join(other.Spec.Local.Path, "data")); err != nil {
		t.Errorf("other node's volume touched: %v", err)
	}
	got, _ = client.CoreV1().PersistentVolumes().Get(ctx, "pvc-other", metav1.GetOptions{})
	if len(got.Finalizers) != 1 {
		t.Errorf("other node's finalizer removed")
	}
}

// Set-up failures read as kubelet's FailedMount messages and keep their
// causes (a missing object stays NotFound; an unmountable kind is
// ErrUnsupported).
func TestMountErrorMessages(t *testing.T) {
	dir := t.TempDir()
	objs := objects{
		pvcs: map[string]*corev1.PersistentVolumeClaim{"ns/gce": {
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "gce-disk"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
		}},
		pvs: map[string]*corev1.PersistentVolume{"gce-disk": {
			ObjectMeta: metav1.ObjectMeta{Name: "gce-disk"},
			Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
				GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: "my-data-disk"},
			}},
		}},
	}
	m, err := New(Config{NodeName: "n1", VolumeDir: filepath.Join(dir, "volumes"), PodsDir: filepath.Join(dir, "pods"), Objects: objs, Fields: fieldsStub{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src         corev1.VolumeSource
		want        string
		notFound    bool
		unsupported bool
	}{
		{
			src:      corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mysql"}}},
			want:     `MountVolume.SetUp failed for volume "v" : configmap "mysql" not found`,
			notFound: true,
		},
		{
			src:      corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}},
			want:     `MountVolume.SetUp failed for volume "v" : secret "creds" not found`,
			notFound: true,
		},
		{
			src:      corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "p"}}}}}},
			want:     `MountVolume.SetUp failed for volume "v" : configmap "p" not found`,
			notFound: true,
		},
		{
			src:      corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "nope"}},
			want:     `MountVolume.SetUp failed for volume "v" : persistentvolumeclaim "nope" not found`,
			notFound: true,
		},
		{
			src:         corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "gce"}},
			want:        `MountVolume.SetUp failed for volume "v" : volume type not supported by petset: persistentvolume "gce-disk" is gcePersistentDisk (petset mounts local and hostPath persistent volumes)`,
			unsupported: true,
		},
		{
			src:         corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nas", Path: "/export"}},
			want:        `MountVolume.SetUp failed for volume "v" : volume type not supported by petset: nfs (petset mounts persistentVolumeClaim, hostPath, emptyDir, configMap, secret, downwardAPI and projected volumes)`,
			unsupported: true,
		},
	} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"},
			Spec:       corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: tc.src}}},
		}
		_, err := m.Mount(context.Background(), pod)
		if err == nil || err.Error() != tc.want {
			t.Errorf("error %v\nwant  %s", err, tc.want)
			continue
		}
		var su *SetUpError
		if !errors.As(err, &su) || su.Volume != "v" {
			t.Errorf("%v is not a SetUpError for v", err)
		}
		if apierrors.IsNotFound(err) != tc.notFound || errors.Is(err, ErrUnsupported) != tc.unsupported {
			t.Errorf("%v: NotFound %v, unsupported %v", err, apierrors.IsNotFound(err), errors.Is(err, ErrUnsupported))
		}
	}
}

// A simulated node's mounts read the objects as a real node's do (and fail
// as they do) but leave the disk untouched.
func TestSimulatedMountWritesNothing(t *testing.T) {
	dir := t.TempDir()
	volDir := filepath.Join(dir, "volumes")
	objs := objects{
		cms: map[string]*corev1.ConfigMap{"ns/cfg": {Data: map[string]string{"a.conf": "A"}}},
		pvcs: map[string]*corev1.PersistentVolumeClaim{
			"ns/data-web-0": {Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pvc-123"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}},
			"ns/pending":    {},
		},
		pvs:   map[string]*corev1.PersistentVolume{"pvc-123": localPV("pvc-123", "n1", filepath.Join(volDir, "pvc-123"))},
		reads: map[string]int{},
	}
	m, err := New(Config{NodeName: "n1", VolumeDir: volDir, PodsDir: filepath.Join(dir, "pods"), Objects: objs, Fields: fieldsStub{}, Simulated: true})
	if err != nil {
		t.Fatal(err)
	}
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	group := int64(2000)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns", UID: "u1"},
		Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{FSGroup: &group}, Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-web-0"}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(dir, "host"), Type: &dirOrCreate}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		}},
	}
	vols, err := m.Mount(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if got := vols["data"].HostPath; got != filepath.Join(volDir, "pvc-123") {
		t.Errorf("claim volume at %q", got)
	}
	if got := vols["cfg"].HostPath; got != filepath.Join(m.PodDir("u1"), "volumes", "cfg") {
		t.Errorf("configMap volume at %q", got)
	}
	if objs.reads["configmap"] != 1 || objs.reads["pvc"] != 1 || objs.reads["pv"] != 1 {
		t.Errorf("objects read: %v", objs.reads)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("simulated mount wrote %d entries under %s, the first %s", len(entries), dir, entries[0].Name())
	}

	for name, v := range map[string]corev1.VolumeSource{
		"unbound claim":     {PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pending"}},
		"missing configmap": {ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}},
	} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u2"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: v}}}}
		if _, err := m.Mount(context.Background(), p); err == nil {
			t.Errorf("simulated %s: no error", name)
		}
	}
}
