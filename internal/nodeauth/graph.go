package nodeauth

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"petset/internal/apiclient"
)

const byNode = "nodeName"

// graph answers which objects the pods bound to a node refer to, from
// informers of pods and claims.
type graph struct {
	factory informers.SharedInformerFactory
	pods    cache.Indexer
	podsLst corelisters.PodLister
	pvcs    corelisters.PersistentVolumeClaimLister
	synced  []cache.InformerSynced
}

func newGraph(client kubernetes.Interface) (*graph, error) {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(apiclient.DropManagedFields))
	podInf := factory.Core().V1().Pods().Informer()
	if err := podInf.AddIndexers(cache.Indexers{byNode: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("nodeauth: pod index: %w", err)
	}
	pvcInf := factory.Core().V1().PersistentVolumeClaims().Informer()
	return &graph{
		factory: factory, pods: podInf.GetIndexer(),
		podsLst: factory.Core().V1().Pods().Lister(),
		pvcs:    factory.Core().V1().PersistentVolumeClaims().Lister(),
		synced:  []cache.InformerSynced{podInf.HasSynced, pvcInf.HasSynced},
	}, nil
}

func (g *graph) hasSynced() bool {
	for _, s := range g.synced {
		if !s() {
			return false
		}
	}
	return true
}

// podsOn are the pods bound to node.
func (g *graph) podsOn(node string) []*corev1.Pod {
	objs, err := g.pods.ByIndex(byNode, node)
	if err != nil {
		return nil
	}
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

// refers reports whether a pod bound to node refers to the object of
// resource (secrets, configmaps, persistentvolumeclaims,
// persistentvolumes, serviceaccounts) named namespace/name.
func (g *graph) refers(node, resource, namespace, name string) bool {
	for _, p := range g.podsOn(node) {
		if resource != "persistentvolumes" && p.Namespace != namespace {
			continue
		}
		switch resource {
		case "secrets":
			if contains(podSecrets(p), name) {
				return true
			}
		case "configmaps":
			if contains(podConfigMaps(p), name) {
				return true
			}
		case "persistentvolumeclaims":
			if contains(podClaims(p), name) {
				return true
			}
		case "serviceaccounts":
			if p.Spec.ServiceAccountName == name {
				return true
			}
		case "persistentvolumes":
			for _, c := range podClaims(p) {
				if pvc, err := g.pvcs.PersistentVolumeClaims(p.Namespace).Get(c); err == nil && pvc.Spec.VolumeName == name {
					return true
				}
			}
		}
	}
	return false
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// allContainers are a pod's init, regular and ephemeral containers.
func allContainers(p *corev1.Pod) []corev1.Container {
	out := append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...)
	for _, e := range p.Spec.EphemeralContainers {
		out = append(out, corev1.Container(e.EphemeralContainerCommon))
	}
	return out
}

// podSecrets are the Secrets a pod refers to: image pull secrets, volumes,
// projections and env.
func podSecrets(p *corev1.Pod) []string {
	var out []string
	for _, s := range p.Spec.ImagePullSecrets {
		out = append(out, s.Name)
	}
	for _, v := range p.Spec.Volumes {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					out = append(out, s.Secret.Name)
				}
			}
		}
	}
	for _, c := range allContainers(p) {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				out = append(out, e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out = append(out, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	return out
}

// podConfigMaps are the ConfigMaps a pod refers to.
func podConfigMaps(p *corev1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		if v.ConfigMap != nil {
			out = append(out, v.ConfigMap.Name)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					out = append(out, s.ConfigMap.Name)
				}
			}
		}
	}
	for _, c := range allContainers(p) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				out = append(out, e.ConfigMapRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				out = append(out, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	}
	return out
}

// podClaims are the claims a pod mounts, generic ephemeral volumes'
// included (<pod>-<volume>).
func podClaims(p *corev1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, p.Name+"-"+v.Name)
		}
	}
	return out
}
