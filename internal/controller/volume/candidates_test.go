package volume

import (
	"slices"
	"sort"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestCandidatesAreUnclaimedOrPreboundVolumes: a claim's candidates are
// the volumes without a claimRef and those pre-bound to it, never the
// volumes of other claims however many there are; adding the index twice
// (volume controller and scheduler on one informer) is harmless.
func TestCandidatesAreUnclaimedOrPreboundVolumes(t *testing.T) {
	factory := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
	inf := factory.Core().V1().PersistentVolumes().Informer()
	for i := 0; i < 2; i++ {
		if err := EnsureClaimRefIndex(inf); err != nil {
			t.Fatal(err)
		}
	}
	vol := func(name, ns, claim string) *v1.PersistentVolume {
		v := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if claim != "" {
			v.Spec.ClaimRef = &v1.ObjectReference{Namespace: ns, Name: claim}
		}
		return v
	}
	for _, v := range []*v1.PersistentVolume{
		vol("free-1", "", ""), vol("free-2", "", ""),
		vol("prebound", "default", "data-web-0"),
		vol("other", "default", "data-web-1"),
		vol("other-ns", "kube-system", "data-web-0"),
	} {
		if err := inf.GetIndexer().Add(v); err != nil {
			t.Fatal(err)
		}
	}
	claim := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "data-web-0"}}
	vols, err := Candidates(inf.GetIndexer(), claim)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vols {
		got = append(got, v.Name)
	}
	sort.Strings(got)
	if want := []string{"free-1", "free-2", "prebound"}; !slices.Equal(got, want) {
		t.Errorf("candidates: got %v, want %v", got, want)
	}
}
