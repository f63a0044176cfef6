package e2e

// kubectl compatibility: every kubectl version against one `petset server`,
// a set of namespaces per version. The pods stay Pending (server mode has no
// nodes); these tests are about the API as kubectl sees it.

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"petset/internal/testenv"
	"petset/test/harness"
)

const waitBound = 90 * time.Second

// examplesDir holds the seeds' manifests as adapted for petset.
var examplesDir = filepath.Join("..", "..", "examples")

func example(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(examplesDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("manifest %s: %v", rel, err)
	}
	return p
}

// suite is one kubectl version's run against the shared server.
type suite struct {
	c        *harness.Cluster
	cl       *harness.Client
	nsCreate string // create -f of every adapted manifest
	nsApply  string // apply -f of every adapted manifest
	nsSeed   string // the original seed-001 List (with its Ingress)
}

func TestKubectl(t *testing.T) {
	c := harness.StartServer(t)
	t.Run("auth", func(t *testing.T) { testAnonymousAndWrongToken(t, c) })
	for _, k := range harness.Kubectls(t) {
		t.Run(k.Name, func(t *testing.T) {
			if !k.Available() {
				testenv.SkipOrFail(t, "%s not found at %s", k.Name, k.Path)
			}
			id := strings.ReplaceAll(k.Name, ".", "-")
			s := &suite{
				c:        c,
				cl:       c.Kubectl(t, k),
				nsCreate: "e2e-" + id + "-c",
				nsApply:  "e2e-" + id + "-a",
				nsSeed:   "e2e-" + id + "-s",
			}
			for _, ns := range []string{s.nsCreate, s.nsApply, s.nsSeed} {
				r := s.cl.MustRun(t, "create", "namespace", ns)
				if !strings.Contains(r.Stdout, "namespace/"+ns+" created") {
					t.Fatalf("create namespace: %s", r)
				}
			}
			steps := []struct {
				name string
				fn   func(*testing.T)
			}{
				{"version", s.version},
				{"wrong-token", s.wrongToken},
				{"cluster-scoped", s.clusterScoped},
				{"seed001-original-list", s.seedList},
				{"create", s.create},
				{"apply", s.apply},
				{"get", s.get},
				{"watch", s.watch},
				{"describe", s.describe},
				{"field-selectors", s.fieldSelectors},
				{"describe-events", s.describeEvents},
				{"edit", s.edit},
				{"patch", s.patch},
				{"scale", s.scale},
				{"set-image", s.setImage},
				{"bad-input-create", s.badInputCreate},
				{"bad-input-update", s.badInputUpdate},
				{"delete", s.delete},
			}
			for _, st := range steps {
				if !t.Run(st.name, st.fn) && (st.name == "create" || st.name == "apply") {
					t.Fatalf("%s failed; later steps depend on it", st.name)
				}
			}
		})
	}
}

var semver = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

func (s *suite) version(t *testing.T) {
	r := s.cl.MustRun(t, "get", "--raw", "/version")
	var v struct {
		Major, Minor, GitVersion string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
		t.Fatalf("decode /version: %v\n%s", err, r.Stdout)
	}
	m := semver.FindStringSubmatch(v.GitVersion)
	if m == nil {
		t.Fatalf("gitVersion %q is not a valid semver", v.GitVersion)
	}
	if v.Major != m[1] || strings.TrimSuffix(v.Minor, "+") != m[2] {
		t.Errorf("major/minor %q/%q disagree with gitVersion %q", v.Major, v.Minor, v.GitVersion)
	}
}

func (s *suite) wrongToken(t *testing.T) {
	// kubectl ≥1.27 fails in discovery first: "(the server has asked for the client to provide credentials)"; older ones print "(Unauthorized)".
	s.cl.MustFail(t, []string{"error: You must be logged in to the server ("},
		"--token=not-the-token", "get", "pods", "-n", s.nsCreate)
}

// clusterScoped creates, re-applies and deletes the static PVs of seed 000
// and the StorageClass of seed 004 (cluster-wide names, so each version
// removes them again).
func (s *suite) clusterScoped(t *testing.T) {
	pvs := example(t, "kubia/persistent-volumes-hostpath.yaml")
	sc := example(t, "storageclass/storageclass.yaml")

	r := s.cl.MustRun(t, "create", "-f", pvs)
	for _, n := range []string{"pv-a", "pv-b", "pv-c"} {
		if !strings.Contains(r.Stdout, "persistentvolume/"+n+" created") {
			t.Errorf("create pvs: %s", r)
		}
	}
	r = s.cl.MustRun(t, "create", "-f", sc)
	if !strings.Contains(r.Stdout, "storageclass.storage.k8s.io/standard-us-centrall-a-b-c created") {
		t.Errorf("create storageclass: %s", r)
	}

	r = s.cl.MustRun(t, "get", "pv")
	if h := harness.Header(r.Stdout); h != "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE" {
		t.Errorf("pv header %q", h)
	}
	rows := harness.Rows(r.Stdout)
	if len(rows) != 3 {
		t.Fatalf("want 3 pvs: %s", r)
	}
	for i, n := range []string{"pv-a", "pv-b", "pv-c"} {
		want := []string{n, "1Mi", "RWO", "Recycle", "Available", "standard", "<unset>"}
		if got := rows[i][:len(want)]; !reflect.DeepEqual(got, want) {
			t.Errorf("pv row %d = %v, want prefix %v", i, rows[i], want)
		}
	}
	r = s.cl.MustRun(t, "get", "storageclass", "standard-us-centrall-a-b-c")
	if h := harness.Header(r.Stdout); h != "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE" {
		t.Errorf("storageclass header %q", h)
	}
	if rows := harness.Rows(r.Stdout); len(rows) != 1 || !reflect.DeepEqual(rows[0][:5],
		[]string{"standard-us-centrall-a-b-c", "petset.io/local", "Delete", "WaitForFirstConsumer", "false"}) {
		t.Errorf("storageclass row: %s", r)
	}

	// apply over created objects: configured (the last-applied annotation is added), then unchanged.
	r = s.cl.MustRun(t, "apply", "-f", pvs)
	if !strings.Contains(r.Stdout, "persistentvolume/pv-a configured") {
		t.Errorf("apply pvs over created: %s", r)
	}
	r = s.cl.MustRun(t, "apply", "-f", pvs, "-f", sc)
	for _, want := range []string{"persistentvolume/pv-a unchanged", "persistentvolume/pv-c unchanged", "storageclass.storage.k8s.io/standard-us-centrall-a-b-c configured"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("apply again lacks %q: %s", want, r)
		}
	}
	if got := s.cl.JSONPath(t, `{.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}`, "pv", "pv-b"); !strings.Contains(got, `"name":"pv-b"`) {
		t.Errorf("pv-b last-applied annotation = %q", got)
	}

	r = s.cl.MustRun(t, "delete", "-f", pvs, "-f", sc)
	for _, want := range []string{`"pv-a" deleted`, `"pv-b" deleted`, `"pv-c" deleted`, `"standard-us-centrall-a-b-c" deleted`} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("delete lacks %q: %s", want, r)
		}
	}
	s.cl.WaitGone(t, waitBound, "pv", "pv-a", "pv-b", "pv-c")
	s.cl.WaitGone(t, waitBound, "storageclass", "standard-us-centrall-a-b-c")
}

// seedList: seed 001's List as the seed gives it. The Ingress has no API in
// petset, so kubectl reports kube's "no matches for kind" while the Service
// and the StatefulSet are created (create) and configured (apply).
func (s *suite) seedList(t *testing.T) {
	f := s.c.WriteFile(t, "seed001-list.yaml", seed001List)
	noMatch := `no matches for kind "Ingress" in version "networking.k8s.io/v1"`

	r := s.cl.MustFail(t, []string{noMatch}, "create", "-n", s.nsSeed, "-f", f)
	for _, want := range []string{"service/hello-stateful-service created", "statefulset.apps/hello-stateful created"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("create of the seed List lacks %q: %s", want, r)
		}
	}
	if got := s.cl.JSONPath(t, "{.spec.serviceName} {.spec.replicas} {.spec.volumeClaimTemplates[0].spec.storageClassName}", "sts", "hello-stateful", "-n", s.nsSeed); got != "hello-stateful-service 3 nfs-client" {
		t.Errorf("stored sts = %q", got)
	}
	if got := s.cl.JSONPath(t, "{.spec.clusterIP}", "svc", "hello-stateful-service", "-n", s.nsSeed); got != "None" {
		t.Errorf("stored svc clusterIP = %q", got)
	}

	r = s.cl.MustFail(t, []string{noMatch}, "apply", "-n", s.nsSeed, "-f", f)
	for _, want := range []string{"service/hello-stateful-service configured", "statefulset.apps/hello-stateful configured"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("apply of the seed List lacks %q: %s", want, r)
		}
	}
	r = s.cl.MustFail(t, []string{noMatch}, "apply", "-n", s.nsSeed, "-f", f)
	for _, o := range []string{"service/hello-stateful-service", "statefulset.apps/hello-stateful"} {
		if !reapplied(r.Stdout, o) {
			t.Errorf("second apply of the seed List: %q neither unchanged nor configured: %s", o, r)
		}
	}
	if got := s.cl.JSONPath(t, "{.metadata.generation}", "sts", "hello-stateful", "-n", s.nsSeed); got != "1" {
		t.Errorf("sts generation %s after re-apply, want 1", got)
	}
	// Nothing of the Ingress kind got stored anywhere kubectl can see.
	s.cl.MustFail(t, []string{`the server doesn't have a resource type "ingress"`}, "get", "ingress", "-n", s.nsSeed)
}

// reapplied reports whether apply printed obj as unchanged, or as configured:
// kube's client-side apply re-sends an atomic list (a StatefulSet's
// volumeClaimTemplates) whenever the live list carries server defaults
// (volumeMode, status.phase), so Kubernetes itself prints "configured" for
// such a set; the callers check that nothing stored changed.
func reapplied(stdout, obj string) bool {
	if strings.Contains(stdout, obj+" unchanged") {
		return true
	}
	return strings.HasPrefix(obj, "statefulset.apps/") && strings.Contains(stdout, obj+" configured")
}

// namespaced manifests of the seeds, adapted, and what create/apply print for each.
var seedManifests = []struct {
	file    string
	objects []string
}{
	{"hello-stateful/hello-stateful.yaml", []string{"service/hello-stateful-service", "statefulset.apps/hello-stateful"}},
	{"kubia/kubia-service-headless.yaml", []string{"service/kubia"}},
	{"kubia/kubia-statefulset.yaml", []string{"statefulset.apps/kubia"}},
	{"web/statefulset.yaml", []string{"service/nginx-svc", "statefulset.apps/web"}},
	{"storageclass/nginx-sts.yaml", []string{"service/sts-svc", "statefulset.apps/nginx-sts"}},
}

func (s *suite) create(t *testing.T) {
	for _, m := range seedManifests {
		r := s.cl.MustRun(t, "create", "-n", s.nsCreate, "-f", example(t, m.file))
		for _, o := range m.objects {
			if !strings.Contains(r.Stdout, o+" created") {
				t.Errorf("create -f %s lacks %q: %s", m.file, o+" created", r)
			}
		}
		// a second create is refused with kube's AlreadyExists
		r = s.cl.MustFail(t, []string{"AlreadyExists", "already exists"}, "create", "-n", s.nsCreate, "-f", example(t, m.file))
		_ = r
	}
}

func (s *suite) apply(t *testing.T) {
	for _, m := range seedManifests {
		r := s.cl.MustRun(t, "apply", "-n", s.nsApply, "-f", example(t, m.file))
		for _, o := range m.objects {
			if !strings.Contains(r.Stdout, o+" created") {
				t.Errorf("apply -f %s lacks %q: %s", m.file, o+" created", r)
			}
		}
	}
	for _, m := range seedManifests {
		r := s.cl.MustRun(t, "apply", "-n", s.nsApply, "-f", example(t, m.file))
		for _, o := range m.objects {
			if !reapplied(r.Stdout, o) {
				t.Errorf("re-apply -f %s: %q neither unchanged nor configured: %s", m.file, o, r)
			}
		}
	}
	// re-applying changed nothing stored.
	for _, sts := range []string{"hello-stateful", "kubia", "web", "nginx-sts"} {
		if got := s.cl.JSONPath(t, "{.metadata.generation}", "sts", sts, "-n", s.nsApply); got != "1" {
			t.Errorf("sts %s generation %s after re-apply, want 1", sts, got)
		}
	}
	// Seed 000 §4.2: the peers variant applied over the running set.
	r := s.cl.MustRun(t, "apply", "-n", s.nsApply, "-f", example(t, "kubia/kubia-statefulset-peers.yaml"))
	if !strings.Contains(r.Stdout, "statefulset.apps/kubia configured") {
		t.Errorf("apply peers: %s", r)
	}
	if got := s.cl.JSONPath(t, "{.spec.replicas} {.spec.template.spec.containers[0].image} {.metadata.generation}", "sts", "kubia", "-n", s.nsApply); got != "3 luksa/kubia-pet-peers 2" {
		t.Errorf("kubia after applying peers = %q, want replicas 3, the peers image, generation 2", got)
	}
}

// waitPod waits until the StatefulSet controller created the named pod.
func (s *suite) waitPod(t *testing.T, ns, name string) {
	t.Helper()
	s.cl.WaitJSONPath(t, waitBound, "{.metadata.name}", name, "pod", name, "-n", ns, "--ignore-not-found")
}

func (s *suite) get(t *testing.T) {
	ns := s.nsCreate
	for _, p := range []string{"hello-stateful-0", "kubia-0", "web-0", "nginx-sts-0"} {
		s.waitPod(t, ns, p)
	}

	for _, pvc := range []string{"data-hello-stateful-0", "data-kubia-0", "www-web-0", "nginx-persistent-storage-nginx-sts-0"} {
		s.cl.WaitJSONPath(t, waitBound, "{.metadata.name}", pvc, "pvc", pvc, "-n", ns, "--ignore-not-found")
	}
	// data-kubia-0 names no class: it gets the default class.
	s.cl.WaitJSONPath(t, waitBound, "{.spec.storageClassName}", "standard", "pvc", "data-kubia-0", "-n", ns)

	r := s.cl.MustRun(t, "get", "statefulsets", "-n", ns)
	if h := harness.Header(r.Stdout); h != "NAME READY AGE" {
		t.Errorf("sts header %q", h)
	}
	var names []string
	for _, row := range harness.Rows(r.Stdout) {
		names = append(names, row[0])
		want := map[string]string{"hello-stateful": "0/3", "kubia": "0/2", "web": "0/3", "nginx-sts": "0/3"}[row[0]]
		if row[1] != want {
			t.Errorf("sts %s READY = %s, want %s", row[0], row[1], want)
		}
	}
	if !reflect.DeepEqual(names, []string{"hello-stateful", "kubia", "nginx-sts", "web"}) {
		t.Errorf("sts names %v", names)
	}

	r = s.cl.MustRun(t, "get", "sts", "web", "-n", ns, "-o", "wide")
	if h := harness.Header(r.Stdout); h != "NAME READY AGE CONTAINERS IMAGES" {
		t.Errorf("sts wide header %q", h)
	}
	if rows := harness.Rows(r.Stdout); len(rows) != 1 || rows[0][0] != "web" || rows[0][3] != "nginx" || rows[0][4] != "nginx:1.21" {
		t.Errorf("sts wide row: %s", r)
	}

	r = s.cl.MustRun(t, "get", "pvc", "-n", ns)
	if h := harness.Header(r.Stdout); h != "NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE" {
		t.Errorf("pvc header %q", h)
	}
	pvcClass := map[string]string{}
	for _, row := range harness.Rows(r.Stdout) {
		if len(row) < 5 || row[1] != "Pending" {
			t.Errorf("pvc row %v: want a Pending claim", row)
			continue
		}
		pvcClass[row[0]] = row[2]
	}
	for name, class := range map[string]string{
		"data-hello-stateful-0":                "standard",
		"data-kubia-0":                         "standard", // no class in the manifest: the default class
		"www-web-0":                            "standard",
		"nginx-persistent-storage-nginx-sts-0": "standard-us-centrall-a-b-c",
	} {
		if pvcClass[name] != class {
			t.Errorf("pvc %s class %q, want %q (table: %s)", name, pvcClass[name], class, r.Stdout)
		}
	}

	r = s.cl.MustRun(t, "get", "svc", "-n", ns)
	if h := harness.Header(r.Stdout); h != "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE" {
		t.Errorf("svc header %q", h)
	}
	for _, row := range harness.Rows(r.Stdout) {
		want := map[string]string{"hello-stateful-service": "8000/TCP", "kubia": "80/TCP", "nginx-svc": "80/TCP", "sts-svc": "80/TCP"}[row[0]]
		if len(row) != 6 || row[1] != "ClusterIP" || row[2] != "None" || row[3] != "<none>" || row[4] != want {
			t.Errorf("svc row %v", row)
		}
	}
	r = s.cl.MustRun(t, "get", "svc", "nginx-svc", "-n", ns, "-o", "wide")
	if h := harness.Header(r.Stdout); h != "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR" {
		t.Errorf("svc wide header %q", h)
	}
	if rows := harness.Rows(r.Stdout); len(rows) != 1 || rows[0][6] != "app=nginx" {
		t.Errorf("svc wide row: %s", r)
	}

	r = s.cl.MustRun(t, "get", "pods", "-n", ns, "-o", "wide")
	if h := harness.Header(r.Stdout); h != "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES" {
		t.Errorf("pod wide header %q", h)
	}
	for _, row := range harness.Rows(r.Stdout) {
		if row[1] != "0/1" || row[2] != "Pending" || row[3] != "0" {
			t.Errorf("pod row %v: want 0/1 Pending 0", row)
		}
	}

	r = s.cl.MustRun(t, "get", "pods", "web-0", "-n", ns, "--show-labels")
	if h := harness.Header(r.Stdout); h != "NAME READY STATUS RESTARTS AGE LABELS" {
		t.Errorf("pod --show-labels header %q", h)
	}
	if rows := harness.Rows(r.Stdout); len(rows) != 1 {
		t.Errorf("pod --show-labels: %s", r)
	} else {
		labels := strings.Split(rows[0][len(rows[0])-1], ",")
		for _, want := range []string{"app=nginx", "apps.kubernetes.io/pod-index=0", "statefulset.kubernetes.io/pod-name=web-0"} {
			if !contains(labels, want) {
				t.Errorf("pod labels %v lack %s", labels, want)
			}
		}
	}
	r = s.cl.MustRun(t, "get", "sts", "nginx-sts", "-n", ns, "--show-labels")
	if rows := harness.Rows(r.Stdout); harness.Header(r.Stdout) != "NAME READY AGE LABELS" || len(rows) != 1 || rows[0][3] != "app=nginx" {
		t.Errorf("sts --show-labels: %s", r)
	}

	// --sort-by on the server's Table (needs the objects included).
	sorted := func(field string) []string {
		r := s.cl.MustRun(t, "get", "sts", "-n", ns, "--sort-by="+field)
		var out []string
		for _, row := range harness.Rows(r.Stdout) {
			out = append(out, row[0])
		}
		return out
	}
	if got := sorted("{.spec.serviceName}"); !reflect.DeepEqual(got, []string{"hello-stateful", "kubia", "web", "nginx-sts"}) {
		t.Errorf("--sort-by=.spec.serviceName: %v", got)
	}
	if got := sorted(".spec.replicas"); len(got) != 4 || got[0] != "kubia" {
		t.Errorf("--sort-by=.spec.replicas: %v (kubia has the fewest)", got)
	}
	r = s.cl.MustRun(t, "get", "pvc", "-n", ns, "--sort-by=.metadata.name", "-o", "name")
	want := "persistentvolumeclaim/data-hello-stateful-0\npersistentvolumeclaim/data-kubia-0\npersistentvolumeclaim/nginx-persistent-storage-nginx-sts-0\npersistentvolumeclaim/www-web-0\n"
	if r.Stdout != want {
		t.Errorf("pvc --sort-by -o name:\n%s", r.Stdout)
	}

	// -o yaml is the stored object.
	r = s.cl.MustRun(t, "get", "sts", "web", "-n", ns, "-o", "yaml")
	var obj struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name, Namespace, UID, ResourceVersion string
			Generation                            int64
		} `json:"metadata"`
		Spec struct {
			ServiceName         string `json:"serviceName"`
			Replicas            int    `json:"replicas"`
			PodManagementPolicy string `json:"podManagementPolicy"`
			Selector            struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			VolumeClaimTemplates []struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"volumeClaimTemplates"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(r.Stdout), &obj); err != nil {
		t.Fatalf("-o yaml: %v\n%s", err, r.Stdout)
	}
	if obj.APIVersion != "apps/v1" || obj.Kind != "StatefulSet" || obj.Metadata.Name != "web" || obj.Metadata.Namespace != ns ||
		obj.Metadata.UID == "" || obj.Metadata.ResourceVersion == "" || obj.Metadata.Generation != 1 ||
		obj.Spec.ServiceName != "nginx-svc" || obj.Spec.Replicas != 3 || obj.Spec.PodManagementPolicy != "OrderedReady" ||
		obj.Spec.Selector.MatchLabels["app"] != "nginx" || len(obj.Spec.VolumeClaimTemplates) != 1 || obj.Spec.VolumeClaimTemplates[0].Metadata.Name != "www" {
		t.Errorf("-o yaml decoded to %+v", obj)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// watch: `get -w` prints the current row, then the row again after a change;
// the watcher is stopped by its PID once it showed the change.
func (s *suite) watch(t *testing.T) {
	ns := s.nsSeed
	p := s.cl.Start(t, "get", "sts", "hello-stateful", "-n", ns, "-w")
	rowWith := func(ready string) func() (bool, error) {
		return func() (bool, error) {
			for _, row := range harness.Rows(p.Stdout()) {
				if row[0] == "hello-stateful" && row[1] == ready {
					return true, nil
				}
			}
			if p.Exited() {
				return false, fmt.Errorf("watch ended: stdout %q stderr %q", p.Stdout(), harness.Tail(p.Stderr(), 2000))
			}
			return false, nil
		}
	}
	if err := harness.WaitFor(waitBound, rowWith("0/3")); err != nil {
		t.Fatalf("initial watch row: %v", err)
	}
	if h := harness.Header(p.Stdout()); h != "NAME READY AGE" {
		t.Errorf("watch header %q", h)
	}
	s.cl.MustRun(t, "scale", "sts", "hello-stateful", "-n", ns, "--replicas=4")
	if err := harness.WaitFor(waitBound, rowWith("0/4")); err != nil {
		t.Fatalf("watch did not show the scale: %v\nstdout:\n%s", err, p.Stdout())
	}
	p.Stop(t)
}

var describeSts = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^Name:\s+web$`),
	regexp.MustCompile(`(?m)^Selector:\s+app=nginx$`),
	regexp.MustCompile(`(?m)^Replicas:\s+3 desired \| [0-9]+ total$`),
	regexp.MustCompile(`(?m)^Update Strategy:\s+RollingUpdate$`),
	regexp.MustCompile(`(?m)^Pods Status:\s+0 Running / [0-9]+ Waiting / 0 Succeeded / 0 Failed$`),
	regexp.MustCompile(`(?m)^\s+Image:\s+nginx:1\.21$`),
	regexp.MustCompile(`(?m)^\s+/usr/share/nginx/html from www \(rw\)$`),
	regexp.MustCompile(`(?m)^Volume Claims:\s*\n\s+Name:\s+www\n\s+StorageClass:\s+standard\n`),
	regexp.MustCompile(`(?m)^\s+Capacity:\s+1Gi$`),
	regexp.MustCompile(`(?m)^Events:`),
}

func (s *suite) describe(t *testing.T) {
	ns := s.nsCreate
	r := s.cl.MustRun(t, "describe", "sts", "web", "-n", ns)
	for _, re := range append(describeSts, regexp.MustCompile(`(?m)^Namespace:\s+`+regexp.QuoteMeta(ns)+`$`)) {
		if !re.MatchString(r.Stdout) {
			t.Errorf("describe sts lacks %s:\n%s", re, r.Stdout)
		}
	}
	r = s.cl.MustRun(t, "describe", "svc", "nginx-svc", "-n", ns)
	for _, re := range []string{`(?m)^Type:\s+ClusterIP$`, `(?m)^IPs?:\s+None$`, `(?m)^Port:\s+web\s+80/TCP$`, `(?m)^Selector:\s+app=nginx$`} {
		if !regexp.MustCompile(re).MatchString(r.Stdout) {
			t.Errorf("describe svc lacks %s:\n%s", re, r.Stdout)
		}
	}
	r = s.cl.MustRun(t, "describe", "pvc", "www-web-0", "-n", ns)
	for _, re := range []string{`(?m)^Status:\s+Pending$`, `(?m)^StorageClass:\s+standard$`, `(?m)^Used By:\s+web-0$`, `(?m)^Labels:\s+app=nginx$`} {
		if !regexp.MustCompile(re).MatchString(r.Stdout) {
			t.Errorf("describe pvc lacks %s:\n%s", re, r.Stdout)
		}
	}
	r = s.cl.MustRun(t, "describe", "pod", "web-0", "-n", ns)
	for _, re := range []string{`(?m)^Status:\s+Pending$`, `(?m)^Controlled By:\s+StatefulSet/web$`, `(?m)^\s+ClaimName:\s+www-web-0$`} {
		if !regexp.MustCompile(re).MatchString(r.Stdout) {
			t.Errorf("describe pod lacks %s:\n%s", re, r.Stdout)
		}
	}
}

// fieldSelectors: `--field-selector` on the kind-specific selectable fields
// (pods: status.phase, spec.restartPolicy; events: involvedObject.*, type,
// reason) returns the matching objects.
func (s *suite) fieldSelectors(t *testing.T) {
	ns := s.nsCreate
	names := func(args ...string) []string {
		r := s.cl.MustRun(t, append(append([]string{"get"}, args...), "-n", ns, "-o", "name")...)
		return strings.Fields(r.Stdout)
	}
	all := names("pods")
	if len(all) == 0 {
		t.Fatal("no pods to select from")
	}
	if got := names("pods", "--field-selector", "metadata.name="+strings.TrimPrefix(all[0], "pod/")); !reflect.DeepEqual(got, all[:1]) {
		t.Errorf("metadata.name selector: %v", got)
	}
	if got := names("pods", "--field-selector", "spec.nodeName="); !reflect.DeepEqual(got, all) {
		t.Errorf("spec.nodeName= (unscheduled) selector: %v, want %v", got, all)
	}
	s.cl.MustFail(t, []string{`field label not supported: spec.bogus`}, "get", "pods", "-n", ns, "--field-selector", "spec.bogus=x")
	var bugs []string // each selector that misses
	for _, sel := range []string{"status.phase=Pending", "spec.restartPolicy=Always"} {
		if got := names("pods", "--field-selector", sel); !reflect.DeepEqual(got, all) {
			bugs = append(bugs, fmt.Sprintf("pods %s → %v, want %v", sel, got, all))
		}
	}
	evAll := names("events")
	for _, sel := range []string{"type=Normal", "reason=SuccessfulCreate", "involvedObject.kind=StatefulSet"} {
		if got := names("events", "--field-selector", sel); len(got) == 0 && len(evAll) > 0 {
			bugs = append(bugs, fmt.Sprintf("events %s → none of %d events", sel, len(evAll)))
		}
	}
	for _, b := range bugs {
		t.Errorf("field selector: %s", b)
	}
}

// describeEvents: kubectl describe lists an object's events through a
// field selector on involvedObject; the StatefulSet controller's
// SuccessfulCreate events must show up there as they do in `get events`.
func (s *suite) describeEvents(t *testing.T) {
	ns := s.nsCreate
	want := "create Pod web-0 in StatefulSet web successful"
	if err := harness.WaitFor(waitBound, func() (bool, error) {
		return strings.Contains(s.cl.Run("get", "events", "-n", ns).Stdout, want), nil
	}); err != nil {
		t.Fatalf("no SuccessfulCreate event in `get events`: %v", err)
	}
	r := s.cl.MustRun(t, "describe", "sts", "web", "-n", ns)
	if !regexp.MustCompile(`(?m)^\s+Normal\s+SuccessfulCreate\s+\S+\s+statefulset-controller\s+` + regexp.QuoteMeta(want) + `$`).MatchString(r.Stdout) {
		t.Errorf("describe sts lacks the event %q:\n%s", want, r.Stdout)
	}
}

// writeEditor writes an EDITOR script that runs one sed expression on the file kubectl hands it.
func (s *suite) writeEditor(t *testing.T, name, sedExpr string) string {
	t.Helper()
	p := s.c.WriteFile(t, name, "#!/bin/sh\nexec sed -i -e '"+sedExpr+"' \"$1\"\n")
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *suite) edit(t *testing.T) {
	ns := s.nsCreate
	ed := s.writeEditor(t, "editor-replicas.sh", `s/^  replicas: 2$/  replicas: 4/`)
	r := s.cl.RunWith(harness.RunOpts{Env: []string{"KUBE_EDITOR=" + ed, "EDITOR=" + ed}}, "edit", "sts", "kubia", "-n", ns)
	if r.Err != nil || !strings.Contains(r.Stdout, "statefulset.apps/kubia edited") {
		t.Fatalf("edit replicas: %s", r)
	}
	if got := s.cl.JSONPath(t, "{.spec.replicas} {.metadata.generation}", "sts", "kubia", "-n", ns); got != "4 2" {
		t.Errorf("after edit: replicas generation = %q, want \"4 2\"", got)
	}

	// An edit that changes the immutable serviceName is refused; nothing changes.
	before := s.stsState(t, ns, "kubia")
	ed = s.writeEditor(t, "editor-servicename.sh", `s/^  serviceName: kubia$/  serviceName: other/`)
	r = s.cl.RunWith(harness.RunOpts{Env: []string{"KUBE_EDITOR=" + ed, "EDITOR=" + ed}}, "edit", "sts", "kubia", "-n", ns)
	if r.Err == nil {
		t.Errorf("edit of serviceName succeeded: %s", r)
	}
	for _, p := range []string{`statefulsets.apps "kubia" is invalid`, "Edit cancelled, no valid changes were saved"} {
		if !strings.Contains(r.Combined(), p) {
			t.Errorf("edit serviceName output lacks %q: %s", p, r)
		}
	}
	// kubectl keeps the rejected edit with the server's reason in a comment.
	if m := regexp.MustCompile(`A copy of your changes has been stored to "([^"]+)"`).FindStringSubmatch(r.Stderr); m == nil {
		t.Errorf("edit did not keep a copy: %s", r)
	} else if kept, err := os.ReadFile(m[1]); err != nil {
		t.Errorf("read kept edit: %v", err)
	} else if !strings.Contains(string(kept), `spec.serviceName: Invalid value: "other": field is immutable`) {
		t.Errorf("kept edit lacks the server's reason:\n%s", harness.Tail(string(kept), 1500))
	}
	s.assertUnchanged(t, ns, "kubia", before)
}

// stsState is the part of a StatefulSet users change (not status, which the controller owns).
func (s *suite) stsState(t *testing.T, ns, name string) map[string]any {
	t.Helper()
	obj := s.cl.GetJSON(t, "sts", name, "-n", ns)
	md, _ := obj["metadata"].(map[string]any)
	return map[string]any{
		"spec":        obj["spec"],
		"generation":  md["generation"],
		"labels":      md["labels"],
		"annotations": md["annotations"],
		"uid":         md["uid"],
	}
}

func (s *suite) assertUnchanged(t *testing.T, ns, name string, before map[string]any) {
	t.Helper()
	if after := s.stsState(t, ns, name); !reflect.DeepEqual(before, after) {
		b, _ := json.Marshal(before)
		a, _ := json.Marshal(after)
		t.Errorf("statefulset %s/%s changed by a rejected request:\nbefore %s\nafter  %s", ns, name, b, a)
	}
}

func (s *suite) patch(t *testing.T) {
	ns := s.nsCreate
	containers := func() string {
		return s.cl.JSONPath(t, "{.spec.template.spec.containers[*].name}", "sts", "web", "-n", ns)
	}
	// strategic merge: containers merge by name, so a new one is added
	// (kube's strategic merge puts patch items absent from the live list first).
	r := s.cl.MustRun(t, "patch", "sts", "web", "-n", ns, "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}`)
	if !strings.Contains(r.Stdout, "statefulset.apps/web patched") {
		t.Errorf("strategic patch: %s", r)
	}
	if got := containers(); got != "sidecar nginx" {
		t.Errorf("after strategic patch containers = %q", got)
	}
	// json patch: remove the first container.
	s.cl.MustRun(t, "patch", "sts", "web", "-n", ns, "--type=json", "-p", `[{"op":"remove","path":"/spec/template/spec/containers/0"},{"op":"replace","path":"/spec/minReadySeconds","value":3}]`)
	if got := containers(); got != "nginx" {
		t.Errorf("after json patch containers = %q", got)
	}
	// merge patch: maps merge, lists are replaced whole.
	s.cl.MustRun(t, "patch", "sts", "web", "-n", ns, "--type=merge", "-p", `{"metadata":{"labels":{"tier":"web"}},"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.22"}]}}}}`)
	got := s.cl.JSONPath(t, "{.metadata.labels.tier} {.spec.minReadySeconds} {.spec.template.spec.containers[0].image} [{.spec.template.spec.containers[0].ports}] [{.spec.template.spec.containers[0].volumeMounts}]", "sts", "web", "-n", ns)
	if got != "web 3 nginx:1.22 [] []" {
		t.Errorf("after merge patch = %q, want the label added and the container list replaced", got)
	}
	r = s.cl.MustRun(t, "patch", "sts", "web", "-n", ns, "--type=merge", "-p", `{"metadata":{"labels":{"tier":"web"}}}`)
	if !strings.Contains(r.Stdout, "statefulset.apps/web patched (no change)") {
		t.Errorf("no-op patch: %s", r)
	}
}

func (s *suite) scale(t *testing.T) {
	ns := s.nsCreate
	r := s.cl.MustRun(t, "scale", "sts", "web", "-n", ns, "--replicas=5")
	if !strings.Contains(r.Stdout, "statefulset.apps/web scaled") {
		t.Errorf("scale: %s", r)
	}
	if got := s.cl.JSONPath(t, "{.spec.replicas}", "sts", "web", "-n", ns); got != "5" {
		t.Errorf("replicas after scale = %q", got)
	}
	s.cl.MustFail(t, []string{"Expected replicas to be 2, was 5"}, "scale", "statefulset/web", "-n", ns, "--current-replicas=2", "--replicas=1")
	r = s.cl.MustRun(t, "scale", "statefulset/web", "-n", ns, "--current-replicas=5", "--replicas=0")
	if !strings.Contains(r.Stdout, "statefulset.apps/web scaled") {
		t.Errorf("scale with precondition: %s", r)
	}
	if got := s.cl.JSONPath(t, "{.spec.replicas}", "sts", "web", "-n", ns); got != "0" {
		t.Errorf("replicas after scale to 0 = %q", got)
	}
	// the controller removes web-0 once the set is scaled to zero.
	s.cl.WaitGone(t, waitBound, "pod", "web-0", "-n", ns)
}

func (s *suite) setImage(t *testing.T) {
	ns := s.nsCreate
	r := s.cl.MustRun(t, "set", "image", "sts/web", "-n", ns, "nginx=nginx:1.23")
	if !strings.Contains(r.Stdout, "statefulset.apps/web image updated") {
		t.Errorf("set image: %s", r)
	}
	if got := s.cl.JSONPath(t, "{.spec.template.spec.containers[0].image}", "sts", "web", "-n", ns); got != "nginx:1.23" {
		t.Errorf("image after set image = %q", got)
	}
	// the server's StatefulSet rollout history records the new template revision.
	s.cl.WaitJSONPath(t, waitBound, "{.status.observedGeneration}", s.cl.JSONPath(t, "{.metadata.generation}", "sts", "web", "-n", ns), "sts", "web", "-n", ns)
}

// bad StatefulSet manifests: each differs from a valid one in one place.
const validSts = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: NAME
spec:
  serviceName: svc
  replicas: 1
  selector:
    matchLabels:
      app: a
  template:
    metadata:
      labels:
        app: LABEL
    spec:
      containers:
      - name: c
        image: nginx
`

func badSts(name, label, extra string) string {
	return strings.NewReplacer("NAME", name, "LABEL", label, "  replicas: 1\n", "  replicas: 1\n"+extra).Replace(validSts)
}

func (s *suite) badInputCreate(t *testing.T) {
	ns := s.nsCreate
	cases := []struct {
		name, file, manifest string
		phrases              []string
	}{
		{"selector-mismatch", "badsel.yaml", badSts("badsel", "b", ""), []string{
			`The StatefulSet "badsel" is invalid`, `spec.template.metadata.labels: Invalid value`, "`selector` does not match template `labels`"}},
		{"upper-case-name", "upper.yaml", badSts("BadName", "a", ""), []string{
			`The StatefulSet "BadName" is invalid`, `metadata.name: Invalid value: "BadName"`, "a lowercase RFC 1123"}},
		{"negative-replicas", "neg.yaml", strings.Replace(badSts("negrep", "a", ""), "replicas: 1", "replicas: -1", 1), []string{
			`The StatefulSet "negrep" is invalid`, `spec.replicas: Invalid value: -1: must be greater than or equal to 0`}},
		{"unknown-field", "bogus.yaml", badSts("bogus", "a", "  bogus: true\n"), []string{
			`strict decoding error: unknown field "spec.bogus"`}},
		{"malformed-yaml", "malformed.yaml", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: malformed\n spec: [\n", []string{
			"error converting YAML to JSON", "yaml: line"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := s.c.WriteFile(t, tc.file, tc.manifest)
			name := regexp.MustCompile(`(?m)^  name: (\S+)$`).FindStringSubmatch(tc.manifest)[1]
			for _, verb := range []string{"create", "apply"} {
				s.cl.MustFail(t, tc.phrases, verb, "-n", ns, "-f", f)
			}
			s.cl.MustFail(t, []string{fmt.Sprintf(`statefulsets.apps "%s" not found`, name)}, "get", "sts", name, "-n", ns)
		})
	}

	t.Run("malformed-json-body", func(t *testing.T) {
		f := s.c.WriteFile(t, "malformed.json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"malformed"`)
		s.cl.MustFail(t, []string{"Error from server (BadRequest)", "couldn't get version/kind; json parse error"},
			"create", "--raw", "/api/v1/namespaces/"+ns+"/configmaps", "-f", f)
		s.cl.MustFail(t, []string{`configmaps "malformed" not found`}, "get", "configmap", "malformed", "-n", ns)
	})

	t.Run("5MB-body", func(t *testing.T) {
		big := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: " + strings.Repeat("a", 5<<20) + "\n"
		f := s.c.WriteFile(t, "big.yaml", big)
		s.cl.MustFail(t, []string{"Request entity too large: limit is 3145728"}, "create", "-n", ns, "-f", f)
		s.cl.MustFail(t, []string{`configmaps "big" not found`}, "get", "configmap", "big", "-n", ns)

		// over an existing object: the apply is refused and the stored object stays.
		s.cl.MustRun(t, "create", "configmap", "big", "-n", ns, "--from-literal=k=small")
		before := s.cl.GetJSON(t, "configmap", "big", "-n", ns)
		s.cl.MustFail(t, []string{"Request entity too large: limit is 3145728"}, "apply", "-n", ns, "-f", f)
		after := s.cl.GetJSON(t, "configmap", "big", "-n", ns)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("configmap changed by a refused apply:\nbefore %v\nafter  %v", before, after)
		}
	})
}

// badInputUpdate: rejected changes to a stored StatefulSet leave it as it was.
func (s *suite) badInputUpdate(t *testing.T) {
	ns := s.nsCreate
	const name = "nginx-sts"
	before := s.stsState(t, ns, name)
	orig, err := os.ReadFile(example(t, "storageclass/nginx-sts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	invalid := fmt.Sprintf(`The StatefulSet "%s" is invalid`, name)
	serviceNameImmutable := []string{invalid, `spec.serviceName: Invalid value: "other": field is immutable`}

	cases := []struct {
		name    string
		args    []string
		phrases []string
	}{
		{"immutable-serviceName-patch", []string{"patch", "sts", name, "-p", `{"spec":{"serviceName":"other"}}`}, serviceNameImmutable},
		{"immutable-serviceName-apply", []string{"apply", "-f", s.c.WriteFile(t, "nginx-sts-svcname.yaml",
			strings.Replace(string(orig), "serviceName: sts-svc", "serviceName: other", 1))}, serviceNameImmutable},
		{"immutable-volumeClaimTemplates", []string{"patch", "sts", name, "--type=json", "-p",
			`[{"op":"replace","path":"/spec/volumeClaimTemplates/0/spec/resources/requests/storage","value":"20Gi"}]`},
			[]string{invalid, "spec.volumeClaimTemplates: Invalid value: ", "field is immutable"}},
		{"negative-replicas", []string{"patch", "sts", name, "--type=merge", "-p", `{"spec":{"replicas":-1}}`},
			[]string{fmt.Sprintf(`The StatefulSet "%s" is invalid`, name), "spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{"negative-replicas-scale", []string{"scale", "sts", name, "--replicas=-1"},
			[]string{"COUNT must be greater than or equal to 0"}},
		{"selector-mismatch", []string{"patch", "sts", name, "--type=merge", "-p", `{"spec":{"template":{"metadata":{"labels":{"app":"other"}}}}}`},
			[]string{fmt.Sprintf(`The StatefulSet "%s" is invalid`, name), "`selector` does not match template `labels`"}},
		{"unknown-field-apply", []string{"apply", "-f", s.c.WriteFile(t, "nginx-sts-bogus.yaml",
			strings.Replace(string(orig), "  serviceName: sts-svc\n", "  serviceName: sts-svc\n  bogus: true\n", 1))},
			[]string{`strict decoding error: unknown field "spec.bogus"`}},
		// kube-apiserver checks a patch body is JSON before anything else.
		{"malformed-merge-patch", []string{"patch", "sts", name, "--type=merge", "-p", `{"spec":`},
			[]string{"Error from server (BadRequest): invalid JSON patch"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.cl.MustFail(t, tc.phrases, append(tc.args, "-n", ns)...)
			s.assertUnchanged(t, ns, name, before)
		})
	}
}

func (s *suite) delete(t *testing.T) {
	ns := s.nsCreate
	t.Run("default-background", func(t *testing.T) {
		r := s.cl.MustRun(t, "delete", "sts", "hello-stateful", "-n", ns)
		if !strings.Contains(r.Stdout, `statefulset.apps "hello-stateful" deleted`) {
			t.Errorf("delete: %s", r)
		}
		s.cl.WaitGone(t, waitBound, "sts", "hello-stateful", "-n", ns)
		// the garbage collector removes the pods; the claims are retained.
		s.cl.WaitGone(t, waitBound, "pod", "hello-stateful-0", "-n", ns)
		if got := s.cl.JSONPath(t, "{.metadata.name}", "pvc", "data-hello-stateful-0", "-n", ns); got != "data-hello-stateful-0" {
			t.Errorf("claim after delete = %q", got)
		}
	})
	t.Run("cascade-orphan", func(t *testing.T) {
		r := s.cl.MustRun(t, "delete", "sts", "kubia", "-n", ns, "--cascade=orphan")
		if !strings.Contains(r.Stdout, `statefulset.apps "kubia" deleted`) {
			t.Errorf("delete --cascade=orphan: %s", r)
		}
		s.cl.WaitGone(t, waitBound, "sts", "kubia", "-n", ns)
		// the pod stays, no longer owned.
		s.cl.WaitJSONPath(t, waitBound, "{.metadata.name}/{.metadata.ownerReferences}", "kubia-0/", "pod", "kubia-0", "-n", ns)
	})
	t.Run("force-grace-period-0", func(t *testing.T) {
		r := s.cl.MustRun(t, "delete", "pod", "kubia-0", "-n", ns, "--force", "--grace-period=0")
		if !strings.Contains(r.Stdout, `pod "kubia-0" force deleted`) || !strings.Contains(r.Stderr, "Immediate deletion does not wait for confirmation") {
			t.Errorf("delete --force: %s", r)
		}
		s.cl.WaitGone(t, waitBound, "pod", "kubia-0", "-n", ns)

		r = s.cl.MustRun(t, "delete", "sts", "nginx-sts", "-n", ns, "--force", "--grace-period=0")
		if !strings.Contains(r.Stdout, `statefulset.apps "nginx-sts" force deleted`) {
			t.Errorf("delete sts --force: %s", r)
		}
		s.cl.WaitGone(t, waitBound, "sts", "nginx-sts", "-n", ns)
		s.cl.WaitGone(t, waitBound, "pod", "nginx-sts-0", "-n", ns)
	})
	t.Run("delete-f-and-namespace", func(t *testing.T) {
		r := s.cl.MustRun(t, "delete", "-n", s.nsApply, "-f", example(t, "web/statefulset.yaml"))
		for _, want := range []string{`service "nginx-svc" deleted`, `statefulset.apps "web" deleted`} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("delete -f lacks %q: %s", want, r)
			}
		}
		s.cl.MustFail(t, []string{`statefulsets.apps "web" not found`}, "delete", "-n", s.nsApply, "sts", "web")
		s.cl.MustRun(t, "delete", "namespace", s.nsApply, s.nsSeed)
		s.cl.WaitGone(t, waitBound, "namespace", s.nsApply, s.nsSeed)
	})
}

// testAnonymousAndWrongToken: no anonymous reads or writes, and a wrong
// bearer token is 401 — the same HTTP a `curl -k` sees.
func testAnonymousAndWrongToken(t *testing.T, c *harness.Cluster) {
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	do := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, c.Server+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("GET", "/api/v1/pods", "", ""); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("anonymous list pods = %d %s, want 401 or 403", code, body)
	}
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"anonymous-write"},"data":{"k":"v"}}`
	if code, body := do("POST", "/api/v1/namespaces/default/configmaps", "", cm); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("anonymous create = %d %s, want 401 or 403", code, body)
	}
	if code, body := do("GET", "/api/v1/pods", "wrong-token", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong token = %d %s, want 401", code, body)
	}
	if code, body := do("POST", "/api/v1/namespaces/default/configmaps", "wrong-token", cm); code != http.StatusUnauthorized {
		t.Errorf("write with wrong token = %d %s, want 401", code, body)
	}
	// The same with curl -k.
	t.Run("curl", func(t *testing.T) {
		curl := harness.LookTool(t, "curl")
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{[]string{c.Server + "/api/v1/pods"}, []string{"401", "403"}},
			{[]string{"-X", "POST", "-H", "Content-Type: application/json", "-d", cm, c.Server + "/api/v1/namespaces/default/configmaps"}, []string{"401", "403"}},
			{[]string{"-H", "Authorization: Bearer wrong-token", c.Server + "/api/v1/pods"}, []string{"401"}},
		} {
			// The status code is what counts: over HTTP/2 kube closes
			// unauthenticated connections (GOAWAY), so curl may exit 18
			// with the body cut short.
			out, err := exec.Command(curl, append([]string{"-k", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30"}, tc.args...)...).Output()
			if !contains(tc.want, string(out)) {
				t.Errorf("curl -k %v = %q (%v), want one of %v", tc.args, out, err, tc.want)
			}
		}
	})
	// The admin token works, and nothing got written by the refused requests.
	if code, body := do("GET", "/api/v1/pods", c.Token, ""); code != http.StatusOK {
		t.Errorf("admin list pods = %d %s", code, harness.Tail(body, 500))
	}
	if code, body := do("GET", "/api/v1/namespaces/default/configmaps/anonymous-write", c.Token, ""); code != http.StatusNotFound {
		t.Errorf("configmap from a refused write: %d %s", code, harness.Tail(body, 500))
	}
}
