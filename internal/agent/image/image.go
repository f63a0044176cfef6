package image

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

// ErrImageNotFound is returned (wrapped) by Resolve when no catalog entry
// matches an image and the container gives no command to run instead.
var ErrImageNotFound = errors.New("image not found in the petset image catalog")

// Entry describes one image: what a container of it runs by default.
type Entry struct {
	// Pattern is the image reference the entry answers for, e.g. "nginx",
	// "luksa/kubia-pet" or "hello-stateful:v3" (see the package comment).
	Pattern string `json:"pattern"`
	// Entrypoint is the image's ENTRYPOINT; replaced by a container's command.
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Cmd is the image's CMD; replaced by a container's args.
	Cmd []string `json:"cmd,omitempty"`
	// Env holds KEY=VALUE pairs the image sets; a container's env overrides them.
	Env []string `json:"env,omitempty"`
	// WorkingDir is the image's working directory; empty means unset.
	WorkingDir string `json:"workingDir,omitempty"`
}

// Resolved is what the agent executes for one container.
type Resolved struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH
	// when it holds no slash.
	Argv []string
	// Env holds the image's KEY=VALUE pairs (the container's own env is
	// applied on top by the agent).
	Env []string
	// WorkingDir is the image's working directory; empty means unset.
	WorkingDir string
}

// Catalog maps image references to entries.
type Catalog struct {
	mu      sync.RWMutex
	entries []compiled
}

type compiled struct {
	entry Entry
	repo  string // normalized repository, may hold path.Match wildcards
	tag   string // "" matches any tag
}

// defaultPath is the PATH an image without its own PATH gets, as container
// runtimes do.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// New returns an empty catalog.
func New() *Catalog { return &Catalog{} }

// Default returns a catalog holding the built-in entries. petsetBinary is the
// path of the petset executable, which runs the seeds' example applications
// as `petsetBinary example <app>`.
func Default(petsetBinary string) *Catalog {
	c := New()
	env := []string{defaultPath}
	app := func(pattern, name string) Entry {
		return Entry{Pattern: pattern, Entrypoint: []string{petsetBinary, "example", name}, Env: env}
	}
	builtins := []Entry{
		app("luksa/kubia-pet", "kubia"),
		app("luksa/kubia-pet-peers", "kubiapeers"),
		app("hello-stateful", "hellostateful"),
		dnsutilsEntry(petsetBinary, env),
		{Pattern: "busybox", Cmd: []string{"sh"}, Env: env},
	}
	builtins = append(builtins, nginxEntry(petsetBinary, env))
	for _, e := range builtins {
		if err := c.Add(e); err != nil {
			panic(fmt.Sprintf("image: built-in entry %q: %v", e.Pattern, err))
		}
	}
	return c
}

// dnsutilsEntry is the tutum/dnsutils image: idle by default so `kubectl
// exec` works, args run as the command (`-- dig SRV …`). With BIND's dig on
// the host the args run from the host; without it petset's dnsutils example
// (`petset example dnsutils <command>`) runs them: its own dig, nslookup,
// host and sleep, and any other program from PATH.
func dnsutilsEntry(petsetBinary string, env []string) Entry {
	if _, err := exec.LookPath("dig"); err == nil {
		return Entry{Pattern: "tutum/dnsutils", Cmd: []string{"sleep", "infinity"}, Env: env}
	}
	return Entry{Pattern: "tutum/dnsutils", Entrypoint: []string{petsetBinary, "example", "dnsutils"}, Cmd: []string{"sleep", "infinity"}, Env: env}
}

// nginxEntry is the nginx image: the host's nginx binary when there is one
// (see nginxEntrypoint), else petset's static web server (`petset example
// static`), which serves /usr/share/nginx/html on port 80 the way the
// image's default site does.
func nginxEntry(petsetBinary string, env []string) Entry {
	if _, err := exec.LookPath("nginx"); err == nil {
		return Entry{
			Pattern:    "nginx",
			Entrypoint: []string{"sh", "-c", nginxEntrypoint, "petset-nginx-entrypoint"},
			Cmd:        []string{"nginx", "-g", "daemon off;"},
			Env:        env,
		}
	}
	// No entrypoint: args given to the container replace the whole command,
	// as with the image's entrypoint script, which executes its arguments.
	return Entry{
		Pattern: "nginx",
		Cmd:     []string{petsetBinary, "example", "static", "--root", "/usr/share/nginx/html", "--listen", ":80"},
		Env:     env,
	}
}

// nginxEntrypoint plays the role of the nginx image's entrypoint script. It
// writes a configuration that serves /usr/share/nginx/html on port 80 in the
// foreground (pid file, temp paths and logs under a per-container directory
// in $TMPDIR or /tmp; access log to stdout, errors to stderr) and, when the
// command is nginx, runs it with that configuration. Any other command is
// executed unchanged, like the image's docker-entrypoint.sh does.
const nginxEntrypoint = `set -e
dir=$(mktemp -d "${TMPDIR:-/tmp}/petset-nginx.XXXXXX")
mkdir -p "$dir/client_body" "$dir/proxy" "$dir/fastcgi" "$dir/uwsgi" "$dir/scgi"
cat > "$dir/nginx.conf" <<PETSET_NGINX_CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
  types {
    text/html html htm;
    text/css css;
    text/plain txt;
    application/javascript js;
    application/json json;
    image/png png;
    image/jpeg jpg jpeg;
    image/svg+xml svg;
  }
  default_type application/octet-stream;
  access_log /dev/stdout;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  sendfile on;
  server {
    listen 80;
    server_name localhost;
    location / {
      root /usr/share/nginx/html;
      index index.html index.htm;
    }
  }
}
PETSET_NGINX_CONF
if [ "$1" = nginx ]; then
  shift
  exec nginx -p "$dir" -c "$dir/nginx.conf" "$@"
fi
exec "$@"
`

// Add appends an entry; it wins over every entry added before it.
func (c *Catalog) Add(e Entry) error {
	ce, err := compile(e)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.entries = append(c.entries, ce)
	c.mu.Unlock()
	return nil
}

// catalogFile is the on-disk format read by LoadFile.
type catalogFile struct {
	Images []Entry `json:"images"`
}

// LoadFile adds the entries of a YAML or JSON catalog file (format in the
// package comment). Its entries win over all entries already present, and
// later entries in the file win over earlier ones. Nothing is added when the
// file has an error.
func (c *Catalog) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read image catalog: %w", err)
	}
	var f catalogFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return fmt.Errorf("parse image catalog %s: %w", path, err)
	}
	var add []compiled
	for i, e := range f.Images {
		ce, err := compile(e)
		if err != nil {
			return fmt.Errorf("image catalog %s: images[%d]: %w", path, i, err)
		}
		add = append(add, ce)
	}
	c.mu.Lock()
	c.entries = append(c.entries, add...)
	c.mu.Unlock()
	return nil
}

func compile(e Entry) (compiled, error) {
	if strings.TrimSpace(e.Pattern) == "" {
		return compiled{}, errors.New("pattern is empty")
	}
	repo, tag := normalize(e.Pattern)
	if _, err := path.Match(repo, ""); err != nil {
		return compiled{}, fmt.Errorf("pattern %q: %w", e.Pattern, err)
	}
	for _, kv := range e.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return compiled{}, fmt.Errorf("pattern %q: env %q is not KEY=VALUE", e.Pattern, kv)
		}
	}
	e.Entrypoint = slices.Clone(e.Entrypoint)
	e.Cmd = slices.Clone(e.Cmd)
	e.Env = slices.Clone(e.Env)
	return compiled{entry: e, repo: repo, tag: tag}, nil
}

// normalize splits an image reference into its repository path without
// registry and without the "library/" prefix of Docker Hub's official images,
// and its tag ("" when absent). A digest is dropped.
func normalize(ref string) (repo, tag string) {
	ref = strings.TrimSpace(ref)
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	// A tag is a colon after the last slash (a colon before it is a registry port).
	if i := strings.LastIndexByte(ref, ':'); i >= 0 && i > strings.LastIndexByte(ref, '/') {
		ref, tag = ref[:i], ref[i+1:]
	}
	if first, rest, ok := strings.Cut(ref, "/"); ok {
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			ref = rest
		}
	}
	ref = strings.TrimPrefix(ref, "library/")
	return strings.ToLower(ref), tag
}

func (ce compiled) matches(repo, tag string) bool {
	if ce.tag != "" && ce.tag != tag {
		return false
	}
	ok, _ := path.Match(ce.repo, repo)
	return ok
}

// Lookup returns the entry that answers for image (the last added match).
func (c *Catalog) Lookup(image string) (Entry, bool) {
	repo, tag := normalize(image)
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := len(c.entries) - 1; i >= 0; i-- {
		if c.entries[i].matches(repo, tag) {
			return c.entries[i].entry, true
		}
	}
	return Entry{}, false
}

// Resolve returns what a container of image with the given command and args
// executes, following Kubernetes' rules: command replaces the image's
// entrypoint (and drops its default cmd), args replace the default cmd. An
// unknown image is fine when command is set (the command runs from the
// host); otherwise the error wraps ErrImageNotFound.
func (c *Catalog) Resolve(image string, command, args []string) (Resolved, error) {
	e, known := c.Lookup(image)
	if !known && len(command) == 0 {
		return Resolved{}, fmt.Errorf("%w: %q (petset runs host programs; give the container a command, or add the image to the catalog file)", ErrImageNotFound, image)
	}
	var argv []string
	switch {
	case len(command) > 0:
		argv = append(slices.Clone(command), args...)
	case len(args) > 0:
		argv = append(slices.Clone(e.Entrypoint), args...)
	default:
		argv = append(slices.Clone(e.Entrypoint), e.Cmd...)
	}
	if len(argv) == 0 {
		return Resolved{}, fmt.Errorf("image %q: no command to run: the image has no entrypoint or cmd and the container sets neither command nor args", image)
	}
	r := Resolved{Argv: argv, WorkingDir: e.WorkingDir}
	if !known {
		r.Env = []string{defaultPath}
	} else {
		r.Env = slices.Clone(e.Env)
	}
	return r, nil
}
