package apiserver

import (
	"fmt"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	webhookinit "k8s.io/apiserver/pkg/admission/plugin/webhook/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-base/compatibility"
)

// newWebhookAdmission returns k8s.io/apiserver's MutatingAdmissionWebhook
// and ValidatingAdmissionWebhook plugins, initialized as kube-apiserver
// initializes them: the webhook configurations and namespaces from the
// server's informers (started with the RBAC ones), the authorizer for
// match conditions' authorizer variable, and the service resolver and
// authentication of the webhook clients. kube runs the mutating one last
// among the mutating plugins and the validating one last of all; the caller
// puts them there.
func newWebhookAdmission(client kubernetes.Interface, factory informers.SharedInformerFactory, authz authorizer.Authorizer,
	version compatibility.EffectiveVersion, services webhook.ServiceResolver, auth webhook.AuthenticationInfoResolverWrapper,
	stop <-chan struct{}) (admission.MutationInterface, admission.ValidationInterface, error) {
	mutatingPlugin, err := mutating.NewMutatingWebhook(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("mutating webhook admission: %w", err)
	}
	validatingPlugin, err := validating.NewValidatingAdmissionWebhook(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("validating webhook admission: %w", err)
	}
	inits := admission.PluginInitializers{
		initializer.New(client, nil, factory, authz, utilfeature.DefaultFeatureGate, version, stop, nil),
		webhookinit.NewPluginInitializer(auth, services),
	}
	for _, p := range []admission.Interface{mutatingPlugin, validatingPlugin} {
		inits.Initialize(p)
		if err := admission.ValidateInitialization(p); err != nil {
			return nil, nil, fmt.Errorf("webhook admission: %w", err)
		}
	}
	return mutatingPlugin, validatingPlugin, nil
}
