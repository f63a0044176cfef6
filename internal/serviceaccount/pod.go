package serviceaccount

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// Names of the ServiceAccount admission contract, as on Kubernetes.
const (
	// DefaultName is the ServiceAccount a pod runs as when it names none.
	DefaultName = "default"
	// MountPath is where every container finds its token, ca.crt and namespace.
	MountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// RootCAConfigMap is the ConfigMap in every namespace holding ca.crt.
	RootCAConfigMap = "kube-root-ca.crt"
	// RootCAKey is the key of the CA bundle in RootCAConfigMap.
	RootCAKey = "ca.crt"
	// TokenExpirationSeconds is the lifetime asked for the mounted token
	// (kube's WarnOnlyBoundTokenExpirationSeconds).
	TokenExpirationSeconds = 3607
	// volumePrefix starts the name of the projected token volume.
	volumePrefix = "kube-api-access-"
)

// DefaultServiceAccountName sets spec.serviceAccountName to "default"
// when it is empty.
func DefaultServiceAccountName(pod *corev1.Pod) {
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultName
	}
}

// ShouldAutomount says whether pod gets sa's token mounted: the pod's
// automountServiceAccountToken wins, then the ServiceAccount's; default yes.
func ShouldAutomount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// MountToken adds the kube-api-access-xxxxx projected volume (a bound
// token, the cluster CA and the namespace) to pod and mounts it read-only
// at MountPath in every init and app container that has nothing mounted
// there yet, as kube's ServiceAccount admission plugin does.
func MountToken(pod *corev1.Pod) {
	name := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, volumePrefix) {
			name = v.Name
			break
		}
	}
	hasVolume := name != ""
	if !hasVolume {
		name = volumePrefix + utilrand.String(5)
	}
	mount := corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: MountPath}
	needed := false
	add := func(cs []corev1.Container) {
		for i := range cs {
			mounted := false
			for _, m := range cs[i].VolumeMounts {
				if m.MountPath == MountPath {
					mounted = true
					break
				}
			}
			if !mounted {
				cs[i].VolumeMounts = append(cs[i].VolumeMounts, mount)
				needed = true
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	if !hasVolume && needed {
		pod.Spec.Volumes = append(pod.Spec.Volumes, TokenVolume(name))
	}
}

// TokenVolume is the projected volume kube's admission adds.
func TokenVolume(name string) corev1.Volume {
	mode := int32(corev1.ProjectedVolumeSourceDefaultMode)
	exp := int64(TokenExpirationSeconds)
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCAConfigMap},
				Items:                []corev1.KeyToPath{{Key: RootCAKey, Path: RootCAKey}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
		DefaultMode: &mode,
	}}}
}
