package registry

import (
	"context"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultTolerationSeconds is how long pods tolerate a not-ready or
// unreachable node before eviction, as kube's DefaultTolerationSeconds
// admission sets it (kube-apiserver's --default-not-ready-toleration-seconds
// and --default-unreachable-toleration-seconds).
const DefaultTolerationSeconds = 300

// Tolerations are the tolerationSeconds of the not-ready and unreachable
// NoExecute tolerations the API server adds to pods that have none (`petset
// server --default-not-ready-toleration-seconds` and
// --default-unreachable-toleration-seconds). Nil means
// DefaultTolerationSeconds; zero is a valid value (evicted at once).
type Tolerations struct {
	NotReadySeconds    *int64
	UnreachableSeconds *int64
}

func (t Tolerations) seconds(key string) int64 {
	p := t.NotReadySeconds
	if key == corev1.TaintNodeUnreachable {
		p = t.UnreachableSeconds
	}
	if p == nil {
		return DefaultTolerationSeconds
	}
	return *p
}

// podGracefulDelete chooses the grace period as kube does: the request's,
// else the pod's terminationGracePeriodSeconds; zero for pods that never
// reached a node or have finished.
func podGracefulDelete(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	if options == nil {
		return false
	}
	pod := obj.(*corev1.Pod)
	period := int64(0)
	switch {
	case options.GracePeriodSeconds != nil:
		period = *options.GracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	options.GracePeriodSeconds = &period
	return true
}

// clampGracePeriod raises a negative terminationGracePeriodSeconds to 1,
// as kube's pod strategy does before validation.
func clampGracePeriod(pod *corev1.Pod) {
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		one := int64(1)
		pod.Spec.TerminationGracePeriodSeconds = &one
	}
}

func podFields(obj runtime.Object) fields.Set {
	pod := obj.(*corev1.Pod)
	ips := make([]string, 0, len(pod.Status.PodIPs))
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.host":                pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             pod.Status.PodIP,
		"status.podIPs":            strings.Join(ips, ","),
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

// addDefaultTolerations adds, as kube's DefaultTolerationSeconds admission,
// a NoExecute toleration of the not-ready and of the unreachable taint for
// the configured time to a pod that tolerates neither already.
func addDefaultTolerations(pod *corev1.Pod, tol Tolerations) {
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		has := false
		for _, t := range pod.Spec.Tolerations {
			if (t.Key == key || t.Key == "") && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") &&
				(t.Operator == corev1.TolerationOpExists || t.Key == key) {
				has = true
				break
			}
		}
		if !has {
			secs := tol.seconds(key)
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
				Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs,
			})
		}
	}
}
