package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"petset/internal/testenv"
	"petset/test/harness"
)

// publicChart is one public Helm chart of a stateful app as TestPublicCharts
// installs it: default values except those that give it three or more
// replicas, and a value that changes its pod template for the upgrade.
type publicChart struct {
	name    string
	install []string // --set values of the install
	rollout string   // the pod-annotation value whose change rolls the sets
	sets    map[string]int
	// keep are values the chart refuses to upgrade without (its NOTES say
	// "You must provide your current passwords when upgrading"): value
	// key → key of the release's Secret (named as the release) that holds
	// the current one, read back as the chart's NOTES tell a user to.
	keep map[string]string
	// wait is helm's --timeout for install and upgrade (3m unless set): a
	// chart whose pods wait a minute for their first readiness probe
	// (initialDelaySeconds 60), one after the other, needs more on any
	// cluster — simulated nodes keep the probes' timing.
	wait string
}

// publicCharts are the charts of issue 11 in the Bitnami charts repository
// (docs/charts.md); each is installed as a release named after the chart,
// so its objects are named <chart>[-<component>].
var publicCharts = []publicChart{
	{"postgresql", []string{"architecture=replication", "readReplicas.replicaCount=2"}, "primary.podAnnotations.rollout",
		map[string]int{"postgresql-primary": 1, "postgresql-read": 2}, nil, ""},
	{"redis", []string{"replica.replicaCount=3"}, "replica.podAnnotations.rollout",
		map[string]int{"redis-master": 1, "redis-replicas": 3}, nil, ""},
	{"zookeeper", []string{"replicaCount=3"}, "podAnnotations.rollout",
		map[string]int{"zookeeper": 3}, nil, ""},
	{"kafka", []string{"controller.replicaCount=3"}, "controller.podAnnotations.rollout",
		map[string]int{"kafka-controller": 3}, nil, ""},
	{"etcd", []string{"replicaCount=3"}, "podAnnotations.rollout",
		map[string]int{"etcd": 3}, nil, "6m"},
	{"rabbitmq", []string{"replicaCount=3"}, "podAnnotations.rollout",
		map[string]int{"rabbitmq": 3}, nil, ""},
	{"mariadb", []string{"architecture=replication", "secondary.replicaCount=2"}, "secondary.podAnnotations.rollout",
		map[string]int{"mariadb-primary": 1, "mariadb-secondary": 2},
		map[string]string{"auth.rootPassword": "mariadb-root-password", "auth.replicationPassword": "mariadb-replication-password"}, ""},
	{"cassandra", []string{"replicaCount=3"}, "podAnnotations.rollout",
		map[string]int{"cassandra": 3}, nil, "8m"},
	{"mongodb", []string{"architecture=replicaset", "replicaCount=3"}, "podAnnotations.rollout",
		map[string]int{"mongodb": 3, "mongodb-arbiter": 1}, nil, ""},
	{"vault", []string{"server.replicaCount=3"}, "server.podAnnotations.rollout",
		map[string]int{"vault-server": 3}, nil, ""},
}

// ciCharts are the charts TestPublicCharts installs when PETSET_CHART_LIST
// does not name others, for make e2e: zookeeper's pods start in parallel
// and are ready 5 s after they start; redis' replicas start one by one,
// each 20 s, which makes it minutes.
var ciCharts = []string{"zookeeper"}

// TestPublicCharts (issue 11): public Helm charts of stateful apps, from the
// Bitnami charts repository as the Go module proxy serves it
// (PETSET_CHARTS, the repository's bitnami/ directory; make e2e and make
// e2e-charts fetch it), install with default values and three or more
// replicas on simulated nodes with helm v4 (install --wait), their sets
// roll on an upgrade that changes a pod annotation (upgrade --wait), and
// uninstall --wait removes them. Each chart gets a namespace of its own
// in one petset up; PETSET_CHART_LIST (comma-separated, or "all") picks
// the charts, make e2e-charts runs all of them.
func TestPublicCharts(t *testing.T) {
	t.Parallel()
	helmPath := harness.LookHelm(t)
	repo := os.Getenv("PETSET_CHARTS")
	if repo == "" {
		testenv.SkipOrFail(t, "PETSET_CHARTS is not set: run make e2e or make e2e-charts (they fetch the Bitnami charts from the Go module proxy)")
	}
	charts := selectCharts(t, os.Getenv("PETSET_CHART_LIST"))
	u := harness.StartUp(t, "--simulate-nodes", "3")
	for _, c := range charts {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			chart := stageChart(t, repo, c.name)
			helm := u.Helm(t, helmPath)
			wait := c.wait
			if wait == "" {
				wait = "3m"
			}
			bound, err := time.ParseDuration(wait)
			if err != nil {
				t.Fatal(err)
			}
			helm.Timeout = bound + time.Minute
			k := u.K
			ns := "chart-" + c.name
			release := c.name
			nsArgs := []string{"--namespace", ns}

			args := append([]string{"install", release, chart, "--namespace", ns, "--create-namespace", "--wait", "--timeout", wait}, setArgs(c.install)...)
			helm.MustRun(t, args...)
			before := map[string]string{}
			for set, replicas := range c.sets {
				got := k.JSONPath(t, "{.spec.replicas} {.status.readyReplicas} {.status.updateRevision}", append(nsArgs, "statefulset", set)...)
				f := strings.Fields(got)
				if len(f) != 3 || f[0] != fmt.Sprint(replicas) || f[1] != f[0] {
					t.Fatalf("after install --wait, statefulset %s: replicas, ready and revision %q, want %d ready", set, got, replicas)
				}
				before[set] = f[2]
			}

			args = append([]string{"upgrade", release, chart, "--namespace", ns, "--wait", "--timeout", wait,
				"--set", c.rollout + "=two"}, setArgs(c.install)...)
			for value, key := range c.keep {
				current, err := base64.StdEncoding.DecodeString(k.JSONPath(t, "{.data."+key+"}", append(nsArgs, "secret", release)...))
				if err != nil {
					t.Fatalf("secret %s key %s: %v", release, key, err)
				}
				args = append(args, "--set-string", value+"="+string(current))
			}
			helm.MustRun(t, args...)
			rolled := 0
			for set, replicas := range c.sets {
				after := k.JSONPath(t, "{.status.updateRevision}", append(nsArgs, "statefulset", set)...)
				if after == before[set] {
					continue
				}
				rolled++
				k.WaitJSONPath(t, waitBound, "{.status.currentRevision} {.status.updatedReplicas} {.status.readyReplicas}",
					fmt.Sprintf("%s %d %d", after, replicas, replicas), append(nsArgs, "statefulset", set)...)
			}
			if rolled == 0 {
				t.Errorf("helm upgrade --set %s=two rolled none of the sets %v", c.rollout, before)
			}
			if out := helm.MustRun(t, "history", release, "--namespace", ns, "-o", "json").Stdout; !strings.Contains(out, `"status":"deployed"`) || !strings.Contains(out, `"revision":2`) {
				t.Errorf("helm history after the upgrade: %s", out)
			}

			helm.MustRun(t, "uninstall", release, "--namespace", ns, "--wait", "--timeout", "3m")
			for set := range c.sets {
				k.WaitGone(t, waitBound, append(nsArgs, "statefulset", set)...)
			}
			// The sets' pods are not the release's: the garbage collector
			// deletes them after their set, in the background, as on
			// Kubernetes. (A hook's Job is not the release's either: etcd's
			// pre-upgrade Job, hook-delete-policy before-hook-creation,
			// outlives the release with its pod, as helm leaves it.)
			var left string
			if err := harness.WaitFor(waitBound, func() (bool, error) {
				left = strings.TrimSpace(k.JSONPath(t, `{range .items[?(@.metadata.ownerReferences[0].kind=="StatefulSet")]}{.metadata.name} {end}`,
					append(nsArgs, "pods")...))
				return left == "", nil
			}); err != nil {
				t.Errorf("pods of the sets left %v after uninstall: %s", waitBound, left)
			}
		})
	}
}

// selectCharts returns the charts list names: comma-separated chart names,
// "all", or empty for the short CI set.
func selectCharts(t testing.TB, list string) []publicChart {
	t.Helper()
	names := ciCharts
	switch list {
	case "":
	case "all":
		return publicCharts
	default:
		names = strings.Split(list, ",")
	}
	var out []publicChart
	for _, n := range names {
		i := slices.IndexFunc(publicCharts, func(c publicChart) bool { return c.name == strings.TrimSpace(n) })
		if i < 0 {
			t.Fatalf("PETSET_CHART_LIST: no chart %q in the table", n)
		}
		out = append(out, publicCharts[i])
	}
	return out
}

// stageChart copies repo/name into a temporary dir with repo/common as its
// charts/common: the charts name common from an OCI registry the tests do
// not reach, so its copy from the same repository stands in for
// `helm dependency build`.
func stageChart(t testing.TB, repo, name string) string {
	t.Helper()
	dir := t.TempDir()
	dst := filepath.Join(dir, name)
	for _, cp := range [][]string{
		{filepath.Join(repo, name), dst},
		{filepath.Join(repo, "common"), filepath.Join(dst, "charts", "common")},
	} {
		if err := os.MkdirAll(filepath.Dir(cp[1]), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-r", cp[0], cp[1]).CombinedOutput(); err != nil {
			t.Fatalf("cp -r %s %s: %v\n%s", cp[0], cp[1], err, out)
		}
	}
	// The module cache is read-only: so are the copies.
	if out, err := exec.Command("chmod", "-R", "u+w", dst).CombinedOutput(); err != nil {
		t.Fatalf("chmod %s: %v\n%s", dst, err, out)
	}
	return dst
}

func setArgs(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, "--set", v)
	}
	return out
}
