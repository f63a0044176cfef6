package statefulset

import (
	"slices"
	"sort"
	"testing"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

func TestPodsOfReadsOwnPodsAndOrphansOnly(t *testing.T) {
	set := func(ns, name string, uid types.UID) *apps.StatefulSet {
		return &apps.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid}}
	}
	a, b := set("ns", "a", "uid-a"), set("ns", "b", "uid-b")
	pod := func(ns, name string, owner *apps.StatefulSet, controller bool) *v1.Pod {
		p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: owner.Name, UID: owner.UID, Controller: &controller}}
		}
		return p
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{PodsByController: IndexPodByController})
	for _, p := range []*v1.Pod{
		pod("ns", "a-0", a, true),
		pod("ns", "a-1", a, true),
		pod("ns", "b-0", b, true),
		pod("ns", "orphan", nil, false),
		pod("ns", "owned-not-controlled", a, false), // an owner reference that is not a controller: an orphan
		pod("other", "orphan", nil, false),
		pod("other", "a-0", a, true), // names a's UID from another namespace: not a's
	} {
		if err := idx.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	names := func(s *apps.StatefulSet) []string {
		pods, err := podsOf(idx, s)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range pods {
			out = append(out, p.Namespace+"/"+p.Name)
		}
		sort.Strings(out)
		return out
	}
	for _, tc := range []struct {
		set  *apps.StatefulSet
		want []string
	}{
		{a, []string{"ns/a-0", "ns/a-1", "ns/orphan", "ns/owned-not-controlled"}},
		{b, []string{"ns/b-0", "ns/orphan", "ns/owned-not-controlled"}},
		{set("other", "c", "uid-c"), []string{"other/orphan"}},
	} {
		if got := names(tc.set); !slices.Equal(got, tc.want) {
			t.Errorf("podsOf(%s): got %v, want %v", tc.set.Name, got, tc.want)
		}
	}
	// A pod that loses its controller moves to the orphans (Update
	// re-indexes).
	p := pod("ns", "a-1", nil, false)
	if err := idx.Update(p); err != nil {
		t.Fatal(err)
	}
	if got, want := names(a), []string{"ns/a-0", "ns/a-1", "ns/orphan", "ns/owned-not-controlled"}; !slices.Equal(got, want) {
		t.Errorf("after release: got %v, want %v", got, want)
	}
	if got, want := names(b), []string{"ns/a-1", "ns/b-0", "ns/orphan", "ns/owned-not-controlled"}; !slices.Equal(got, want) {
		t.Errorf("after release, b: got %v, want %v", got, want)
	}
}

func TestHistoryListReadsOwnRevisionsAndMatchingOrphansOnly(t *testing.T) {
	isController := true
	a := &apps.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", UID: "uid-a"}}
	rev := func(ns, name string, owner types.UID, app string) *apps.ControllerRevision {
		r := &apps.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}}}
		if owner != "" {
			r.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "x", UID: owner, Controller: &isController}}
		}
		return r
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{RevisionsByController: IndexRevisionByController})
	for _, r := range []*apps.ControllerRevision{
		rev("ns", "a-1", "uid-a", "a"),
		rev("ns", "a-2", "uid-a", "a"),
		rev("ns", "b-1", "uid-b", "a"),         // another set's, even with a's labels
		rev("ns", "orphan-a", "", "a"),         // adoptable
		rev("ns", "orphan-other", "", "other"), // not selected
		rev("other", "a-1", "uid-a", "a"),      // a's UID from another namespace
		rev("other", "orphan-a", "", "a"),      // another namespace's orphan
	} {
		if err := idx.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	h := &history{revisions: idx}
	sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	revs, err := h.list(a, sel)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range revs {
		got = append(got, r.Namespace+"/"+r.Name)
	}
	sort.Strings(got)
	if want := []string{"ns/a-1", "ns/a-2", "ns/orphan-a"}; !slices.Equal(got, want) {
		t.Errorf("history.list: got %v, want %v", got, want)
	}
}
