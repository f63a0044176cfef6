package registry

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

func isApprovalCondition(t certificatesv1.RequestConditionType) bool {
	return t == certificatesv1.CertificateApproved || t == certificatesv1.CertificateDenied
}

// mergeConditions keeps the conditions of stored for which fromStored is
// true and the other ones of updated.
func mergeConditions(stored, updated []certificatesv1.CertificateSigningRequestCondition, fromStored func(certificatesv1.RequestConditionType) bool) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range stored {
		if fromStored(c.Type) {
			out = append(out, c)
		}
	}
	for _, c := range updated {
		if !fromStored(c.Type) {
			out = append(out, c)
		}
	}
	return out
}

// fillConditionTimes sets the update and transition times a client left
// empty, as kube does.
func fillConditionTimes(csr, old *certificatesv1.CertificateSigningRequest) {
	now := metav1.Now()
	for i := range csr.Status.Conditions {
		c := &csr.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, oc := range old.Status.Conditions {
			if oc.Type == c.Type && oc.Status == c.Status && !oc.LastTransitionTime.IsZero() {
				c.LastTransitionTime = oc.LastTransitionTime
			}
		}
	}
}

// approvalStrategy is the update strategy of /approval: only the Approved
// and Denied conditions change.
type approvalStrategy struct {
	statusStrategy
}

func (s approvalStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	restoreForSubresource(obj, old)
	csr, o := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	csr.Status.Certificate = o.Status.Certificate
	csr.Status.Conditions = mergeConditions(o.Status.Conditions, csr.Status.Conditions, func(t certificatesv1.RequestConditionType) bool {
		return !isApprovalCondition(t)
	})
	fillConditionTimes(csr, o)
}

func (s approvalStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.kind.GVK.GroupVersion().String()): fieldpath.NewSet(
			fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("status", "certificate"),
		),
	}
}

// approvalREST serves /approval of CertificateSigningRequests over the
// kind's store.
func approvalREST(s *Store) *StatusREST {
	st := *s.Store
	as := approvalStrategy{statusStrategy{strategy: s.Store.UpdateStrategy.(strategy)}}
	st.UpdateStrategy = as
	st.ResetFieldsStrategy = as
	return &StatusREST{store: &st}
}
