package integration

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestControllersKeepManagedFields: the controllers and the node cache
// objects without metadata.managedFields (apiclient.DropManagedFields) and
// write from those copies; the API server must keep every manager's entry
// anyway. A set created by one manager, its pod written by the scheduler
// and the node, and its claim bound by the volume controller all keep the
// entry of whoever created them beside the entries of who wrote later.
func TestControllersKeepManagedFields(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 1)
	ctx := context.Background()
	if _, err := c.client.AppsV1().StatefulSets("default").Create(ctx, webSet("mf", 1, appsv1.OrderedReadyPodManagement),
		metav1.CreateOptions{FieldManager: "it-owner"}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, "mf", "mf-0")
	eventually(t, "the set's status written", func() (bool, error) {
		s, err := c.client.AppsV1().StatefulSets("default").Get(ctx, "mf", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return s.Status.ReadyReplicas == 1, fmt.Errorf("status %+v", s.Status)
	})

	s, err := c.client.AppsV1().StatefulSets("default").Get(ctx, "mf", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasManager(s.ManagedFields, "it-owner", "") || !hasManager(s.ManagedFields, "", "status") {
		t.Errorf("set's managed fields: %s", managers(s.ManagedFields))
	}
	pod, err := c.client.CoreV1().Pods("default").Get(ctx, "mf-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasManager(pod.ManagedFields, "", "") || !hasManager(pod.ManagedFields, "", "status") {
		t.Errorf("pod's managed fields: %s", managers(pod.ManagedFields))
	}
	t.Logf("set: %s; pod: %s", managers(s.ManagedFields), managers(pod.ManagedFields))
	claim, err := c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "www-mf-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if claim.Status.Phase != corev1.ClaimBound || !hasManager(claim.ManagedFields, "", "") || !hasManager(claim.ManagedFields, "", "status") {
		t.Errorf("claim %s, managed fields: %s", claim.Status.Phase, managers(claim.ManagedFields))
	}
}

// hasManager reports whether entries hold one of manager ("" for any) for
// subresource ("" for the object itself).
func hasManager(entries []metav1.ManagedFieldsEntry, manager, subresource string) bool {
	for _, e := range entries {
		if (manager == "" || e.Manager == manager) && e.Subresource == subresource {
			return true
		}
	}
	return false
}

func managers(entries []metav1.ManagedFieldsEntry) string {
	var s string
	for _, e := range entries {
		s += fmt.Sprintf("[%s %s %q] ", e.Manager, e.Operation, e.Subresource)
	}
	return s
}
