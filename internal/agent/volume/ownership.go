package volume

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// Permission masks kubelet applies with fsGroup (pkg/volume/volume_linux.go).
const (
	rwMask   = os.FileMode(0o660)
	roMask   = os.FileMode(0o440)
	execMask = os.FileMode(0o110)
)

// SetOwnership gives fsGroup ownership of everything below dir as kubelet's
// SetVolumeOwnership does: group set to fsGroup (symlinks with lchown,
// never followed), group read (and write unless readOnly) added, and
// directories made setgid and group-searchable so new files inherit the
// group. With onRootMismatch it does nothing when dir already has that
// group and those bits (fsGroupChangePolicy: OnRootMismatch).
func SetOwnership(dir string, fsGroup int64, readOnly, onRootMismatch bool) error {
	if onRootMismatch && !needsOwnershipChange(dir, fsGroup, readOnly) {
		return nil
	}
	return filepath.Walk(dir, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(fsGroup)); err != nil {
			return fmt.Errorf("fsGroup: chown %s: %w", p, err)
		}
		if info.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		mask := rwMask
		if readOnly {
			mask = roMask
		}
		if info.IsDir() {
			mask |= os.ModeSetgid | execMask
		}
		if err := os.Chmod(p, info.Mode()|mask); err != nil {
			return fmt.Errorf("fsGroup: chmod %s: %w", p, err)
		}
		return nil
	})
}

// needsOwnershipChange is kubelet's requiresPermissionChange.
func needsOwnershipChange(dir string, fsGroup int64, readOnly bool) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int64(st.Gid) != fsGroup {
		return true
	}
	if !fi.IsDir() {
		return false
	}
	want := rwMask | execMask
	if readOnly {
		want = roMask | execMask
	}
	return fi.Mode().Perm()&want != want || fi.Mode()&os.ModeSetgid == 0
}

// ownershipManaged reports whether kubelet would apply fsGroup to a volume
// of this source: emptyDir, configMap, secret, downwardAPI, projected and
// local persistent volumes do; hostPath does not. petset's own provisioned
// directories (below the volume directory) count as local volumes.
func (m *Manager) ownershipManaged(v *corev1.Volume, vol Volume) bool {
	switch {
	case v.EmptyDir != nil, v.ConfigMap != nil, v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
		return true
	case v.PersistentVolumeClaim != nil:
		return vol.Local || m.underVolumeDir(vol.HostPath)
	}
	return false
}

// applyFSGroup applies the pod's fsGroup to a mounted volume. Projected
// files are rewritten on every Mount and get it every time; other volumes
// once per pod (or on every Mount when the root does not match, with
// OnRootMismatch).
func (m *Manager) applyFSGroup(pod *corev1.Pod, v *corev1.Volume, vol Volume) error {
	sc := pod.Spec.SecurityContext
	if sc == nil || sc.FSGroup == nil || !m.ownershipManaged(v, vol) {
		return nil
	}
	onRootMismatch := sc.FSGroupChangePolicy != nil && *sc.FSGroupChangePolicy == corev1.FSGroupChangeOnRootMismatch
	projected := v.EmptyDir == nil && v.PersistentVolumeClaim == nil
	key := string(pod.UID) + "/" + v.Name
	if !projected && !onRootMismatch {
		m.mu.Lock()
		done := m.owned[key]
		m.mu.Unlock()
		if done {
			return nil
		}
	}
	if err := SetOwnership(vol.HostPath, *sc.FSGroup, vol.ReadOnly, onRootMismatch); err != nil {
		return err
	}
	m.mu.Lock()
	m.owned[key] = true
	m.mu.Unlock()
	return nil
}

// forgetOwnership drops the per-pod memory of applied fsGroups.
func (m *Manager) forgetOwnership(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.owned {
		if len(k) > len(uid) && k[:len(uid)+1] == uid+"/" {
			delete(m.owned, k)
		}
	}
}
