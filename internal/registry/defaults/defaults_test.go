package defaults

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestImagePullPolicy(t *testing.T) {
	cases := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"test", corev1.PullAlways},
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"nginx:1.22", corev1.PullIfNotPresent},
		{"registry.k8s.io/nginx-slim:0.8", corev1.PullIfNotPresent},
		{"localhost:5000/app", corev1.PullAlways},
		{"localhost:5000/app:v1", corev1.PullIfNotPresent},
		{"busybox@sha256:" + strings.Repeat("a", 64), corev1.PullIfNotPresent},
		{"busybox:latest@sha256:" + strings.Repeat("a", 64), corev1.PullAlways},
		{"Nginx", corev1.PullIfNotPresent},
		{"", corev1.PullIfNotPresent},
	}
	for _, tc := range cases {
		c := corev1.Container{Name: "c", Image: tc.image}
		Container(&c)
		if c.ImagePullPolicy != tc.want {
			t.Errorf("image %q: imagePullPolicy %q, want %q", tc.image, c.ImagePullPolicy, tc.want)
		}
	}
}

// The revision hash of a StatefulSet is computed over its defaulted template,
// so the defaults must serialize to exactly what kube's do (spec §4.2 test
// vector, without the creationTimestamp that k8s.io/api no longer emits).
func TestStatefulSetTemplateMatchesUpstreamRevisionData(t *testing.T) {
	ss := &appsv1.StatefulSet{
		Spec: appsv1.StatefulSetSpec{
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "foo"}, Annotations: map[string]string{"test": "value"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "test"}}},
			},
		},
	}
	StatefulSet(ss)
	tmpl, err := json.Marshal(ss.Spec.Template)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(tmpl, &m); err != nil {
		t.Fatal(err)
	}
	m["$patch"] = "replace"
	raw, err := json.Marshal(map[string]any{"spec": map[string]any{"template": m}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}`
	if string(raw) != want {
		t.Fatalf("defaulted template serializes to\n%s\nwant\n%s", raw, want)
	}
}

func TestStatefulSetDefaults(t *testing.T) {
	one := intstr.FromInt32(1)
	three := intstr.FromInt32(3)
	retain := &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	cases := []struct {
		name string
		in   appsv1.StatefulSetSpec
		want appsv1.StatefulSetSpec
	}{
		{
			name: "empty",
			in:   appsv1.StatefulSetSpec{},
			want: appsv1.StatefulSetSpec{
				Replicas:            ptrTo(int32(1)),
				PodManagementPolicy: appsv1.OrderedReadyPodManagement,
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
					Type:          appsv1.RollingUpdateStatefulSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptrTo(int32(0)), MaxUnavailable: &one},
				},
				RevisionHistoryLimit:                 ptrTo(int32(10)),
				PersistentVolumeClaimRetentionPolicy: retain,
			},
		},
		{
			name: "RollingUpdate given without block gets none",
			in: appsv1.StatefulSetSpec{
				Replicas:       ptrTo(int32(0)),
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			},
			want: appsv1.StatefulSetSpec{
				Replicas:                             ptrTo(int32(0)),
				PodManagementPolicy:                  appsv1.OrderedReadyPodManagement,
				UpdateStrategy:                       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
				RevisionHistoryLimit:                 ptrTo(int32(10)),
				PersistentVolumeClaimRetentionPolicy: retain,
			},
		},
		{
			name: "explicit values kept",
			in: appsv1.StatefulSetSpec{
				PodManagementPolicy: appsv1.ParallelPodManagement,
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
					Type:          appsv1.RollingUpdateStatefulSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptrTo(int32(2)), MaxUnavailable: &three},
				},
				RevisionHistoryLimit: ptrTo(int32(3)),
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
				},
			},
			want: appsv1.StatefulSetSpec{
				Replicas:            ptrTo(int32(1)),
				PodManagementPolicy: appsv1.ParallelPodManagement,
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
					Type:          appsv1.RollingUpdateStatefulSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptrTo(int32(2)), MaxUnavailable: &three},
				},
				RevisionHistoryLimit: ptrTo(int32(3)),
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
					WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				},
			},
		},
		{
			name: "OnDelete gets no rollingUpdate",
			in:   appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}},
			want: appsv1.StatefulSetSpec{
				Replicas:                             ptrTo(int32(1)),
				PodManagementPolicy:                  appsv1.OrderedReadyPodManagement,
				UpdateStrategy:                       appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
				RevisionHistoryLimit:                 ptrTo(int32(10)),
				PersistentVolumeClaimRetentionPolicy: retain,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ss := &appsv1.StatefulSet{Spec: tc.in}
			StatefulSet(ss)
			// The template defaults are checked elsewhere; compare the rest.
			ss.Spec.Template = corev1.PodTemplateSpec{}
			if !equality.Semantic.DeepEqual(ss.Spec, tc.want) {
				t.Fatalf("got %+v\nwant %+v", ss.Spec, tc.want)
			}
		})
	}
}

func TestStatefulSetClaimTemplatesDefaulted(t *testing.T) {
	ss := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: "www"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}},
	}}
	StatefulSet(ss)
	vct := ss.Spec.VolumeClaimTemplates[0]
	if vct.Spec.VolumeMode == nil || *vct.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("volumeMode = %v, want Filesystem", vct.Spec.VolumeMode)
	}
	if vct.Status.Phase != corev1.ClaimPending {
		t.Errorf("status.phase = %q, want Pending", vct.Status.Phase)
	}
}

func TestPodDefaults(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "none"},
			{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
			{Name: "hp", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}}}},
		},
		Containers: []corev1.Container{{
			Name:  "app",
			Image: "nginx:1.22",
			Ports: []corev1.ContainerPort{{ContainerPort: 80}},
			Env:   []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.0001")},
			},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}, PeriodSeconds: 5},
		}},
	}}
	Pod(pod)
	s := pod.Spec
	checks := []struct {
		what      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"terminationGracePeriodSeconds", *s.TerminationGracePeriodSeconds, int64(30)},
		{"securityContext", *s.SecurityContext, corev1.PodSecurityContext{}},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"volume without source", s.Volumes[0].EmptyDir != nil, true},
		{"configMap defaultMode", *s.Volumes[1].ConfigMap.DefaultMode, int32(0o644)},
		{"secret defaultMode", *s.Volumes[2].Secret.DefaultMode, int32(0o644)},
		{"hostPath type", *s.Volumes[3].HostPath.Type, corev1.HostPathUnset},
		{"projected defaultMode", *s.Volumes[4].Projected.DefaultMode, int32(0o644)},
		{"token expiration", *s.Volumes[4].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds, int64(3600)},
		{"imagePullPolicy", s.Containers[0].ImagePullPolicy, corev1.PullIfNotPresent},
		{"port protocol", s.Containers[0].Ports[0].Protocol, corev1.ProtocolTCP},
		{"fieldRef apiVersion", s.Containers[0].Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"requests.memory from limits", s.Containers[0].Resources.Requests.Memory().String(), "64Mi"},
		{"requests.cpu kept and rounded up", s.Containers[0].Resources.Requests.Cpu().String(), "1m"},
		{"readiness timeout", s.Containers[0].ReadinessProbe.TimeoutSeconds, int32(1)},
		{"readiness period", s.Containers[0].ReadinessProbe.PeriodSeconds, int32(10)},
		{"readiness success", s.Containers[0].ReadinessProbe.SuccessThreshold, int32(1)},
		{"readiness failure", s.Containers[0].ReadinessProbe.FailureThreshold, int32(3)},
		{"httpGet path", s.Containers[0].ReadinessProbe.HTTPGet.Path, "/"},
		{"httpGet scheme", s.Containers[0].ReadinessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"liveness period kept", s.Containers[0].LivenessProbe.PeriodSeconds, int32(5)},
		{"grpc service", *s.Containers[0].LivenessProbe.GRPC.Service, ""},
		{"terminationMessagePath", s.Containers[0].TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", s.Containers[0].TerminationMessagePolicy, corev1.TerminationMessageReadFile},
	}
	for _, c := range checks {
		if !equality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestTemplateHasNoPodOnlyDefaults(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "x",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
	}}}}
	PodTemplateSpec(tmpl)
	if tmpl.Spec.EnableServiceLinks != nil {
		t.Errorf("template got enableServiceLinks")
	}
	if tmpl.Spec.Containers[0].Resources.Requests != nil {
		t.Errorf("template got requests defaulted from limits")
	}
}

func TestServiceDefaults(t *testing.T) {
	cases := []struct {
		name  string
		in    corev1.ServiceSpec
		check func(*testing.T, corev1.ServiceSpec)
	}{
		{"headless", corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Name: "web", Port: 80}}}, func(t *testing.T, s corev1.ServiceSpec) {
			if s.Type != corev1.ServiceTypeClusterIP || s.SessionAffinity != corev1.ServiceAffinityNone {
				t.Errorf("type %q affinity %q", s.Type, s.SessionAffinity)
			}
			if s.Ports[0].Protocol != corev1.ProtocolTCP || s.Ports[0].TargetPort != intstr.FromInt32(80) {
				t.Errorf("port %+v", s.Ports[0])
			}
			if s.InternalTrafficPolicy == nil || *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster {
				t.Errorf("internalTrafficPolicy %v", s.InternalTrafficPolicy)
			}
			if s.ExternalTrafficPolicy != "" {
				t.Errorf("externalTrafficPolicy %q on ClusterIP", s.ExternalTrafficPolicy)
			}
		}},
		{"named target port kept", corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}}, func(t *testing.T, s corev1.ServiceSpec) {
			if s.Ports[0].TargetPort != intstr.FromString("http") {
				t.Errorf("targetPort %v", s.Ports[0].TargetPort)
			}
		}},
		{"nodeport", corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort}, func(t *testing.T, s corev1.ServiceSpec) {
			if s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
				t.Errorf("externalTrafficPolicy %q", s.ExternalTrafficPolicy)
			}
		}},
		{"clientIP affinity", corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP}, func(t *testing.T, s corev1.ServiceSpec) {
			if s.SessionAffinityConfig == nil || *s.SessionAffinityConfig.ClientIP.TimeoutSeconds != 10800 {
				t.Errorf("sessionAffinityConfig %+v", s.SessionAffinityConfig)
			}
		}},
		{"externalName", corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "x.example"}, func(t *testing.T, s corev1.ServiceSpec) {
			if s.InternalTrafficPolicy != nil {
				t.Errorf("internalTrafficPolicy on ExternalName")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{Spec: tc.in}
			Service(svc)
			tc.check(t, svc.Spec)
		})
	}
}

func TestPodLevelResources(t *testing.T) {
	cases := []struct {
		name          string
		pod           corev1.ResourceRequirements
		containers    []corev1.ResourceRequirements
		wantRequests  corev1.ResourceList
		wantLimits    corev1.ResourceList
		wantResources bool
	}{
		{
			name:       "no pod-level resources: untouched",
			containers: []corev1.ResourceRequirements{{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}},
		},
		{
			name:          "pod limits only: requests from container requests, else from pod limits",
			pod:           corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")}},
			containers:    []corev1.ResourceRequirements{{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}},
			wantRequests:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
			wantLimits:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")},
			wantResources: true,
		},
		{
			name: "pod requests only: limits from containers when every container limits",
			pod:  corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
			containers: []corev1.ResourceRequirements{
				{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}},
				{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
			},
			wantRequests:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			wantLimits:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")},
			wantResources: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{}
			if tc.pod.Limits != nil || tc.pod.Requests != nil {
				rr := corev1.ResourceRequirements{Limits: tc.pod.Limits, Requests: tc.pod.Requests}
				p.Spec.Resources = &rr
			}
			for i, r := range tc.containers {
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: "x", Resources: r})
			}
			Pod(p)
			if !tc.wantResources {
				if p.Spec.Resources != nil {
					t.Fatalf("pod-level resources appeared: %+v", p.Spec.Resources)
				}
				return
			}
			if !equality.Semantic.DeepEqual(p.Spec.Resources.Requests, tc.wantRequests) {
				t.Errorf("requests %v, want %v", p.Spec.Resources.Requests, tc.wantRequests)
			}
			if !equality.Semantic.DeepEqual(p.Spec.Resources.Limits, tc.wantLimits) {
				t.Errorf("limits %v, want %v", p.Spec.Resources.Limits, tc.wantLimits)
			}
		})
	}
}

// Claim templates read apiVersion v1 and kind PersistentVolumeClaim whatever
// the client sent, as kube's apps/v1 conversion writes them: a chart's
// templates (with them), a bare manifest's (without) and a stored set's
// (protobuf keeps no nested TypeMeta) all default to the same object.
func TestStatefulSetClaimTemplateTypeMeta(t *testing.T) {
	claim := func(tm metav1.TypeMeta) corev1.PersistentVolumeClaim {
		return corev1.PersistentVolumeClaim{TypeMeta: tm, ObjectMeta: metav1.ObjectMeta{Name: "data"}}
	}
	want := metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}
	var sets []*appsv1.StatefulSet
	for _, tm := range []metav1.TypeMeta{{}, want, {APIVersion: "example.com/v9", Kind: "Claim"}} {
		ss := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim(tm), claim(metav1.TypeMeta{})}}}
		StatefulSet(ss)
		for i, vct := range ss.Spec.VolumeClaimTemplates {
			if vct.TypeMeta != want {
				t.Errorf("sent %+v: template %d has %+v, want %+v", tm, i, vct.TypeMeta, want)
			}
		}
		sets = append(sets, ss)
	}
	for _, ss := range sets[1:] {
		if !equality.Semantic.DeepEqual(ss.Spec.VolumeClaimTemplates, sets[0].Spec.VolumeClaimTemplates) {
			t.Errorf("defaulted templates differ:\n%+v\n%+v", ss.Spec.VolumeClaimTemplates, sets[0].Spec.VolumeClaimTemplates)
		}
	}
}

// TestServiceAccountAliasAndFileKeyRef: two differences hack/parity found
// (defaulting Pod - spec.serviceAccount, ...fileKeyRef.optional): kube's
// conversion keeps spec.serviceAccount equal to serviceAccountName (taking
// the alias when only it is set), and fileKeyRef.optional defaults to false.
func TestServiceAccountAliasAndFileKeyRef(t *testing.T) {
	for _, tc := range []struct {
		name, alias, wantName string
	}{
		{name: "web", wantName: "web"},
		{alias: "old", wantName: "old"},
		{name: "web", alias: "old", wantName: "web"},
		{},
	} {
		spec := corev1.PodSpec{ServiceAccountName: tc.name, DeprecatedServiceAccount: tc.alias, Containers: []corev1.Container{{
			Name: "app", Image: "nginx",
			Env: []corev1.EnvVar{{Name: "K", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}}},
		}}}
		PodSpec(&spec)
		if spec.ServiceAccountName != tc.wantName || spec.DeprecatedServiceAccount != tc.wantName {
			t.Errorf("name %q alias %q: got serviceAccountName %q serviceAccount %q, want both %q",
				tc.name, tc.alias, spec.ServiceAccountName, spec.DeprecatedServiceAccount, tc.wantName)
		}
		if o := spec.Containers[0].Env[0].ValueFrom.FileKeyRef.Optional; o == nil || *o {
			t.Errorf("fileKeyRef.optional = %v, want false", o)
		}
	}
}

// TestNetworkPolicyDefaults: ports default to TCP; policyTypes Ingress, plus
// Egress when egress rules exist; given policyTypes are kept.
func TestNetworkPolicyDefaults(t *testing.T) {
	udp := corev1.ProtocolUDP
	np := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
		Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{}, {Protocol: &udp}}}},
		Egress:  []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptrTo(intstr.FromInt32(53))}}}},
	}}
	NetworkPolicy(np)
	got := []corev1.Protocol{*np.Spec.Ingress[0].Ports[0].Protocol, *np.Spec.Ingress[0].Ports[1].Protocol, *np.Spec.Egress[0].Ports[0].Protocol}
	if fmt.Sprint(got) != "[TCP UDP TCP]" {
		t.Errorf("protocols %v, want [TCP UDP TCP]", got)
	}
	if fmt.Sprint(np.Spec.PolicyTypes) != "[Ingress Egress]" {
		t.Errorf("policyTypes %v, want [Ingress Egress]", np.Spec.PolicyTypes)
	}
	ingressOnly := &networkingv1.NetworkPolicy{}
	NetworkPolicy(ingressOnly)
	if fmt.Sprint(ingressOnly.Spec.PolicyTypes) != "[Ingress]" {
		t.Errorf("no rules: policyTypes %v, want [Ingress]", ingressOnly.Spec.PolicyTypes)
	}
	egressOnly := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}
	NetworkPolicy(egressOnly)
	if fmt.Sprint(egressOnly.Spec.PolicyTypes) != "[Egress]" {
		t.Errorf("given policyTypes: %v, want [Egress]", egressOnly.Spec.PolicyTypes)
	}
}

func TestDeploymentAndReplicaSetDefaults(t *testing.T) {
	d := &appsv1.Deployment{}
	Deployment(d)
	ru := d.Spec.Strategy.RollingUpdate
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
		ru.MaxSurge.String() != "25%" || ru.MaxUnavailable.String() != "25%" ||
		*d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 ||
		d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("defaulted deployment spec = %+v", d.Spec)
	}
	recreate := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	Deployment(recreate)
	if recreate.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("Recreate got a rollingUpdate: %+v", recreate.Spec.Strategy.RollingUpdate)
	}
	rs := &appsv1.ReplicaSet{}
	ReplicaSet(rs)
	if *rs.Spec.Replicas != 1 || rs.Spec.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("defaulted replicaset spec = %+v", rs.Spec)
	}
}
