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
	path, env, err := program(&s)
	if err != nil {
		return fail(err)
	}
	if err := applySecurity(s.Security); err != nil {
		return fail(err)
	}
	err = unix.Exec(path, s.Argv, env)
	return fail(fmt.Errorf("exec %s: %w", path, err))
}

// program enters s.Dir ("/" when empty) and finds s.Path there; env is the
// program's environment, with HOME if s.Env has none.
func program(s *Spec) (path string, env []string, err error) {
	env = withHome(s.Env, s.Security.UID)
	dir := s.Dir
	if dir == "" {
		dir = "/"
	}
	if err := unix.Chdir(dir); err != nil {
		return "", nil, fmt.Errorf("working directory %s: %w", dir, err)
	}
	path, err = lookPath(s.Path, env)
	return path, env, err
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

// applySecurity gives this process (an exec session about to execve) the
// container's credentials: limitThread's capability state, then groups,
// gid and uid. A non-root user ends with no capabilities (as with
// containerd: setuid clears them and execve does not restore them).
func applySecurity(sec Security) error {
	if err := limitThread(sec); err != nil {
		return err
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
	return nil
}
