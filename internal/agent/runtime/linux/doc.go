// Package linux runs pods as isolated Linux processes: it implements
// runtime.Runtime (internal/agent/runtime) with namespaces, a bridge network,
// bind mounts and cgroups.
//
// # What it owns
//
// Per pod a sandbox: one "init" process, a re-exec of the petset binary in a
// hidden role (see Main), created with clone(2) flags for new UTS, IPC, PID,
// mount and (unless HostNetwork) network namespaces. Init is PID 1 of the
// pod: it sets the hostname, makes its mount namespace a slave of the host's
// (nothing propagates back), mounts a fresh /proc, bind-mounts the
// agent-provided hosts and resolv.conf files over /etc/hosts and
// /etc/resolv.conf, reaps every zombie of the pod, and serves a control
// socket in the runtime's state directory.
//
// Joining namespaces: the classic difficulty is that setns(2) of a mount
// namespace fails in a multi-threaded Go process. This package avoids setns
// entirely. Init is already inside all the pod's namespaces, so containers
// and exec sessions are started by init itself (fork+exec from inside) on
// request over its unix socket; the caller's stdio for exec and attach is
// passed as file descriptors (SCM_RIGHTS), so streams flow directly between
// the agent and the process without copying through init. Consequently all
// containers of a pod share one mount namespace (the pod's): a container's
// volume bind mounts are visible to its siblings at the same paths, and exec
// sees them too.
//
// Supervision outlives the agent: init runs in its own session, its stdio
// goes to a file, it has no parent-death signal, so kill -9 of the agent does
// not touch pods. Init is the parent of every container process (the shim,
// like conmon): it writes the container's stdout/stderr to a per-container
// log file in CRI format ("<RFC3339Nano> stdout|stderr F|P <line>") and
// records start and exit status as JSON files in the state directory. For
// a container started with Stdin and StdinOnce (kubectl run -it), init also
// keeps its output in memory (up to 1 MiB, oldest dropped first) until the
// first attach, which gets that and then the live stream (one lock orders
// both, so nothing is lost or repeated at the seam); an attach after such a
// container exited gets its whole log file instead. The
// runtime learns about changes with inotify on that directory (Events) and
// about the death of an init with a pidfd; nothing polls. A new Runtime over
// the same state directory adopts what still runs: sandbox records are
// validated against the init's PID and its start time from /proc.
//
// The network: a per-node Linux bridge (Config.Bridge, default petset0)
// holding the gateway (first address of Config.PodCIDR); per pod a veth pair
// with eth0 in the pod's network namespace, loopback up, default route via
// the bridge. Pod IPs are claimed as files under <state>/ipam, so they
// survive agent restarts and never collide. New refuses a pod CIDR that
// another interface of the host already has an address or a route in (two
// bridges routing one CIDR would send one node's pod traffic to the other's
// pods). No NAT to the outside is set up.
//
// Resources: cgroup v2 (memory.max, cpu.max) when the unified hierarchy with
// the memory and cpu controllers is writable, else cgroup v1 (memory, cpu)
// when writable; otherwise limits are not applied, which New logs and
// Limits reports.
//
// Isolation "none" runs the same init supervisor as a plain host process:
// no namespaces, hostname unchanged, no pod IP (the pod uses the host
// network), /etc/hosts and /etc/resolv.conf and volume mounts are not
// applied (a log line says so). It works without root.
//
// # What it does not own
//
// Images (the agent resolves Argv), volume provisioning (the agent passes
// host directories), probes, the pod's API status, and NAT or routing
// between nodes.
//
// # Wiring
//
// cmd/petset/main.go must call Main first thing (before flag parsing): the
// runtime re-executes os.Executable() with PETSET_RUNTIME_ROLE=sandbox-init
// (argv[0] "petset-sandbox-init") and Main runs that role. Tests that start
// sandboxes do the same in TestMain. New(ctx, Config) wires and starts the
// runtime; Close stops its goroutines and leaves pods running.
//
// # Limits of the design
//
// Containers of one pod share the pod's mount namespace and see the host's
// root filesystem (there are no images): two containers mounting different
// volumes at the same path would clash (the later mount wins). Mount points
// that do not exist are created on the host's filesystem (only the last
// path element is removed again when the pod stops).
//
// # Concurrency
//
// Every Runtime method is safe for concurrent use; a mutex guards the maps,
// and a per-pod lock serialises sandbox creation and removal. New starts
// two kinds of goroutines owned by the Runtime: one reading inotify events
// and delivering Events through an unbounded queue, and one per sandbox
// waiting on the init's pidfd. Close stops them and waits for them; it does
// not stop pods. Init is single-purpose: one goroutine per connection, one
// reaper loop (SIGCHLD + wait4(-1)), one reader per container output stream.
package linux
