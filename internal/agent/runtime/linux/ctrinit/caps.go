package ctrinit

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultCaps is the capability set containers get by default: containerd's
// default (and Docker's), in the order containerd lists them.
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// capNumbers maps every capability name the kernel headers know.
var capNumbers = map[string]int{
	"CAP_CHOWN": unix.CAP_CHOWN, "CAP_DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE,
	"CAP_DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH, "CAP_FOWNER": unix.CAP_FOWNER,
	"CAP_FSETID": unix.CAP_FSETID, "CAP_KILL": unix.CAP_KILL, "CAP_SETGID": unix.CAP_SETGID,
	"CAP_SETUID": unix.CAP_SETUID, "CAP_SETPCAP": unix.CAP_SETPCAP,
	"CAP_LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE, "CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE,
	"CAP_NET_BROADCAST": unix.CAP_NET_BROADCAST, "CAP_NET_ADMIN": unix.CAP_NET_ADMIN,
	"CAP_NET_RAW": unix.CAP_NET_RAW, "CAP_IPC_LOCK": unix.CAP_IPC_LOCK, "CAP_IPC_OWNER": unix.CAP_IPC_OWNER,
	"CAP_SYS_MODULE": unix.CAP_SYS_MODULE, "CAP_SYS_RAWIO": unix.CAP_SYS_RAWIO,
	"CAP_SYS_CHROOT": unix.CAP_SYS_CHROOT, "CAP_SYS_PTRACE": unix.CAP_SYS_PTRACE,
	"CAP_SYS_PACCT": unix.CAP_SYS_PACCT, "CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN,
	"CAP_SYS_BOOT": unix.CAP_SYS_BOOT, "CAP_SYS_NICE": unix.CAP_SYS_NICE,
	"CAP_SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "CAP_SYS_TIME": unix.CAP_SYS_TIME,
	"CAP_SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG, "CAP_MKNOD": unix.CAP_MKNOD,
	"CAP_LEASE": unix.CAP_LEASE, "CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
	"CAP_AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL, "CAP_SETFCAP": unix.CAP_SETFCAP,
	"CAP_MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE, "CAP_MAC_ADMIN": unix.CAP_MAC_ADMIN,
	"CAP_SYSLOG": unix.CAP_SYSLOG, "CAP_WAKE_ALARM": unix.CAP_WAKE_ALARM,
	"CAP_BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND, "CAP_AUDIT_READ": unix.CAP_AUDIT_READ,
	"CAP_PERFMON": unix.CAP_PERFMON, "CAP_BPF": unix.CAP_BPF,
	"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// AllCaps lists every known capability name, in number order.
func AllCaps() []string {
	out := make([]string, 0, len(capNumbers))
	for n := range capNumbers {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b string) int { return capNumbers[a] - capNumbers[b] })
	return out
}

// capName normalises a Kubernetes capability name ("NET_ADMIN",
// "CAP_NET_ADMIN", any case) to the kernel's; "ALL" stays "ALL".
func capName(s string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(s))
	if n == "ALL" {
		return n, nil
	}
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	if _, ok := capNumbers[n]; !ok {
		return "", fmt.Errorf("unknown capability %q", s)
	}
	return n, nil
}

// Capabilities computes a container's capability set as containerd's CRI
// plugin does: privileged gets every capability; otherwise, starting from
// the default set, "ALL" in add gives every capability, then "ALL" in drop
// removes every one, then the named adds are added and the named drops
// removed (so drop wins over add of the same name, and add ALL with drop
// CHOWN is everything but CAP_CHOWN).
func Capabilities(privileged bool, add, drop []string) ([]string, error) {
	if privileged {
		return AllCaps(), nil
	}
	norm := func(in []string) ([]string, error) {
		var out []string
		for _, c := range in {
			n, err := capName(c)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
	adds, err := norm(add)
	if err != nil {
		return nil, err
	}
	drops, err := norm(drop)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	base := DefaultCaps
	if slices.Contains(adds, "ALL") {
		base = AllCaps()
	}
	if !slices.Contains(drops, "ALL") {
		for _, c := range base {
			set[c] = true
		}
	}
	for _, a := range adds {
		if a != "ALL" {
			set[a] = true
		}
	}
	for _, d := range drops {
		delete(set, d)
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b string) int { return capNumbers[a] - capNumbers[b] })
	return out, nil
}

// CapMask is the bit mask of a set of capability names (as CapEff in
// /proc/<pid>/status shows it).
func CapMask(names []string) (uint64, error) {
	var m uint64
	for _, n := range names {
		num, ok := capNumbers[n]
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
		m |= 1 << uint(num)
	}
	return m, nil
}
