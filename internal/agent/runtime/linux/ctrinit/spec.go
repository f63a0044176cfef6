package ctrinit

// PetsetPath is where the petset binary is visible (read-only) inside
// every container; the image catalog's built-in programs run from there.
const PetsetPath = "/.petset/petset"

// Spec is one process of a container: its program (the container's, for
// Start, which also builds the root filesystem from the fields up to TTY;
// an exec session's, for Exec).
type Spec struct {
	// Rootfs is an empty directory (visible in the parent's mount
	// namespace) the new root is assembled on; only its mount point is
	// used, nothing is written to it on the host.
	Rootfs string
	// Petset is the host path of the petset binary (bound at PetsetPath).
	Petset   string
	Hostname string
	// HostsFile and ResolvFile are host files bound at /etc/hosts and
	// /etc/resolv.conf ("" writes a default /etc/hosts, or copies the
	// host's resolv.conf).
	HostsFile  string
	ResolvFile string
	Mounts     []Mount
	// TTY gives the program a terminal of the container's own devpts as
	// its stdio and controlling terminal (Started.Terminal is the master).
	TTY bool

	Security Security
	// Path is the program to execute: absolute, relative to Dir when it
	// holds a slash, else looked up in the PATH of Env inside the
	// container.
	Path string
	Argv []string
	Env  []string
	Dir  string
}

// Mount is one volume bind-mounted into the container.
type Mount struct {
	// Source is the volume's directory (or file) on the host.
	Source string
	// SubPath, if set, is a path below Source that is mounted instead;
	// it must stay within Source (symlinks included). Missing directories
	// are created with Source's mode and owner.
	SubPath  string
	Target   string
	ReadOnly bool
}

// Security is a container's effective security context.
type Security struct {
	UID                int64
	GID                int64
	SupplementalGroups []int64
	// Caps are the capability names (CAP_CHOWN, …) the container keeps.
	Caps           []string
	NoNewPrivs     bool
	Privileged     bool
	ReadOnlyRootfs bool
}
