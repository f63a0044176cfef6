package ctrinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// hostPrograms are the host's top-level directories that hold programs and
// libraries; they appear read-only in every container (symlinks, as on
// merged-/usr systems, are copied as symlinks).
var hostPrograms = []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// hostEtc are the host's /etc entries a container sees read-only: what
// dynamically linked host programs and TLS clients need, and nothing
// that holds a secret (no /etc/ssl/private, shadow or the like).
var hostEtc = []string{
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl/certs",
	"ca-certificates", "ca-certificates.conf", "pki/tls/certs", "pki/ca-trust",
	"localtime", "services", "protocols", "mime.types", "os-release",
}

// MaskedPaths are hidden in /proc and /sys (runc's and containerd's
// defaults): files are covered by /dev/null, directories by an empty
// read-only tmpfs.
var MaskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

// ReadonlyPaths are made read-only in /proc (runc's and containerd's
// defaults).
var ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

const nsswitch = `passwd:     files
group:      files
shadow:     files
hosts:      files dns
networks:   files
protocols:  files
services:   files
ethers:     files
rpc:        files
`

// builder assembles one root filesystem.
type builder struct {
	s      *Spec
	root   string   // the new root, a mount point
	ovl    string   // overlay upper and work directories
	roDirs []string // overlays (or binds) to make read-only at the end
}

// buildRootfs assembles the container's root filesystem on s.Rootfs and
// pivots into it. It runs in a fresh mount namespace.
func buildRootfs(s *Spec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount("tmpfs", s.Rootfs, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mount rootfs tmpfs: %w", err)
	}
	b := &builder{s: s, root: filepath.Join(s.Rootfs, "root"), ovl: filepath.Join(s.Rootfs, "overlay")}
	for _, d := range []string{b.root, b.ovl} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(b.root, b.root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs: %w", err)
	}
	steps := []struct {
		what string
		f    func() error
	}{
		{"skeleton", b.skeleton},
		{"host programs", b.programs},
		{"/etc", b.etc},
		{"/dev", b.dev},
		{"/proc", b.proc},
		{"/sys", b.sys},
		{"petset binary", b.petset},
		{"volumes", b.volumes},
		{"read-only host programs", b.readOnly},
	}
	for _, st := range steps {
		if err := st.f(); err != nil {
			return fmt.Errorf("container rootfs: %s: %w", st.what, err)
		}
	}
	if err := pivot(b.root); err != nil {
		return err
	}
	if s.Dir != "" {
		if err := os.MkdirAll(s.Dir, 0o755); err != nil && !s.Security.ReadOnlyRootfs {
			return fmt.Errorf("working directory %s: %w", s.Dir, err)
		}
	}
	if s.Security.ReadOnlyRootfs {
		if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			return fmt.Errorf("make root read-only: %w", err)
		}
	}
	return nil
}

func (b *builder) path(p string) string { return filepath.Join(b.root, p) }

func (b *builder) skeleton() error {
	for _, d := range []struct {
		p    string
		mode os.FileMode
	}{
		{"etc", 0o755}, {"tmp", 0o1777}, {"var", 0o755}, {"var/tmp", 0o1777}, {"var/log", 0o755},
		{"var/cache", 0o755}, {"var/lib", 0o755}, {"run", 0o755}, {"root", 0o700}, {"home", 0o755},
		{"mnt", 0o755}, {"opt", 0o755}, {"srv", 0o755}, {"media", 0o755}, {"dev", 0o755},
		{"proc", 0o555}, {"sys", 0o555}, {".petset", 0o755},
	} {
		if err := mkdirMode(b.path(d.p), d.mode); err != nil {
			return err
		}
	}
	return os.Symlink("../run", b.path("var/run"))
}

func mkdirMode(p string, mode os.FileMode) error {
	if err := os.Mkdir(p, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode) // past the umask; keeps sticky bits
}

// programs makes the host's program directories visible read-only: an
// overlay whose upper layer lives in the container's tmpfs (mount points
// for volumes can be created below /usr without writing to the host),
// made read-only once the volumes are mounted.
func (b *builder) programs() error {
	for _, d := range hostPrograms {
		host := "/" + d
		fi, err := os.Lstat(host)
		if err != nil {
			continue
		}
		dst := b.path(d)
		if fi.Mode()&os.ModeSymlink != 0 {
			t, err := os.Readlink(host)
			if err != nil {
				return err
			}
			if err := os.Symlink(t, dst); err != nil {
				return err
			}
			continue
		}
		if !fi.IsDir() {
			continue
		}
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		upper, work := filepath.Join(b.ovl, d, "upper"), filepath.Join(b.ovl, d, "work")
		if err := os.MkdirAll(upper, 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(work, 0o755); err != nil {
			return err
		}
		opts := "lowerdir=" + host + ",upperdir=" + upper + ",workdir=" + work
		if err := unix.Mount("overlay", dst, "overlay", 0, opts); err != nil {
			// No overlayfs: a read-only bind (mount points below it
			// then cannot be created).
			if err := unix.Mount(host, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("bind %s: %w", host, err)
			}
		}
		b.roDirs = append(b.roDirs, dst)
	}
	return nil
}

func (b *builder) readOnly() error {
	for _, d := range b.roDirs {
		if err := remountRO(d, 0); err != nil {
			return err
		}
	}
	return nil
}

func remountRO(p string, extra uintptr) error {
	if err := unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|extra, ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", p, err)
	}
	return nil
}

// bindRO bind-mounts a host file or directory read-only at dst, creating
// dst; missing sources are skipped.
func bindRO(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if fi.IsDir() {
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
	} else if err := os.WriteFile(dst, nil, 0o644); err != nil {
		return err
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	return remountRO(dst, unix.MS_NOSUID|unix.MS_NODEV)
}

func (b *builder) etc() error {
	sec := b.s.Security
	files := map[string]string{
		"passwd":        Passwd(sec.UID, sec.GID),
		"group":         Group(sec.UID, sec.GID, sec.SupplementalGroups),
		"hostname":      b.s.Hostname + "\n",
		"nsswitch.conf": nsswitch,
	}
	for name, content := range files {
		if err := os.WriteFile(b.path("etc/"+name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, name := range hostEtc {
		host, dst := "/etc/"+name, b.path("etc/"+name)
		fi, err := os.Lstat(host)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			t, err := os.Readlink(host)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(t, dst); err != nil {
				return err
			}
			continue
		}
		if err := bindRO(host, dst); err != nil {
			return err
		}
	}
	// The pod's hosts and resolv.conf, else the host's content (host
	// network pods see the node's, as on Kubernetes).
	for _, f := range []struct{ name, src string }{{"hosts", b.s.HostsFile}, {"resolv.conf", b.s.ResolvFile}} {
		dst := b.path("etc/" + f.name)
		if f.src == "" || b.mounted("/etc/"+f.name) {
			data, _ := os.ReadFile("/etc/" + f.name)
			if len(data) == 0 && f.name == "hosts" {
				data = []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(dst, nil, 0o644); err != nil {
			return err
		}
		if err := unix.Mount(f.src, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", f.src, err)
		}
	}
	return nil
}

// mounted reports whether a volume is mounted at target.
func (b *builder) mounted(target string) bool {
	return slices.ContainsFunc(b.s.Mounts, func(m Mount) bool { return filepath.Clean(m.Target) == target })
}

func (b *builder) dev() error {
	dev := b.path("dev")
	if b.s.Security.Privileged {
		if err := unix.Mount("/dev", dev, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind host /dev: %w", err)
		}
		return nil
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=0755,size=65536k"); err != nil {
		return err
	}
	for _, d := range []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		p := filepath.Join(dev, d.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		name, fstype, data string
		flags              uintptr
		mode               os.FileMode
	}{
		{"pts", "devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5", unix.MS_NOSUID | unix.MS_NOEXEC, 0o755},
		{"shm", "tmpfs", "mode=1777,size=65536k", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, 0o1777},
		{"mqueue", "mqueue", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, 0o755},
	} {
		p := filepath.Join(dev, m.name)
		if err := mkdirMode(p, m.mode); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, p, m.fstype, m.flags, m.data); err != nil && m.name != "mqueue" {
			return fmt.Errorf("mount %s: %w", p, err)
		}
	}
	return nil
}

func (b *builder) proc() error {
	if err := unix.Mount("proc", b.path("proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	if b.s.Security.Privileged {
		return nil
	}
	for _, p := range ReadonlyPaths {
		dst := b.path(p)
		if _, err := os.Stat(dst); err != nil {
			continue
		}
		if err := unix.Mount(dst, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
		if err := remountRO(dst, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC); err != nil {
			return err
		}
	}
	return b.mask("/proc/")
}

// mask hides the MaskedPaths below prefix.
func (b *builder) mask(prefix string) error {
	for _, p := range MaskedPaths {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		dst := b.path(p)
		fi, err := os.Stat(dst)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			err = unix.Mount("tmpfs", dst, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0,mode=0555")
		} else {
			err = unix.Mount(b.path("dev/null"), dst, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

func (b *builder) sys() error {
	dst := b.path("sys")
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if !b.s.Security.Privileged {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount("sysfs", dst, "sysfs", flags, ""); err != nil {
		// sysfs of another network namespace cannot always be mounted
		// (host network): the host's, bound.
		if err := unix.Mount("/sys", dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind /sys: %w", err)
		}
		if !b.s.Security.Privileged {
			if err := remountRO(dst, flags); err != nil {
				return err
			}
		}
	}
	if b.s.Security.Privileged {
		return nil
	}
	return b.mask("/sys/")
}

func (b *builder) petset() error {
	if b.s.Petset == "" {
		return nil
	}
	dst := b.path(PetsetPath)
	if err := os.WriteFile(dst, nil, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(b.s.Petset, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", b.s.Petset, err)
	}
	return remountRO(dst, unix.MS_NODEV|unix.MS_NOSUID)
}

// volumes bind-mounts the declared volumes, in order, through descriptors:
// the source (with its subPath) opened beneath the volume, the target
// resolved inside the new root.
func (b *builder) volumes() error {
	rootfd, err := unix.Open(b.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rootfd)
	for _, m := range b.s.Mounts {
		if err := b.volume(rootfd, m); err != nil {
			return fmt.Errorf("volume at %s: %w", m.Target, err)
		}
	}
	return nil
}

func (b *builder) volume(rootfd int, m Mount) error {
	var src int
	var err error
	if m.SubPath != "" {
		src, err = OpenSubPath(m.Source, m.SubPath)
	} else {
		src, err = unix.Open(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return err
	}
	defer unix.Close(src)
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return err
	}
	rel := strings.TrimPrefix(filepath.Clean("/"+m.Target), "/")
	if rel == "" {
		return errors.New("a volume cannot be mounted at /")
	}
	dst, err := openInRoot(rootfd, rel, st.Mode&unix.S_IFMT == unix.S_IFDIR)
	if err != nil {
		return err
	}
	defer unix.Close(dst)
	if err := unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind mount: %w", err)
	}
	if !m.ReadOnly {
		return nil
	}
	// The target path now leads onto the new mount.
	mnt, err := openat2(rootfd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	return remountRO(fdPath(mnt), 0)
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// openat2Tries bounds how often openat2 retries a scoped lookup that the
// kernel refused with EAGAIN.
const openat2Tries = 1000

// openat2 is unix.Openat2 retried on EAGAIN. A lookup scoped by
// RESOLVE_IN_ROOT or RESOLVE_BENEATH that walks ".." (a rootfs's var/run ->
// ../run) fails with EAGAIN when any mount or rename happened on the machine
// meanwhile, because the kernel cannot then prove that ".." stayed inside;
// the kernel's documented answer is to try again. Pods starting side by side
// mount all the time.
func openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	for i := 1; ; i++ {
		fd, err := unix.Openat2(dirfd, path, how)
		if !errors.Is(err, unix.EAGAIN) || i == openat2Tries {
			return fd, err
		}
	}
}

// openInRoot opens rel below rootfd as if rootfd were "/" (symlinks cannot
// lead out of it), creating missing directories and, for a file mount, an
// empty file as the last element.
func openInRoot(rootfd int, rel string, dir bool) (int, error) {
	how := func(flags uint64) *unix.OpenHow {
		return &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	}
	if fd, err := openat2(rootfd, rel, how(unix.O_PATH)); err == nil {
		return fd, nil
	} else if !errors.Is(err, unix.ENOENT) {
		return -1, fmt.Errorf("open %s: %w", rel, err)
	}
	parts := strings.Split(rel, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		fd, err := openat2(rootfd, prefix, how(unix.O_PATH))
		if err == nil {
			if i == len(parts)-1 {
				return fd, nil
			}
			unix.Close(fd)
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return -1, fmt.Errorf("open %s: %w", prefix, err)
		}
		parent := rootfd
		if i > 0 {
			if parent, err = openat2(rootfd, strings.Join(parts[:i], "/"), how(unix.O_PATH|unix.O_DIRECTORY)); err != nil {
				return -1, fmt.Errorf("open %s: %w", strings.Join(parts[:i], "/"), err)
			}
		}
		if i == len(parts)-1 && !dir {
			var f int
			f, err = unix.Openat(parent, parts[i], unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
			if err == nil {
				unix.Close(f)
			}
		} else {
			err = unix.Mkdirat(parent, parts[i], 0o755)
		}
		if parent != rootfd {
			unix.Close(parent)
		}
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("create mount point %s: %w", prefix, err)
		}
		if i == len(parts)-1 {
			return openat2(rootfd, prefix, how(unix.O_PATH))
		}
	}
	return -1, fmt.Errorf("open %s: empty path", rel)
}

// OpenSubPath opens sub below the volume directory source with O_PATH,
// refusing absolute paths, ".." and anything (symlinks included) that
// resolves outside source; missing directories are created with source's
// mode and owner, as kubelet does. The caller closes the descriptor.
func OpenSubPath(source, sub string) (int, error) {
	if filepath.IsAbs(sub) || slices.Contains(strings.Split(filepath.ToSlash(sub), "/"), "..") {
		return -1, fmt.Errorf("subPath %q must be a relative path without ..", sub)
	}
	rel := filepath.Clean(sub)
	root, err := unix.Open(source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("subPath %q: %w", sub, err)
	}
	defer unix.Close(root)
	how := func(flags uint64) *unix.OpenHow {
		return &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	}
	if fd, err := openat2(root, rel, how(unix.O_PATH)); err == nil {
		return fd, nil
	} else if !errors.Is(err, unix.ENOENT) {
		return -1, fmt.Errorf("subPath %q: %w", sub, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(root, &st); err != nil {
		return -1, err
	}
	parts := strings.Split(rel, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		fd, err := openat2(root, prefix, how(unix.O_PATH|unix.O_DIRECTORY))
		if err == nil {
			if i == len(parts)-1 {
				return fd, nil
			}
			unix.Close(fd)
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return -1, fmt.Errorf("subPath %q: %s: %w", sub, prefix, err)
		}
		parent := root
		if i > 0 {
			if parent, err = openat2(root, strings.Join(parts[:i], "/"), how(unix.O_PATH|unix.O_DIRECTORY)); err != nil {
				return -1, fmt.Errorf("subPath %q: %w", sub, err)
			}
		}
		err = unix.Mkdirat(parent, parts[i], st.Mode&0o7777)
		if err == nil {
			unix.Fchownat(parent, parts[i], int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
			unix.Fchmodat(parent, parts[i], st.Mode&0o7777, 0)
		}
		if parent != root {
			unix.Close(parent)
		}
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("subPath %q: create %s: %w", sub, prefix, err)
		}
	}
	return openat2(root, rel, how(unix.O_PATH))
}

// pivot makes root the process's "/" and detaches the old root.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	return unix.Chdir("/")
}
