package controllerref

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

func ptr[T any](v T) *T { return &v }

func pod(name, app, owner string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), Labels: map[string]string{"app": app}}}
	if owner != "" {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "x", UID: types.UID(owner), Controller: ptr(true)}}
	}
	return p
}

// TestClaim: owned and matching kept, owned and not matching released,
// matching orphans adopted after one recheck, others left alone; a failed
// recheck adopts nothing.
func TestClaim(t *testing.T) {
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "x", UID: "rs"}}
	pods := []*corev1.Pod{
		pod("mine", "web", "rs"), pod("stray", "db", "rs"), pod("orphan", "web", ""),
		pod("other", "web", "someone"), pod("unrelated", "db", ""),
	}
	var patched []string
	rechecks := 0
	c := Claimer[*corev1.Pod]{
		Owner: owner, Kind: appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
		Selector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		Recheck:  func(context.Context) error { rechecks++; return nil },
		Patch: func(_ context.Context, p *corev1.Pod, patch []byte) (*corev1.Pod, error) {
			patched = append(patched, p.Name+" "+string(patch))
			return p, nil
		},
	}
	got, err := c.Claim(context.Background(), pods)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"mine", "orphan"}) || rechecks != 1 || len(patched) != 2 ||
		!strings.Contains(patched[0], `stray {"metadata":{"ownerReferences":[{"$patch":"delete","uid":"rs"}]`) ||
		!strings.Contains(patched[1], `orphan {"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"x","uid":"rs","controller":true,"blockOwnerDeletion":true}]`) {
		t.Errorf("claimed %v, rechecks %d, patches %q", names, rechecks, patched)
	}

	c.Recheck = func(context.Context) error { return errors.New("gone") }
	patched = nil
	got, err = c.Claim(context.Background(), pods)
	if err == nil || len(got) != 1 || len(patched) != 1 {
		t.Errorf("with a failed recheck: claimed %d, patches %q, err %v", len(got), patched, err)
	}
}
