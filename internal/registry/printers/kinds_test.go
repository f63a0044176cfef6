package printers

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptr[T any](v T) *T { return &v }

func objMeta(name string, age time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(age)}
}

type rowCase struct {
	name string
	obj  runtime.Object
	want []any
}

func checkRows(t *testing.T, gr schema.GroupResource, tests []rowCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cells(t, gr, tt.obj); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cells =\n %#v\nwant\n %#v", got, tt.want)
			}
		})
	}
}

func TestStatefulSetRows(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "nginx", Image: "registry.k8s.io/nginx-slim:0.21"},
		{Name: "sidecar", Image: "busybox:1.36"},
	}}}
	checkRows(t, schema.GroupResource{Group: "apps", Resource: "statefulsets"}, []rowCase{
		{
			name: "two of three ready",
			obj: &appsv1.StatefulSet{
				ObjectMeta: objMeta("web", 10*time.Minute),
				Spec:       appsv1.StatefulSetSpec{Replicas: ptr(int32(3)), Template: tmpl},
				Status:     appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 2},
			},
			want: []any{"web", "2/3", "10m", "nginx,sidecar", "registry.k8s.io/nginx-slim:0.21,busybox:1.36"},
		},
		{
			name: "scaled to zero",
			obj: &appsv1.StatefulSet{
				ObjectMeta: objMeta("db", 26*time.Hour),
				Spec:       appsv1.StatefulSetSpec{Replicas: ptr(int32(0)), Template: tmpl},
			},
			want: []any{"db", "0/0", "26h", "nginx,sidecar", "registry.k8s.io/nginx-slim:0.21,busybox:1.36"},
		},
	})
}

func TestControllerRevisionRows(t *testing.T) {
	owned := &appsv1.ControllerRevision{ObjectMeta: objMeta("web-7b9c8d", time.Hour), Revision: 2}
	owned.OwnerReferences = []metav1.OwnerReference{
		{APIVersion: "v1", Kind: "ConfigMap", Name: "not-the-controller"},
		{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", Controller: ptr(true)},
	}
	coreOwned := &appsv1.ControllerRevision{ObjectMeta: objMeta("x-1", time.Hour), Revision: 1}
	coreOwned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", Controller: ptr(true)}}
	checkRows(t, schema.GroupResource{Group: "apps", Resource: "controllerrevisions"}, []rowCase{
		{name: "owned by a statefulset", obj: owned, want: []any{"web-7b9c8d", "statefulset.apps/web", int64(2), "60m"}},
		{name: "owned by a core kind", obj: coreOwned, want: []any{"x-1", "pod/p", int64(1), "60m"}},
		{name: "orphan", obj: &appsv1.ControllerRevision{ObjectMeta: objMeta("old", 3*time.Hour), Revision: 5}, want: []any{"old", "<none>", int64(5), "3h"}},
	})
}

func TestPersistentVolumeClaimRows(t *testing.T) {
	fs := corev1.PersistentVolumeFilesystem
	checkRows(t, schema.GroupResource{Resource: "persistentvolumeclaims"}, []rowCase{
		{
			name: "bound",
			obj: &corev1.PersistentVolumeClaim{
				ObjectMeta: objMeta("www-web-0", 7*time.Minute),
				Spec: corev1.PersistentVolumeClaimSpec{
					VolumeName: "pvc-1234", StorageClassName: ptr("standard"), VolumeMode: &fs,
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
				Status: corev1.PersistentVolumeClaimStatus{
					Phase:       corev1.ClaimBound,
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadWriteOncePod, corev1.ReadWriteOnce},
					Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
				},
			},
			want: []any{"www-web-0", "Bound", "pvc-1234", "2Gi", "RWO,RWOP", "standard", "<unset>", "7m", "Filesystem"},
		},
		{
			name: "pending, no class, capacity not shown before binding",
			obj: &corev1.PersistentVolumeClaim{
				ObjectMeta: objMeta("data", 30*time.Second),
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
			},
			want: []any{"data", "Pending", "", "", "", "", "<unset>", "30s", "<unset>"},
		},
		{
			name: "terminating, beta class annotation wins",
			obj: func() runtime.Object {
				pvc := &corev1.PersistentVolumeClaim{
					ObjectMeta: objMeta("old", time.Hour),
					Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: ptr("standard"), VolumeAttributesClassName: ptr("gold")},
					Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
				}
				pvc.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-class": "legacy"}
				pvc.DeletionTimestamp = agoPtr(0)
				return pvc
			}(),
			want: []any{"old", "Terminating", "", "", "", "legacy", "gold", "60m", "<unset>"},
		},
	})
}

func TestPersistentVolumeRows(t *testing.T) {
	fs := corev1.PersistentVolumeFilesystem
	checkRows(t, schema.GroupResource{Resource: "persistentvolumes"}, []rowCase{
		{
			name: "bound",
			obj: &corev1.PersistentVolume{
				ObjectMeta: objMeta("pvc-1234", 7*time.Minute),
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadOnlyMany, corev1.ReadWriteOnce},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
					ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: "www-web-0"},
					StorageClassName:              "standard",
					VolumeMode:                    &fs,
				},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
			},
			want: []any{"pvc-1234", "1Gi", "RWO,ROX,RWX", "Delete", "Bound", "default/www-web-0", "standard", "<unset>", "", "7m", "Filesystem"},
		},
		{
			name: "released with a reason, terminating",
			obj: func() runtime.Object {
				pv := &corev1.PersistentVolume{
					ObjectMeta: objMeta("pv-old", 49*time.Hour),
					Spec: corev1.PersistentVolumeSpec{
						Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("500Mi")},
						PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
					},
					Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeFailed, Reason: "ProvisioningFailed"},
				}
				pv.DeletionTimestamp = agoPtr(0)
				return pv
			}(),
			want: []any{"pv-old", "500Mi", "", "Retain", "Terminating", "", "", "<unset>", "ProvisioningFailed", "2d1h", "<unset>"},
		},
	})
}

func TestStorageClassRows(t *testing.T) {
	def := &storagev1.StorageClass{ObjectMeta: objMeta("standard", 2*time.Hour), Provisioner: "petset.io/local-path"}
	def.Namespace = ""
	def.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	betaDef := &storagev1.StorageClass{ObjectMeta: objMeta("beta", 2*time.Hour), Provisioner: "x"}
	betaDef.Annotations = map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}
	retain := corev1.PersistentVolumeReclaimRetain
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	checkRows(t, schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}, []rowCase{
		{name: "default class, defaults for unset fields", obj: def, want: []any{"standard (default)", "petset.io/local-path", "Delete", "Immediate", false, "120m"}},
		{name: "beta default annotation", obj: betaDef, want: []any{"beta (default)", "x", "Delete", "Immediate", false, "120m"}},
		{
			name: "not default, everything set",
			obj: &storagev1.StorageClass{
				ObjectMeta: objMeta("fast", 2*time.Hour), Provisioner: "petset.io/local-path",
				ReclaimPolicy: &retain, VolumeBindingMode: &wait, AllowVolumeExpansion: ptr(true),
			},
			want: []any{"fast", "petset.io/local-path", "Retain", "WaitForFirstConsumer", true, "120m"},
		},
	})
}

func TestNodeRows(t *testing.T) {
	info := corev1.NodeSystemInfo{KubeletVersion: "v1.37.2-petset", OSImage: "Debian GNU/Linux 12", KernelVersion: "6.1.0", ContainerRuntimeVersion: "petset://0.1"}
	checkRows(t, schema.GroupResource{Resource: "nodes"}, []rowCase{
		{
			name: "not ready and cordoned",
			obj: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "node2", CreationTimestamp: ago(3 * 24 * time.Hour), Labels: map[string]string{
					"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/storage": "", "node-role.kubernetes.io/": "", "kubernetes.io/hostname": "node2",
				}},
				Spec: corev1.NodeSpec{Unschedulable: true},
				Status: corev1.NodeStatus{
					Conditions: []corev1.NodeCondition{
						{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
						{Type: corev1.NodeReady, Status: corev1.ConditionUnknown},
					},
					Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "node2"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.12"}},
					NodeInfo:  info,
				},
			},
			want: []any{"node2", "NotReady,SchedulingDisabled", "storage,worker", "3d", "v1.37.2-petset", "192.168.1.12", "<none>", "Debian GNU/Linux 12", "6.1.0", "petset://0.1"},
		},
		{
			name: "ready control plane",
			obj: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "node1", CreationTimestamp: ago(20 * time.Minute), Labels: map[string]string{
					"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master",
				}},
				Status: corev1.NodeStatus{
					Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
					Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.7"}},
					NodeInfo:   withArch(info, "amd64"),
				},
			},
			// kube appends the architecture to the kernel (parity: printing Node - cell Kernel-Version)
			want: []any{"node1", "Ready", "control-plane,master", "20m", "v1.37.2-petset", "10.0.0.1", "203.0.113.7", "Debian GNU/Linux 12", "6.1.0 (amd64)", "petset://0.1"},
		},
		{
			name: "never reported",
			obj:  &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node3", CreationTimestamp: ago(5 * time.Second)}},
			want: []any{"node3", "Unknown", "<none>", "5s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	})
}

func withArch(info corev1.NodeSystemInfo, arch string) corev1.NodeSystemInfo {
	info.Architecture = arch
	return info
}

func TestEventRows(t *testing.T) {
	coreGR := schema.GroupResource{Resource: "events"}
	checkRows(t, coreGR, []rowCase{
		{
			name: "repeated legacy event",
			obj: &corev1.Event{
				ObjectMeta:     objMeta("web-0.17a", 10*time.Minute),
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-0", FieldPath: "spec.containers{nginx}"},
				Type:           "Warning", Reason: "BackOff", Message: "Back-off restarting failed container\n",
				Source:         corev1.EventSource{Component: "kubelet", Host: "node1"},
				FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(30 * time.Second), Count: 7,
			},
			want: []any{"30s", "Warning", "BackOff", "pod/web-0", "spec.containers{nginx}", "kubelet, node1", "Back-off restarting failed container", "10m", int64(7), "web-0.17a"},
		},
		{
			name: "new-style singleton from a controller",
			obj: &corev1.Event{
				ObjectMeta:     objMeta("web.17b", time.Minute),
				InvolvedObject: corev1.ObjectReference{Kind: "StatefulSet", Name: "web"},
				Type:           "Normal", Reason: "SuccessfulCreate", Message: "create Pod web-1 in StatefulSet web successful",
				EventTime:           metav1.NewMicroTime(now.Add(-90 * time.Second)),
				ReportingController: "statefulset-controller",
			},
			want: []any{"90s", "Normal", "SuccessfulCreate", "statefulset/web", "", "statefulset-controller", "create Pod web-1 in StatefulSet web successful", "90s", int64(1), "web.17b"},
		},
		{
			name: "series",
			obj: &corev1.Event{
				ObjectMeta:     objMeta("n.17c", time.Hour),
				InvolvedObject: corev1.ObjectReference{Kind: "Node"},
				Type:           "Normal", Reason: "Heartbeat",
				EventTime:         metav1.NewMicroTime(now.Add(-time.Hour)),
				Series:            &corev1.EventSeries{Count: 12, LastObservedTime: metav1.NewMicroTime(now.Add(-2 * time.Minute))},
				ReportingInstance: "node1", ReportingController: "petset-agent",
			},
			want: []any{"2m", "Normal", "Heartbeat", "node", "", "petset-agent, node1", "", "60m", int64(12), "n.17c"},
		},
	})
	checkRows(t, schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, []rowCase{
		{
			name: "events.k8s.io view",
			obj: &eventsv1.Event{
				ObjectMeta: objMeta("web-0.17d", 3*time.Minute),
				EventTime:  metav1.NewMicroTime(now.Add(-3 * time.Minute)),
				Regarding:  corev1.ObjectReference{Kind: "Pod", Name: "web-0"},
				Type:       "Normal", Reason: "Scheduled", Note: "Successfully assigned default/web-0 to node1",
				ReportingController: "default-scheduler", ReportingInstance: "default-scheduler-petset",
			},
			want: []any{"3m", "Normal", "Scheduled", "pod/web-0", "", "default-scheduler, default-scheduler-petset", "Successfully assigned default/web-0 to node1", "3m", int64(1), "web-0.17d"},
		},
		{
			name: "events.k8s.io view of a legacy event",
			obj: &eventsv1.Event{
				ObjectMeta: objMeta("web-0.17e", 3*time.Minute),
				Regarding:  corev1.ObjectReference{Kind: "Pod", Name: "web-0"},
				Type:       "Normal", Reason: "Pulled",
				DeprecatedSource:         corev1.EventSource{Component: "kubelet"},
				DeprecatedFirstTimestamp: ago(3 * time.Minute), DeprecatedLastTimestamp: ago(time.Minute), DeprecatedCount: 2,
			},
			want: []any{"60s", "Normal", "Pulled", "pod/web-0", "", "kubelet", "", "3m", int64(2), "web-0.17e"},
		},
	})
}

func TestServiceRows(t *testing.T) {
	checkRows(t, schema.GroupResource{Resource: "services"}, []rowCase{
		{
			name: "headless",
			obj: &corev1.Service{
				ObjectMeta: objMeta("nginx", 12*time.Minute),
				Spec: corev1.ServiceSpec{
					Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"},
					Ports:    []corev1.ServicePort{{Name: "web", Port: 80, Protocol: corev1.ProtocolTCP}},
					Selector: map[string]string{"app": "nginx"},
				},
			},
			want: []any{"nginx", "ClusterIP", "None", "<none>", "80/TCP", "12m", "app=nginx"},
		},
		{
			name: "node port with external IPs and no selector",
			obj: &corev1.Service{
				ObjectMeta: objMeta("np", time.Minute),
				Spec: corev1.ServiceSpec{
					Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.0.10"}, ExternalIPs: []string{"1.2.3.4", "5.6.7.8"},
					Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}},
				},
			},
			want: []any{"np", "NodePort", "10.96.0.10", "1.2.3.4,5.6.7.8", "80:30080/TCP,53/UDP", "60s", "<none>"},
		},
		{
			name: "load balancer pending, no ports",
			obj: &corev1.Service{
				ObjectMeta: objMeta("lb", time.Minute),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.11"}},
			},
			want: []any{"lb", "LoadBalancer", "10.96.0.11", "<pending>", "<none>", "60s", "<none>"},
		},
		{
			name: "load balancer with ingress",
			obj: &corev1.Service{
				ObjectMeta: objMeta("lb2", time.Minute),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.12"}},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
					{IP: "203.0.113.9"}, {Hostname: "lb.example.com"}, {IP: "203.0.113.9"},
				}}},
			},
			want: []any{"lb2", "LoadBalancer", "10.96.0.12", "203.0.113.9,lb.example.com", "<none>", "60s", "<none>"},
		},
		{
			name: "external name",
			obj: &corev1.Service{
				ObjectMeta: objMeta("ext", time.Minute),
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"},
			},
			want: []any{"ext", "ExternalName", "<none>", "db.example.com", "<none>", "60s", "<none>"},
		},
	})
}

//nolint:staticcheck // Endpoints is served for old clients.
func TestEndpointsRows(t *testing.T) {
	addrs := func(ips ...string) []corev1.EndpointAddress {
		var out []corev1.EndpointAddress
		for _, ip := range ips {
			out = append(out, corev1.EndpointAddress{IP: ip})
		}
		return out
	}
	checkRows(t, schema.GroupResource{Resource: "endpoints"}, []rowCase{
		{
			name: "more than three",
			obj: &corev1.Endpoints{ObjectMeta: objMeta("nginx", time.Minute), Subsets: []corev1.EndpointSubset{{
				Addresses: addrs("10.244.0.5", "10.244.0.6", "10.244.0.7", "10.244.0.8", "fd00::1"),
				Ports:     []corev1.EndpointPort{{Port: 80}},
			}}},
			want: []any{"nginx", "10.244.0.5:80,10.244.0.6:80,10.244.0.7:80 + 2 more...", "60s"},
		},
		{
			name: "headless without ports, IPv6",
			obj:  &corev1.Endpoints{ObjectMeta: objMeta("h", time.Minute), Subsets: []corev1.EndpointSubset{{Addresses: addrs("fd00::1", "10.0.0.1")}}},
			want: []any{"h", "fd00::1,10.0.0.1", "60s"},
		},
		{
			name: "ipv6 with a port",
			obj:  &corev1.Endpoints{ObjectMeta: objMeta("v6", time.Minute), Subsets: []corev1.EndpointSubset{{Addresses: addrs("fd00::1"), Ports: []corev1.EndpointPort{{Port: 443}}}}},
			want: []any{"v6", "[fd00::1]:443", "60s"},
		},
		{
			name: "none",
			obj:  &corev1.Endpoints{ObjectMeta: objMeta("empty", time.Minute)},
			want: []any{"empty", "<none>", "60s"},
		},
	})
}

func TestEndpointSliceRows(t *testing.T) {
	checkRows(t, schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, []rowCase{
		{
			name: "ports and endpoints",
			obj: &discoveryv1.EndpointSlice{
				ObjectMeta:  objMeta("nginx-abcde", time.Minute),
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Port: ptr(int32(80))}, {Name: ptr("named")}, {}, {Port: ptr(int32(8080))}},
				Endpoints: []discoveryv1.Endpoint{
					{Addresses: []string{"10.244.0.5"}}, {Addresses: []string{"10.244.0.6", "10.244.0.7"}}, {Addresses: []string{"10.244.0.8"}},
				},
			},
			want: []any{"nginx-abcde", "IPv4", "80,named,* + 1 more...", "10.244.0.5,10.244.0.6,10.244.0.7 + 1 more...", "60s"},
		},
		{
			name: "empty",
			obj:  &discoveryv1.EndpointSlice{ObjectMeta: objMeta("e", time.Minute), AddressType: discoveryv1.AddressTypeIPv6},
			want: []any{"e", "IPv6", "<unset>", "<unset>", "60s"},
		},
	})
}

func TestSmallKindRows(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", CreationTimestamp: ago(time.Hour)}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	checkRows(t, schema.GroupResource{Resource: "namespaces"}, []rowCase{{name: "terminating", obj: ns, want: []any{"kube-system", "Terminating", "60m"}}})

	checkRows(t, schema.GroupResource{Resource: "configmaps"}, []rowCase{
		{name: "data and binary data", obj: &corev1.ConfigMap{ObjectMeta: objMeta("cfg", time.Minute), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": {0}}}, want: []any{"cfg", int64(3), "60s"}},
	})
	checkRows(t, schema.GroupResource{Resource: "secrets"}, []rowCase{
		{name: "opaque", obj: &corev1.Secret{ObjectMeta: objMeta("s", time.Minute), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte("x")}}, want: []any{"s", "Opaque", int64(1), "60s"}},
	})
	checkRows(t, schema.GroupResource{Resource: "serviceaccounts"}, []rowCase{
		{name: "default", obj: &corev1.ServiceAccount{ObjectMeta: objMeta("default", 2*time.Minute)}, want: []any{"default", "2m"}},
		// no SECRETS column, as kube 1.37 (parity: printing ServiceAccount - columns)
		{name: "with secrets", obj: &corev1.ServiceAccount{ObjectMeta: objMeta("bot", 2*time.Minute), Secrets: []corev1.ObjectReference{{Name: "a"}, {Name: "b"}}}, want: []any{"bot", "2m"}},
	})
	checkRows(t, schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, []rowCase{
		{name: "held", obj: &coordinationv1.Lease{ObjectMeta: objMeta("petset-controllers", 5*time.Minute), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("host-a_1234")}}, want: []any{"petset-controllers", "host-a_1234", "5m"}},
		{name: "free", obj: &coordinationv1.Lease{ObjectMeta: objMeta("free", 5*time.Minute)}, want: []any{"free", "", "5m"}},
	})
}

func TestCertificateSigningRequestRows(t *testing.T) {
	gr := schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}
	checkRows(t, gr, []rowCase{
		{
			name: "signed",
			obj: &certificatesv1.CertificateSigningRequest{
				ObjectMeta: objMeta("alice", time.Minute),
				Spec:       certificatesv1.CertificateSigningRequestSpec{SignerName: certificatesv1.KubeAPIServerClientSignerName, Username: "admin"},
			},
			want: []any{"alice", "60s", "kubernetes.io/kube-apiserver-client", "admin", "<none>", "Pending"},
		},
		// an empty signer reads <none>, as kube prints it (parity: printing CertificateSigningRequest - cell SignerName)
		{
			name: "no signer",
			obj:  &certificatesv1.CertificateSigningRequest{ObjectMeta: objMeta("bob", time.Minute)},
			want: []any{"bob", "60s", "<none>", "", "<none>", "Pending"},
		},
	})
}

// TestPodDisruptionBudgetRows: kube's MIN AVAILABLE / MAX UNAVAILABLE
// (N/A for the one not set) and ALLOWED DISRUPTIONS.
func TestPodDisruptionBudgetRows(t *testing.T) {
	minTwo, maxQuarter := intstr.FromInt32(2), intstr.FromString("25%")
	checkRows(t, schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}, []rowCase{
		{name: "minAvailable", obj: &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("web", 3*time.Minute),
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minTwo}, Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			want: []any{"web", "2", "N/A", int64(1), "3m"}},
		{name: "maxUnavailable percent", obj: &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("db", time.Hour),
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &maxQuarter}},
			want: []any{"db", "N/A", "25%", int64(0), "60m"}},
		{name: "neither", obj: &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("none", time.Hour)},
			want: []any{"none", "N/A", "N/A", int64(0), "60m"}},
	})
}

// TestNetworkPolicyRows: POD-SELECTOR as kubectl formats a selector,
// <none> for the empty one that selects every pod.
func TestNetworkPolicyRows(t *testing.T) {
	checkRows(t, schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}, []rowCase{
		{name: "labels", obj: &networkingv1.NetworkPolicy{ObjectMeta: objMeta("db", 3*time.Minute), Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}}}},
			want: []any{"db", "app=db,tier in (a,b)", "3m"}},
		{name: "every pod", obj: &networkingv1.NetworkPolicy{ObjectMeta: objMeta("deny-all", time.Hour)},
			want: []any{"deny-all", "<none>", "60m"}},
	})
}

func TestDeploymentRows(t *testing.T) {
	d := &appsv1.Deployment{
		ObjectMeta: objMeta("web", 5*time.Minute),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}}},
		},
		Status: appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 2},
	}
	bad := d.DeepCopy()
	bad.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
	checkRows(t, schema.GroupResource{Group: "apps", Resource: "deployments"}, []rowCase{
		{name: "rolling", obj: d, want: []any{"web", "3/3", int64(1), int64(2), "5m", "nginx", "nginx:1.27", "app=web"}},
		{name: "invalid selector", obj: bad, want: []any{"web", "3/3", int64(1), int64(2), "5m", "nginx", "nginx:1.27", "<invalid>"}},
	})
}

func TestReplicaSetRows(t *testing.T) {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: objMeta("web-5d8f", 5*time.Minute),
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": "5d8f"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}}},
		},
		Status: appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1},
	}
	checkRows(t, schema.GroupResource{Group: "apps", Resource: "replicasets"}, []rowCase{
		{name: "scaling up", obj: rs, want: []any{"web-5d8f", int64(3), int64(2), int64(1), "5m", "nginx", "nginx:1.27", "app=web,pod-template-hash=5d8f"}},
	})
}

// TestJobRows: kube's STATUS (condition order), COMPLETIONS and DURATION.
func TestJobRows(t *testing.T) {
	start := ago(90 * time.Second)
	end := metav1.NewTime(start.Add(30 * time.Second))
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pi", Image: "perl"}}}}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u"}}
	cond := func(t batchv1.JobConditionType) []batchv1.JobCondition {
		return []batchv1.JobCondition{{Type: t, Status: corev1.ConditionTrue}}
	}
	checkRows(t, schema.GroupResource{Group: "batch", Resource: "jobs"}, []rowCase{
		{name: "complete", obj: &batchv1.Job{ObjectMeta: objMeta("pi", 2*time.Minute),
			Spec:   batchv1.JobSpec{Completions: ptr(int32(1)), Selector: sel, Template: tmpl},
			Status: batchv1.JobStatus{Succeeded: 1, StartTime: &start, CompletionTime: &end, Conditions: append(cond(batchv1.JobSuccessCriteriaMet), cond(batchv1.JobComplete)...)}},
			want: []any{"pi", "Complete", "1/1", "30s", "2m", "pi", "perl", "batch.kubernetes.io/controller-uid=u"}},
		{name: "running work queue", obj: &batchv1.Job{ObjectMeta: objMeta("q", time.Minute),
			Spec:   batchv1.JobSpec{Parallelism: ptr(int32(3)), Template: tmpl},
			Status: batchv1.JobStatus{StartTime: &start}},
			want: []any{"q", "Running", "0/1 of 3", "90s", "60s", "pi", "perl", "<none>"}},
		{name: "failed", obj: &batchv1.Job{ObjectMeta: objMeta("f", time.Minute),
			Spec:   batchv1.JobSpec{Completions: ptr(int32(2)), Template: tmpl},
			Status: batchv1.JobStatus{Failed: 7, Conditions: append(cond(batchv1.JobFailureTarget), cond(batchv1.JobFailed)...)}},
			want: []any{"f", "Failed", "0/2", "", "60s", "pi", "perl", "<none>"}},
		{name: "suspended", obj: &batchv1.Job{ObjectMeta: objMeta("s", time.Minute),
			Spec: batchv1.JobSpec{Completions: ptr(int32(1)), Template: tmpl}, Status: batchv1.JobStatus{Conditions: cond(batchv1.JobSuspended)}},
			want: []any{"s", "Suspended", "0/1", "", "60s", "pi", "perl", "<none>"}},
	})
}

// TestCronJobRows: TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE.
func TestCronJobRows(t *testing.T) {
	last := ago(5 * time.Minute)
	tmpl := batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: "busybox"}}}}}}
	checkRows(t, schema.GroupResource{Group: "batch", Resource: "cronjobs"}, []rowCase{
		{name: "scheduled", obj: &batchv1.CronJob{ObjectMeta: objMeta("hello", time.Hour),
			Spec:   batchv1.CronJobSpec{Schedule: "*/5 * * * *", TimeZone: ptr("Europe/Berlin"), Suspend: ptr(false), JobTemplate: tmpl},
			Status: batchv1.CronJobStatus{Active: []corev1.ObjectReference{{Name: "hello-1"}}, LastScheduleTime: &last}},
			want: []any{"hello", "*/5 * * * *", "Europe/Berlin", "False", int64(1), "5m", "60m", "hello", "busybox", "<none>"}},
		{name: "never", obj: &batchv1.CronJob{ObjectMeta: objMeta("idle", time.Hour), Spec: batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: tmpl}},
			want: []any{"idle", "@daily", "<none>", "<unset>", int64(0), "<none>", "60m", "hello", "busybox", "<none>"}},
	})
}
