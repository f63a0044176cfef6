package image

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"petset/internal/testenv"
)

func TestResolveRules(t *testing.T) {
	c := Default("/opt/petset")
	tests := []struct {
		name          string
		image         string
		command, args []string
		want          []string
	}{
		{"kubia default", "luksa/kubia-pet", nil, nil, []string{"/opt/petset", "example", "kubia"}},
		{"kubia with registry and tag", "docker.io/luksa/kubia-pet:latest", nil, nil, []string{"/opt/petset", "example", "kubia"}},
		{"peers", "luksa/kubia-pet-peers", nil, nil, []string{"/opt/petset", "example", "kubiapeers"}},
		{"hello-stateful tag", "hello-stateful:v3", nil, nil, []string{"/opt/petset", "example", "hellostateful"}},
		{"busybox", "busybox", nil, nil, []string{"sh"}},
		{"busybox official prefix", "docker.io/library/busybox:1.36", nil, []string{"sh", "-c", "hostname"}, []string{"sh", "-c", "hostname"}},
		{"command replaces entrypoint and cmd", "luksa/kubia-pet", []string{"/bin/true"}, nil, []string{"/bin/true"}},
		{"command and args", "busybox", []string{"sh", "-c"}, []string{"echo hi"}, []string{"sh", "-c", "echo hi"}},
		{"args after entrypoint", "luksa/kubia-pet", nil, []string{"--verbose"}, []string{"/opt/petset", "example", "kubia", "--verbose"}},
		{"unknown image with command", "mysql:8.0", []string{"sleep", "1"}, []string{"2"}, []string{"sleep", "1", "2"}},
		{"digest", "busybox@sha256:0123456789abcdef", nil, nil, []string{"sh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Resolve(tt.image, tt.command, tt.args)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !slices.Equal(r.Argv, tt.want) {
				t.Fatalf("argv = %q, want %q", r.Argv, tt.want)
			}
			if len(r.Env) == 0 {
				t.Fatalf("env is empty, want at least PATH")
			}
		})
	}
}

func TestDnsutils(t *testing.T) {
	c := Default("/opt/petset")
	var prefix []string
	if _, err := exec.LookPath("dig"); err != nil {
		prefix = []string{"/opt/petset", "example", "dnsutils"}
	}
	r, err := c.Resolve("tutum/dnsutils", nil, nil)
	if want := append(slices.Clone(prefix), "sleep", "infinity"); err != nil || !slices.Equal(r.Argv, want) {
		t.Fatalf("idle: %q, %v; want %q", r.Argv, err, want)
	}
	r, err = c.Resolve("tutum/dnsutils", nil, []string{"dig", "SRV", "kubia.default.svc.cluster.local"})
	if want := append(slices.Clone(prefix), "dig", "SRV", "kubia.default.svc.cluster.local"); err != nil || !slices.Equal(r.Argv, want) {
		t.Fatalf("dig: %q, %v; want %q", r.Argv, err, want)
	}
}

func TestResolveUnknownImage(t *testing.T) {
	c := Default("/opt/petset")
	for _, img := range []string{"mysql:8.0", "luksa/kubia", "registry.example.com:5000/kubia-pet-x"} {
		_, err := c.Resolve(img, nil, []string{"x"})
		if !errors.Is(err, ErrImageNotFound) {
			t.Errorf("%s: err = %v, want ErrImageNotFound", img, err)
		}
	}
}

func TestNginxHostBinaryOrStaticServer(t *testing.T) {
	c := Default("/opt/petset")
	r, err := c.Resolve("nginx:1.21", nil, nil)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if _, lookErr := exec.LookPath("nginx"); lookErr != nil {
		want := []string{"/opt/petset", "example", "static", "--root", "/usr/share/nginx/html", "--listen", ":80"}
		if !slices.Equal(r.Argv, want) {
			t.Fatalf("no host nginx: argv = %q, want %q", r.Argv, want)
		}
		if r, err := c.Resolve("nginx", nil, []string{"sh"}); err != nil || !slices.Equal(r.Argv, []string{"sh"}) {
			t.Fatalf("no host nginx, args: %q, %v", r.Argv, err)
		}
		return
	}
	if want := []string{"sh", "-c", nginxEntrypoint, "petset-nginx-entrypoint", "nginx", "-g", "daemon off;"}; !slices.Equal(r.Argv, want) {
		t.Fatalf("host nginx: argv = %q", r.Argv)
	}
	// kubectl exec-style args keep the entrypoint, as the image's docker-entrypoint.sh.
	r, err = c.Resolve("nginx", nil, []string{"sh", "-c", "hostname"})
	if err != nil || r.Argv[len(r.Argv)-3] != "sh" {
		t.Fatalf("args: %q, %v", r.Argv, err)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, repo, tag string }{
		{"nginx", "nginx", ""},
		{"nginx:1.25", "nginx", "1.25"},
		{"docker.io/library/nginx:latest", "nginx", "latest"},
		{"library/nginx", "nginx", ""},
		{"localhost:5000/app:v1", "app", "v1"},
		{"localhost/app", "app", ""},
		{"quay.io/team/app@sha256:abc", "team/app", ""},
		{"Luksa/Kubia-Pet", "luksa/kubia-pet", ""},
	}
	for _, tt := range tests {
		repo, tag := normalize(tt.in)
		if repo != tt.repo || tag != tt.tag {
			t.Errorf("normalize(%q) = %q, %q; want %q, %q", tt.in, repo, tag, tt.repo, tt.tag)
		}
	}
}

func TestLoadFileLaterWins(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "catalog.yaml")
	data := `images:
- pattern: busybox
  cmd: ["first"]
- pattern: busybox
  entrypoint: ["/bin/sh", "-c"]
  cmd: ["echo override"]
  env: ["A=1"]
  workingDir: /srv
- pattern: example.com/team/*
  cmd: ["team-app"]
- pattern: app:v2
  cmd: ["v2"]
`
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Default("/opt/petset")
	if err := c.LoadFile(file); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	r, err := c.Resolve("busybox:latest", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/bin/sh", "-c", "echo override"}; !slices.Equal(r.Argv, want) {
		t.Fatalf("argv = %q, want %q", r.Argv, want)
	}
	if r.WorkingDir != "/srv" || !slices.Equal(r.Env, []string{"A=1"}) {
		t.Fatalf("resolved = %+v", r)
	}
	if r, err := c.Resolve("example.com/team/billing:3", nil, nil); err != nil || !slices.Equal(r.Argv, []string{"team-app"}) {
		t.Fatalf("wildcard: %+v, %v", r, err)
	}
	if r, err := c.Resolve("app:v2", nil, nil); err != nil || !slices.Equal(r.Argv, []string{"v2"}) {
		t.Fatalf("tagged pattern: %+v, %v", r, err)
	}
	if _, err := c.Resolve("app:v1", nil, nil); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("tagged pattern matched another tag: %v", err)
	}
	// Built-ins not overridden stay.
	if r, err := c.Resolve("luksa/kubia-pet", nil, nil); err != nil || r.Argv[0] != "/opt/petset" {
		t.Fatalf("built-in lost: %+v, %v", r, err)
	}
}

func TestLoadFileJSONAndErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "c.json")
	if err := os.WriteFile(good, []byte(`{"images":[{"pattern":"redis","entrypoint":["redis-server"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := New()
	if err := c.LoadFile(good); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Resolve("redis:7", nil, nil); err != nil || !slices.Equal(r.Argv, []string{"redis-server"}) {
		t.Fatalf("json entry: %+v, %v", r, err)
	}
	for name, body := range map[string]string{
		"unknown-field.yaml": "images:\n- pattern: x\n  entrypiont: [a]\n",
		"no-pattern.yaml":    "images:\n- cmd: [a]\n",
		"bad-env.yaml":       "images:\n- pattern: x\n  env: [NOEQUALS]\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := c.LoadFile(p); err == nil {
			t.Errorf("%s: LoadFile succeeded, want error", name)
		}
	}
	if _, err := c.Resolve("x", nil, nil); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("a failed load added entries: %v", err)
	}
	if err := c.LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestEmptyArgv(t *testing.T) {
	c := New()
	if err := c.Add(Entry{Pattern: "scratch"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve("scratch", nil, nil); err == nil || errors.Is(err, ErrImageNotFound) {
		t.Fatalf("err = %v, want a no-command error", err)
	}
}

func TestNginxEntrypointWritesConfig(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		testenv.SkipOrFail(t, "no sh on this host")
	}
	tmp := t.TempDir()
	cmd := exec.Command("sh", "-c", nginxEntrypoint, "petset-nginx-entrypoint", "sh", "-c", `cat "$TMPDIR"/petset-nginx.*/nginx.conf`)
	cmd.Env = []string{"TMPDIR=" + tmp, defaultPath}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("entrypoint: %v: %s", err, out)
	}
	for _, want := range []string{"listen 80;", "root /usr/share/nginx/html;", "pid " + tmp + "/petset-nginx."} {
		if !bytesContains(out, want) {
			t.Fatalf("config lacks %q:\n%s", want, out)
		}
	}
}

func bytesContains(b []byte, s string) bool { return strings.Contains(string(b), s) }
