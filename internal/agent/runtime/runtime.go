package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped) when a sandbox or container does not exist.
var ErrNotFound = errors.New("not found")

// SandboxConfig describes the shared environment of one pod: the namespaces
// every container of the pod joins.
type SandboxConfig struct {
	// UID is the pod's metadata.uid; it keys the sandbox.
	UID       string
	Namespace string
	Name      string
	// Annotations are the pod's annotations, as CRI's
	// PodSandboxConfig.Annotations; the agent passes them at every
	// RunSandbox. Real runtimes ignore them; the simulated one reads its
	// steering annotation from them (see package fake).
	Annotations map[string]string
	// Labels are the pod's labels, as CRI's PodSandboxConfig.Labels; the
	// simulated runtime completes the containers of Job pods (see package
	// fake).
	Labels map[string]string
	// Hostname is the pod's hostname (spec.hostname, else the pod name).
	Hostname string
	// HostsFile and ResolvConf are the full contents of the pod's
	// /etc/hosts and /etc/resolv.conf; the agent computes them.
	HostsFile  []byte
	ResolvConf []byte
	// HostNetwork runs the pod in the node's network namespace.
	HostNetwork bool
}

// Sandbox is a running pod sandbox.
type Sandbox struct {
	UID       string
	Namespace string
	Name      string
	// IP is the pod's address on the node's pod network ("" with host network).
	IP        string
	CreatedAt time.Time
}

// Mount is one bind mount into a container.
type Mount struct {
	HostPath string
	// SubPath, if set, is a path below HostPath that is mounted instead;
	// the runtime resolves it without leaving HostPath (symlinks
	// included) and creates missing directories.
	SubPath       string
	ContainerPath string
	ReadOnly      bool
}

// Security is a container's effective security context: the pod's and the
// container's securityContext merged by the agent (the container's fields
// win). The zero value is what a container without one gets: root (uid and
// gid 0), the runtime's default capabilities, no privilege escalation.
type Security struct {
	RunAsUser          int64
	RunAsGroup         int64
	SupplementalGroups []int64
	// Privileged gives every capability, the host's devices, writable
	// /sys and unmasked /proc.
	Privileged bool
	// AllowPrivilegeEscalation is true only when the pod asks for it
	// (allowPrivilegeEscalation: true); otherwise no_new_privs is set.
	AllowPrivilegeEscalation bool
	ReadOnlyRootFilesystem   bool
	// CapAdd and CapDrop are capabilities.add and .drop ("NET_ADMIN",
	// "ALL").
	CapAdd, CapDrop []string
}

// Resources are the limits a container runs under; zero means unlimited.
type Resources struct {
	CPUMilli    int64
	MemoryBytes int64
}

// ContainerConfig describes one container process. The agent has already
// resolved the image (command/args against the image catalog) and the
// environment, so Argv is final: Argv[0] is looked up in the host's PATH
// (or is absolute).
type ContainerConfig struct {
	Name       string
	Attempt    int // restart count; a new attempt keeps the previous attempt's log
	Argv       []string
	Env        []string // KEY=VALUE
	WorkingDir string
	Mounts     []Mount
	Resources  Resources
	Security   Security
	Stdin      bool
	StdinOnce  bool
	TTY        bool
	// Init marks an init container that must run to completion before the
	// next one starts (not a restartable sidecar). Real runtimes run it
	// like any other process; the simulated runtime, which runs nothing,
	// completes it (exit 0) after its configured init duration.
	Init bool
}

// ContainerState is the lifecycle state of a container process.
type ContainerState string

const (
	StateCreated ContainerState = "Created"
	StateRunning ContainerState = "Running"
	StateExited  ContainerState = "Exited"
	StateUnknown ContainerState = "Unknown"
)

// ContainerStatus is what the runtime knows about one container.
type ContainerStatus struct {
	ID         string
	PodUID     string
	Name       string
	Attempt    int
	State      ContainerState
	PID        int
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int
	// Reason is kubelet's word for the termination (Completed, Error, OOMKilled)
	// or for a failure to start (StartError), Message the detail.
	Reason  string
	Message string
}

// TermSize is a terminal size change.
type TermSize struct {
	Width, Height uint16
}

// Streams connect a client to a process. Any of them may be nil.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	Resize <-chan TermSize
}

// LogOptions select part of a container's log.
type LogOptions struct {
	Follow     bool
	TailLines  *int64
	SinceTime  *time.Time
	LimitBytes *int64
	Timestamps bool
}

// Event tells the agent that something about a container changed (it
// started, exited, was removed); the agent asks ContainerStatus for details.
type Event struct {
	PodUID      string
	ContainerID string
}

// Runtime runs pod sandboxes and their containers on one node. It is the seam
// between the agent and the operating system: internal/agent/runtime/linux
// runs real isolated processes, internal/agent/runtime/fake simulates them.
//
// Every method is safe for concurrent use. Sandboxes and containers outlive
// the agent process: after a restart, ListSandboxes and ListContainers report
// what is still running, so the agent can adopt it.
type Runtime interface {
	// RunSandbox creates the pod's sandbox, or returns the existing one with
	// the same UID.
	RunSandbox(ctx context.Context, cfg SandboxConfig) (Sandbox, error)
	// StopSandbox kills whatever still runs in the sandbox and releases its
	// network and mounts. Removing a missing sandbox is not an error.
	StopSandbox(ctx context.Context, podUID string) error
	// StartContainer creates and starts a container in an existing sandbox.
	StartContainer(ctx context.Context, podUID string, cfg ContainerConfig) (ContainerStatus, error)
	// StopContainer sends SIGTERM, then SIGKILL once grace has passed, and
	// returns when the process has exited.
	StopContainer(ctx context.Context, containerID string, grace time.Duration) error
	// RemoveContainer forgets an exited container and deletes its log.
	RemoveContainer(ctx context.Context, containerID string) error
	ListSandboxes(ctx context.Context) ([]Sandbox, error)
	// ListContainers lists the containers of one sandbox, exited ones included.
	ListContainers(ctx context.Context, podUID string) ([]ContainerStatus, error)
	ContainerStatus(ctx context.Context, containerID string) (ContainerStatus, error)
	// Exec runs a command inside a running container's namespaces and returns
	// its exit code.
	Exec(ctx context.Context, containerID string, argv []string, s Streams) (int, error)
	// Attach connects to the stdio of a running container.
	Attach(ctx context.Context, containerID string, s Streams) error
	// Logs writes a container's output (stdout and stderr interleaved) to w.
	Logs(ctx context.Context, containerID string, opts LogOptions, w io.Writer) error
	// Events delivers change notifications; the channel is never closed
	// while the runtime is in use.
	Events() <-chan Event
}
