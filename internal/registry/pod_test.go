package registry

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Pods get the not-ready and unreachable NoExecute tolerations for the
// configured seconds (kube's 300 by default, 0 allowed), unless they
// tolerate the taint already.
func TestDefaultTolerations(t *testing.T) {
	zero, sixteen := int64(0), int64(16)
	own := int64(5)
	for _, tc := range []struct {
		name                  string
		tol                   Tolerations
		pod                   []corev1.Toleration
		notReady, unreachable int64
	}{
		{name: "kube's default", notReady: 300, unreachable: 300},
		{name: "configured", tol: Tolerations{NotReadySeconds: &zero, UnreachableSeconds: &sixteen}, notReady: 0, unreachable: 16},
		{
			name: "the pod's own is kept", tol: Tolerations{UnreachableSeconds: &sixteen},
			pod:      []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &own}},
			notReady: 300, unreachable: 5,
		},
	} {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tc.pod}}
		addDefaultTolerations(pod, tc.tol)
		got := map[string]int64{}
		for _, tl := range pod.Spec.Tolerations {
			if tl.Effect != corev1.TaintEffectNoExecute || tl.Operator != corev1.TolerationOpExists || tl.TolerationSeconds == nil {
				t.Errorf("%s: toleration %+v", tc.name, tl)
				continue
			}
			if _, dup := got[tl.Key]; dup {
				t.Errorf("%s: two tolerations of %s", tc.name, tl.Key)
			}
			got[tl.Key] = *tl.TolerationSeconds
		}
		if len(got) != 2 || got[corev1.TaintNodeNotReady] != tc.notReady || got[corev1.TaintNodeUnreachable] != tc.unreachable {
			t.Errorf("%s: tolerations %v; want not-ready %d, unreachable %d", tc.name, got, tc.notReady, tc.unreachable)
		}
	}
}
