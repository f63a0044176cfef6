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
// (nothing propagates back), mounts a fresh /proc, reaps every zombie of the
// pod, and serves a control socket in the runtime's state directory.
//
// Per container a root filesystem of its own, built by init itself with
// package ctrinit (ctrinit.Start), without starting another process: on a
// goroutine locked to a thread that unshares its filesystem state and mount
// namespace, it assembles the root (host programs read-only, generated /etc
// with the pod's hosts and resolv.conf, fresh /dev, masked /proc, read-only
// /sys, the petset binary at ctrinit.PetsetPath, the declared volumes with
// subPath resolved beneath them) on an empty directory
// <state>/containers/<id>/rootfs, pivots that thread into it, limits the
// thread's capabilities (bounding, ambient, inheritable, no_new_privs),
// looks the program up in the container's PATH and forks it from that
// thread with the container's uid, gid and groups; the thread is then ended
// (init's main goroutine holds the main thread, which Go never ends). A
// failure before the program runs is recorded as StartError. Init keeps the
// container's mount namespace open; an exec session is forked the same way
// (ctrinit.Exec) from a thread that did unshare(CLONE_FS) and setns into it
// (setns of a mount namespace is refused to a thread sharing its filesystem
// state with others), with the container's credentials. Terminals come from
// the container's own devpts: for a TTY container init opens it on the
// thread that built the root; for exec -t the runtime opens
// /proc/<pid>/root/dev/ptmx (peer by TIOCGPTPEER).
//
// Joining namespaces: apart from that one setns, containers and exec
// sessions are started by init itself (fork+exec from inside) on request
// over its unix socket; the caller's stdio for exec and attach is passed as
// file descriptors (SCM_RIGHTS), so streams flow directly between the agent
// and the process without copying through init.
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
// validated against the init's PID and its start time from /proc. Sandbox
// creation is a list of steps (recovery.go); its record is written first,
// marked Creating, and completed by the last step, so a sandbox half-created
// when the agent was killed is torn down (init, veth, address, cgroups,
// socket, directory), never adopted.
//
// The network: a per-node Linux bridge (Config.Bridge, default petset0)
// holding the gateway (first address of Config.PodCIDR); per pod a veth pair
// with eth0 in the pod's network namespace, loopback up, default route via
// the bridge. Pod IPs are claimed as files under <state>/ipam, so they
// survive agent restarts and never collide. New refuses a pod CIDR that
// another interface of the host already has an address or a route in (two
// bridges routing one CIDR would send one node's pod traffic to the other's
// pods). No NAT to the outside is set up. A freed address goes to the next
// pod at once (lowest free first), and that pod is reachable at once: its
// eth0 has the MAC derived from its address (0a:58:<address>), the host's
// neighbour entry on the bridge is set to it, and the pod sends a
// gratuitous ARP so the other pods' entries follow (with a random MAC the
// host kept the previous owner's for up to a minute).
//
// Resources: cgroup v2 (memory.max, cpu.max) when the unified hierarchy with
// the memory and cpu controllers is writable, else cgroup v1 (memory, cpu)
// when writable; otherwise limits are not applied, which New logs and
// Limits reports.
//
// Isolation "none" runs the same init supervisor as a plain host process:
// no namespaces, no root filesystem of its own (containers are started
// directly, without ctrinit, and see the whole host), hostname unchanged, no
// pod IP (the pod uses the host network), /etc/hosts and /etc/resolv.conf,
// volume mounts and Security are not applied (a log line says so). It works
// without root.
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
// There are no images: containers run the host's programs, read-only. The
// containers of a pod share its PID namespace. No user namespace, seccomp or
// LSM profile is applied (docs/isolation.md).
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
