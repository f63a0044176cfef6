package validation

import (
	"fmt"
	"net"
	"strings"

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

// effectiveClusterIPs is spec.clusterIPs, or [spec.clusterIP] when the
// registry has not filled clusterIPs in yet.
func effectiveClusterIPs(spec *corev1.ServiceSpec) []string {
	if len(spec.ClusterIPs) > 0 {
		return spec.ClusterIPs
	}
	if spec.ClusterIP != "" {
		return []string{spec.ClusterIP}
	}
	return nil
}

func isHeadless(spec *corev1.ServiceSpec) bool {
	ips := effectiveClusterIPs(spec)
	return spec.Type == corev1.ServiceTypeClusterIP && len(ips) == 1 && ips[0] == corev1.ClusterIPNone
}

func externallyAccessible(spec *corev1.ServiceSpec) bool {
	return spec.Type == corev1.ServiceTypeLoadBalancer || spec.Type == corev1.ServiceTypeNodePort ||
		(spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
}

// ValidateService validates a Service on create. The name must be a DNS-1035
// label. clusterIP must be empty (to be allocated), "None" (headless) or an
// IP address.
func ValidateService(svc *corev1.Service) field.ErrorList {
	errs := validateObjectMeta(&svc.ObjectMeta, true, nameIsDNS1035Label)
	specPath := field.NewPath("spec")
	spec := &svc.Spec
	headless := isHeadless(spec)
	ips := effectiveClusterIPs(spec)
	ipsPath := specPath.Child("clusterIPs")

	if len(spec.Ports) == 0 && !headless && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if len(ips) > 0 && ips[0] == corev1.ClusterIPNone {
			errs = append(errs, field.Invalid(ipsPath.Index(0), ips[0], fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(ips) > 0 {
			errs = append(errs, field.Forbidden(ipsPath, "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			errs = append(errs, dns1123Subdomain(cname, specPath.Child("externalName"))...)
		} else {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		}
	}

	portsPath := specPath.Child("ports")
	names := sets.New[string]()
	for i, sp := range spec.Ports {
		idx := portsPath.Index(i)
		if len(spec.Ports) > 1 && sp.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		} else if sp.Name != "" {
			errs = append(errs, dns1123Label(sp.Name, idx.Child("name"))...)
			if names.Has(sp.Name) {
				errs = append(errs, field.Duplicate(idx.Child("name"), sp.Name))
			} else {
				names.Insert(sp.Name)
			}
		}
		errs = append(errs, portNum(sp.Port, idx.Child("port"))...)
		errs = append(errs, validateProtocol(sp.Protocol, idx.Child("protocol"))...)
		errs = append(errs, portNumOrName(sp.TargetPort, idx.Child("targetPort"))...)
		if sp.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*sp.AppProtocol) {
				errs = append(errs, field.Invalid(idx.Child("appProtocol"), *sp.AppProtocol, msg))
			}
		}
		if sp.NodePort != 0 {
			if spec.Type == corev1.ServiceTypeClusterIP {
				errs = append(errs, field.Forbidden(idx.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
			errs = append(errs, portNum(sp.NodePort, idx.Child("nodePort"))...)
		}
	}

	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}

	switch spec.SessionAffinity {
	case "":
		errs = append(errs, field.Required(specPath.Child("sessionAffinity"), ""))
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(specPath.Child("sessionAffinityConfig"), fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	case corev1.ServiceAffinityClientIP:
		p := specPath.Child("sessionAffinityConfig")
		c := spec.SessionAffinityConfig
		switch {
		case c == nil:
			errs = append(errs, field.Required(p, fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)))
		case c.ClientIP == nil:
			errs = append(errs, field.Required(p.Child("clientIP"), fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)))
		case c.ClientIP.TimeoutSeconds == nil:
			errs = append(errs, field.Required(p.Child("clientIP", "timeoutSeconds"), fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)))
		default:
			if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPServiceAffinitySeconds {
				errs = append(errs, field.Invalid(p.Child("clientIP", "timeoutSeconds"), t,
					fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds)))
			}
		}
	default:
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), spec.SessionAffinity, supportedSessionAffinity))
	}

	if len(spec.ClusterIPs) > 0 && spec.ClusterIP != spec.ClusterIPs[0] {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
	}
	seenIPs := sets.New[string]()
	for i, ip := range ips {
		if ip == corev1.ClusterIPNone {
			if i != 0 || len(ips) > 1 {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, "'None' must be the first and only value"))
			}
			continue
		}
		if spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		errs = append(errs, validIP(ip, ipsPath.Index(i))...)
		if seenIPs.Has(ip) {
			errs = append(errs, field.Duplicate(ipsPath.Index(i), ip))
		}
		seenIPs.Insert(ip)
	}
	if len(ips) > 2 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may only hold up to 2 values"))
	}
	for i, f := range spec.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			errs = append(errs, field.NotSupported(specPath.Child("ipFamilies").Index(i), f, []string{string(corev1.IPv4Protocol), string(corev1.IPv6Protocol)}))
		}
	}
	if p := spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
		default:
			errs = append(errs, field.NotSupported(specPath.Child("ipFamilyPolicy"), *p, []string{
				string(corev1.IPFamilyPolicyPreferDualStack), string(corev1.IPFamilyPolicyRequireDualStack), string(corev1.IPFamilyPolicySingleStack)}))
		}
	}

	for i, ip := range spec.ExternalIPs {
		errs = append(errs, validIP(ip, specPath.Child("externalIPs").Index(i))...)
	}

	switch spec.Type {
	case "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	default:
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.Type, supportedServiceTypes))
	}

	type nodePortKey struct {
		port  int32
		proto corev1.Protocol
	}
	nodePorts := map[nodePortKey]bool{}
	for i, sp := range spec.Ports {
		if sp.NodePort == 0 {
			continue
		}
		k := nodePortKey{sp.NodePort, sp.Protocol}
		if nodePorts[k] {
			errs = append(errs, field.Duplicate(portsPath.Index(i).Child("nodePort"), sp.NodePort))
		}
		nodePorts[k] = true
	}
	ports := map[corev1.ServicePort]bool{}
	for i, sp := range spec.Ports {
		k := corev1.ServicePort{Protocol: sp.Protocol, Port: sp.Port}
		if ports[k] {
			errs = append(errs, field.Duplicate(portsPath.Index(i), k))
		}
		ports[k] = true
	}

	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}

	if !externallyAccessible(spec) {
		if spec.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(specPath.Child("externalTrafficPolicy"), spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	} else if spec.ExternalTrafficPolicy == "" {
		errs = append(errs, field.Required(specPath.Child("externalTrafficPolicy"), ""))
	} else if !sets.New(supportedTrafficPolicies...).Has(string(spec.ExternalTrafficPolicy)) {
		errs = append(errs, field.NotSupported(specPath.Child("externalTrafficPolicy"), spec.ExternalTrafficPolicy, supportedTrafficPolicies))
	}
	if spec.InternalTrafficPolicy == nil {
		switch spec.Type {
		case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeClusterIP:
			errs = append(errs, field.Required(specPath.Child("internalTrafficPolicy"), ""))
		}
	} else if !sets.New(supportedTrafficPolicies...).Has(string(*spec.InternalTrafficPolicy)) {
		errs = append(errs, field.NotSupported(specPath.Child("internalTrafficPolicy"), *spec.InternalTrafficPolicy, supportedTrafficPolicies))
	}
	return errs
}

// ValidateServiceUpdate validates a Service update: the primary cluster IP
// may not change once set, except when the type changes to or from
// ExternalName. The registry must have copied allocated values (clusterIP,
// clusterIPs, ipFamilies, nodePorts) from the stored object into new before
// calling this, as kube's service REST does.
func ValidateServiceUpdate(newSvc, oldSvc *corev1.Service) field.ErrorList {
	errs := validateObjectMetaUpdate(&newSvc.ObjectMeta, &oldSvc.ObjectMeta)
	if newSvc.Spec.Type != corev1.ServiceTypeExternalName && oldSvc.Spec.Type != corev1.ServiceTypeExternalName {
		oldIPs, newIPs := effectiveClusterIPs(&oldSvc.Spec), effectiveClusterIPs(&newSvc.Spec)
		if len(oldIPs) > 0 && (len(newIPs) == 0 || newIPs[0] != oldIPs[0]) {
			value := ""
			if len(newIPs) > 0 {
				value = newIPs[0]
			}
			errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), value, "may not change once set"))
		}
		if len(oldSvc.Spec.IPFamilies) > 0 && len(newSvc.Spec.IPFamilies) > 0 && oldSvc.Spec.IPFamilies[0] != newSvc.Spec.IPFamilies[0] {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilies").Index(0), newSvc.Spec.IPFamilies[0], "may not change once set"))
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
			if p.AppProtocol != nil {
				for _, msg := range validation.IsQualifiedName(*p.AppProtocol) {
					errs = append(errs, field.Invalid(pp.Child("appProtocol"), *p.AppProtocol, msg))
				}
			}
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
	return append(errs, validateNonSpecialIP(a.IP, p.Child("ip"))...)
}

// validateNonSpecialIP rejects addresses an endpoint cannot usefully have:
// unspecified, loopback and link-local.
func validateNonSpecialIP(addr string, p *field.Path) field.ErrorList {
	ip := net.ParseIP(addr)
	if ip == nil {
		return field.ErrorList{field.Invalid(p, addr, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(p, addr, fmt.Sprintf("may not be unspecified (%v)", addr)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
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
	maxTopologyLabels         = 16
)

// ValidateEndpointSlice validates an EndpointSlice on create.
func ValidateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validateObjectMeta(&es.ObjectMeta, true, nameIsDNSSubdomain)
	atPath := field.NewPath("addressType")
	if es.AddressType == "" {
		errs = append(errs, field.Required(atPath, ""))
	} else if !sets.New(supportedAddressTypes...).Has(string(es.AddressType)) {
		errs = append(errs, field.NotSupported(atPath, es.AddressType, supportedAddressTypes))
	}
	errs = append(errs, validateSliceEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))...)
	errs = append(errs, validateSlicePorts(es.Ports, field.NewPath("ports"))...)
	return errs
}

func validateSliceEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpointSliceEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxEndpointSliceEndpoints)}
	}
	var errs field.ErrorList
	for i, ep := range endpoints {
		idx := fldPath.Index(i)
		ap := idx.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxEndpointAddresses {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), maxEndpointAddresses))
		}
		for j, a := range ep.Addresses {
			p := ap.Index(j)
			switch addrType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				isV6 := strings.Contains(a, ":")
				if net.ParseIP(a) == nil || isV6 != (addrType == discoveryv1.AddressTypeIPv6) {
					errs = append(errs, field.Invalid(p, a, fmt.Sprintf("must be a valid %s address", addrType)))
				}
				errs = append(errs, validateNonSpecialIP(a, p)...)
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, validation.IsFullyQualifiedDomainName(p, a)...)
			}
		}
		tp := idx.Child("topology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(tp, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, tp)...)
		if ep.Hostname != nil {
			errs = append(errs, dns1123Label(*ep.Hostname, idx.Child("hostname"))...)
		}
	}
	return errs
}

func validateSlicePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxEndpointSlicePorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxEndpointSlicePorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, p := range ports {
		idx := fldPath.Index(i)
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			errs = append(errs, dns1123Label(name, idx.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(idx.Child("name"), name))
		} else {
			names.Insert(name)
		}
		if p.Protocol == nil {
			errs = append(errs, field.Required(idx.Child("protocol"), ""))
		} else if !sets.New(supportedPortProtocols...).Has(string(*p.Protocol)) {
			errs = append(errs, field.NotSupported(idx.Child("protocol"), *p.Protocol, supportedPortProtocols))
		}
		if p.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*p.AppProtocol) {
				errs = append(errs, field.Invalid(idx.Child("appProtocol"), *p.AppProtocol, msg))
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

// maxClientIPServiceAffinitySeconds is the longest ClientIP session
// affinity timeout (one day).
const maxClientIPServiceAffinitySeconds = 86400
