package validation

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// networkPolicyProtocols and networkPolicyTypes are the values kube 1.37
// accepts, in the order its NotSupported messages list them.
var (
	networkPolicyProtocols = []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}
	networkPolicyTypes     = []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
)

// networkPolicyOptions are what an update relaxes: selectors with label
// values kube once let through, while the stored pod selector has them.
// CIDRs are checked strictly (kube 1.37's StrictIPCIDRValidation is on) on
// update too: kube's update path also validates the new policy without its
// stored-CIDR allowance, so a stored non-canonical CIDR is refused either way.
type networkPolicyOptions struct {
	selectors metav1validation.LabelSelectorValidationOptions
}

// ValidateNetworkPolicy validates a networking.k8s.io/v1 NetworkPolicy on
// create as kube 1.37 does: metadata, then the spec (selectors, ports with
// endPort and protocol, peers with ipBlock, policyTypes).
func ValidateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	errs := validateObjectMeta(&np.ObjectMeta, true, nameIsDNSSubdomain)
	return append(errs, validateNetworkPolicySpec(&np.Spec, networkPolicyOptions{}, field.NewPath("spec"))...)
}

// ValidateNetworkPolicyUpdate validates an update: metadata's update rules
// and the new spec in full (every spec field may change), with the stored
// pod selector's invalid label values still accepted.
func ValidateNetworkPolicyUpdate(np, old *networkingv1.NetworkPolicy) field.ErrorList {
	var opts networkPolicyOptions
	if len(metav1validation.ValidateLabelSelector(&old.Spec.PodSelector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
		opts.selectors.AllowInvalidLabelValueInSelector = true
	}
	errs := validateObjectMetaUpdate(&np.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateNetworkPolicySpec(&np.Spec, opts, field.NewPath("spec"))...)
}

func validateNetworkPolicySpec(spec *networkingv1.NetworkPolicySpec, opts networkPolicyOptions, p *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(&spec.PodSelector, opts.selectors, p.Child("podSelector"))
	for i, in := range spec.Ingress {
		rp := p.Child("ingress").Index(i)
		errs = append(errs, validateNetworkPolicyRule(in.Ports, in.From, opts, rp.Child("ports"), rp.Child("from"))...)
	}
	for i, out := range spec.Egress {
		rp := p.Child("egress").Index(i)
		errs = append(errs, validateNetworkPolicyRule(out.Ports, out.To, opts, rp.Child("ports"), rp.Child("to"))...)
	}
	tp := p.Child("policyTypes")
	if len(spec.PolicyTypes) > len(networkPolicyTypes) {
		return append(errs, field.Invalid(tp, &spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(tp.Index(i), t, networkPolicyTypes))
		}
	}
	return errs
}

func validateNetworkPolicyRule(ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer, opts networkPolicyOptions, portsPath, peersPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range ports {
		errs = append(errs, validateNetworkPolicyPort(&ports[i], portsPath.Index(i))...)
	}
	for i := range peers {
		errs = append(errs, validateNetworkPolicyPeer(&peers[i], opts, peersPath.Index(i))...)
	}
	return errs
}

// validateNetworkPolicyPort: protocol TCP, UDP or SCTP; a numeric port in
// 1-65535 with an optional endPort not below it; a named port a valid port
// name with no endPort; no endPort without a port.
func validateNetworkPolicyPort(port *networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if pr := port.Protocol; pr != nil && *pr != corev1.ProtocolTCP && *pr != corev1.ProtocolUDP && *pr != corev1.ProtocolSCTP {
		errs = append(errs, field.NotSupported(p.Child("protocol"), *pr, networkPolicyProtocols))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

// validateNetworkPolicyPeer: at least one of podSelector, namespaceSelector
// and ipBlock, and ipBlock alone when it is given.
func validateNetworkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, opts networkPolicyOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts.selectors, p.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts.selectors, p.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, p.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(p, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// validateIPBlock: cidr required and a valid CIDR in canonical form; each
// except a valid CIDR strictly inside it.
func validateIPBlock(b *networkingv1.IPBlock, p *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(p.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDRForLegacyField(p.Child("cidr"), b.CIDR, true, nil)
	_, outer, err := netutils.ParseCIDRSloppy(b.CIDR)
	if err != nil {
		return errs
	}
	outerBits, _ := outer.Mask.Size()
	for i, ex := range b.Except {
		ep := p.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(ep, ex, true, nil)...)
		_, inner, err := netutils.ParseCIDRSloppy(ex)
		if err != nil {
			continue
		}
		if innerBits, _ := inner.Mask.Size(); !outer.Contains(inner.IP) || outerBits >= innerBits {
			errs = append(errs, field.Invalid(ep, ex, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
