package apiserver

import (
	"fmt"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/component-base/compatibility"
)

// newPolicyAdmission returns k8s.io/apiserver's ValidatingAdmissionPolicy
// plugin, initialized as kube-apiserver initializes it: policies, bindings
// and namespaces from the server's informers (started with the RBAC ones),
// params read through a dynamic client of the loopback connection, kinds
// mapped to resources by a REST mapper over the server's own discovery,
// and the authorizer for the expressions' authorizer variable. kube runs it
// just before the validating webhooks; the caller puts it there.
func newPolicyAdmission(loopback *rest.Config, client kubernetes.Interface, factory informers.SharedInformerFactory, authz authorizer.Authorizer,
	version compatibility.EffectiveVersion, stop <-chan struct{}) (admission.ValidationInterface, error) {
	plugin, err := validating.NewPlugin(nil)
	if err != nil {
		return nil, fmt.Errorf("validating admission policy: %w", err)
	}
	dyn, err := dynamic.NewForConfig(loopback)
	if err != nil {
		return nil, fmt.Errorf("validating admission policy: dynamic client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	initializer.New(client, dyn, factory, authz, utilfeature.DefaultFeatureGate, version, stop, mapper).Initialize(plugin)
	if err := admission.ValidateInitialization(plugin); err != nil {
		return nil, fmt.Errorf("validating admission policy: %w", err)
	}
	return plugin, nil
}
