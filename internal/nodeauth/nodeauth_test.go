package nodeauth

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
)

func TestPodReferences(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
			InitContainers: []corev1.Container{{Name: "i", EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "init-env"}}},
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "init-cm"}}},
			}}},
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{
				{Name: "a", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "env-secret"}}}},
				{Name: "b", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "env-cm"}}}},
			}}},
			Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "vol-secret"}}},
				{Name: "m", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "vol-cm"}}}},
				{Name: "pr", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "proj-secret"}}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
				}}}},
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-p"}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
			},
		},
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("secrets", podSecrets(p), "pull", "init-env", "env-secret", "vol-secret", "proj-secret")
	check("configmaps", podConfigMaps(p), "init-cm", "env-cm", "vol-cm", "kube-root-ca.crt")
	check("claims", podClaims(p), "data-p", "p-scratch")
}

func TestAllowedKubeletLabel(t *testing.T) {
	for key, want := range map[string]bool{
		"kubernetes.io/hostname":                 true,
		"topology.kubernetes.io/zone":            true,
		"node.kubernetes.io/exclude-from-lb":     true,
		"kubelet.kubernetes.io/x":                true,
		"example.com/anything":                   true,
		"plain":                                  true,
		"node-role.kubernetes.io/control-plane":  false,
		"kubernetes.io/other":                    false,
		"foo.k8s.io/bar":                         false,
		"node-restriction.kubernetes.io/trusted": false,
	} {
		if got := allowedKubeletLabel(key); got != want {
			t.Errorf("allowedKubeletLabel(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestNodeName(t *testing.T) {
	for _, tc := range []struct {
		u    user.Info
		name string
		ok   bool
	}{
		{&user.DefaultInfo{Name: "system:node:a", Groups: []string{"system:nodes"}}, "a", true},
		{&user.DefaultInfo{Name: "system:node:a"}, "", false},
		{&user.DefaultInfo{Name: "alice", Groups: []string{"system:nodes"}}, "", false},
		{&user.DefaultInfo{Name: "system:node:", Groups: []string{"system:nodes"}}, "", false},
	} {
		name, ok := NodeName(tc.u)
		if name != tc.name || ok != tc.ok {
			t.Errorf("NodeName(%v) = %q, %v; want %q, %v", tc.u, name, ok, tc.name, tc.ok)
		}
	}
}
