package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"petset/internal/registry/defaults"
)

var podGK = schema.GroupKind{Kind: "Pod"}

func validPod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", ResourceVersion: "5"},
		Spec: corev1.PodSpec{
			Hostname:  "web-0",
			Subdomain: "nginx",
			Volumes: []corev1.Volume{{Name: "www", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "www-web-0"}}}},
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1.36", Command: []string{"true"}}},
			Containers: []corev1.Container{{
				Name:         "nginx",
				Image:        "registry.k8s.io/nginx-slim:0.8",
				Ports:        []corev1.ContainerPort{{Name: "web", ContainerPort: 80}},
				Env:          []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}},
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("web")}}},
				LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}},
			}},
		},
	}
	defaults.Pod(p)
	return p
}

func checkErrs(t *testing.T, gk schema.GroupKind, name string, errs field.ErrorList, want []string) {
	t.Helper()
	if len(want) == 0 {
		if len(errs) != 0 {
			t.Fatalf("rejected: %v", errs)
		}
		return
	}
	if len(errs) == 0 {
		t.Fatalf("accepted, want %q", want)
	}
	msg := invalidMessage(gk, name, errs)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message\n%s\ndoes not contain\n%s", msg, w)
		}
	}
}

func TestPodCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{"valid", func(*corev1.Pod) {}, nil},
		{"name not a subdomain", func(p *corev1.Pod) { p.Name = "Web_0" }, []string{`metadata.name: Invalid value: "Web_0": a lowercase RFC 1123 subdomain`}},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []string{"spec.containers: Required value"}},
		{"bad container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Nginx" }, []string{`spec.containers[0].name: Invalid value: "Nginx": a lowercase RFC 1123 label`}},
		{"duplicate with init container", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "init" }, []string{`spec.initContainers[0].name: Duplicate value: "init"`}},
		{"dnsPolicy None without dnsConfig", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, []string{
			"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"}},
		{"host port used twice", func(p *corev1.Pod) {
			c := p.Spec.Containers[0].DeepCopy()
			c.Name = "second"
			c.Ports[0].Name = "web2"
			p.Spec.Containers[0].Ports[0].HostPort = 8080
			c.Ports[0].HostPort = 8080
			p.Spec.Containers = append(p.Spec.Containers, *c)
		}, []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`}},
		{"missing image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []string{"spec.containers[0].image: Required value"}},
		{"port out of range", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, []string{
			"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
		{"port missing", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 }, []string{"spec.containers[0].ports[0].containerPort: Required value"}},
		{"bad protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }, []string{
			`spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`}},
		{"duplicate volume", func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, p.Spec.Volumes[0]) }, []string{`spec.volumes[1].name: Duplicate value: "www"`}},
		{"volume with two sources", func(p *corev1.Pod) { p.Spec.Volumes[0].EmptyDir = &corev1.EmptyDirVolumeSource{} }, []string{
			"spec.volumes[0].persistentVolumeClaim: Forbidden: may not specify more than 1 volume type"}},
		{"volume without source", func(p *corev1.Pod) { p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{} }, []string{
			"spec.volumes[0]: Required value: must specify a volume type"}},
		{"claimName missing", func(p *corev1.Pod) { p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = "" }, []string{
			"spec.volumes[0].persistentVolumeClaim.claimName: Required value"}},
		{"mount of unknown volume", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "data" }, []string{
			`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{"mountPath missing", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "" }, []string{
			"spec.containers[0].volumeMounts[0].mountPath: Required value"}},
		{"env name", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "A=B" }, []string{`spec.containers[0].env[0].name: Invalid value: "A=B"`}},
		{"unsupported fieldRef", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].ValueFrom.FieldRef.FieldPath = "spec.hostname" }, []string{
			`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.hostname": supported values: "metadata.name"`}},
		{"label fieldRef", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].ValueFrom.FieldRef.FieldPath = "metadata.labels['app']"
		}, nil},
		{"value and valueFrom", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Value = "x" }, []string{
			"spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"}},
		{"envFrom without source", func(p *corev1.Pod) { p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{Prefix: "X_"}} }, []string{
			"spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`"}},
		{"envFrom configMap", func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
		}, nil},
		{"subPath escapes", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].SubPath = "../x" }, []string{
			`spec.containers[0].volumeMounts.subPath: Invalid value: "../x": must not contain '..'`}},
		{"restartPolicy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, []string{
			`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("1")
		}, []string{`spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m`}},
		{"extended resource request without limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1")
		}, []string{"spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"}},
		{"unknown native resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits["disk"] = resource.MustParse("1")
		}, []string{`spec.containers[0].resources.limits[disk]: Invalid value: "disk": must be a standard resource for containers`}},
		{"negative quantity", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("-1")
		}, []string{`spec.containers[0].resources.limits[memory]: Invalid value: "-1": must be greater than or equal to 0`}},
		{"probe with two handlers", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}
		}, []string{"spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"}},
		{"probe without handler", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe.HTTPGet = nil }, []string{
			"spec.containers[0].readinessProbe: Required value: must specify a handler type"}},
		{"liveness successThreshold", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.SuccessThreshold = 2 }, []string{
			"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
		{"hostname", func(p *corev1.Pod) { p.Spec.Hostname = "web.0" }, []string{`spec.hostname: Invalid value: "web.0"`}},
		{"subdomain", func(p *corev1.Pod) { p.Spec.Subdomain = "Nginx" }, []string{`spec.subdomain: Invalid value: "Nginx"`}},
		{"negative grace", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(-5)) }, []string{
			"spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0"}},
		{"init container probe", func(p *corev1.Pod) { p.Spec.InitContainers[0].ReadinessProbe = p.Spec.Containers[0].ReadinessProbe }, []string{
			"spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"}},
		{"anti-affinity without topologyKey", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
				}},
			}}
		}, []string{"spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty"}},
		{"preferred weight out of range", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
					Weight:          0,
					PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname"},
				}},
			}}
		}, []string{"spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100"}},
		{"hostNetwork port mismatch", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 8080
		}, []string{"spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"}},
		{"token projection without service account", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "tok", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				DefaultMode: ptrTo(int32(0o644)),
				Sources:     []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}},
			}}})
		}, []string{"spec.volumes[1].projected.sources[0].serviceAccountToken: Forbidden: must not be specified when serviceAccountName is not set"}},
		{"negative runAsUser", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptrTo(int64(-1))}
		}, []string{"spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive"}},
		{"fsGroup", func(p *corev1.Pod) { p.Spec.SecurityContext.FSGroup = ptrTo(int64(1000)) }, nil},
		{"sidecar init container may have probes", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = ptrTo(corev1.ContainerRestartPolicyAlways)
			p.Spec.InitContainers[0].ReadinessProbe = p.Spec.Containers[0].ReadinessProbe
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validPod()
			tc.mutate(p)
			checkErrs(t, podGK, p.Name, ValidatePod(p), tc.want)
		})
	}
}

func TestPodUpdate(t *testing.T) {
	forbidden := "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.22" }, nil},
		{"init image", func(p *corev1.Pod) { p.Spec.InitContainers[0].Image = "busybox:1.37" }, nil},
		{"labels", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, nil},
		{"activeDeadlineSeconds set", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(30)) }, nil},
		{"toleration added", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		}, nil},
		{"env changed", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "OTHER" }, []string{forbidden, `+     "name": "OTHER"`}},
		{"port changed", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 8080 }, []string{forbidden}},
		{"nodeName set", func(p *corev1.Pod) { p.Spec.NodeName = "node-1" }, []string{forbidden}},
		{"container added", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "x", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile})
		}, []string{"spec.containers: Forbidden: pod updates may not add or remove containers"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			p := old.DeepCopy()
			tc.mutate(p)
			checkErrs(t, podGK, p.Name, ValidatePodUpdate(p, old), tc.want)
		})
	}

	t.Run("activeDeadlineSeconds raised", func(t *testing.T) {
		old := validPod()
		old.Spec.ActiveDeadlineSeconds = ptrTo(int64(30))
		p := old.DeepCopy()
		p.Spec.ActiveDeadlineSeconds = ptrTo(int64(60))
		checkErrs(t, podGK, p.Name, ValidatePodUpdate(p, old), []string{"spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value"})
	})
	t.Run("nodeName changed once bound", func(t *testing.T) {
		old := validPod()
		old.Spec.NodeName = "node-1"
		p := old.DeepCopy()
		p.Spec.NodeName = "node-2"
		checkErrs(t, podGK, p.Name, ValidatePodUpdate(p, old), []string{forbidden})
	})
}

func TestPodStatusUpdate(t *testing.T) {
	old := validPod()
	old.Spec.RestartPolicy = corev1.RestartPolicyNever
	old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "nginx", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}

	ok := old.DeepCopy()
	ok.Status.Phase = corev1.PodFailed
	ok.Status.PodIP = "10.0.0.5"
	ok.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}}
	checkErrs(t, podGK, "web-0", ValidatePodStatusUpdate(ok, old), nil)

	revived := old.DeepCopy()
	revived.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	checkErrs(t, podGK, "web-0", ValidatePodStatusUpdate(revived, old), []string{"status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"})

	badIP := old.DeepCopy()
	badIP.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.300"}}
	checkErrs(t, podGK, "web-0", ValidatePodStatusUpdate(badIP, old), []string{`status.podIPs[0]: Invalid value: "10.0.0.300"`})

	moved := old.DeepCopy()
	moved.Spec.NodeName = "elsewhere"
	checkErrs(t, podGK, "web-0", ValidatePodStatusUpdate(moved, old), []string{"status.nodeName: Forbidden: may not be changed directly"})
}

func TestPodTemplateSpecPaths(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "bad value!"}},
		Spec:       validPod().Spec,
	}
	tmpl.Spec.Containers[0].Image = ""
	errs := ValidatePodTemplateSpec(tmpl, field.NewPath("spec", "template"))
	msg := errs.ToAggregate().Error()
	for _, w := range []string{`spec.template.labels: Invalid value: "bad value!"`, "spec.template.spec.containers[0].image: Required value"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%s\nmissing %s", msg, w)
		}
	}
}
