package volume

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"petset/internal/testenv"
)

func TestSetOwnership(t *testing.T) {
	testenv.RequireRoot(t, "changing a file's group to an arbitrary gid needs root")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("x"), 0o600)
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	if err := SetOwnership(dir, 2345, false, false); err != nil {
		t.Fatal(err)
	}
	check := func(p string, want os.FileMode) {
		t.Helper()
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 2345 {
			t.Errorf("%s: gid %d", p, gid)
		}
		if want != 0 && fi.Mode()&(os.ModePerm|os.ModeSetgid) != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	check(filepath.Join(dir, "sub"), os.ModeSetgid|0o770)
	check(filepath.Join(dir, "sub", "f"), 0o660)
	check(filepath.Join(dir, "link"), 0)
	if fi, _ := os.Stat("/etc/passwd"); fi.Sys().(*syscall.Stat_t).Gid == 2345 {
		t.Fatal("the symlink was followed")
	}
	if needsOwnershipChange(dir, 2345, false) {
		t.Error("root still needs a change after SetOwnership")
	}
	// OnRootMismatch: a matching root means nothing below is touched.
	os.WriteFile(filepath.Join(dir, "new"), []byte("y"), 0o600)
	os.Chown(filepath.Join(dir, "new"), 0, 0)
	if err := SetOwnership(dir, 2345, false, true); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "new")); fi.Sys().(*syscall.Stat_t).Gid != 0 {
		t.Error("OnRootMismatch changed a file below a matching root")
	}
	// Read-only volumes get group read only.
	ro := t.TempDir()
	os.WriteFile(filepath.Join(ro, "key"), []byte("k"), 0o600)
	if err := SetOwnership(ro, 2345, true, false); err != nil {
		t.Fatal(err)
	}
	check(filepath.Join(ro, "key"), 0o640)
}
