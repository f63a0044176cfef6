package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	supportedServiceTypes    = []string{string(corev1.ServiceTypeClusterIP), string(corev1.ServiceTypeExternalName), string(corev1.ServiceTypeLoadBalancer), string(corev1.ServiceTypeNodePort)}
	supportedSessionAffinity = []string{string(corev1.ServiceAffinityClientIP), string(corev1.ServiceAffinityNone)}
	supportedAddressTypes    = []string{string(discoveryv1.AddressTypeFQDN), string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6)}
	supportedTrafficPolicies = []string{string(corev1.ServiceExternalTrafficPolicyCluster), string(corev1.ServiceExternalTrafficPolicyLocal)}
)

func validateProtocol(proto corev1.Protocol, p *field.Path) field.ErrorList {
	if proto == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if !sets.New(supportedPortProtocols...).Has(string(proto)) {
		return field.ErrorList{field.NotSupported(p, proto, supportedPortProtocols)}
	}
	return nil
}

// ValidateService validates a Service on create. The name must be a DNS-1035
// label. clusterIP must be empty (to be allocated), "None" (headless) or an
// IP address.
func ValidateService(svc *corev1.Service) field.ErrorList {
	errs := validateObjectMeta(&svc.ObjectMeta, true, nameIsDNS1035Label)
	specPath := field.NewPath("spec")
	spec := &svc.Spec
	headless := spec.ClusterIP == corev1.ClusterIPNone

	switch spec.Type {
	case "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	case corev1.ServiceTypeExternalName:
		if spec.ClusterIP != "" {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if spec.ExternalName == "" {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		} else {
			errs = append(errs, dns1123Subdomain(spec.ExternalName, specPath.Child("externalName"))...)
		}
	default:
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.Type, supportedServiceTypes))
	}

	if len(spec.Ports) == 0 && !headless && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	portsPath := specPath.Child("ports")
	names := sets.New[string]()
	type portKey struct {
		port  int32
		proto corev1.Protocol
	}
	seen := map[portKey]bool{}
	for i, sp := range spec.Ports {
		idx := portsPath.Index(i)
		if len(spec.Ports) > 1 && sp.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		} else if sp.Name != "" {
			errs = append(errs, dns1123Label(sp.Name, idx.Child("name"))...)
			if names.Has(sp.Name) {
				errs = append(errs, field.Duplicate(idx.Child("name"), sp.Name))
			}
			names.Insert(sp.Name)
		}
		errs = append(errs, portNum(sp.Port, idx.Child("port"))...)
		errs = append(errs, validateProtocol(sp.Protocol, idx.Child("protocol"))...)
		errs = append(errs, portNumOrName(sp.TargetPort, idx.Child("targetPort"))...)
		if sp.NodePort != 0 {
			if spec.Type != corev1.ServiceTypeNodePort && spec.Type != corev1.ServiceTypeLoadBalancer {
				errs = append(errs, field.Forbidden(idx.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
			errs = append(errs, portNum(sp.NodePort, idx.Child("nodePort"))...)
		}
		k := portKey{sp.Port, sp.Protocol}
		if seen[k] {
			errs = append(errs, field.Duplicate(idx, fmt.Sprintf("%d/%s", sp.Port, sp.Protocol)))
		}
		seen[k] = true
	}

	if spec.ClusterIP != "" && !headless {
		errs = append(errs, validIP(spec.ClusterIP, specPath.Child("clusterIP"))...)
	}
	for i, ip := range spec.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			if i != 0 || len(spec.ClusterIPs) > 1 {
				errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(i), ip, "'None' must be the first and only value"))
			}
			continue
		}
		errs = append(errs, validIP(ip, specPath.Child("clusterIPs").Index(i))...)
	}
	if len(spec.ClusterIPs) > 0 && spec.ClusterIP != spec.ClusterIPs[0] {
		errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.ClusterIPs[0], "must match `clusterIP` when set"))
	}
	errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)

	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
	case corev1.ServiceAffinityClientIP:
		if c := spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > 86400 {
				errs = append(errs, field.Invalid(specPath.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), t,
					fmt.Sprintf("must be greater than 0 and less than %d", 86400)))
			}
		}
	case "":
		errs = append(errs, field.Required(specPath.Child("sessionAffinity"), ""))
	default:
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), spec.SessionAffinity, supportedSessionAffinity))
	}
	if p := spec.ExternalTrafficPolicy; p != "" && !sets.New(supportedTrafficPolicies...).Has(string(p)) {
		errs = append(errs, field.NotSupported(specPath.Child("externalTrafficPolicy"), p, supportedTrafficPolicies))
	}
	if p := spec.InternalTrafficPolicy; p != nil && !sets.New(supportedTrafficPolicies...).Has(string(*p)) {
		errs = append(errs, field.NotSupported(specPath.Child("internalTrafficPolicy"), *p, supportedTrafficPolicies))
	}
	for i, ip := range spec.ExternalIPs {
		errs = append(errs, validIP(ip, specPath.Child("externalIPs").Index(i))...)
	}
	return errs
}

// ValidateServiceUpdate validates a Service update: clusterIP (and
// clusterIPs) are immutable except when the type changes to or from
// ExternalName. The registry must have copied allocated values from the
// stored object into new before calling this.
func ValidateServiceUpdate(newSvc, oldSvc *corev1.Service) field.ErrorList {
	errs := validateObjectMetaUpdate(&newSvc.ObjectMeta, &oldSvc.ObjectMeta)
	if newSvc.Spec.Type != corev1.ServiceTypeExternalName && oldSvc.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, immutable(newSvc.Spec.ClusterIP, oldSvc.Spec.ClusterIP, field.NewPath("spec", "clusterIP"))...)
		if len(oldSvc.Spec.ClusterIPs) > 0 && len(newSvc.Spec.ClusterIPs) > 0 && newSvc.Spec.ClusterIPs[0] != oldSvc.Spec.ClusterIPs[0] {
			errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), newSvc.Spec.ClusterIPs[0], "may not change once set"))
		}
	}
	errs = append(errs, ValidateService(newSvc)...)
	return errs
}

// ValidateServiceStatusUpdate validates a write to services/status.
func ValidateServiceStatusUpdate(newSvc, oldSvc *corev1.Service) field.ErrorList {
	errs := validateObjectMetaUpdate(&newSvc.ObjectMeta, &oldSvc.ObjectMeta)
	p := field.NewPath("status", "loadBalancer", "ingress")
	for i, ing := range newSvc.Status.LoadBalancer.Ingress {
		if ing.IP != "" {
			errs = append(errs, validIP(ing.IP, p.Index(i).Child("ip"))...)
		}
		if ing.Hostname != "" {
			errs = append(errs, dns1123Subdomain(ing.Hostname, p.Index(i).Child("hostname"))...)
		}
	}
	return errs
}

// ValidateEndpoints validates an Endpoints object.
func ValidateEndpoints(ep *corev1.Endpoints) field.ErrorList {
	errs := validateObjectMeta(&ep.ObjectMeta, true, nameIsDNSSubdomain)
	for i, ss := range ep.Subsets {
		idx := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(idx, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(&a, idx.Child("addresses").Index(j))...)
		}
		for j, a := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(&a, idx.Child("notReadyAddresses").Index(j))...)
		}
		for j, p := range ss.Ports {
			pp := idx.Child("ports").Index(j)
			if len(ss.Ports) > 1 && p.Name == "" {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			} else if p.Name != "" {
				errs = append(errs, dns1123Label(p.Name, pp.Child("name"))...)
			}
			errs = append(errs, portNum(p.Port, pp.Child("port"))...)
			errs = append(errs, validateProtocol(p.Protocol, pp.Child("protocol"))...)
		}
	}
	return errs
}

func validateEndpointAddress(a *corev1.EndpointAddress, p *field.Path) field.ErrorList {
	errs := validIP(a.IP, p.Child("ip"))
	if a.Hostname != "" {
		errs = append(errs, dns1123Label(a.Hostname, p.Child("hostname"))...)
	}
	if a.NodeName != nil {
		for _, msg := range nameIsDNSSubdomain(*a.NodeName, false) {
			errs = append(errs, field.Invalid(p.Child("nodeName"), *a.NodeName, msg))
		}
	}
	return errs
}

// ValidateEndpointsUpdate validates an Endpoints update.
func ValidateEndpointsUpdate(newEp, oldEp *corev1.Endpoints) field.ErrorList {
	errs := validateObjectMetaUpdate(&newEp.ObjectMeta, &oldEp.ObjectMeta)
	return append(errs, ValidateEndpoints(newEp)...)
}

const (
	maxEndpointSliceEndpoints = 1000
	maxEndpointSlicePorts     = 100
	maxEndpointAddresses      = 100
)

// ValidateEndpointSlice validates an EndpointSlice on create.
func ValidateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validateObjectMeta(&es.ObjectMeta, true, nameIsDNSSubdomain)
	if !sets.New(supportedAddressTypes...).Has(string(es.AddressType)) {
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), es.AddressType, supportedAddressTypes))
	}
	epPath := field.NewPath("endpoints")
	if len(es.Endpoints) > maxEndpointSliceEndpoints {
		errs = append(errs, field.TooMany(epPath, len(es.Endpoints), maxEndpointSliceEndpoints))
	}
	for i, ep := range es.Endpoints {
		idx := epPath.Index(i)
		ap := idx.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxEndpointAddresses {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), maxEndpointAddresses))
		}
		for j, a := range ep.Addresses {
			switch es.AddressType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				errs = append(errs, validIP(a, ap.Index(j))...)
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, dns1123Subdomain(a, ap.Index(j))...)
			}
		}
		if ep.Hostname != nil {
			errs = append(errs, dns1123Label(*ep.Hostname, idx.Child("hostname"))...)
		}
		if ep.NodeName != nil {
			for _, msg := range nameIsDNSSubdomain(*ep.NodeName, false) {
				errs = append(errs, field.Invalid(idx.Child("nodeName"), *ep.NodeName, msg))
			}
		}
	}
	portsPath := field.NewPath("ports")
	if len(es.Ports) > maxEndpointSlicePorts {
		errs = append(errs, field.TooMany(portsPath, len(es.Ports), maxEndpointSlicePorts))
	}
	names := sets.New[string]()
	for i, p := range es.Ports {
		idx := portsPath.Index(i)
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			errs = append(errs, dns1123Label(name, idx.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(idx.Child("name"), name))
		}
		names.Insert(name)
		if p.Protocol == nil {
			errs = append(errs, field.Required(idx.Child("protocol"), ""))
		} else {
			errs = append(errs, validateProtocol(*p.Protocol, idx.Child("protocol"))...)
		}
		if p.Port != nil {
			for _, msg := range validation.IsInRange(int(*p.Port), 0, 65535) {
				errs = append(errs, field.Invalid(idx.Child("port"), *p.Port, msg))
			}
		}
	}
	return errs
}

// ValidateEndpointSliceUpdate validates an update: addressType is immutable.
func ValidateEndpointSliceUpdate(newES, oldES *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validateObjectMetaUpdate(&newES.ObjectMeta, &oldES.ObjectMeta)
	errs = append(errs, ValidateEndpointSlice(newES)...)
	errs = append(errs, immutable(newES.AddressType, oldES.AddressType, field.NewPath("addressType"))...)
	return errs
}
