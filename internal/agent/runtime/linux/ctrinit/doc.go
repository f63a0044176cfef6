// Package ctrinit starts a container's program in a root filesystem of its
// own with the container's credentials, as runc's init does.
//
// It runs inside the pod's sandbox init and starts no petset process of its
// own: for a new container (Start) the init builds the root filesystem on a
// thread in a new mount namespace and forks the program from that thread;
// for an exec session (Exec) the thread joins the running container's mount
// namespace and forks the program from there.
//
// # What it owns
//
// The container's root filesystem, built in a mount namespace of its own
// and entered with pivot_root (Start):
//   - a tmpfs as "/", holding the generated /etc (passwd and group with
//     root, nobody and the container's user and groups, hostname,
//     nsswitch.conf, and the pod's hosts and resolv.conf), empty /tmp,
//     /var/tmp, /root, /home, /run and friends;
//   - the host's programs (/usr, /bin, /sbin, /lib*) read-only: an overlay
//     per directory whose upper layer is a private tmpfs, so mount points
//     for volumes can be made below /usr without touching the host, then
//     remounted read-only; a few harmless host /etc entries (dynamic
//     loader cache, CA certificates, alternatives, services, timezone)
//     bind-mounted read-only; the petset binary read-only at
//     /.petset/petset (the image catalog's built-in programs);
//   - a fresh /dev (null, zero, full, random, urandom, tty, a private
//     devpts, shm, mqueue, the fd symlinks), a /proc of the pod's PID
//     namespace with runc's masked paths (masked: kcore, keys, timer_list,
//     sched_debug, acpi, scsi, …; read-only: sys, sysrq-trigger, irq, bus,
//     fs) and /sys read-only — unless privileged, which gets the host's
//     /dev, writable /sys and no masks;
//   - the declared volumes and nothing else, subPath resolved under the
//     volume with openat2(RESOLVE_BENEATH) and mounted through the opened
//     descriptor, so a symlink planted in a volume cannot point the mount
//     outside it;
//   - readOnlyRootFilesystem: "/" remounted read-only last.
//
// The container's credentials (Spec.Security): capability bounding set
// reduced to the container's set (containerd's default set,
// capabilities.add/drop, all for privileged), an empty inheritable and
// ambient set and no_new_privs unless privilege escalation is allowed, on
// the thread the program is forked from (limitThread); supplementary
// groups, gid and uid in the forked child (Go's syscall.Setuid would change
// every thread of the sandbox init).
//
// Exec sessions build nothing: the thread joins the container's mount
// namespace (setns, which makes the container's root its root) and forks
// the program with the same credentials.
//
// # What it does not own
//
// Namespaces other than mount (the sandbox init's), cgroups (the runtime
// places the process with CLONE_INTO_CGROUP), volume contents and
// ownership (the agent), user namespaces, seccomp and AppArmor (none are
// applied; see docs/isolation.md).
//
// # Concurrency
//
// Start and Exec each run on one goroutine locked to its thread, never
// unlocked: the thread ends with it, taking its namespace, root and
// capability state. The caller keeps its main goroutine locked to the main
// thread (Go parks the main thread instead of ending it). Nothing else in
// the process is touched, so starts may run side by side.
package ctrinit
