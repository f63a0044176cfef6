package node

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestDefaultSimCapacityFitsChartRequests: a simulated node reports, as
// every kubelet does, ephemeral-storage beside cpu, memory and pods, so a
// pod with the requests of the public charts' smallest resources preset
// (Bitnami's "nano": cpu 100m, memory 128Mi, ephemeral-storage 50Mi) fits
// it; kwok's node alone has no ephemeral-storage and fits none of them.
func TestDefaultSimCapacityFitsChartRequests(t *testing.T) {
	nano := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("100m"),
		corev1.ResourceMemory:           resource.MustParse("128Mi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("50Mi"),
	}
	for _, c := range []corev1.ResourceList{DefaultSimCapacity(), SimCapacity(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")})} {
		for name, req := range nano {
			if have, ok := c[name]; !ok || have.Cmp(req) < 0 {
				t.Errorf("capacity %v: %s %s does not fit a request of %s", c, name, have.String(), req.String())
			}
		}
		if c.Pods().Value() != 110 || c.Memory().String() != "256Gi" {
			t.Errorf("capacity %v: want kwok's pods 110 and memory 256Gi kept", c)
		}
	}
}
