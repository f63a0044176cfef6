package pvnode

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

func pinned(terms ...corev1.NodeSelectorRequirement) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{NodeAffinity: &corev1.VolumeNodeAffinity{
		Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: terms}}}}}}
}

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		pv   *corev1.PersistentVolume
		want string
	}{
		{"no affinity", &corev1.PersistentVolume{}, ""},
		{"hostname In one", pinned(corev1.NodeSelectorRequirement{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}), "n1"},
		{"hostname In two", pinned(corev1.NodeSelectorRequirement{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"n1", "n2"}}), ""},
		{"hostname NotIn", pinned(corev1.NodeSelectorRequirement{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"n1"}}), ""},
		{"another label", pinned(corev1.NodeSelectorRequirement{Key: "petset.io/shared-root", Operator: corev1.NodeSelectorOpIn, Values: []string{"r"}}), ""},
		{"after another term", pinned(
			corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"z"}},
			corev1.NodeSelectorRequirement{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"n3"}}), "n3"},
	} {
		if got := Of(tc.pv); got != tc.want {
			t.Errorf("%s: Of = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSelectsNode(t *testing.T) {
	for sel, want := range map[string]bool{
		Selector("a"):                      true,
		Field + "==a":                      true,
		Field + "!=a":                      false,
		Selector("b"):                      false,
		Selector("a") + ",metadata.name=x": false,
		"metadata.name=a":                  false,
		"":                                 false,
	} {
		s, err := fields.ParseSelector(sel)
		if err != nil {
			t.Fatalf("%q: %v", sel, err)
		}
		if got := SelectsNode(s.Requirements(), "a"); got != want {
			t.Errorf("SelectsNode(%q, a) = %v, want %v", sel, got, want)
		}
	}
}
