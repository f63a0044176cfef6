package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

// TestSecuritySandbox drives issue 7's "a pod sees the host" attack
// through `kubectl exec` against a real `petset up`: from inside a pod the
// host's root, petset's data dir (admin token included), the host's /root,
// /home and /tmp, and another pod's files are invisible; id shows the
// pod's runAsUser; capabilities are the container runtimes' default set;
// /proc and /sys cannot be written; readOnlyRootFilesystem refuses
// writes; a hostPath is visible only to the pod that declares it; and
// runAsNonRoot with a root image is refused with kubelet's message.
func TestSecuritySandbox(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t)
	k := u.K

	// Markers on the host that no pod may see.
	tag := "petset-e2e-" + harness.RandHex(t, 6)
	hostMarkers := []string{filepath.Join("/root", tag), filepath.Join("/home", tag), filepath.Join("/tmp", tag)}
	for _, p := range hostMarkers {
		if err := os.WriteFile(p, []byte("host secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(p) })
	}
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "declared"), []byte("from the host path\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: sb-root}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "infinity"]
    volumeMounts: [{name: data, mountPath: /data}, {name: host, mountPath: /host}]
  volumes:
  - {name: data, emptyDir: {}}
  - {name: host, hostPath: {path: %[1]s, type: Directory}}
---
apiVersion: v1
kind: Pod
metadata: {name: sb-other}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo theirs > /data/%[2]s-other; exec sleep infinity"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: data, emptyDir: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: sb-user}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000}
  containers:
  - name: main
    image: busybox
    command: ["sleep", "infinity"]
    securityContext: {readOnlyRootFilesystem: true}
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: data, emptyDir: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: sb-nonroot}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
  - {name: main, image: busybox, command: ["sleep", "infinity"]}
`, hostDir, tag)
	k.MustRun(t, "apply", "-f", u.WriteFile(t, "sandbox.yaml", manifest))
	for _, p := range []string{"sb-root", "sb-other", "sb-user"} {
		k.WaitJSONPath(t, 3*time.Minute, "{.status.containerStatuses[0].ready}", "true", "pod", p)
	}
	exec := func(pod, script string) harness.Result {
		t.Helper()
		return k.Run("exec", pod, "--", "sh", "-c", script)
	}
	mustExec := func(pod, script string) string {
		t.Helper()
		r := exec(pod, script)
		if r.Err != nil {
			t.Fatalf("%s", r)
		}
		return r.Stdout
	}

	t.Run("own root filesystem", func(t *testing.T) {
		out := mustExec("sb-root", "ls -a /")
		inPod := strings.Fields(out)
		if !slices.Contains(inPod, ".petset") {
			t.Errorf("ls -a / in the pod lacks .petset: %q", out)
		}
		// Whatever the host has at its top level beyond the container's
		// own skeleton must not show up.
		skeleton := []string{".", "..", ".petset", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev",
			"proc", "sys", "tmp", "var", "run", "root", "home", "mnt", "opt", "srv", "media", "data", "host"}
		ents, _ := os.ReadDir("/")
		for _, e := range ents {
			if !slices.Contains(skeleton, e.Name()) && slices.Contains(inPod, e.Name()) {
				t.Errorf("the pod's / shows the host's %s: %q", e.Name(), out)
			}
		}
	})

	t.Run("host and other pods invisible", func(t *testing.T) {
		secrets := append([]string{u.DataDir, filepath.Join(u.DataDir, "kubeconfig")}, hostMarkers...)
		for _, f := range []string{"admin.token", "ca.key", "join.token"} {
			if p := filepath.Join(u.DataDir, "pki", f); fileExists(p) {
				secrets = append(secrets, p)
			}
		}
		var script strings.Builder
		for _, p := range secrets {
			fmt.Fprintf(&script, "test -e %q && echo VISIBLE %s; ", p, p)
		}
		// Search the pod's tree (all but the host programs, /proc and
		// /sys) for the other pod's file and the markers.
		fmt.Fprintf(&script, "find / \\( -path /proc -o -path /sys -o -path /usr -o -path '/lib*' -o -path /bin -o -path /sbin \\) -prune -o -name '%s*' -print 2>/dev/null; echo done", tag)
		out := mustExec("sb-root", script.String())
		if strings.Contains(out, "VISIBLE") || strings.Contains(out, tag) || !strings.Contains(out, "done") {
			t.Errorf("the pod sees what it must not:\n%s", out)
		}
		// The other pod's own file is where it wrote it, in its pod only.
		if got := mustExec("sb-other", "cat /data/"+tag+"-other"); got != "theirs\n" {
			t.Errorf("sb-other's own file: %q", got)
		}
	})

	t.Run("hostPath only where declared", func(t *testing.T) {
		if got := mustExec("sb-root", "cat /host/declared"); got != "from the host path\n" {
			t.Errorf("declared hostPath: %q", got)
		}
		out := mustExec("sb-other", fmt.Sprintf("test -e %q && echo VISIBLE; test -e /host/declared && echo VISIBLE; echo done", hostDir))
		if strings.Contains(out, "VISIBLE") {
			t.Errorf("a pod without the hostPath volume sees it: %q", out)
		}
	})

	t.Run("default capabilities and masked proc", func(t *testing.T) {
		out := mustExec("sb-root", "grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status; id -u")
		wantAll(t, "root pod", out, "CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb", "NoNewPrivs:\t1", "\n0\n")
		for _, w := range []string{"echo b > /proc/sysrq-trigger", "echo 1 > /proc/sys/vm/drop_caches", "echo x > /sys/kernel/uevent_helper", "mount -t tmpfs none /mnt", "mknod /tmp/kmem c 1 2 && head -c1 /tmp/kmem"} {
			if r := exec("sb-root", w); r.Err == nil {
				t.Errorf("%q succeeded in the pod: %s", w, r)
			}
		}
		wantAll(t, "mountinfo", mustExec("sb-root", "cat /proc/self/mountinfo"), " /proc/sys ro,", " /sys ro,", " /usr ro,")
		if out := mustExec("sb-root", "wc -c < /proc/timer_list"); strings.TrimSpace(out) != "0" {
			t.Errorf("/proc/timer_list is not masked: %q bytes", out)
		}
	})

	t.Run("runAsUser fsGroup readOnlyRootFilesystem", func(t *testing.T) {
		wantAll(t, "id in sb-user", mustExec("sb-user", "id; grep CapEff /proc/self/status"), "uid=1000", "gid=3000", "2000", "CapEff:\t0000000000000000")
		// fsGroup: the emptyDir belongs to group 2000 and is writable.
		if out := mustExec("sb-user", "stat -c %g /data; echo ok > /data/f && cat /data/f"); out != "2000\nok\n" {
			t.Errorf("fsGroup volume: %q", out)
		}
		r := exec("sb-user", "touch /written")
		if r.Err == nil || !strings.Contains(r.Combined(), "Read-only file system") {
			t.Errorf("readOnlyRootFilesystem: touch /written: %s", r)
		}
	})

	t.Run("runAsNonRoot", func(t *testing.T) {
		k.WaitJSONPath(t, 2*time.Minute, "{.status.containerStatuses[0].state.waiting.reason}", "CreateContainerConfigError", "pod", "sb-nonroot")
		msg := k.JSONPath(t, "{.status.containerStatuses[0].state.waiting.message}", "pod", "sb-nonroot")
		if !strings.Contains(msg, "container has runAsNonRoot and image will run as root") {
			t.Errorf("runAsNonRoot message: %q", msg)
		}
	})
}

// wantAll reports each of wants that out (what) lacks.
func wantAll(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
