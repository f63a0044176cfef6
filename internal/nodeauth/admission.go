package nodeauth

import (
	"context"
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"

	"petset/internal/pvnode"
)

// NodeRestrictionPrefix is the label namespace nodes may never set.
const NodeRestrictionPrefix = "node-restriction.kubernetes.io/"

// mirrorPodAnnotation marks a static pod's mirror.
const mirrorPodAnnotation = "kubernetes.io/config.mirror"

// kubeletLabels and kubeletLabelNamespaces are the kubernetes.io and
// k8s.io labels a node may set on itself (kube's kubelet label rules).
var (
	kubeletLabels = map[string]bool{
		corev1.LabelHostname: true, corev1.LabelOSStable: true, corev1.LabelArchStable: true,
		"beta.kubernetes.io/os": true, "beta.kubernetes.io/arch": true, "beta.kubernetes.io/instance-type": true,
		corev1.LabelInstanceTypeStable: true, corev1.LabelFailureDomainBetaRegion: true, corev1.LabelFailureDomainBetaZone: true,
		corev1.LabelTopologyRegion: true, corev1.LabelTopologyZone: true,
	}
	kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}
)

// Admission returns the NodeRestriction admission plugin.
func (n *NodeAuth) Admission() admission.ValidationInterface { return restriction{n} }

type restriction struct{ n *NodeAuth }

func (restriction) Handles(op admission.Operation) bool {
	return op == admission.Create || op == admission.Update || op == admission.Delete
}

func (r restriction) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	node, ok := NodeName(a.GetUserInfo())
	if !ok {
		return nil
	}
	gr := a.GetResource().GroupResource()
	switch {
	case gr.Group == "" && gr.Resource == "pods":
		return r.pod(node, a)
	case gr.Group == "" && gr.Resource == "nodes":
		return r.node(node, a)
	case gr.Group == "coordination.k8s.io" && gr.Resource == "leases":
		if l, ok := a.GetObject().(*coordinationv1.Lease); ok && (l.Name != node || l.Namespace != LeaseNamespace) || a.GetName() != "" && a.GetName() != node {
			return forbid(a, "node %q may only write its own lease", node)
		}
	case gr.Group == "" && gr.Resource == "persistentvolumes":
		return r.volume(node, a)
	case gr.Group == "" && gr.Resource == "serviceaccounts" && a.GetSubresource() == "token":
		return r.token(node, a)
	}
	return nil
}

func forbid(a admission.Attributes, format string, args ...any) error {
	return admission.NewForbidden(a, fmt.Errorf(format, args...))
}

func (r restriction) pod(node string, a admission.Attributes) error {
	switch {
	case a.GetOperation() == admission.Create && a.GetSubresource() == "":
		p, ok := a.GetObject().(*corev1.Pod)
		if !ok || p.Annotations[mirrorPodAnnotation] == "" {
			return forbid(a, "node %q may only create mirror pods", node)
		}
		if p.Spec.NodeName != node {
			return forbid(a, "node %q may only create mirror pods bound to itself", node)
		}
		if len(podSecrets(p))+len(podConfigMaps(p))+len(podClaims(p)) > 0 || p.Spec.ServiceAccountName != "" {
			return forbid(a, "node %q may not create mirror pods that reference secrets, configmaps, claims or service accounts", node)
		}
		return nil
	case a.GetOperation() == admission.Update && a.GetSubresource() == "status":
		old, ok := a.GetOldObject().(*corev1.Pod)
		if !ok || old.Spec.NodeName != node {
			return forbid(a, "node %q may not update the status of pod %s/%s, which is not bound to it", node, a.GetNamespace(), a.GetName())
		}
		return nil
	case a.GetOperation() == admission.Delete && a.GetSubresource() == "",
		a.GetOperation() == admission.Create && a.GetSubresource() == "eviction":
		name := a.GetName()
		if ev, ok := a.GetObject().(*policyv1.Eviction); ok && ev.Name != "" {
			name = ev.Name
		}
		g := r.n.ready()
		if g == nil {
			return apierrors.NewServiceUnavailable("node restriction is not ready yet")
		}
		p, err := g.podsLst.Pods(a.GetNamespace()).Get(name)
		if apierrors.IsNotFound(err) {
			return forbid(a, "node %q may not delete or evict pod %s/%s: not found", node, a.GetNamespace(), name)
		}
		if err != nil {
			return admission.NewForbidden(a, err)
		}
		if p.Spec.NodeName != node {
			return forbid(a, "node %q may not delete or evict pod %s/%s, which is not bound to it", node, a.GetNamespace(), name)
		}
		return nil
	case a.GetOperation() == admission.Update:
		return forbid(a, "node %q may not update pods, only their status", node)
	}
	return nil
}

func (r restriction) node(node string, a admission.Attributes) error {
	name := a.GetName()
	if n, ok := a.GetObject().(*corev1.Node); ok && a.GetOperation() == admission.Create {
		name = n.Name
	}
	if name != node {
		return forbid(a, "node %q may not modify node %q", node, name)
	}
	if a.GetOperation() == admission.Delete {
		return nil
	}
	obj, ok := a.GetObject().(*corev1.Node)
	if !ok {
		return nil
	}
	var oldLabels map[string]string
	if old, ok := a.GetOldObject().(*corev1.Node); ok {
		oldLabels = old.Labels
	}
	for _, k := range changedLabels(oldLabels, obj.Labels) {
		if strings.HasPrefix(k, NodeRestrictionPrefix) {
			return forbid(a, "node %q may not modify label %s (labels under %s are reserved for administrators)", node, k, NodeRestrictionPrefix)
		}
		if !allowedKubeletLabel(k) {
			return forbid(a, "node %q may not modify label %s: a node may set only kubelet's kubernetes.io and k8s.io labels", node, k)
		}
	}
	return nil
}

// changedLabels are the keys added, removed or changed between old and new.
func changedLabels(old, new map[string]string) []string {
	var out []string
	for k, v := range new {
		if ov, ok := old[k]; !ok || ov != v {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := new[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// allowedKubeletLabel: labels outside kubernetes.io and k8s.io are the
// node's to set; inside, only kubelet's.
func allowedKubeletLabel(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return true
	}
	inNamespace := func(ns string) bool { return prefix == ns || strings.HasSuffix(prefix, "."+ns) }
	if !inNamespace("kubernetes.io") && !inNamespace("k8s.io") {
		return true
	}
	if kubeletLabels[key] {
		return true
	}
	for _, ns := range kubeletLabelNamespaces {
		if inNamespace(ns) {
			return true
		}
	}
	return false
}

// volume lets a node change only metadata (finalizers, annotations) of
// PersistentVolumes pinned to it: the reclaim of its local volumes.
func (r restriction) volume(node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Update || a.GetSubresource() != "" {
		return forbid(a, "node %q may only update persistent volumes", node)
	}
	obj, ok1 := a.GetObject().(*corev1.PersistentVolume)
	old, ok2 := a.GetOldObject().(*corev1.PersistentVolume)
	if !ok1 || !ok2 || pvnode.Of(old) != node {
		return forbid(a, "node %q may not update persistent volume %s, which is not on it", node, a.GetName())
	}
	if !apiequality.Semantic.DeepEqual(obj.Spec, old.Spec) || !apiequality.Semantic.DeepEqual(obj.Labels, old.Labels) {
		return forbid(a, "node %q may change only the annotations and finalizers of persistent volume %s", node, a.GetName())
	}
	return nil
}
