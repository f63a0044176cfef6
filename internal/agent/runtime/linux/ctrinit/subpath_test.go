package ctrinit

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"petset/internal/testenv"
)

func TestOpenSubPath(t *testing.T) {
	vol := t.TempDir()
	outside := t.TempDir()
	os.Chmod(vol, 0o750)
	os.MkdirAll(filepath.Join(vol, "dir", "inner"), 0o755)
	os.WriteFile(filepath.Join(vol, "dir", "key"), []byte("v"), 0o644)
	os.Symlink(outside, filepath.Join(vol, "abs"))
	os.Symlink("../../"+filepath.Base(outside), filepath.Join(vol, "dir", "rel"))
	os.Symlink("inner", filepath.Join(vol, "dir", "within"))
	os.Symlink("/etc", filepath.Join(vol, "etc"))

	path := func(fd int) string {
		p, err := os.Readlink(fdPath(fd))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		sub  string
		want string // resolved path, "" for a refusal
	}{
		{"dir", filepath.Join(vol, "dir")},
		{"dir/key", filepath.Join(vol, "dir", "key")},
		{"dir/within", filepath.Join(vol, "dir", "inner")},
		{"./dir//inner/", filepath.Join(vol, "dir", "inner")},
		{"new/a/b", filepath.Join(vol, "new", "a", "b")},
		{"abs", ""},
		{"abs/x", ""},
		{"dir/rel", ""},
		{"dir/rel/x", ""},
		{"etc/passwd", ""},
		{"../x", ""},
		{"/etc", ""},
	} {
		fd, err := OpenSubPath(vol, tc.sub)
		if tc.want == "" {
			if err == nil {
				t.Errorf("subPath %q opened %s", tc.sub, path(fd))
				unix.Close(fd)
			}
			continue
		}
		if err != nil {
			t.Errorf("subPath %q: %v", tc.sub, err)
			continue
		}
		if got := path(fd); got != tc.want {
			t.Errorf("subPath %q = %s, want %s", tc.sub, got, tc.want)
		}
		unix.Close(fd)
	}
	// Created directories take the volume's mode; nothing was created
	// outside the volume.
	if fi, err := os.Stat(filepath.Join(vol, "new", "a")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("created subPath dir: %v, %v", fi, err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("something was created outside the volume: %v", ents)
	}
}

func TestOpenInRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "run"), 0o755)
	os.MkdirAll(filepath.Join(root, "var"), 0o755)
	os.Symlink("../run", filepath.Join(root, "var", "run"))
	os.MkdirAll(filepath.Join(root, "tmp"), 0o755)
	os.Symlink("/../../../../tmp", filepath.Join(root, "escape"))
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	for _, tc := range []struct {
		rel  string
		dir  bool
		want string
	}{
		{"var/run/secrets/token", true, filepath.Join(root, "run", "secrets", "token")},
		{"etc/hosts", false, filepath.Join(root, "etc", "hosts")},
		{"escape/x", true, filepath.Join(root, "tmp", "x")},
	} {
		fd, err := openInRoot(rfd, tc.rel, tc.dir)
		if err != nil {
			t.Errorf("%s: %v", tc.rel, err)
			continue
		}
		p, _ := os.Readlink(fdPath(fd))
		unix.Close(fd)
		if p != tc.want {
			t.Errorf("%s resolved to %s, want %s", tc.rel, p, tc.want)
		}
		fi, err := os.Stat(tc.want)
		if err != nil || fi.IsDir() != tc.dir {
			t.Errorf("%s: created %v, %v", tc.rel, fi, err)
		}
	}
}

// TestOpenInRootDuringMounts resolves a path through a ".." symlink while
// mounts come and go elsewhere on the machine, as they do when pods start side
// by side: the kernel then fails a scoped lookup with EAGAIN, which openInRoot
// must retry rather than fail the container.
func TestOpenInRootDuringMounts(t *testing.T) {
	testenv.RequireRoot(t, "mounting a tmpfs")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "run", "secrets"), 0o755)
	os.MkdirAll(filepath.Join(root, "var"), 0o755)
	os.Symlink("../run", filepath.Join(root, "var", "run"))
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)

	// Mount and unmount a tmpfs in a mount namespace of a thread of its own,
	// so nothing of this reaches the host's mount table.
	target := t.TempDir()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread leaves with its namespace
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			done <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			done <- err
			return
		}
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := unix.Mount("tmpfs", target, "tmpfs", 0, ""); err != nil {
				done <- err
				return
			}
			if err := unix.Unmount(target, 0); err != nil {
				done <- err
				return
			}
		}
	}()
	for i := 0; i < 20000; i++ {
		fd, err := openInRoot(rfd, "var/run/secrets", true)
		if err != nil {
			close(stop)
			<-done
			t.Fatalf("open %d: %v", i, err)
		}
		unix.Close(fd)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("mounting: %v", err)
	}
}
