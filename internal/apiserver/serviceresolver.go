package apiserver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/utils/ptr"
)

// endpointResolver sends a webhook (admission, CRD conversion) addressed
// by Service straight to one of the Service's ready endpoints, as
// kube-apiserver does with --enable-aggregator-routing: petset's API
// server is no node, so a ClusterIP means something only where a node's
// service proxy runs, while a pod's address is reachable from every host
// that routes the pod network (on petset up, the node's own host). An
// ExternalName Service resolves to its name.
type endpointResolver struct {
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
}

func (r endpointResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	svc, err := r.services.Services(namespace).Get(name)
	if err != nil {
		return nil, fmt.Errorf("service %s/%s: %w", namespace, name, err)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return &url.URL{Scheme: "https", Host: net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(port)))}, nil
	}
	var svcPort *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			svcPort = &svc.Spec.Ports[i]
			break
		}
	}
	if svcPort == nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("service %s/%s has no port %d", namespace, name, port))
	}
	slices, err := r.slices.EndpointSlices(namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name}))
	if err != nil {
		return nil, fmt.Errorf("endpoints of service %s/%s: %w", namespace, name, err)
	}
	var ready []string
	for _, slice := range slices {
		for _, p := range slice.Ports {
			if p.Port == nil || ptr.Deref(p.Name, "") != svcPort.Name {
				continue
			}
			for _, ep := range slice.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, addr := range ep.Addresses {
					ready = append(ready, net.JoinHostPort(addr, strconv.Itoa(int(*p.Port))))
				}
			}
		}
	}
	if len(ready) == 0 {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("service %s/%s has no ready endpoint for port %d", namespace, name, port))
	}
	return &url.URL{Scheme: "https", Host: ready[rand.IntN(len(ready))]}, nil
}
