package statefulset

import (
	"strings"
	"testing"

	apps "k8s.io/api/apps/v1"

	"petset/internal/fencing"
)

// optedIn lists the set's pods that carry petset.io/failover=auto.
func optedIn(h *harness) string {
	var out []string
	for _, p := range h.pods() {
		if fencing.AutoFailover(p) {
			out = append(out, p.Name)
		}
	}
	return strings.Join(out, ",")
}

func setFailover(on bool) func(*apps.StatefulSet) {
	return func(s *apps.StatefulSet) {
		if !on {
			delete(s.Annotations, fencing.FailoverAnnotation)
			return
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[fencing.FailoverAnnotation] = fencing.FailoverAuto
	}
}

// A set annotated petset.io/failover=auto creates its pods with the
// annotation; removing it from the set removes it from every pod, adding it
// back puts it on every pod at once — on one that is not ready (and blocks
// the ordered walk) and on a condemned one that the walk has not reached —
// without a new revision or a restart.
func TestFailoverAnnotationFollowsTheSet(t *testing.T) {
	h := newHarness(t)
	set := newSet("web", setOpts{replicas: 3})
	setFailover(true)(set)
	h.createSet(set)
	settle(t, h, "web")
	expect(t, "pods created opted in", optedIn(h), "web-0,web-1,web-2")
	rev := h.set("web").Status.UpdateRevision

	h.updateSet("web", setFailover(false))
	h.mustSync("web")
	expect(t, "after the set's annotation is removed", optedIn(h), "")

	h.setRunning(h.pod("web-0")) // not ready: the ordered walk stops at it
	h.mustSync("web")
	h.updateSet("web", setReplicas(2))
	h.updateSet("web", setFailover(true))
	h.mustSync("web")
	expect(t, "the walk stops at web-0; condemned web-2 not deleted yet", terminating(h), "")
	expect(t, "after the set's annotation is added back", optedIn(h), "web-0,web-1,web-2")
	if st := h.set("web").Status; st.UpdateRevision != rev || st.CurrentRevision != rev {
		t.Errorf("revisions %s/%s after annotating, want %s", st.CurrentRevision, st.UpdateRevision, rev)
	}
	h.checkViolations()
}

// With the server's --auto-failover every set's pods opt in; a template's
// own opt-in is kept when the set does not ask for one.
func TestFailoverClusterWideAndTemplate(t *testing.T) {
	h := newHarness(t)
	h.createSet(newSet("web", setOpts{replicas: 2}))
	settle(t, h, "web")
	expect(t, "no opt-in", optedIn(h), "")
	h.ctrl.control.autoFailover = true
	h.mustSync("web")
	expect(t, "cluster-wide, existing pods", optedIn(h), "web-0,web-1")
	h.updateSet("web", setReplicas(3))
	settle(t, h, "web")
	expect(t, "cluster-wide, a new pod", optedIn(h), "web-0,web-1,web-2")

	h2 := newHarness(t)
	tmpl := newSet("db", setOpts{replicas: 2})
	tmpl.Spec.Template.Annotations = map[string]string{fencing.FailoverAnnotation: fencing.FailoverAuto}
	h2.createSet(tmpl)
	settle(t, h2, "db")
	h2.mustSync("db")
	expect(t, "template opt-in kept", optedIn(h2), "db-0,db-1")
}
