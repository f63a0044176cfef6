package ctrinit

import (
	"fmt"
	"slices"
	"strings"
)

// Passwd is the container's /etc/passwd: root, nobody and, when it is
// another one, the container's user (named "user<uid>", home "/").
func Passwd(uid, gid int64) string {
	var b strings.Builder
	b.WriteString("root:x:0:0:root:/root:/bin/sh\n")
	if uid != 0 && uid != 65534 {
		fmt.Fprintf(&b, "user%d:x:%d:%d:petset container user:/:/bin/sh\n", uid, uid, gid)
	}
	b.WriteString("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
	return b.String()
}

// Group is the container's /etc/group: root, nogroup (also called nobody,
// which programs like nginx look up) and the container's group and
// supplementary groups (named "group<gid>"), each listing the user when it
// is a supplementary group.
func Group(uid, gid int64, supplemental []int64) string {
	user := "root"
	if uid != 0 {
		user = fmt.Sprintf("user%d", uid)
		if uid == 65534 {
			user = "nobody"
		}
	}
	members := func(g int64) string {
		if slices.Contains(supplemental, g) {
			return user
		}
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "root:x:0:%s\n", members(0))
	ids := append([]int64{gid}, supplemental...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, g := range ids {
		if g == 0 || g == 65534 {
			continue
		}
		fmt.Fprintf(&b, "group%d:x:%d:%s\n", g, g, members(g))
	}
	fmt.Fprintf(&b, "nogroup:x:65534:%s\n", members(65534))
	fmt.Fprintf(&b, "nobody:x:65534:\n")
	return b.String()
}

// Home is the HOME a container's process gets when its env sets none, as
// containerd derives it from /etc/passwd.
func Home(uid int64) string {
	if uid == 0 {
		return "/root"
	}
	return "/"
}
