package parity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The seeds are valid objects, one per kind, filled in the fields users set
// most: every case starts from one and mutates a few of its fields, so that
// most inputs are near-valid and both sides' checks get past the first
// error. A seed is valid for both upstream and petset (TestSeedsAreValid).

var created = metav1.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: "default",
		Labels:            map[string]string{"app": "web", "tier": "frontend"},
		Annotations:       map[string]string{"example.com/note": "seed"},
		CreationTimestamp: created,
	}
}

func clusterMeta(name string) metav1.ObjectMeta {
	m := meta(name)
	m.Namespace = ""
	return m
}

func seedPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "web", Image: "registry.k8s.io/nginx-slim:0.21",
			Command: []string{"nginx"}, Args: []string{"-g", "daemon off;"},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
			Env: []corev1.EnvVar{
				{Name: "MODE", Value: "prod"},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}, {Name: "config", MountPath: "/etc/config", ReadOnly: true}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}},
				PeriodSeconds: 5,
			},
			LivenessProbe: &corev1.Probe{
				ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}},
				InitialDelaySeconds: 3,
			},
			SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), AllowPrivilegeEscalation: ptr.To(false)},
		}},
		InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1.36", Command: []string{"sh", "-c", "true"}}},
		Volumes: []corev1.Volume{
			{Name: "www", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"},
				Items:                []corev1.KeyToPath{{Key: "index", Path: "index.html"}},
			}}},
		},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptr.To[int64](30),
		DNSPolicy:                     corev1.DNSClusterFirst,
		NodeSelector:                  map[string]string{"kubernetes.io/os": "linux"},
		ServiceAccountName:            "web",
		Hostname:                      "web-0",
		Subdomain:                     "web",
		SecurityContext:               &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000)},
		Tolerations:                   []corev1.Toleration{{Key: "example.com/dedicated", Operator: corev1.TolerationOpEqual, Value: "web", Effect: corev1.TaintEffectNoSchedule}},
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}}}},
		}}},
	}
}

func seedPVCSpec() corev1.PersistentVolumeClaimSpec {
	return corev1.PersistentVolumeClaimSpec{
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		StorageClassName: ptr.To("standard"),
	}
}

func seedCSR() []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice", Organization: []string{"dev"}}}, key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

var csrPEM = seedCSR()

// seeds returns the valid seed of every kind, by kind name (group-qualified
// where two groups share a name).
var seeds = map[string]func() runtime.Object{
	"Namespace": func() runtime.Object {
		return &corev1.Namespace{ObjectMeta: clusterMeta("team-a"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	},
	"Node": func() runtime.Object {
		return &corev1.Node{
			ObjectMeta: clusterMeta("node-1"),
			Spec:       corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}, Taints: []corev1.Taint{{Key: "example.com/gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{
				Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")},
				Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")},
				Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: created, LastTransitionTime: created}},
				Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}, {Type: corev1.NodeHostName, Address: "node-1"}},
				NodeInfo:    corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian", KernelVersion: "6.1.0", ContainerRuntimeVersion: "petset://1.0", Architecture: "amd64", OperatingSystem: "linux"},
			},
		}
	},
	"Pod": func() runtime.Object {
		p := &corev1.Pod{ObjectMeta: meta("web-0"), Spec: seedPodSpec()}
		p.Spec.NodeName = "node-1"
		p.Status = corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.244.1.5", PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}}, HostIP: "192.168.1.10",
			StartTime:  &created,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: created}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", Ready: true, RestartCount: 1, Image: "registry.k8s.io/nginx-slim:0.21", ImageID: "sha256:abc",
				ContainerID: "petset://web", Started: ptr.To(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: created}},
			}},
			QOSClass: corev1.PodQOSBurstable,
		}
		return p
	},
	"Service": func() runtime.Object {
		return &corev1.Service{
			ObjectMeta: meta("web"),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeClusterIP,
				Selector: map[string]string{"app": "web"},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
			},
		}
	},
	"Endpoints": func() runtime.Object {
		return &corev1.Endpoints{
			ObjectMeta: meta("web"),
			Subsets: []corev1.EndpointSubset{{
				Addresses:         []corev1.EndpointAddress{{IP: "10.244.1.5", Hostname: "web-0", NodeName: ptr.To("node-1"), TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-0", Namespace: "default"}}},
				NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.244.1.6"}},
				Ports:             []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
			}},
		}
	},
	"PersistentVolume": func() runtime.Object {
		return &corev1.PersistentVolume{
			ObjectMeta: clusterMeta("pv-1"),
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              "standard",
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/petset/pv-1"}},
				ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: "www-web-0"},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-1"}}},
				}}}},
			},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
		}
	},
	"PersistentVolumeClaim": func() runtime.Object {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: meta("www-web-0"), Spec: seedPVCSpec(),
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}
	},
	"ConfigMap": func() runtime.Object {
		return &corev1.ConfigMap{ObjectMeta: meta("web-config"), Data: map[string]string{"index": "<h1>hi</h1>", "mode.conf": "prod"},
			BinaryData: map[string][]byte{"logo.png": {0x89, 0x50}}}
	},
	"Secret": func() runtime.Object {
		return &corev1.Secret{ObjectMeta: meta("web-tls"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte("s3cret"), "user.name": []byte("admin")}}
	},
	"ServiceAccount": func() runtime.Object {
		return &corev1.ServiceAccount{ObjectMeta: meta("web"), Secrets: []corev1.ObjectReference{{Name: "web-token"}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}, AutomountServiceAccountToken: ptr.To(false)}
	},
	"Event": func() runtime.Object {
		return &corev1.Event{
			ObjectMeta:     meta("web-0.1"),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0", UID: "u-1", APIVersion: "v1", FieldPath: "spec.containers{web}"},
			Reason:         "Started", Message: "Started container web", Type: corev1.EventTypeNormal,
			Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: created, LastTimestamp: created, Count: 2,
			ReportingController: "petset.io/agent", ReportingInstance: "node-1", Action: "Start",
		}
	},
	"events.k8s.io/Event": func() runtime.Object {
		return &eventsv1.Event{
			ObjectMeta: meta("web-0.2"), EventTime: metav1.NewMicroTime(created.Time),
			Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0", APIVersion: "v1"},
			Reason:    "Started", Note: "Started container web", Type: corev1.EventTypeNormal, Action: "Start",
			ReportingController: "petset.io/agent", ReportingInstance: "node-1",
			Series: &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(created.Time)},
		}
	},
	"StatefulSet": func() runtime.Object {
		return &appsv1.StatefulSet{
			ObjectMeta: meta("web"),
			Spec: appsv1.StatefulSetSpec{
				Replicas:    ptr.To[int32](3),
				Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				ServiceName: "web",
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec:       seedPodSpec(),
				},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "www"}, Spec: seedPVCSpec()}},
				PodManagementPolicy:  appsv1.ParallelPodManagement,
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0), MaxUnavailable: ptr.To(intstr.FromInt32(1))}},
				RevisionHistoryLimit: ptr.To[int32](5),
				MinReadySeconds:      2,
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
				Ordinals: &appsv1.StatefulSetOrdinals{Start: 0},
			},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: 3, ReadyReplicas: 2, CurrentReplicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2,
				CurrentRevision: "web-5d8f", UpdateRevision: "web-5d8f", CollisionCount: ptr.To[int32](0)},
		}
	},
	"Deployment": func() runtime.Object {
		return &appsv1.Deployment{
			ObjectMeta: meta("web"),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec:       seedPodSpec(),
				},
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromString("25%")), MaxSurge: ptr.To(intstr.FromInt32(1))}},
				MinReadySeconds:         2,
				RevisionHistoryLimit:    ptr.To[int32](5),
				ProgressDeadlineSeconds: ptr.To[int32](300),
			},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2,
				UnavailableReplicas: 1, CollisionCount: ptr.To[int32](0)},
		}
	},
	"ReplicaSet": func() runtime.Object {
		return &appsv1.ReplicaSet{
			ObjectMeta: meta("web-5d8f"),
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": "5d8f"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f"}},
					Spec:       seedPodSpec(),
				},
				MinReadySeconds: 2,
			},
			Status: appsv1.ReplicaSetStatus{ObservedGeneration: 1, Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2},
		}
	},
	"Job": func() runtime.Object {
		// As stored: the selector and template labels generated from the
		// name and uid, so that update cases start from a valid old object.
		const uid = "4f6a3c1e-2b7d-4e8a-9c0f-1a2b3c4d5e6f"
		m := meta("pi")
		m.UID = uid
		spec := seedPodSpec()
		spec.RestartPolicy = corev1.RestartPolicyNever
		start := created
		return &batchv1.Job{
			ObjectMeta: m,
			Spec: batchv1.JobSpec{
				Parallelism: ptr.To[int32](2), Completions: ptr.To[int32](3), CompletionMode: ptr.To(batchv1.IndexedCompletion),
				BackoffLimit: ptr.To[int32](4), ActiveDeadlineSeconds: ptr.To[int64](600), TTLSecondsAfterFinished: ptr.To[int32](100),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: uid}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "job-name": "pi", batchv1.JobNameLabel: "pi",
						"controller-uid": uid, batchv1.ControllerUidLabel: uid}},
					Spec: spec,
				},
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
					{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						ContainerName: ptr.To("web"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
					{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
						{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
				}},
			},
			Status: batchv1.JobStatus{StartTime: &start, Active: 2, Succeeded: 1, Ready: ptr.To[int32](1), Terminating: ptr.To[int32](0),
				CompletedIndexes: "0", UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{}},
		}
	},
	"CronJob": func() runtime.Object {
		spec := seedPodSpec()
		spec.RestartPolicy = corev1.RestartPolicyOnFailure
		last := created
		return &batchv1.CronJob{
			ObjectMeta: meta("backup"),
			Spec: batchv1.CronJobSpec{
				Schedule: "*/5 * * * *", TimeZone: ptr.To("Etc/UTC"), StartingDeadlineSeconds: ptr.To[int64](100),
				ConcurrencyPolicy: batchv1.ForbidConcurrent, Suspend: ptr.To(false),
				SuccessfulJobsHistoryLimit: ptr.To[int32](3), FailedJobsHistoryLimit: ptr.To[int32](1),
				JobTemplate: batchv1.JobTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "backup"}},
					Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](2), ActiveDeadlineSeconds: ptr.To[int64](300),
						Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "backup"}}, Spec: spec}},
				},
			},
			Status: batchv1.CronJobStatus{LastScheduleTime: &last, LastSuccessfulTime: &last,
				Active: []corev1.ObjectReference{{Kind: "Job", Namespace: "default", Name: "backup-29420000", APIVersion: "batch/v1"}}},
		}
	},
	"ControllerRevision": func() runtime.Object {
		return &appsv1.ControllerRevision{ObjectMeta: meta("web-5d8f"), Revision: 2,
			Data: runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"metadata":{"labels":{"app":"web"}}}}}`)}}
	},
	"StorageClass": func() runtime.Object {
		return &storagev1.StorageClass{
			ObjectMeta:  clusterMeta("standard"),
			Provisioner: "petset.io/hostpath", Parameters: map[string]string{"type": "local"},
			ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
			VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
			AllowVolumeExpansion: ptr.To(true), MountOptions: []string{"noatime"},
		}
	},
	"Lease": func() runtime.Object {
		now := metav1.NewMicroTime(created.Time)
		return &coordinationv1.Lease{ObjectMeta: meta("node-1"), Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To("node-1"), LeaseDurationSeconds: ptr.To[int32](40), AcquireTime: &now, RenewTime: &now, LeaseTransitions: ptr.To[int32](1)}}
	},
	"EndpointSlice": func() runtime.Object {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  meta("web-abc"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				Hostname: ptr.To("web-0"), NodeName: ptr.To("node-1"), TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-0", Namespace: "default"}}},
			Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80), Protocol: ptr.To(corev1.ProtocolTCP)}},
		}
	},
	"PodDisruptionBudget": func() runtime.Object {
		return &policyv1.PodDisruptionBudget{
			ObjectMeta: meta("web"),
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(2)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, UnhealthyPodEvictionPolicy: ptr.To(policyv1.IfHealthyBudget)},
			Status: policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: 1, CurrentHealthy: 3, DesiredHealthy: 2, ExpectedPods: 3},
		}
	},
	"MutatingWebhookConfiguration": func() runtime.Object {
		return &admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: clusterMeta("label-pods"),
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name:         "label.example.com",
				ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "hooks", Name: "label", Path: ptr.To("/mutate")}},
				Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods", "pods/status"}}}},
				NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
				SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
				AdmissionReviewVersions: []string{"v1"},
				MatchConditions:         []admissionregistrationv1.MatchCondition{{Name: "not-system", Expression: `!request.userInfo.username.startsWith("system:")`}},
			}},
		}
	},
	"ValidatingWebhookConfiguration": func() runtime.Object {
		return &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: clusterMeta("check-configmaps"),
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{
				Name:         "check.example.com",
				ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://hooks.example.com:8443/validate")},
				Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"configmaps"}, Scope: ptr.To(admissionregistrationv1.NamespacedScope)}}},
				FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
				SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNoneOnDryRun),
				TimeoutSeconds:          ptr.To[int32](5),
				AdmissionReviewVersions: []string{"v1", "v1beta1"},
			}},
		}
	},
	"ValidatingAdmissionPolicy": func() runtime.Object {
		return &admissionregistrationv1.ValidatingAdmissionPolicy{
			ObjectMeta: clusterMeta("replica-limit"),
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				ParamKind:     &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
				FailurePolicy: ptr.To(admissionregistrationv1.Fail),
				MatchConstraints: &admissionregistrationv1.MatchResources{
					ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"statefulsets"}}}}},
				},
				MatchConditions: []admissionregistrationv1.MatchCondition{{Name: "not-system", Expression: `!request.userInfo.username.startsWith("system:")`}},
				Variables:       []admissionregistrationv1.Variable{{Name: "replicas", Expression: "object.spec.replicas"}},
				Validations: []admissionregistrationv1.Validation{{Expression: "variables.replicas <= 5", Message: "at most 5 replicas",
					MessageExpression: `"replicas: " + string(object.spec.replicas)`, Reason: ptr.To(metav1.StatusReasonInvalid)}},
				AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{Key: "replicas", ValueExpression: "string(object.spec.replicas)"}},
			},
			Status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{ObservedGeneration: 1,
				TypeChecking: &admissionregistrationv1.TypeChecking{ExpressionWarnings: []admissionregistrationv1.ExpressionWarning{
					{FieldRef: "spec.validations[0].expression", Warning: "no such field"}}},
				Conditions: []metav1.Condition{{Type: "TypeChecked", Status: metav1.ConditionTrue, ObservedGeneration: 1, LastTransitionTime: created,
					Reason: "Checked", Message: "type checked"}}},
		}
	},
	"ValidatingAdmissionPolicyBinding": func() runtime.Object {
		return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: clusterMeta("replica-limit-test"),
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName: "replica-limit",
				ParamRef: &admissionregistrationv1.ParamRef{Name: "limits", Namespace: "default",
					ParameterNotFoundAction: ptr.To(admissionregistrationv1.DenyAction)},
				MatchResources: &admissionregistrationv1.MatchResources{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "test"}},
					ExcludeResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{ResourceNames: []string{"legacy"},
						RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll},
							Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"statefulsets"}}}}},
				},
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny, admissionregistrationv1.Audit},
			},
		}
	},
	"NetworkPolicy": func() runtime.Object {
		return &networkingv1.NetworkPolicy{
			ObjectMeta: meta("db"),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(5432)), EndPort: ptr.To[int32](5433)}},
					From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}},
				}},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromString("dns"))}},
					To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
				}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			},
		}
	},
	"CertificateSigningRequest": func() runtime.Object {
		return &certificatesv1.CertificateSigningRequest{
			ObjectMeta: clusterMeta("alice"),
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: csrPEM, SignerName: certificatesv1.KubeAPIServerClientSignerName,
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}, ExpirationSeconds: ptr.To[int32](3600)},
		}
	},
	"Role": func() runtime.Object {
		return &rbacv1.Role{ObjectMeta: meta("reader"), Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, ResourceNames: []string{"web"}, Verbs: []string{"get"}},
		}}
	},
	"ClusterRole": func() runtime.Object {
		return &rbacv1.ClusterRole{ObjectMeta: clusterMeta("reader"), Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list"}},
			{NonResourceURLs: []string{"/healthz", "/metrics"}, Verbs: []string{"get"}},
		}}
	},
	"RoleBinding": func() runtime.Object {
		return &rbacv1.RoleBinding{ObjectMeta: meta("reader"), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}, {Kind: rbacv1.ServiceAccountKind, Name: "web", Namespace: "default"}}}
	},
	"ClusterRoleBinding": func() runtime.Object {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: clusterMeta("reader"), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "reader"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "dev"}, {Kind: rbacv1.ServiceAccountKind, Name: "web", Namespace: "default"}}}
	},
}
