package integration

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodQOSClassAtCreate: status.qosClass is what kube-apiserver 1.37 sets
// at create (after defaulting: requests from limits, pod-level resources),
// on the cases of upstream's qos tests that pass validation.
func TestPodQOSClassAtCreate(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	list := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	guaranteed := corev1.ResourceRequirements{
		// An ephemeral-storage request does not affect the class.
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi"), corev1.ResourceEphemeralStorage: resource.MustParse("1Gi")},
		Limits:   list("100m", "100Mi"),
	}
	limitsOnly := corev1.ResourceRequirements{Limits: list("100m", "100Mi")} // requests defaulted from limits
	bestEffort := []corev1.ResourceRequirements{
		{},
		{Requests: list("0", "0")},
		{Requests: list("0", "0"), Limits: list("0", "0")},
		{Requests: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("1Gi")}},
	}
	burstable := []corev1.ResourceRequirements{
		{Requests: list("100m", "100Mi"), Limits: list("200m", "200Mi")},
		{Requests: list("100m", "100Mi"), Limits: list("100m", "200Mi")},
		{Requests: list("100m", "100Mi"), Limits: list("200m", "100Mi")},
		{Requests: list("100m", "100Mi")},
		{Requests: list("100m", "100Mi"), Limits: list("100m", "")},
		{Limits: list("100m", "")},
	}
	type tc struct {
		name      string
		init, app []corev1.ResourceRequirements
		pod       *corev1.ResourceRequirements
		want      corev1.PodQOSClass
	}
	cases := []tc{
		{name: "guaranteed", app: []corev1.ResourceRequirements{guaranteed}, want: corev1.PodQOSGuaranteed},
		{name: "guaranteed-limits-only", app: []corev1.ResourceRequirements{limitsOnly}, want: corev1.PodQOSGuaranteed},
		{name: "2c-guaranteed", app: []corev1.ResourceRequirements{guaranteed, limitsOnly}, want: corev1.PodQOSGuaranteed},
		{name: "2c-best-effort", app: []corev1.ResourceRequirements{bestEffort[0], bestEffort[1]}, want: corev1.PodQOSBestEffort},
		{name: "2c-burstable", app: []corev1.ResourceRequirements{burstable[0], burstable[1]}, want: corev1.PodQOSBurstable},
		{name: "2c-guaranteed-best-effort", app: []corev1.ResourceRequirements{guaranteed, bestEffort[0]}, want: corev1.PodQOSBurstable},
		{name: "2c-guaranteed-burstable", app: []corev1.ResourceRequirements{guaranteed, burstable[4]}, want: corev1.PodQOSBurstable},
		{name: "init-guaranteed", init: []corev1.ResourceRequirements{guaranteed}, app: []corev1.ResourceRequirements{guaranteed}, want: corev1.PodQOSGuaranteed},
		{name: "init-best-effort", init: []corev1.ResourceRequirements{bestEffort[0]}, app: []corev1.ResourceRequirements{guaranteed}, want: corev1.PodQOSBurstable},
		{name: "init-burstable", init: []corev1.ResourceRequirements{burstable[0]}, app: []corev1.ResourceRequirements{bestEffort[0]}, want: corev1.PodQOSBurstable},
		// Pod-level resources decide when set (PodLevelResources, on by
		// default since 1.34), whatever the containers say.
		{name: "pod-level-guaranteed", app: []corev1.ResourceRequirements{bestEffort[0]}, pod: &corev1.ResourceRequirements{Limits: list("1", "1Gi")}, want: corev1.PodQOSGuaranteed},
		{name: "pod-level-burstable", app: []corev1.ResourceRequirements{guaranteed}, pod: &corev1.ResourceRequirements{Requests: list("200m", "200Mi"), Limits: list("1", "1Gi")}, want: corev1.PodQOSBurstable},
		{name: "pod-level-requests-only", app: []corev1.ResourceRequirements{bestEffort[0]}, pod: &corev1.ResourceRequirements{Requests: list("200m", "")}, want: corev1.PodQOSBurstable},
		{name: "pod-level-empty-falls-back", app: []corev1.ResourceRequirements{guaranteed}, pod: &corev1.ResourceRequirements{}, want: corev1.PodQOSGuaranteed},
	}
	for i, r := range bestEffort {
		cases = append(cases, tc{name: fmt.Sprintf("best-effort-%d", i), app: []corev1.ResourceRequirements{r}, want: corev1.PodQOSBestEffort})
	}
	for i, r := range burstable {
		cases = append(cases, tc{name: fmt.Sprintf("burstable-%d", i), app: []corev1.ResourceRequirements{r}, want: corev1.PodQOSBurstable})
	}
	containers := func(prefix string, rs []corev1.ResourceRequirements) []corev1.Container {
		var cs []corev1.Container
		for i, r := range rs {
			cs = append(cs, corev1.Container{Name: fmt.Sprintf("%s%d", prefix, i), Image: "busybox", Resources: r})
		}
		return cs
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name},
				Spec:       corev1.PodSpec{InitContainers: containers("i", tc.init), Containers: containers("c", tc.app), Resources: tc.pod},
			}
			got, err := c.client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.QOSClass != tc.want {
				t.Errorf("status.qosClass = %q, want %q", got.Status.QOSClass, tc.want)
			}
		})
	}
}
