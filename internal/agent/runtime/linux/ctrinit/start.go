package ctrinit

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// ForkExec forks and executes one process; the caller's (the sandbox
// init's) version registers the pid with its reaper under the same lock.
type ForkExec func(path string, argv []string, attr *syscall.ProcAttr) (int, error)

// Started is a container whose program Start executed.
type Started struct {
	PID int
	// MountNS is the container's mount namespace, for exec sessions.
	MountNS *os.File
	// Terminal is the master of the container's terminal (Spec.TTY).
	Terminal *os.File
}

// Start builds a new container's root filesystem and executes its program,
// in the calling process and without a re-exec of the petset binary: the
// work runs on a goroutine locked to a thread that unshares its filesystem
// state and mount namespace, assembles the root filesystem and pivots into
// it, reduces the thread's capability bounding, ambient and inheritable
// sets and sets no_new_privs as the container asks, then forks the program
// from that thread with the container's uid, gid and groups
// (SysProcAttr.Credential: the child sets them, as Go's setuid would set
// every thread of the process). The child inherits the thread's root,
// working directory, mount namespace and capability state; the thread is
// never reused (its goroutine exits locked, and the runtime ends it).
//
// stdio are the program's standard files (replaced by the terminal with
// s.TTY); sys carries the caller's session, controlling-terminal and cgroup
// settings. A failure before the fork leaves nothing behind: the thread's
// mounts go with its namespace.
func Start(s *Spec, stdio []*os.File, sys syscall.SysProcAttr, fork ForkExec) (Started, error) {
	return onThrowawayThread(func() (Started, error) { return startOnThread(s, stdio, sys, fork) })
}

// onThrowawayThread runs f on a new goroutine locked to its thread and never
// unlocked, so that the thread, with whatever namespace, root and
// capability state f gave it, ends with the goroutine.
func onThrowawayThread[T any](f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	rc := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		v, err := f()
		rc <- result{v, err}
	}()
	r := <-rc
	return r.v, r.err
}

func startOnThread(s *Spec, stdio []*os.File, sys syscall.SysProcAttr, fork ForkExec) (Started, error) {
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
		return Started{}, fmt.Errorf("container mount namespace: %w", err)
	}
	nsfd, err := unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Started{}, fmt.Errorf("container mount namespace: %w", err)
	}
	st := Started{MountNS: os.NewFile(uintptr(nsfd), "mntns")}
	fail := func(err error) (Started, error) {
		st.MountNS.Close()
		if st.Terminal != nil {
			st.Terminal.Close()
		}
		return Started{}, err
	}
	if err := buildRootfs(s); err != nil {
		return fail(err)
	}
	fds := make([]uintptr, len(stdio))
	for i, f := range stdio {
		fds[i] = f.Fd()
	}
	if s.TTY {
		master, slave, err := OpenPTY("/dev/ptmx")
		if err != nil {
			return fail(err)
		}
		defer slave.Close()
		st.Terminal = master
		fds = []uintptr{slave.Fd(), slave.Fd(), slave.Fd()}
		sys.Setsid, sys.Setctty, sys.Ctty = true, true, 0
	}
	pid, err := forkProgram(s, fds, &sys, fork)
	if err != nil {
		return fail(err)
	}
	st.PID = pid
	return st, nil
}

// Exec starts an exec session in a running container: s's program, with the
// container's credentials, in the container whose mount namespace is mntns.
// Like Start it works on a goroutine locked to a thread that is then ended:
// the thread unshares its filesystem state, joins mntns (which makes the
// container's root its root) and forks the program as Start does. stdio are
// the session's standard files; sys carries the caller's session,
// controlling-terminal and cgroup settings.
func Exec(s *Spec, mntns *os.File, stdio []*os.File, sys syscall.SysProcAttr, fork ForkExec) (int, error) {
	return onThrowawayThread(func() (int, error) {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return 0, fmt.Errorf("unshare filesystem state: %w", err)
		}
		if err := unix.Setns(int(mntns.Fd()), unix.CLONE_NEWNS); err != nil {
			return 0, fmt.Errorf("join the container's mount namespace: %w", err)
		}
		fds := make([]uintptr, len(stdio))
		for i, f := range stdio {
			fds[i] = f.Fd()
		}
		return forkProgram(s, fds, &sys, fork)
	})
}

// forkProgram, on a thread whose root and mount namespace are the
// container's and whose filesystem state is its own, enters s.Dir, finds
// the program, limits the thread (limitThread) and forks the program with
// the container's uid, gid and groups.
func forkProgram(s *Spec, fds []uintptr, sys *syscall.SysProcAttr, fork ForkExec) (int, error) {
	path, env, err := program(s)
	if err != nil {
		return 0, err
	}
	if err := limitThread(s.Security); err != nil {
		return 0, err
	}
	groups := make([]uint32, 0, len(s.Security.SupplementalGroups))
	for _, g := range s.Security.SupplementalGroups {
		groups = append(groups, uint32(g))
	}
	sys.Credential = &syscall.Credential{Uid: uint32(s.Security.UID), Gid: uint32(s.Security.GID), Groups: groups}
	pid, err := fork(path, s.Argv, &syscall.ProcAttr{Env: env, Files: fds, Sys: sys})
	if err != nil {
		return 0, fmt.Errorf("exec %s: %w", path, err)
	}
	return pid, nil
}

// limitThread gives the calling thread the capability state a container's
// program inherits: the bounding set reduced to the container's
// capabilities (never more than this process has: privileged in a
// restricted host gets the host's set), empty ambient and inheritable sets,
// and no_new_privs unless privilege escalation is allowed. Its uid and gid
// are left alone (the child sets them). After execve a root program's
// permitted and effective sets are the bounding set; a non-root program has
// none, since the child's setuid clears them (as with containerd).
func limitThread(sec Security) error {
	keep, err := CapMask(sec.Caps)
	if err != nil {
		return err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	keep &= uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if keep&(1<<uint(c)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if sec.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	return nil
}

// OpenPTY opens a new terminal pair from the devpts instance behind ptmx
// (the calling thread's view of the path); the slave is opened with
// TIOCGPTPEER, never by path.
func OpenPTY(ptmx string) (master, slave *os.File, err error) {
	m, err := os.OpenFile(ptmx, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open terminal: %w", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock terminal: %w", err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		m.Close()
		return nil, nil, fmt.Errorf("open terminal peer: %w", errno)
	}
	return m, os.NewFile(sfd, "terminal-peer"), nil
}
