package ctrinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File descriptors of the protocol with the parent: the spec (a pipe) and
// the status (a unix stream socket).
const (
	specFD   = 3
	statusFD = 4
)

// Main runs the container-init role when the process was started as one
// (it then never returns: it execs the container's program or exits 127);
// otherwise it returns false at once. The Linux runtime's Main calls it.
func Main() bool {
	if os.Getenv(RoleEnv) != Role {
		return false
	}
	// Credentials and capabilities are set on this thread, which then
	// calls execve.
	runtime.LockOSThread()
	os.Exit(run())
	return true
}

func run() int {
	unix.CloseOnExec(statusFD)
	status := os.NewFile(statusFD, "status")
	fail := func(err error) int {
		fmt.Fprint(status, err.Error())
		status.Close()
		return 127
	}
	var s Spec
	in := os.NewFile(specFD, "spec")
	err := json.NewDecoder(in).Decode(&s)
	in.Close()
	if err != nil {
		return fail(fmt.Errorf("container init: read spec: %w", err))
	}
	if s.Setup {
		if err := buildRootfs(&s); err != nil {
			return fail(err)
		}
		if s.TTY {
			if err := takeTerminal(); err != nil {
				return fail(err)
			}
		}
	}
	env := withHome(s.Env, s.Security.UID)
	dir := s.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fail(fmt.Errorf("working directory %s: %w", dir, err))
	}
	path, err := lookPath(s.Path, env)
	if err != nil {
		return fail(err)
	}
	if err := applySecurity(s.Security); err != nil {
		return fail(err)
	}
	err = unix.Exec(path, s.Argv, env)
	return fail(fmt.Errorf("exec %s: %w", path, err))
}

func withHome(env []string, uid int64) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	return append(env[:len(env):len(env)], "HOME="+Home(uid))
}

// lookPath finds file as execvp does, in the PATH of the container's env.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", fmt.Errorf("exec: %q: %w", file, err)
		}
		return file, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}

// applySecurity gives the calling thread the container's credentials:
// the bounding set reduced to the container's capabilities, empty ambient
// and inheritable sets, groups, gid and uid, and no_new_privs. A non-root
// user ends with no effective capabilities (as with containerd: setuid
// clears them and execve does not restore them).
func applySecurity(sec Security) error {
	keep, err := CapMask(sec.Caps)
	if err != nil {
		return err
	}
	unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if keep&(1<<uint(c)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	groups := make([]int, 0, len(sec.SupplementalGroups))
	for _, g := range sec.SupplementalGroups {
		groups = append(groups, int(g))
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(int(sec.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", sec.GID, err)
	}
	if err := syscall.Setuid(int(sec.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", sec.UID, err)
	}
	if sec.UID == 0 {
		// Never more than this process has (privileged in a restricted
		// host gets the host's set).
		keep &= uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
		data[0].Effective, data[0].Permitted = uint32(keep), uint32(keep)
		data[1].Effective, data[1].Permitted = uint32(keep>>32), uint32(keep>>32)
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return fmt.Errorf("capset: %w", err)
		}
	}
	if sec.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	return nil
}

// takeTerminal opens a terminal of the container's devpts, passes its
// master to the parent and makes the slave this process's stdio and
// controlling terminal (the process leads its own session).
func takeTerminal() error {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open terminal: %w", err)
	}
	defer m.Close()
	mfd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock terminal: %w", err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return fmt.Errorf("open terminal peer: %w", errno)
	}
	defer unix.Close(int(sfd))
	if err := unix.Sendmsg(statusFD, []byte{0}, unix.UnixRights(mfd), nil, 0); err != nil {
		return fmt.Errorf("pass the terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(sfd), fd, 0); err != nil {
			return fmt.Errorf("terminal as stdio: %w", err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("controlling terminal: %w", err)
	}
	return nil
}
