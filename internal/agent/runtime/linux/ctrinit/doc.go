// Package ctrinit is the per-container init of the Linux runtime: a
// re-exec of the petset binary (hidden role "container-init") that sits
// between the pod's sandbox init and a container's program, as runc's init
// does, and turns into that program with execve.
//
// # What it owns
//
// The container's root filesystem, built in a mount namespace of its own
// and entered with pivot_root (Spec.Setup):
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
// The container's credentials (Spec.Security), applied on the thread that
// calls execve: capability bounding set reduced to the container's set
// (containerd's default set, capabilities.add/drop, all for privileged),
// supplementary groups, gid and uid, an empty inheritable and ambient set,
// and no_new_privs unless privilege escalation is allowed.
//
// Exec sessions use the same role without Setup: the sandbox init starts
// them from a thread that has joined the container's mount namespace, and
// the role applies the container's credentials before execve.
//
// # What it does not own
//
// Namespaces other than mount (the sandbox init's), cgroups (the runtime
// places the process with CLONE_INTO_CGROUP), volume contents and
// ownership (the agent), user namespaces, seccomp and AppArmor (none are
// applied; see docs/isolation.md).
//
// # Protocol and concurrency
//
// The parent passes the Spec as JSON on file descriptor 3 (a pipe) and
// reads file descriptor 4 (a unix stream socket, close-on-exec in the
// child) until end of file: no text means the program was executed, text is
// the error that prevented it; with Spec.TTY the master of the container's
// terminal arrives on it first (SCM_RIGHTS with one NUL byte).
// The role is single-purpose: one goroutine locked to its thread does all
// the work and execs.
package ctrinit
