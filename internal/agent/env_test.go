package agent

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type testObjects struct {
	cms  map[string]*corev1.ConfigMap
	secs map[string]*corev1.Secret
}

func (o testObjects) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	if c, ok := o.cms[name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (o testObjects) Secret(ns, name string) (*corev1.Secret, error) {
	if s, ok := o.secs[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"$(A)":          "1",
		"x$(B)y":        "xtwoy",
		"$(MISSING)":    "$(MISSING)",
		"$$(A)":         "$(A)",
		"$$":            "$",
		"$A":            "$A",
		"$(A":           "$(A",
		"a $(A) $(B) $": "a 1 two $",
		"":              "",
	} {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	f := fields{allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}}
	objs := testObjects{
		cms:  map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"mode": "fast", "1bad": "x", "level": "3"}}},
		secs: map[string]*corev1.Secret{"sec": {Data: map[string][]byte{"password": []byte("pw")}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "prod", UID: "u-1",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"note": "hi"}},
		Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"},
	}
	pod = podEnvPod(pod, "10.0.0.5", "192.0.2.1")
	opt := true
	field := func(p string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: p}}
	}
	tests := []struct {
		name    string
		c       corev1.Container
		want    map[string]string
		wantErr string
	}{
		{
			name: "downward api",
			c: corev1.Container{Name: "c", Env: []corev1.EnvVar{
				{Name: "NAME", ValueFrom: field("metadata.name")},
				{Name: "NS", ValueFrom: field("metadata.namespace")},
				{Name: "UID", ValueFrom: field("metadata.uid")},
				{Name: "APP", ValueFrom: field("metadata.labels['app']")},
				{Name: "NOTE", ValueFrom: field("metadata.annotations['note']")},
				{Name: "NODE", ValueFrom: field("spec.nodeName")},
				{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
				{Name: "IP", ValueFrom: field("status.podIP")},
				{Name: "IPS", ValueFrom: field("status.podIPs")},
				{Name: "HOST", ValueFrom: field("status.hostIP")},
			}},
			want: map[string]string{"NAME": "web-0", "NS": "prod", "UID": "u-1", "APP": "web", "NOTE": "hi", "NODE": "n1", "SA": "sa", "IP": "10.0.0.5", "IPS": "10.0.0.5", "HOST": "192.0.2.1"},
		},
		{
			name: "resources fall back to allocatable",
			c: corev1.Container{Name: "c",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}, Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}},
				Env: []corev1.EnvVar{
					{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
					{Name: "CPU_M", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
					{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
					{Name: "REQ", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.memory", Divisor: resource.MustParse("1Mi")}}},
				}},
			want: map[string]string{"CPU": "1", "CPU_M": "250", "MEM": "8192", "REQ": "64"},
		},
		{
			name: "configmap, secret, envFrom and expansion",
			c: corev1.Container{Name: "c",
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}, Prefix: "CFG_"},
					{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: &opt}},
				},
				Env: []corev1.EnvVar{
					{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
					{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "password"}}},
					{Name: "OPT", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "nope", Optional: &opt}}},
					{Name: "URL", Value: "postgres://u:$(PW)@db/$(MODE)?l=$(CFG_level)&x=$(UNDEF)"},
				}},
			want: map[string]string{"CFG_mode": "fast", "CFG_level": "3", "CFG_1bad": "x", "MODE": "fast", "PW": "pw", "URL": "postgres://u:pw@db/fast?l=3&x=$(UNDEF)"},
		},
		{
			name: "missing key",
			c: corev1.Container{Name: "c", Env: []corev1.EnvVar{
				{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "absent"}}},
			}},
			wantErr: "couldn't find key absent in ConfigMap prod/cfg",
		},
		{
			name: "missing secret",
			c: corev1.Container{Name: "c", EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}},
			}},
			wantErr: `secret "absent" not found`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := containerEnv(pod, &tc.c, objs, f, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, errConfig) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range env {
				got[e.name] = e.value
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("env %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestExpandArgsAndMergeEnv(t *testing.T) {
	env := []envVar{{"POD", "web-0"}, {"PATH", "/custom"}}
	if got := expandArgs([]string{"echo", "$(POD)", "$$(POD)"}, env); !reflect.DeepEqual(got, []string{"echo", "web-0", "$(POD)"}) {
		t.Errorf("expandArgs %q", got)
	}
	if got := mergeEnv([]string{"PATH=/bin", "LANG=C"}, env); !reflect.DeepEqual(got, []string{"PATH=/custom", "LANG=C", "POD=web-0"}) {
		t.Errorf("mergeEnv %q", got)
	}
}

func TestHostsAndResolvConf(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "prod"}, Spec: corev1.PodSpec{Subdomain: "nginx"}}
	hosts := string(hostsFile(pod, "10.0.0.7", "cluster.local"))
	if !strings.Contains(hosts, "127.0.0.1\tlocalhost\n") || !strings.HasSuffix(hosts, "10.0.0.7\tweb-1.nginx.prod.svc.cluster.local\tweb-1\n") {
		t.Errorf("hosts:\n%s", hosts)
	}
	pod.Spec.Subdomain = ""
	pod.Spec.Hostname = "h"
	if hosts := string(hostsFile(pod, "10.0.0.7", "cluster.local")); !strings.HasSuffix(hosts, "10.0.0.7\th\n") {
		t.Errorf("hosts:\n%s", hosts)
	}
	dns := DNS{Servers: []string{"10.96.0.10"}, ClusterDomain: "cluster.local"}
	if got := string(resolvConf(pod, dns)); got != "nameserver 10.96.0.10\nsearch prod.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n" {
		t.Errorf("resolv.conf %q", got)
	}
	two := "2"
	pod.Spec.DNSPolicy = corev1.DNSNone
	pod.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"example.com"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}}}
	if got := string(resolvConf(pod, dns)); got != "nameserver 1.1.1.1\nsearch example.com\noptions ndots:2\n" {
		t.Errorf("resolv.conf None %q", got)
	}
}

// subPathExpr expands with the container's variables as kubelet's
// ExpandContainerVolumeMounts does; an undefined or empty one is an error.
func TestSubPathOf(t *testing.T) {
	env := []envVar{{"POD_NAME", "web-0"}, {"NS", "default"}, {"EMPTY", ""}}
	cases := []struct {
		vm      corev1.VolumeMount
		want    string
		wantErr string
	}{
		{corev1.VolumeMount{Name: "v", SubPath: "conf/setup.sh"}, "conf/setup.sh", ""},
		{corev1.VolumeMount{Name: "v"}, "", ""},
		{corev1.VolumeMount{Name: "v", SubPathExpr: "logs/$(POD_NAME)"}, "logs/web-0", ""},
		{corev1.VolumeMount{Name: "v", SubPathExpr: "$(NS)/$(POD_NAME)/$$x"}, "default/web-0/$x", ""},
		{corev1.VolumeMount{Name: "v", SubPathExpr: "$(UNDEFINED)/$(EMPTY)/$(POD_NAME)"}, "", "missing value for EMPTY, UNDEFINED"},
	}
	for _, tc := range cases {
		got, err := subPathOf(tc.vm, env)
		if tc.wantErr != "" {
			if err == nil || !errors.Is(err, errConfig) || !strings.HasSuffix(err.Error(), ": "+tc.wantErr) {
				t.Errorf("%+v: %q, %v; want error %q", tc.vm, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.vm, got, err, tc.want)
		}
	}
}
