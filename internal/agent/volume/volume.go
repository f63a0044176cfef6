package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"petset/internal/pvnode"
	"petset/internal/sharedvolume"
)

// Names of petset's local-volume contract.
const (
	// Finalizer holds a deleted PV until its node removed the directory.
	Finalizer = "petset.io/local-volume"
	// VolumeDirAnnotation is the Node annotation naming its volume directory.
	VolumeDirAnnotation = "petset.io/volume-dir"

	// pvProtectionFinalizer and pvcProtectionFinalizer are Kubernetes'
	// storage-object-in-use protection (internal/controller/storageprotection):
	// a PV that still carries the first is bound to a claim, so its data stays.
	pvProtectionFinalizer  = "kubernetes.io/pv-protection"
	pvcProtectionFinalizer = "kubernetes.io/pvc-protection"
)

// Objects gives the manager the API objects volumes refer to. A missing
// object is reported with an error satisfying apierrors.IsNotFound.
type Objects interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, error)
	Secret(namespace, name string) (*corev1.Secret, error)
	PersistentVolumeClaim(namespace, name string) (*corev1.PersistentVolumeClaim, error)
	PersistentVolume(name string) (*corev1.PersistentVolume, error)
}

// TokenSource returns the service-account token a projection asks for,
// bound to pod (kubelet's token manager: requested through the API,
// cached, renewed before it expires).
type TokenSource interface {
	Token(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error)
	// Forget drops what is kept for the pod with uid (it was torn down).
	Forget(uid types.UID)
}

// FieldResolver resolves downward-API references for downwardAPI and
// projected volumes; the agent supplies the same resolution it uses for env.
type FieldResolver interface {
	FieldRef(pod *corev1.Pod, fieldPath string) (string, error)
	ResourceFieldRef(pod *corev1.Pod, containerName string, ref *corev1.ResourceFieldSelector) (string, error)
}

// Config wires a Manager.
type Config struct {
	NodeName string
	// VolumeDir is where this node keeps provisioned volumes (absolute).
	VolumeDir string
	// SharedDir is the shared volume root this node reaches ("" for none;
	// see internal/sharedvolume): a claim's directory under it is made on
	// mount, as one under VolumeDir is.
	SharedDir string
	// PodsDir is where per-pod directories are made (absolute).
	PodsDir string
	Objects Objects
	Fields  FieldResolver
	// Tokens supplies serviceAccountToken projections; nil leaves their
	// files absent.
	Tokens TokenSource
	// Client updates PVs during reclaim; nil disables ReconcilePV.
	Client kubernetes.Interface
	// RefreshPeriod is how long a pod's configMap, secret, downwardAPI and
	// projected files are kept before a Mount writes them again from the
	// objects (0: 30 s). Within it, Mount returns what it set up before,
	// reading nothing, unless the pod's labels or annotations changed.
	RefreshPeriod time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Simulated sets volumes up without touching the disk: no directory
	// made, no file written, no ownership changed (a simulated node runs
	// no process that would read them). The objects are still read and the
	// tokens requested as for a pod that runs, so a mount fails alike (a
	// missing ConfigMap, a claim not bound). The paths are those a real
	// node would use.
	Simulated bool
}

// ErrUnsupported marks a volume of a kind petset cannot mount (a cloud
// disk, a CSI driver, …); retrying does not help until the pod or the
// volume changes.
var ErrUnsupported = errors.New("volume type not supported by petset")

// SetUpError is a failure to prepare one of a pod's volumes. Its message has
// kubelet's shape: MountVolume.SetUp failed for volume "config" : configmap
// "mysql" not found.
type SetUpError struct {
	Volume string
	Err    error
}

func (e *SetUpError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

func (e *SetUpError) Unwrap() error { return e.Err }

// objectError reports a failed read of an object a volume refers to. A
// missing object reads as kubelet's object managers say it (configmap "x"
// not found) and still satisfies apierrors.IsNotFound.
func objectError(kind, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: kind}, name)
	}
	return fmt.Errorf("%s %q: %w", kind, name, err)
}

// sourceKind names the volume type a VolumeSource or PersistentVolumeSource
// sets, by its field's JSON name (gcePersistentDisk, csi, nfs, …).
func sourceKind(src any) string {
	v := reflect.ValueOf(src)
	t := v.Type()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return "unknown"
}

// Manager resolves and prepares volumes.
type Manager struct {
	cfg Config

	mu    sync.Mutex
	owned map[string]bool // "<pod uid>/<volume>" whose fsGroup ownership is applied
	// mounted is what Mount set up for each pod, until Unmount.
	mounted map[types.UID]*podMounts
}

// podMounts is one pod's set-up volumes. Claims, hostPath and emptyDir
// volumes stay as they are for the pod's life (a pod's volumes and its
// claims' bindings cannot change); projected files are rewritten when
// refreshed passes the refresh period or the pod's metadata that
// downwardAPI files show changes.
type podMounts struct {
	vols        map[string]Volume
	refreshed   time.Time
	labels      map[string]string
	annotations map[string]string
}

// Volume is one prepared pod volume.
type Volume struct {
	HostPath string
	ReadOnly bool
	// Local is set for a claim bound to a local persistent volume.
	Local bool
}

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	if !filepath.IsAbs(cfg.VolumeDir) || !filepath.IsAbs(cfg.PodsDir) {
		return nil, fmt.Errorf("volume: VolumeDir %q and PodsDir %q must be absolute", cfg.VolumeDir, cfg.PodsDir)
	}
	if cfg.Objects == nil || cfg.Fields == nil {
		return nil, errors.New("volume: Objects and Fields are required")
	}
	if cfg.RefreshPeriod <= 0 {
		cfg.RefreshPeriod = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{cfg: cfg, owned: map[string]bool{}, mounted: map[types.UID]*podMounts{}}, nil
}

// PodDir is the per-pod directory of a pod.
func (m *Manager) PodDir(uid types.UID) string {
	return filepath.Join(m.cfg.PodsDir, string(uid))
}

// Mount prepares every volume of pod and returns them by volume name. The
// first Mount of a pod reads every object its volumes name; later ones
// return the same volumes, rewriting the projected files (configMap,
// secret, downwardAPI, projected) only once the refresh period has passed
// or the pod's labels or annotations changed, as kubelet's volume manager
// mounts once and remounts only those on its periodic sync.
func (m *Manager) Mount(ctx context.Context, pod *corev1.Pod) (map[string]Volume, error) {
	m.mu.Lock()
	st := m.mounted[pod.UID]
	m.mu.Unlock()
	now := m.cfg.Now()
	if st != nil && now.Sub(st.refreshed) < m.cfg.RefreshPeriod &&
		maps.Equal(st.labels, pod.Labels) && maps.Equal(st.annotations, pod.Annotations) {
		return maps.Clone(st.vols), nil
	}
	out := make(map[string]Volume, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if st != nil && !projected(v) {
			if vol, ok := st.vols[v.Name]; ok {
				out[v.Name] = vol
				continue
			}
		}
		vol, err := m.mountOne(ctx, pod, v)
		if err == nil && !m.cfg.Simulated {
			err = m.applyFSGroup(pod, v, vol)
		}
		if err != nil {
			return nil, &SetUpError{Volume: v.Name, Err: err}
		}
		out[v.Name] = vol
	}
	m.mu.Lock()
	m.mounted[pod.UID] = &podMounts{vols: out, refreshed: now, labels: maps.Clone(pod.Labels), annotations: maps.Clone(pod.Annotations)}
	m.mu.Unlock()
	return maps.Clone(out), nil
}

// projected reports whether v's files are written from API objects or the
// pod's fields (and so are refreshed).
func projected(v *corev1.Volume) bool {
	return v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil
}

func (m *Manager) volDir(pod *corev1.Pod, name string) string {
	return filepath.Join(m.PodDir(pod.UID), "volumes", name)
}

func (m *Manager) mountOne(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (Volume, error) {
	switch {
	case v.PersistentVolumeClaim != nil:
		return m.mountClaim(pod, v.PersistentVolumeClaim)
	case v.HostPath != nil:
		if m.cfg.Simulated {
			return Volume{HostPath: v.HostPath.Path}, nil
		}
		if err := prepareHostPath(v.HostPath.Path, v.HostPath.Type); err != nil {
			return Volume{}, err
		}
		return Volume{HostPath: v.HostPath.Path}, nil
	case v.EmptyDir != nil:
		dir := m.volDir(pod, v.Name)
		if m.cfg.Simulated {
			return Volume{HostPath: dir}, nil
		}
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return Volume{}, fmt.Errorf("emptyDir: %w", err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			return Volume{}, fmt.Errorf("emptyDir: %w", err)
		}
		return Volume{HostPath: dir}, nil
	case projected(v):
		files, err := m.projectedFiles(ctx, pod, v)
		if err != nil {
			return Volume{}, err
		}
		dir := m.volDir(pod, v.Name)
		if m.cfg.Simulated {
			return Volume{HostPath: dir, ReadOnly: true}, nil
		}
		if err := writeFiles(dir, files); err != nil {
			return Volume{}, err
		}
		return Volume{HostPath: dir, ReadOnly: true}, nil
	default:
		return Volume{}, fmt.Errorf("%w: %s (petset mounts persistentVolumeClaim, hostPath, emptyDir, configMap, secret, downwardAPI and projected volumes)", ErrUnsupported, sourceKind(v.VolumeSource))
	}
}

func (m *Manager) mountClaim(pod *corev1.Pod, src *corev1.PersistentVolumeClaimVolumeSource) (Volume, error) {
	pvc, err := m.cfg.Objects.PersistentVolumeClaim(pod.Namespace, src.ClaimName)
	if err != nil {
		return Volume{}, objectError("persistentvolumeclaim", src.ClaimName, err)
	}
	// As kubelet: a pod must not start on a claim being deleted unless the
	// claim is protected (then it stays until the pod is gone).
	if pvc.DeletionTimestamp != nil && !slices.Contains(pvc.Finalizers, pvcProtectionFinalizer) {
		return Volume{}, fmt.Errorf("persistentvolumeclaim %q is being deleted", src.ClaimName)
	}
	if pvc.Spec.VolumeName == "" || pvc.Status.Phase != corev1.ClaimBound {
		return Volume{}, fmt.Errorf("persistentvolumeclaim %q is not bound yet", src.ClaimName)
	}
	pv, err := m.cfg.Objects.PersistentVolume(pvc.Spec.VolumeName)
	if err != nil {
		return Volume{}, fmt.Errorf("persistentvolume %q: %w", pvc.Spec.VolumeName, err)
	}
	var path string
	switch {
	case pv.Spec.Local != nil:
		path = pv.Spec.Local.Path
	case pv.Spec.HostPath != nil:
		path = pv.Spec.HostPath.Path
	default:
		return Volume{}, fmt.Errorf("%w: persistentvolume %q is %s (petset mounts local and hostPath persistent volumes)", ErrUnsupported, pv.Name, sourceKind(pv.Spec.PersistentVolumeSource))
	}
	if m.cfg.Simulated {
		return Volume{HostPath: path, ReadOnly: src.ReadOnly, Local: pv.Spec.Local != nil}, nil
	}
	if m.underVolumeDir(path) || sharedvolume.Under(m.cfg.SharedDir, path) {
		if err := os.MkdirAll(path, 0o777); err != nil {
			return Volume{}, fmt.Errorf("persistentvolume %q: %w", pv.Name, err)
		}
		if err := os.Chmod(path, 0o777); err != nil {
			return Volume{}, fmt.Errorf("persistentvolume %q: %w", pv.Name, err)
		}
	} else if pv.Spec.HostPath != nil {
		if err := prepareHostPath(path, pv.Spec.HostPath.Type); err != nil {
			return Volume{}, fmt.Errorf("persistentvolume %q: %w", pv.Name, err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return Volume{}, fmt.Errorf("persistentvolume %q: local path: %w", pv.Name, err)
	}
	return Volume{HostPath: path, ReadOnly: src.ReadOnly, Local: pv.Spec.Local != nil}, nil
}

// underVolumeDir reports whether path lies strictly inside the volume dir.
func (m *Manager) underVolumeDir(path string) bool {
	rel, err := filepath.Rel(m.cfg.VolumeDir, filepath.Clean(path))
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../") && filepath.IsAbs(path)
}

func prepareHostPath(path string, t *corev1.HostPathType) error {
	typ := corev1.HostPathUnset
	if t != nil {
		typ = *t
	}
	st, err := os.Stat(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hostPath %s: %w", path, err)
	}
	fail := func(what string) error {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", path, what)
	}
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("hostPath %s: %w", path, err)
			}
			return nil
		}
		if !st.IsDir() {
			return fail("directory")
		}
	case corev1.HostPathDirectory:
		if !exists || !st.IsDir() {
			return fail("directory")
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return fmt.Errorf("hostPath %s: %w", path, err)
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("hostPath %s: %w", path, err)
			}
			return f.Close()
		}
		if st.IsDir() {
			return fail("file")
		}
	case corev1.HostPathFile:
		if !exists || !st.Mode().IsRegular() {
			return fail("file")
		}
	case corev1.HostPathSocket:
		if !exists || st.Mode()&fs.ModeSocket == 0 {
			return fail("socket")
		}
	case corev1.HostPathCharDev:
		if !exists || st.Mode()&fs.ModeCharDevice == 0 {
			return fail("character device")
		}
	case corev1.HostPathBlockDev:
		if !exists || st.Mode()&fs.ModeDevice == 0 || st.Mode()&fs.ModeCharDevice != 0 {
			return fail("block device")
		}
	default:
		return fmt.Errorf("hostPath %s: unknown type %q", path, typ)
	}
	return nil
}

// file is one projected file.
type file struct {
	data []byte
	mode os.FileMode
}

func modeOf(item *int32, def *int32, fallback os.FileMode) os.FileMode {
	switch {
	case item != nil:
		return os.FileMode(*item) & 0o777
	case def != nil:
		return os.FileMode(*def) & 0o777
	}
	return fallback
}

func addKeyed(files map[string]file, data map[string][]byte, items []corev1.KeyToPath, def *int32, optional bool, what string) error {
	if len(items) == 0 {
		for k, v := range data {
			files[k] = file{data: v, mode: modeOf(nil, def, 0o644)}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("%s has no key %q", what, it.Key)
		}
		files[it.Path] = file{data: v, mode: modeOf(it.Mode, def, 0o644)}
	}
	return nil
}

func configMapData(cm *corev1.ConfigMap) map[string][]byte {
	d := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		d[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		d[k] = v
	}
	return d
}

func (m *Manager) configMapFiles(files map[string]file, ns, name string, items []corev1.KeyToPath, optional *bool, def *int32) error {
	opt := optional != nil && *optional
	cm, err := m.cfg.Objects.ConfigMap(ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) && opt {
			return nil
		}
		return objectError("configmap", name, err)
	}
	return addKeyed(files, configMapData(cm), items, def, opt, fmt.Sprintf("configmap %q", name))
}

func (m *Manager) secretFiles(files map[string]file, ns, name string, items []corev1.KeyToPath, optional *bool, def *int32) error {
	opt := optional != nil && *optional
	s, err := m.cfg.Objects.Secret(ns, name)
	if err != nil {
		if apierrors.IsNotFound(err) && opt {
			return nil
		}
		return objectError("secret", name, err)
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return addKeyed(files, data, items, def, opt, fmt.Sprintf("secret %q", name))
}

func (m *Manager) downwardFiles(files map[string]file, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def *int32) error {
	for _, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = m.cfg.Fields.FieldRef(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			val, err = m.cfg.Fields.ResourceFieldRef(pod, it.ResourceFieldRef.ContainerName, it.ResourceFieldRef)
		default:
			err = errors.New("downwardAPI item needs fieldRef or resourceFieldRef")
		}
		if err != nil {
			return fmt.Errorf("downwardAPI %q: %w", it.Path, err)
		}
		files[it.Path] = file{data: []byte(val), mode: modeOf(it.Mode, def, 0o644)}
	}
	return nil
}

func (m *Manager) projectedFiles(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (map[string]file, error) {
	files := map[string]file{}
	switch {
	case v.ConfigMap != nil:
		s := v.ConfigMap
		return files, m.configMapFiles(files, pod.Namespace, s.Name, s.Items, s.Optional, s.DefaultMode)
	case v.Secret != nil:
		s := v.Secret
		return files, m.secretFiles(files, pod.Namespace, s.SecretName, s.Items, s.Optional, s.DefaultMode)
	case v.DownwardAPI != nil:
		return files, m.downwardFiles(files, pod, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode)
	}
	p := v.Projected
	for _, src := range p.Sources {
		var err error
		switch {
		case src.ConfigMap != nil:
			err = m.configMapFiles(files, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, p.DefaultMode)
		case src.Secret != nil:
			err = m.secretFiles(files, pod.Namespace, src.Secret.Name, src.Secret.Items, src.Secret.Optional, p.DefaultMode)
		case src.DownwardAPI != nil:
			err = m.downwardFiles(files, pod, src.DownwardAPI.Items, p.DefaultMode)
		case src.ServiceAccountToken != nil && m.cfg.Tokens != nil:
			var tok []byte
			tok, err = m.cfg.Tokens.Token(ctx, pod, src.ServiceAccountToken)
			if err == nil {
				files[src.ServiceAccountToken.Path] = file{data: tok, mode: modeOf(nil, p.DefaultMode, 0o644)}
			} else {
				err = fmt.Errorf("service account token: %w", err)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Unmount removes the pod's per-pod directories. PV directories are kept.
func (m *Manager) Unmount(_ context.Context, uid types.UID) error {
	if uid == "" {
		return errors.New("volume: unmount needs a pod UID")
	}
	m.forgetOwnership(string(uid))
	m.mu.Lock()
	delete(m.mounted, uid)
	m.mu.Unlock()
	if m.cfg.Tokens != nil {
		m.cfg.Tokens.Forget(uid)
	}
	if err := os.RemoveAll(m.PodDir(uid)); err != nil {
		return fmt.Errorf("volume: removing pod directory: %w", err)
	}
	return nil
}

// PodDirs lists the pod UIDs that have per-pod directories, so the agent
// can remove those of pods that no longer exist.
func (m *Manager) PodDirs() ([]types.UID, error) {
	ents, err := os.ReadDir(m.cfg.PodsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("volume: %w", err)
	}
	var out []types.UID
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, types.UID(e.Name()))
		}
	}
	return out, nil
}

func pvPath(pv *corev1.PersistentVolume) string {
	switch {
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path
	}
	return ""
}

// ReconcilePV does this node's part of reclaiming pv (see the package
// comment). PVs of other nodes are ignored.
func (m *Manager) ReconcilePV(ctx context.Context, pv *corev1.PersistentVolume) error {
	if m.cfg.Client == nil || pvnode.Of(pv) != m.cfg.NodeName {
		return nil
	}
	path := pvPath(pv)
	if pv.DeletionTimestamp != nil && hasFinalizer(pv) {
		if slices.Contains(pv.Finalizers, pvProtectionFinalizer) {
			return nil // still bound: the data stays until pv-protection lets go
		}
		if path != "" && m.underVolumeDir(path) {
			if err := os.RemoveAll(path); err != nil {
				return fmt.Errorf("volume: deleting directory of pv %s: %w", pv.Name, err)
			}
		}
		return m.updatePV(ctx, pv.Name, func(p *corev1.PersistentVolume) bool {
			if p.DeletionTimestamp == nil || !hasFinalizer(p) {
				return false
			}
			var fins []string
			for _, f := range p.Finalizers {
				if f != Finalizer {
					fins = append(fins, f)
				}
			}
			p.Finalizers = fins
			return true
		})
	}
	return nil
}

func hasFinalizer(pv *corev1.PersistentVolume) bool {
	for _, f := range pv.Finalizers {
		if f == Finalizer {
			return true
		}
	}
	return false
}

// updatePV reads the newest PV, applies change and writes it back, retrying
// on conflicts.
func (m *Manager) updatePV(ctx context.Context, name string, change func(*corev1.PersistentVolume) bool) error {
	pvs := m.cfg.Client.CoreV1().PersistentVolumes()
	for range 5 {
		pv, err := pvs.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("volume: reading pv %s: %w", name, err)
		}
		pv = pv.DeepCopy()
		if !change(pv) {
			return nil
		}
		_, err = pvs.Update(ctx, pv, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("volume: updating pv %s: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("volume: updating pv %s: conflicts persisted", name)
}
