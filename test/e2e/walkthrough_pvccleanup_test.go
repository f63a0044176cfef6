package e2e

import (
	"regexp"
	"strings"
	"testing"

	"petset/test/harness"
)

// scratchClaim is a claim no pod uses (standard is WaitForFirstConsumer,
// so it stays Pending): its deletion is not held, which makes it a
// barrier — once it is gone, pvc-protection has looked at the claims
// deleted before it.
const scratchClaim = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: scratch
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
`

// walkthroughPVCCleanup is seed 002's "PVC cleanup" step run too early, as
// the issue found it: the claim of a running pod (www-web-2) is deleted.
// As on Kubernetes it stays Terminating, `describe pvc` names its user and
// the protection finalizer, and the pod keeps serving its data; once the
// set is scaled down past web-2 the claim goes, and its volume with it.
// Called by TestWalkthroughWeb with web-0..2 Ready and the proxy running.
func walkthroughPVCCleanup(t *testing.T, u *harness.Up, px *harness.Proxy) {
	k := u.K
	k.MustRun(t, "exec", "web-2", "--", "sh", "-c", "echo web-2 keeps its data > /usr/share/nginx/html/index.html")
	px.WaitBody(t, "GET", "/api/v1/namespaces/default/pods/web-2/proxy/", "", "web-2 keeps its data")
	volume := k.JSONPath(t, "{.spec.volumeName}", "pvc", "www-web-2")
	if volume == "" {
		t.Fatal("www-web-2 has no volume")
	}
	k.MustRun(t, "apply", "-f", u.WriteFile(t, "scratch-pvc.yaml", scratchClaim))

	// The seed's script, aimed at web-2 while it runs. Without --wait=false
	// kubectl waits until the claim is gone, that is until web-2 is.
	r := k.MustRun(t, "delete", "pvc", "www-web-2", "scratch", "--wait=false")
	if !strings.Contains(r.Stdout, `persistentvolumeclaim "www-web-2" deleted`) {
		t.Errorf("kubectl delete pvc printed %q", r.Stdout)
	}
	k.WaitGone(t, waitBound, "pvc", "scratch")

	r = k.MustRun(t, "get", "pvc", "www-web-2")
	rows := harness.Rows(r.Stdout)
	if len(rows) != 1 || len(rows[0]) < 2 || rows[0][1] != "Terminating" {
		t.Errorf("kubectl get pvc www-web-2: want STATUS Terminating:\n%s", r.Stdout)
	}
	r = k.MustRun(t, "describe", "pvc", "www-web-2")
	for _, re := range []string{`(?m)^Status:\s+Terminating`, `(?m)^Finalizers:\s+\[kubernetes\.io/pvc-protection\]$`, `(?m)^Used By:\s+web-2$`} {
		if !regexp.MustCompile(re).MatchString(r.Stdout) {
			t.Errorf("describe pvc www-web-2 lacks %s:\n%s", re, r.Stdout)
		}
	}
	if got := k.JSONPath(t, "{.status.phase}", "pv", volume); got != "Bound" {
		t.Errorf("volume %s of the Terminating claim is %q, want Bound", volume, got)
	}
	px.WaitBody(t, "GET", "/api/v1/namespaces/default/pods/web-2/proxy/", "", "web-2 keeps its data")

	// Scaling down removes web-2; then its claim and its volume go.
	k.MustRun(t, "scale", "statefulset", "web", "--replicas=2")
	k.WaitGone(t, waitBound, "pod", "web-2")
	k.WaitGone(t, waitBound, "pvc", "www-web-2")
	k.WaitGone(t, waitBound, "pv", volume)
	for _, c := range []string{"www-web-0", "www-web-1"} {
		if got := k.JSONPath(t, "{.status.phase}", "pvc", c); got != "Bound" {
			t.Errorf("%s is %q after the clean-up, want Bound", c, got)
		}
	}
}
