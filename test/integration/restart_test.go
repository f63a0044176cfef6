package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestControllerRestartMidRollout stops the whole control plane while a
// rolling update is half done and starts it again on the same data and
// address: the new controller continues where the old one stopped and the
// rollout completes in order, with no pod duplicated.
func TestControllerRestartMidRollout(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	c := startClusterAt(t, dir, addr)
	startSimulatedNodes(t, c, 2)
	ctx := context.Background()
	sets := c.client.AppsV1().StatefulSets("default")
	if _, err := sets.Create(ctx, webSet("roll", 4, appsv1.OrderedReadyPodManagement), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, "roll", "roll-0", "roll-1", "roll-2", "roll-3")
	updateSet(t, c, "roll", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "nginx:2" })
	eventually(t, "rollout under way", func() (bool, error) {
		s, err := sets.Get(ctx, "roll", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return s.Status.UpdatedReplicas >= 1 && s.Status.UpdatedReplicas < 4, fmt.Errorf("updated %d", s.Status.UpdatedReplicas)
	})
	stopAt := time.Now()
	c.stop()
	t.Logf("control plane stopped in %v", time.Since(stopAt))
	c2 := startClusterAt(t, dir, addr)
	t.Logf("control plane restarted %v after the stop began", time.Since(stopAt))
	eventually(t, "rollout complete after the restart", func() (bool, error) {
		s, err := c2.client.AppsV1().StatefulSets("default").Get(ctx, "roll", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := s.Status
		return st.ObservedGeneration == s.Generation && st.CurrentRevision == st.UpdateRevision && st.UpdatedReplicas == 4 && st.ReadyReplicas == 4,
			fmt.Errorf("status %+v", st)
	})
	t.Logf("rollout complete %v after the stop began", time.Since(stopAt))
	pods := podsOf(t, c2, "roll")
	if len(pods) != 4 {
		t.Fatalf("%d pods after the rollout, want 4", len(pods))
	}
	for _, p := range pods {
		if p.Spec.Containers[0].Image != "nginx:2" {
			t.Errorf("%s runs %s", p.Name, p.Spec.Containers[0].Image)
		}
	}
	for i := 0; i+1 < len(pods); i++ {
		if pods[i].CreationTimestamp.Before(&pods[i+1].CreationTimestamp) {
			t.Errorf("%s was replaced before %s", pods[i].Name, pods[i+1].Name)
		}
	}
}
