package ctrinit

import (
	"slices"
	"strings"
	"testing"
)

func TestCapabilities(t *testing.T) {
	all := AllCaps()
	without := func(set []string, drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(set), func(c string) bool { return slices.Contains(drop, c) })
	}
	sorted := func(in []string) []string {
		out := slices.Clone(in)
		slices.SortFunc(out, func(a, b string) int { return capNumbers[a] - capNumbers[b] })
		return out
	}
	for _, tc := range []struct {
		name       string
		privileged bool
		add, drop  []string
		want       []string
		err        bool
	}{
		{name: "default", want: sorted(DefaultCaps)},
		{name: "privileged ignores drop", privileged: true, drop: []string{"ALL"}, want: all},
		{name: "drop one", drop: []string{"NET_RAW"}, want: sorted(without(DefaultCaps, "CAP_NET_RAW"))},
		{name: "add one", add: []string{"NET_ADMIN"}, want: sorted(append(slices.Clone(DefaultCaps), "CAP_NET_ADMIN"))},
		{name: "drop all add one", add: []string{"NET_BIND_SERVICE"}, drop: []string{"ALL"}, want: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "add all drop one", add: []string{"ALL"}, drop: []string{"CHOWN"}, want: without(all, "CAP_CHOWN")},
		{name: "drop wins", add: []string{"SYS_ADMIN"}, drop: []string{"sys_admin"}, want: sorted(DefaultCaps)},
		{name: "CAP_ prefix accepted", add: []string{"CAP_SYS_TIME"}, want: sorted(append(slices.Clone(DefaultCaps), "CAP_SYS_TIME"))},
		{name: "unknown", add: []string{"FLY"}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Capabilities(tc.privileged, tc.add, tc.drop)
			if tc.err {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	// The default set as /proc/<pid>/status shows it under Docker and
	// containerd.
	if m, _ := CapMask(DefaultCaps); m != 0xa80425fb {
		t.Errorf("default mask %x, want a80425fb", m)
	}
}

func TestEtcFiles(t *testing.T) {
	p := Passwd(1000, 3000)
	if !strings.Contains(p, "root:x:0:0:") || !strings.Contains(p, "user1000:x:1000:3000:") || !strings.Contains(p, "nobody:x:65534:65534:") {
		t.Errorf("passwd:\n%s", p)
	}
	if p := Passwd(0, 0); strings.Count(p, "\n") != 2 {
		t.Errorf("root passwd has extra users:\n%s", p)
	}
	g := Group(1000, 3000, []int64{2000, 0})
	for _, want := range []string{"root:x:0:user1000\n", "group2000:x:2000:user1000\n", "group3000:x:3000:\n", "nogroup:x:65534:\n", "nobody:x:65534:\n"} {
		if !strings.Contains(g, want) {
			t.Errorf("group lacks %q:\n%s", want, g)
		}
	}
	if Home(0) != "/root" || Home(5) != "/" {
		t.Errorf("home")
	}
}

func TestLookPath(t *testing.T) {
	if p, err := lookPath("sh", []string{"PATH=/nonexistent:/bin:/usr/bin"}); err != nil || !strings.HasSuffix(p, "/sh") {
		t.Errorf("sh: %q, %v", p, err)
	}
	if _, err := lookPath("no-such-program-petset", nil); err == nil || !strings.Contains(err.Error(), "executable file not found in $PATH") {
		t.Errorf("missing: %v", err)
	}
	if _, err := lookPath("/etc/passwd", nil); err == nil {
		t.Errorf("non-executable file accepted")
	}
	if env := withHome([]string{"A=1"}, 1000); !slices.Contains(env, "HOME=/") {
		t.Errorf("HOME not added: %v", env)
	}
	if env := withHome([]string{"HOME=/x"}, 0); len(env) != 1 {
		t.Errorf("HOME overridden: %v", env)
	}
}
