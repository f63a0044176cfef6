package objcache

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// References lists the ConfigMaps and Secrets pod names in its volumes
// (projected sources too) and in its containers' env and envFrom, each
// once.
func References(pod *corev1.Pod) []Ref {
	var refs []Ref
	add := func(k Kind, name string) {
		r := Ref{Kind: k, Namespace: pod.Namespace, Name: name}
		if name != "" && !contains(refs, r) {
			refs = append(refs, r)
		}
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			add(ConfigMaps, v.ConfigMap.Name)
		case v.Secret != nil:
			add(Secrets, v.Secret.SecretName)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					add(ConfigMaps, s.ConfigMap.Name)
				}
				if s.Secret != nil {
					add(Secrets, s.Secret.Name)
				}
			}
		}
	}
	containers := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil {
					add(ConfigMaps, e.ConfigMapRef.Name)
				}
				if e.SecretRef != nil {
					add(Secrets, e.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if e.ValueFrom.ConfigMapKeyRef != nil {
					add(ConfigMaps, e.ValueFrom.ConfigMapKeyRef.Name)
				}
				if e.ValueFrom.SecretKeyRef != nil {
					add(Secrets, e.ValueFrom.SecretKeyRef.Name)
				}
			}
		}
	}
	containers(pod.Spec.InitContainers)
	containers(pod.Spec.Containers)
	for _, e := range pod.Spec.EphemeralContainers {
		containers([]corev1.Container{corev1.Container(e.EphemeralContainerCommon)})
	}
	return refs
}

func groupResource(k Kind) schema.GroupResource { return schema.GroupResource{Resource: string(k)} }
