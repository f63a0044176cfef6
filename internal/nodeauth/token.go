package nodeauth

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
)

// token is NodeRestriction's rule for serviceaccounts/token (kube's
// admitServiceAccount): a node may only ask for tokens bound to a pod,
// named with its UID, that is bound to the node, so a node credential
// never mints a token that outlives its pods or belongs to another node's.
func (r restriction) token(node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create {
		return nil
	}
	tr, ok := a.GetObject().(*authenticationv1.TokenRequest)
	if !ok {
		return forbid(a, "unexpected object %T", a.GetObject())
	}
	ref := tr.Spec.BoundObjectRef
	if ref == nil || ref.APIVersion != "v1" || ref.Kind != "Pod" || ref.Name == "" {
		return forbid(a, "node requested token not bound to a pod")
	}
	if ref.UID == "" {
		return forbid(a, "node requested token with a pod binding without a uid")
	}
	g := r.n.ready()
	if g == nil {
		return apierrors.NewServiceUnavailable("node restriction is not ready yet")
	}
	p, err := g.podsLst.Pods(a.GetNamespace()).Get(ref.Name)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if p.UID != ref.UID {
		return forbid(a, "the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID)
	}
	if p.Spec.NodeName != node {
		return forbid(a, "node requested token bound to a pod scheduled on a different node")
	}
	return nil
}
