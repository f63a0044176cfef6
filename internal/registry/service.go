package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"petset/internal/allocator"
)

// Allocator hands out unique cluster IPs or node ports.
type Allocator interface {
	Allocate(ctx context.Context, value, owner string) (string, error)
	Release(ctx context.Context, value string) error
}

// keepAllocatedIPs carries the allocated cluster IPs over to an update
// that leaves them empty (kubectl replace of a manifest without clusterIP),
// as kube does.
func keepAllocatedIPs(svc, old *corev1.Service) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIP = old.Spec.ClusterIP
		svc.Spec.ClusterIPs = old.Spec.ClusterIPs
	}
	if len(svc.Spec.IPFamilies) == 0 {
		svc.Spec.IPFamilies = old.Spec.IPFamilies
	}
	if svc.Spec.IPFamilyPolicy == nil {
		svc.Spec.IPFamilyPolicy = old.Spec.IPFamilyPolicy
	}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].NodePort != 0 {
			continue
		}
		for _, op := range old.Spec.Ports {
			if op.Port == svc.Spec.Ports[i].Port && op.Protocol == svc.Spec.Ports[i].Protocol {
				svc.Spec.Ports[i].NodePort = op.NodePort
			}
		}
	}
}

type serviceAllocation struct {
	ips, ports Allocator
}

func isDryRun(dryRun []string) bool { return len(dryRun) > 0 }

// beginCreate allocates the service's cluster IP and node ports before it
// is written; they are released again if the write fails or is a dry run.
func (a serviceAllocation) beginCreate(ctx context.Context, obj runtime.Object, options *metav1.CreateOptions) (genericregistry.FinishFunc, error) {
	svc := obj.(*corev1.Service)
	var taken []func(context.Context)
	release := func(ctx context.Context) {
		for _, r := range taken {
			r(ctx)
		}
	}
	owner := svc.Namespace + "/" + svc.Name
	if svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		want := svc.Spec.ClusterIP
		if want == "" && len(svc.Spec.ClusterIPs) > 0 {
			want = svc.Spec.ClusterIPs[0]
		}
		ip, err := a.ips.Allocate(ctx, want, owner)
		if err != nil {
			return nil, allocationError(svc, "spec.clusterIPs", want, err, "IP")
		}
		taken = append(taken, func(ctx context.Context) { _ = a.ips.Release(ctx, ip) })
		svc.Spec.ClusterIP = ip
		svc.Spec.ClusterIPs = []string{ip}
		svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		single := corev1.IPFamilyPolicySingleStack
		svc.Spec.IPFamilyPolicy = &single
	} else if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
		if len(svc.Spec.IPFamilies) == 0 {
			svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}
		if svc.Spec.IPFamilyPolicy == nil {
			single := corev1.IPFamilyPolicySingleStack
			svc.Spec.IPFamilyPolicy = &single
		}
	}
	if err := a.allocatePorts(ctx, svc, nil, &taken); err != nil {
		release(ctx)
		return nil, err
	}
	return func(ctx context.Context, success bool) {
		if !success || isDryRun(options.DryRun) {
			release(ctx)
		}
	}, nil
}

func (a serviceAllocation) beginUpdate(ctx context.Context, obj, old runtime.Object, options *metav1.UpdateOptions) (genericregistry.FinishFunc, error) {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	var taken []func(context.Context)
	if err := a.allocatePorts(ctx, svc, oldSvc, &taken); err != nil {
		return nil, err
	}
	return func(ctx context.Context, success bool) {
		if !success || isDryRun(options.DryRun) {
			for _, r := range taken {
				r(ctx)
			}
			return
		}
		// Ports the update dropped are free again.
		kept := map[int32]bool{}
		for _, p := range svc.Spec.Ports {
			kept[p.NodePort] = true
		}
		for _, p := range oldSvc.Spec.Ports {
			if p.NodePort != 0 && !kept[p.NodePort] {
				_ = a.ports.Release(ctx, strconv.Itoa(int(p.NodePort)))
			}
		}
	}, nil
}

func (a serviceAllocation) allocatePorts(ctx context.Context, svc, old *corev1.Service, taken *[]func(context.Context)) error {
	if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
		return nil
	}
	had := map[int32]bool{}
	if old != nil {
		for _, p := range old.Spec.Ports {
			had[p.NodePort] = p.NodePort != 0
		}
	}
	owner := svc.Namespace + "/" + svc.Name
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 && had[p.NodePort] {
			continue
		}
		want := ""
		if p.NodePort != 0 {
			want = strconv.Itoa(int(p.NodePort))
		}
		got, err := a.ports.Allocate(ctx, want, owner)
		if err != nil {
			for _, r := range *taken {
				r(ctx)
			}
			return allocationError(svc, fmt.Sprintf("spec.ports[%d].nodePort", i), want, err, "port")
		}
		n, _ := strconv.Atoi(got)
		p.NodePort = int32(n)
		*taken = append(*taken, func(ctx context.Context) { _ = a.ports.Release(ctx, got) })
	}
	return nil
}

func (a serviceAllocation) afterDelete(obj runtime.Object, options *metav1.DeleteOptions) {
	if isDryRun(options.DryRun) {
		return
	}
	svc := obj.(*corev1.Service)
	ctx := context.Background()
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != corev1.ClusterIPNone && ip != "" {
			_ = a.ips.Release(ctx, ip)
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			_ = a.ports.Release(ctx, strconv.Itoa(int(p.NodePort)))
		}
	}
}

func allocationError(svc *corev1.Service, path, want string, err error, what string) error {
	reason := err.Error()
	switch {
	case errors.Is(err, allocator.ErrAllocated):
		reason = "provided " + what + " is already allocated"
	case errors.Is(err, allocator.ErrOutOfRange):
		reason = "provided " + what + " is not in the valid range"
	case errors.Is(err, allocator.ErrFull):
		reason = "range is full"
	}
	msg := fmt.Sprintf("failed to allocate %s %s: %s", what, want, reason)
	if want == "" {
		msg = fmt.Sprintf("failed to allocate a %s: %s", what, reason)
	}
	var value any = want
	if path == "spec.clusterIPs" {
		value = []string{want}
	}
	if !errors.Is(err, allocator.ErrAllocated) && !errors.Is(err, allocator.ErrOutOfRange) && !errors.Is(err, allocator.ErrFull) {
		return apierrors.NewInternalError(err)
	}
	return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name,
		field.ErrorList{field.Invalid(field.NewPath(path), value, msg)})
}
