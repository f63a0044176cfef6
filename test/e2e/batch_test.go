package e2e

import (
	"strings"
	"testing"

	"petset/test/harness"
)

// batchManifests: a job that succeeds, one that fails (backoffLimit 0) and
// a CronJob whose schedule is far off; simulated nodes exit their pods as
// the petset.io/simulate annotation says.
const batchManifests = `apiVersion: batch/v1
kind: Job
metadata:
  name: ok
spec:
  template:
    metadata:
      annotations: {petset.io/simulate: succeed}
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox:1.36, command: ["true"]}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: bad
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {petset.io/simulate: fail}
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox:1.36, command: ["false"]}]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 1 1 *"
  timeZone: Europe/Berlin
  jobTemplate:
    spec:
      template:
        metadata:
          annotations: {petset.io/simulate: succeed}
        spec:
          restartPolicy: OnFailure
          containers: [{name: work, image: busybox:1.36, command: ["true"]}]
`

// TestBatchJobs: kubectl apply of Jobs and a CronJob, kubectl create job
// (completed by the simulated node without steering), kubectl wait for
// condition=complete and condition=failed (reason BackoffLimitExceeded),
// kubectl get jobs and cronjobs with kube's columns, and kubectl create
// job --from=cronjob/… run to completion.
func TestBatchJobs(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t, "--simulate-nodes", "1")
	k := u.K
	if r := k.RunWith(harness.RunOpts{Stdin: batchManifests}, "apply", "-f", "-"); r.Err != nil {
		t.Fatalf("%s", r)
	}
	// As a chart's hook job: no steering annotation, the simulated node
	// completes a Job's pods by itself.
	k.MustRun(t, "create", "job", "plain", "--image=busybox:1.36", "--", "true")
	k.MustRun(t, "wait", "--for=condition=complete", "job/ok", "job/plain", "--timeout=90s")
	k.MustRun(t, "wait", "--for=condition=failed", "job/bad", "--timeout=90s")
	if got := k.JSONPath(t, `{.status.conditions[?(@.type=="Failed")].reason} {.status.failed}`, "job", "bad"); got != "BackoffLimitExceeded 1" {
		t.Errorf("failed job: %q, want BackoffLimitExceeded 1", got)
	}
	out := k.MustRun(t, "get", "jobs").Stdout
	if h := harness.Header(out); h != "NAME STATUS COMPLETIONS DURATION AGE" {
		t.Errorf("kubectl get jobs header %q", h)
	}
	rows := map[string]string{}
	for _, r := range harness.Rows(out) {
		rows[r[0]] = strings.Join(r[1:3], " ")
	}
	if rows["ok"] != "Complete 1/1" || rows["plain"] != "Complete 1/1" || rows["bad"] != "Failed 0/1" {
		t.Errorf("kubectl get jobs rows %v\n%s", rows, out)
	}

	out = k.MustRun(t, "get", "cj").Stdout
	if h := harness.Header(out); h != "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE" {
		t.Errorf("kubectl get cronjobs header %q", h)
	}
	if r := harness.Rows(out); len(r) != 1 || strings.Join(r[0][:8], " ") != "nightly 0 3 1 1 * Europe/Berlin False" {
		t.Errorf("kubectl get cronjobs rows %q", r)
	}
	k.MustRun(t, "create", "job", "manual", "--from=cronjob/nightly")
	k.MustRun(t, "wait", "--for=condition=complete", "job/manual", "--timeout=90s")
	if got := k.JSONPath(t, "{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}", "job", "manual"); got != "CronJob/nightly" {
		t.Errorf("manual job's owner %q", got)
	}
}
