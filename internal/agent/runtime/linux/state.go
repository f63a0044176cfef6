package linux

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"petset/internal/agent/runtime"
)

// State directory layout:
//
//	<state>/pods/<podkey>/sandbox.json   sandboxRecord (runtime)
//	<state>/pods/<podkey>/init.json      initConfig (runtime → init)
//	<state>/pods/<podkey>/hosts, resolv.conf, init.log
//	<state>/sock/<podkey>.sock           init's control socket
//	<state>/containers/<id>/config.json  containerRecord (runtime)
//	<state>/containers/<id>/log          CRI log of that container
//	<state>/containers/<id>/rootfs       empty mount point of its root filesystem
//	<state>/status/<id>.json             containerStatus (init, or runtime when init is gone)
//	<state>/ipam/<ip>                    pod UID holding that address
//
// podkey is a short hash of the pod UID so socket paths stay short.

type sandboxRecord struct {
	UID         string
	Namespace   string
	Name        string
	Hostname    string
	HostNetwork bool
	Isolated    bool
	IP          string
	HostVeth    string
	InitPID     int
	InitStart   uint64 // start time in clock ticks, /proc/<pid>/stat field 22
	CreatedAt   time.Time
	Cgroup      cgroupPaths
	// Creating is set while the sandbox is being created; a record that
	// still has it after a restart is a partial sandbox, torn down.
	Creating bool `json:",omitempty"`
}

type containerRecord struct {
	ID        string
	PodUID    string
	Name      string
	Attempt   int
	CreatedAt time.Time
	Env       []string
	WorkDir   string
	Cgroup    cgroupPaths
	HostPID   int
	// FirstAttachReplays is set for containers started with Stdin and
	// StdinOnce: an attach gets their output from the start.
	FirstAttachReplays bool `json:",omitempty"`
}

// containerStatus is the persisted status; init writes it on start and exit.
type containerStatus struct {
	ID         string
	PodUID     string
	Name       string
	Attempt    int
	State      runtime.ContainerState
	PID        int
	CreatedAt  time.Time
	StartedAt  time.Time `json:",omitzero"`
	FinishedAt time.Time `json:",omitzero"`
	ExitCode   int
	Reason     string `json:",omitempty"`
	Message    string `json:",omitempty"`
}

func podKey(uid string) string {
	s := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(s[:6])
}

type layout struct{ root string }

func (l layout) podDir(uid string) string      { return filepath.Join(l.root, "pods", podKey(uid)) }
func (l layout) sock(uid string) string        { return filepath.Join(l.root, "sock", podKey(uid)+".sock") }
func (l layout) ctrDir(id string) string       { return filepath.Join(l.root, "containers", id) }
func (l layout) statusDir() string             { return filepath.Join(l.root, "status") }
func (l layout) statusPath(id string) string   { return filepath.Join(l.root, "status", id+".json") }
func (l layout) logPath(id string) string      { return filepath.Join(l.root, "containers", id, "log") }
func (l layout) rootfsDir(id string) string    { return filepath.Join(l.root, "containers", id, "rootfs") }
func (l layout) ipamDir() string               { return filepath.Join(l.root, "ipam") }
func (l layout) sandboxFile(uid string) string { return filepath.Join(l.podDir(uid), "sandbox.json") }

func (l layout) mkdirs() error {
	for _, d := range []string{"pods", "sock", "containers", "status", "ipam"} {
		if err := os.MkdirAll(filepath.Join(l.root, d), 0o700); err != nil {
			return fmt.Errorf("create state dir: %w", err)
		}
	}
	return nil
}

// writeJSON writes v to path atomically (temp file + rename), so readers and
// inotify watchers only ever see complete files.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp"+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// procStart returns the start time (clock ticks since boot) of pid, and
// false if the process does not exist or is a zombie.
func procStart(pid int) (uint64, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); start time is field 22.
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, false
	}
	return st, true
}

// alive reports whether pid is the same live process that started at start.
func alive(pid int, start uint64) bool {
	st, ok := procStart(pid)
	return ok && st == start
}

var errNotFound = runtime.ErrNotFound

func notFound(kind, id string) error {
	return fmt.Errorf("%s %q: %w", kind, id, errNotFound)
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
