package registry

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// csrKind is certificates.k8s.io/v1 CertificateSigningRequest, as kube
// serves it: the requesting user is recorded in spec at creation and the
// spec never changes afterwards; /status carries the issued certificate and
// /approval the Approved or Denied condition.
func csrKind() *Kind {
	return &Kind{
		GVK:      certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"),
		Resource: "certificatesigningrequests", Singular: "certificatesigningrequest",
		ShortNames: []string{"csr"}, HasStatus: true,
		New:     func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
		NewList: func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			csr := obj.(*certificatesv1.CertificateSigningRequest)
			csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
			if u, ok := genericapirequest.UserFrom(ctx); ok {
				csr.Spec.Username = u.GetName()
				csr.Spec.UID = u.GetUID()
				csr.Spec.Groups = append([]string(nil), u.GetGroups()...)
				if extra := u.GetExtra(); len(extra) > 0 {
					csr.Spec.Extra = map[string]certificatesv1.ExtraValue{}
					for k, v := range extra {
						csr.Spec.Extra[k] = append(certificatesv1.ExtraValue(nil), v...)
					}
				}
			}
		},
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) {
			// The spec is immutable.
			obj.(*certificatesv1.CertificateSigningRequest).Spec = old.(*certificatesv1.CertificateSigningRequest).Spec
		},
		PrepareForStatusUpdate: func(ctx context.Context, obj, old runtime.Object) {
			// /status does not approve or deny: those conditions come from the
			// stored object.
			csr, o := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
			csr.Status.Conditions = mergeConditions(o.Status.Conditions, csr.Status.Conditions, isApprovalCondition)
			fillConditionTimes(csr, o)
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
		},

		Validate:             validateCreate(validation.ValidateCertificateSigningRequest),
		ValidateUpdate:       validateUpdate(validation.ValidateCertificateSigningRequestUpdate),
		ValidateStatusUpdate: validateUpdate(validation.ValidateCertificateSigningRequestStatusUpdate),
		NoDefaults:           true,
		Printer:              printers.CertificateSigningRequest,
		Subresources: func(self *Store, _ map[schema.GroupResource]*Store) map[string]rest.Storage {
			return map[string]rest.Storage{"approval": approvalREST(self)}
		},
	}
}
