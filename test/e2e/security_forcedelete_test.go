package e2e

// TestSecurityForceDeleteNeverRunsTwo: a force delete of a terminating
// StatefulSet pod must not let its replacement run next to the old process.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// slowSet is one pod whose container ignores SIGTERM (it lives until
// SIGKILL) with a 30s grace period. POD_UID (downward API) in the
// environment tells two copies of slow-0 apart.
const slowSet = `apiVersion: v1
kind: Service
metadata:
  name: slow
spec:
  clusterIP: None
  selector:
    app: slow
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: slow
spec:
  serviceName: slow
  replicas: 1
  selector:
    matchLabels:
      app: slow
  template:
    metadata:
      labels:
        app: slow
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "trap '' TERM; echo slow-marker; while true; do sleep 1; done"]
        env:
        - name: POD_UID
          valueFrom:
            fieldRef:
              fieldPath: metadata.uid
`

// podUIDsOf returns the pod UIDs (POD_UID) of this petset's live pod
// processes running cmd with HOSTNAME=host.
func podUIDsOf(u *harness.Up, cmd, host string) map[string]int {
	out := map[string]int{}
	for _, pid := range u.PodProcesses(cmd, host) {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue // exited meanwhile
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if uid, ok := strings.CutPrefix(kv, "POD_UID="); ok {
				out[uid] = pid
			}
		}
	}
	return out
}

// identitySampler scans /proc over and over and records every sample in
// which processes of two different pod UIDs of one pod name were alive.
type identitySampler struct {
	samples, overlaps int
	first             string // the first overlap seen
	stop, done        chan struct{}
}

func sampleIdentity(u *harness.Up, cmd, host string) *identitySampler {
	s := &identitySampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			uids := podUIDsOf(u, cmd, host)
			s.samples++
			if len(uids) > 1 {
				s.overlaps++
				if s.first == "" {
					s.first = fmt.Sprint(uids)
				}
			}
		}
	}()
	return s
}

func (s *identitySampler) finish() {
	close(s.stop)
	<-s.done
}

func TestSecurityForceDeleteNeverRunsTwo(t *testing.T) {
	t.Parallel()
	reps := 3
	if os.Getenv("PETSET_E2E_LONG") == "1" {
		reps = 20
	}
	u := harness.StartUp(t)
	k := u.K
	k.MustRun(t, "apply", "-f", u.WriteFile(t, "slow.yaml", slowSet))
	var totalSamples, totalOverlaps int
	for rep := 1; rep <= reps; rep++ {
		u.WaitReady(t, "slow", 1)
		old := k.JSONPath(t, "{.metadata.uid}", "pod", "slow-0")
		if err := harness.WaitFor(time.Minute, func() (bool, error) {
			_, ok := podUIDsOf(u, "slow-marker", "slow-0")[old]
			return ok, nil
		}); err != nil {
			t.Fatalf("rep %d: no process of slow-0 (uid %s) found", rep, old)
		}
		s := sampleIdentity(u, "slow-marker", "slow-0")
		k.MustRun(t, "delete", "pod", "slow-0", "--wait=false")
		k.WaitJSONPath(t, time.Minute, "{.metadata.deletionGracePeriodSeconds}", "30", "pod", "slow-0")
		k.MustRun(t, "delete", "pod", "slow-0", "--grace-period=0", "--force")
		// The replacement runs, and the old process is gone.
		var now map[string]int
		err := harness.WaitFor(3*time.Minute, func() (bool, error) {
			now = podUIDsOf(u, "slow-marker", "slow-0")
			_, oldAlive := now[old]
			return len(now) == 1 && !oldAlive, nil
		})
		s.finish()
		totalSamples += s.samples
		totalOverlaps += s.overlaps
		if err != nil {
			t.Fatalf("rep %d: slow-0 processes by pod UID: %v (old %s); want only the replacement", rep, now, old)
		}
		t.Logf("rep %d: %d samples, %d with two copies of slow-0", rep, s.samples, s.overlaps)
		if s.overlaps > 0 {
			t.Errorf("rep %d: old slow-0 (uid %s) and its replacement ran at once in %d of %d samples, first %s",
				rep, old, s.overlaps, s.samples, s.first)
		}
	}
	t.Logf("%d repetitions: %d samples, %d with two live copies of slow-0", reps, totalSamples, totalOverlaps)
}

// sandboxInits returns the live sandbox inits of this petset (argv
// "petset-sandbox-init <pod uid>", config under the data dir) by pod UID.
func sandboxInits(u *harness.Up) map[string][]int {
	out := map[string][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		argv, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		f := strings.Split(strings.TrimRight(string(argv), "\x00"), "\x00")
		if len(f) != 2 || f[0] != "petset-sandbox-init" {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !strings.Contains(string(env), "PETSET_SANDBOX_CONFIG="+u.DataDir+"/") {
			continue
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(st), ") Z ") {
			continue // a zombie
		}
		out[f[1]] = append(out[f[1]], pid)
	}
	return out
}

// creatingSandbox returns the UID of a sandbox record still marked as being
// created, if any.
func creatingSandbox(u *harness.Up) string {
	recs, _ := filepath.Glob(filepath.Join(u.DataDir, "node", "rt", "pods", "*", "sandbox.json"))
	for _, p := range recs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var rec struct {
			UID      string
			Creating bool
		}
		if json.Unmarshal(b, &rec) == nil && rec.Creating {
			return rec.UID
		}
	}
	return ""
}

// TestSecurityKillNineDuringSandboxCreation kills `petset up` with SIGKILL
// while a pod's sandbox is half-created, restarts it twice, and checks that
// the half-created sandbox's init is gone and every pod identity runs
// exactly once.
func TestSecurityKillNineDuringSandboxCreation(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K
	web := strings.NewReplacer("replicas: 1", "replicas: 0\n  podManagementPolicy: Parallel",
		"trap '' TERM; echo slow-marker; ", "echo web-marker; ", "slow", "web").Replace(slowSet)
	k.MustRun(t, "apply", "-f", u.WriteFile(t, "web.yaml", web))
	var partial string
	var partialInits []int
	n := 0
	for replicas := 3; partial == "" && replicas <= 15; replicas += 3 {
		n = replicas
		k.MustRun(t, "scale", "statefulset", "web", "--replicas="+strconv.Itoa(replicas))
		// Kill the moment a sandbox record says it is being created.
		var uid string
		err := harness.WaitFor(3*time.Minute, func() (bool, error) {
			uid = creatingSandbox(u)
			return uid != "", nil
		})
		if err != nil {
			t.Fatalf("no sandbox creation seen: %v", err)
		}
		u.Kill(t)
		if creatingSandbox(u) == uid {
			partial, partialInits = uid, sandboxInits(u)[uid]
			break
		}
		t.Logf("sandbox %s completed before the kill landed; again", uid)
		u.Start(t)
		u.WaitReady(t, "web", replicas)
	}
	if partial == "" {
		t.Fatal("never killed petset up during a sandbox creation")
	}
	t.Logf("killed during creation of sandbox %s (inits left running: %v), %d replicas", partial, partialInits, n)
	for restart := 1; restart <= 2; restart++ {
		u.Start(t)
		u.WaitReady(t, "web", n)
		for _, pid := range partialInits {
			if err := harness.WaitFor(time.Minute, func() (bool, error) { return !alive(u, pid), nil }); err != nil {
				t.Errorf("restart %d: init %d of the half-created sandbox still runs", restart, pid)
			}
		}
		// The pod of the half-created sandbox still exists: it runs again
		// in a new sandbox, and like every pod, once.
		inits := sandboxInits(u)
		uids := map[string]bool{}
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("web-%d", i)
			uid := k.JSONPath(t, "{.metadata.uid}", "pod", name)
			uids[uid] = true
			if len(inits[uid]) != 1 {
				t.Errorf("restart %d: %s (uid %s) has %d sandbox inits: %v", restart, name, uid, len(inits[uid]), inits[uid])
			}
			if got := podUIDsOf(u, "web-marker", name); len(got) != 1 {
				t.Errorf("restart %d: processes of %s by pod UID: %v, want one", restart, name, got)
			}
		}
		for uid, pids := range inits {
			if !uids[uid] {
				t.Errorf("restart %d: sandbox init of no current pod (uid %s): %v", restart, uid, pids)
			}
		}
		if restart == 1 {
			u.Kill(t)
		}
	}
}

// alive reports whether pid runs (and is not a zombie).
func alive(u *harness.Up, pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(st), ") Z ")
}
