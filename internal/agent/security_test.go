package agent

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"petset/internal/agent/runtime"
)

func TestContainerSecurity(t *testing.T) {
	pod := func(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) (*corev1.Pod, *corev1.Container) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", UID: "u1"},
			Spec: corev1.PodSpec{SecurityContext: psc, Containers: []corev1.Container{{Name: "nginx", SecurityContext: sc}}}}
		return p, &p.Spec.Containers[0]
	}
	for _, tc := range []struct {
		name string
		psc  *corev1.PodSecurityContext
		sc   *corev1.SecurityContext
		want runtime.Security
		err  string
	}{
		{name: "none"},
		{name: "pod level", psc: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000),
			SupplementalGroups: []int64{4000}, FSGroup: ptr.To[int64](2000)},
			want: runtime.Security{RunAsUser: 1000, RunAsGroup: 3000, SupplementalGroups: []int64{4000, 2000}}},
		{name: "container overrides pod", psc: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000)},
			sc:   &corev1.SecurityContext{RunAsUser: ptr.To[int64](1001)},
			want: runtime.Security{RunAsUser: 1001, RunAsGroup: 3000}},
		{name: "container only fields", sc: &corev1.SecurityContext{Privileged: ptr.To(true), AllowPrivilegeEscalation: ptr.To(true),
			ReadOnlyRootFilesystem: ptr.To(true), Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}}},
			want: runtime.Security{Privileged: true, AllowPrivilegeEscalation: true, ReadOnlyRootFilesystem: true,
				CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"}}},
		{name: "runAsNonRoot without user", psc: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			err: `container has runAsNonRoot and image will run as root (pod: "web-0_default(u1)", container: nginx)`},
		{name: "runAsNonRoot with root", sc: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](0)},
			err: `container's runAsUser breaks non-root policy (pod: "web-0_default(u1)", container: nginx)`},
		{name: "runAsNonRoot with a user", psc: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](7)},
			want: runtime.Security{RunAsUser: 7}},
		{name: "container allows root", psc: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			sc: &corev1.SecurityContext{RunAsNonRoot: ptr.To(false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := pod(tc.psc, tc.sc)
			got, err := containerSecurity(p, c)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
