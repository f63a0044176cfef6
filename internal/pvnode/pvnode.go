package pvnode

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/selection"
)

// Field is the PersistentVolume field selector label whose value is Of the
// volume ("" for a volume pinned to no single node). It is petset's own:
// upstream serves no such field.
const Field = "petset.io/pinned-node"

// Of is the node pv's required node affinity pins it to by
// kubernetes.io/hostname, or "".
func Of(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			if e.Key == corev1.LabelHostname && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}

// Selector is the field selector of the volumes pinned to node.
func Selector(node string) string { return fields.OneTermEqualSelector(Field, node).String() }

// SelectsNode reports whether the requirements of a field selector select
// exactly the volumes pinned to node: one requirement, Field = node.
func SelectsNode(reqs fields.Requirements, node string) bool {
	return len(reqs) == 1 && reqs[0].Field == Field && reqs[0].Value == node &&
		(reqs[0].Operator == selection.Equals || reqs[0].Operator == selection.DoubleEquals)
}
