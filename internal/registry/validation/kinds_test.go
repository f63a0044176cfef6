package validation

import (
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"petset/internal/registry/defaults"
)

func validService() *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default", ResourceVersion: "3"},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  map[string]string{"app": "nginx"},
			Ports:     []corev1.ServicePort{{Name: "web", Port: 80}},
		},
	}
	defaults.Service(s)
	return s
}

func TestService(t *testing.T) {
	gk := schema.GroupKind{Kind: "Service"}
	cases := []struct {
		name   string
		mutate func(*corev1.Service)
		want   []string
	}{
		{"valid headless", func(*corev1.Service) {}, nil},
		{"headless without ports", func(s *corev1.Service) { s.Spec.Ports = nil }, nil},
		{"clusterIP service without ports", func(s *corev1.Service) { s.Spec.ClusterIP = ""; s.Spec.Ports = nil }, []string{"spec.ports: Required value"}},
		{"name must start with a letter", func(s *corev1.Service) { s.Name = "1nginx" }, []string{`metadata.name: Invalid value: "1nginx": a DNS-1035 label must consist of`}},
		{"port out of range", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }, []string{"spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
		{"two ports need names", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(443)})
		}, []string{"spec.ports[1].name: Required value"}},
		{"bad type", func(s *corev1.Service) { s.Spec.Type = "Internal" }, []string{`spec.type: Unsupported value: "Internal"`}},
		{"bad clusterIP", func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0" }, []string{`spec.clusterIPs[0]: Invalid value: "10.0.0"`}},
		{"duplicate port", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "web2", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)})
		}, []string{"spec.ports[1]: Duplicate value:"}},
		{"headless NodePort", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}, []string{`spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services`}},
		{"externalTrafficPolicy on ClusterIP", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }, []string{
			`spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services`}},
		{"clusterIPs filled by the registry", func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.96.0.10"
			s.Spec.ClusterIPs = []string{"10.96.0.10"}
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
		}, nil},
		{"externalName required", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ClusterIP = ""
		}, []string{"spec.externalName: Required value"}},
		{"bad selector", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "a b"} }, []string{`spec.selector: Invalid value: "a b"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validService()
			tc.mutate(s)
			checkErrs(t, gk, s.Name, ValidateService(s), tc.want)
		})
	}

	old := validService()
	old.Spec.ClusterIP = "10.96.0.10"
	old.Spec.ClusterIPs = []string{"10.96.0.10"}
	upd := old.DeepCopy()
	upd.Spec.Ports[0].Port = 8080
	checkErrs(t, gk, "nginx", ValidateServiceUpdate(upd, old), nil)
	upd.Spec.ClusterIP = "10.96.0.11"
	upd.Spec.ClusterIPs = []string{"10.96.0.11"}
	checkErrs(t, gk, "nginx", ValidateServiceUpdate(upd, old), []string{`spec.clusterIPs[0]: Invalid value: "10.96.0.11": may not change once set`})
	dropped := old.DeepCopy()
	dropped.Spec.ClusterIP = ""
	dropped.Spec.ClusterIPs = nil
	checkErrs(t, gk, "nginx", ValidateServiceUpdate(dropped, old), []string{`spec.clusterIPs[0]: Invalid value: "": may not change once set`})
}

func TestEndpointsAndSlices(t *testing.T) {
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.0.0.5", Hostname: "web-0"}},
			Ports:     []corev1.EndpointPort{{Name: "web", Port: 80, Protocol: corev1.ProtocolTCP}},
		}},
	}
	checkErrs(t, schema.GroupKind{Kind: "Endpoints"}, "nginx", ValidateEndpoints(ep), nil)
	loop := ep.DeepCopy()
	loop.Subsets[0].Addresses[0].IP = "127.0.0.1"
	checkErrs(t, schema.GroupKind{Kind: "Endpoints"}, "nginx", ValidateEndpoints(loop), []string{
		`subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`})
	ep.Subsets[0].Addresses[0].IP = "nope"
	checkErrs(t, schema.GroupKind{Kind: "Endpoints"}, "nginx", ValidateEndpoints(ep), []string{`subsets[0].addresses[0].ip: Invalid value: "nope"`})

	gk := schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "nginx-abc", Namespace: "default", ResourceVersion: "1"},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.5"}, Hostname: ptrTo("web-0")}},
		Ports:       []discoveryv1.EndpointPort{{Port: ptrTo(int32(80))}},
	}
	defaults.EndpointSlice(es)
	checkErrs(t, gk, es.Name, ValidateEndpointSlice(es), nil)
	bad := es.DeepCopy()
	bad.Endpoints[0].Addresses = nil
	bad.AddressType = "IPv5"
	checkErrs(t, gk, es.Name, ValidateEndpointSlice(bad), []string{
		`addressType: Unsupported value: "IPv5"`, "endpoints[0].addresses: Required value: must contain at least 1 address"})
	wrongFamily := es.DeepCopy()
	wrongFamily.Endpoints[0].Addresses = []string{"fd00::5"}
	checkErrs(t, gk, es.Name, ValidateEndpointSlice(wrongFamily), []string{`endpoints[0].addresses[0]: Invalid value: "fd00::5": must be a valid IPv4 address`})
	changed := es.DeepCopy()
	changed.AddressType = discoveryv1.AddressTypeFQDN
	changed.Endpoints[0].Addresses = []string{"web-0.example"}
	checkErrs(t, gk, es.Name, ValidateEndpointSliceUpdate(changed, es), []string{`addressType: Invalid value: "FQDN": field is immutable`})
}

func validPVC() *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "www-web-0", Namespace: "default", ResourceVersion: "9"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	defaults.PersistentVolumeClaim(pvc)
	return pvc
}

func TestPersistentVolumeClaim(t *testing.T) {
	gk := schema.GroupKind{Kind: "PersistentVolumeClaim"}
	cases := []struct {
		name   string
		mutate func(*corev1.PersistentVolumeClaim)
		want   []string
	}{
		{"valid", func(*corev1.PersistentVolumeClaim) {}, nil},
		{"no access modes", func(p *corev1.PersistentVolumeClaim) { p.Spec.AccessModes = nil }, []string{"spec.accessModes: Required value: at least 1 access mode is required"}},
		{"bad access mode", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadWriteSome"}
		}, []string{`spec.accessModes: Unsupported value: "ReadWriteSome"`}},
		{"no storage", func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = nil }, []string{"spec.resources[storage]: Required value"}},
		{"zero storage", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		}, []string{`spec.resources[storage]: Invalid value: "0": must be greater than zero`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validPVC()
			tc.mutate(p)
			checkErrs(t, gk, p.Name, ValidatePersistentVolumeClaim(p), tc.want)
		})
	}

	immutableMsg := "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
	bound := validPVC()
	bound.Status.Phase = corev1.ClaimBound
	bound.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	updates := []struct {
		name   string
		old    *corev1.PersistentVolumeClaim
		mutate func(*corev1.PersistentVolumeClaim)
		want   []string
	}{
		{"bind volumeName once", validPVC(), func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeName = "pv-1" }, nil},
		{"grow bound claim", bound, func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}, nil},
		{"grow unbound claim", validPVC(), func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}, []string{immutableMsg}},
		{"shrink bound claim", bound, func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
		}, []string{"spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"}},
		{"access modes", validPVC(), func(p *corev1.PersistentVolumeClaim) {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, []string{immutableMsg}},
	}
	for _, tc := range updates {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.old.DeepCopy()
			tc.mutate(p)
			checkErrs(t, gk, p.Name, ValidatePersistentVolumeClaimUpdate(p, tc.old), tc.want)
		})
	}
	t.Run("volumeName set twice", func(t *testing.T) {
		old := validPVC()
		old.Spec.VolumeName = "pv-1"
		p := old.DeepCopy()
		p.Spec.VolumeName = "pv-2"
		checkErrs(t, gk, p.Name, ValidatePersistentVolumeClaimUpdate(p, old), []string{immutableMsg})
	})
}

func validPV() *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1", ResourceVersion: "2"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/petset/pv-1"}},
		},
	}
	defaults.PersistentVolume(pv)
	return pv
}

func TestPersistentVolume(t *testing.T) {
	gk := schema.GroupKind{Kind: "PersistentVolume"}
	cases := []struct {
		name   string
		mutate func(*corev1.PersistentVolume)
		want   []string
	}{
		{"valid", func(*corev1.PersistentVolume) {}, nil},
		{"no capacity", func(p *corev1.PersistentVolume) { p.Spec.Capacity = nil }, []string{"spec.capacity: Required value"}},
		{"no access modes", func(p *corev1.PersistentVolume) { p.Spec.AccessModes = nil }, []string{"spec.accessModes: Required value"}},
		{"no source", func(p *corev1.PersistentVolume) { p.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{} }, []string{"spec: Required value: must specify a volume type"}},
		{"two sources", func(p *corev1.PersistentVolume) { p.Spec.NFS = &corev1.NFSVolumeSource{Server: "s", Path: "/x"} }, []string{
			"spec.nfs: Forbidden: may not specify more than 1 volume type"}},
		{"bad reclaim policy", func(p *corev1.PersistentVolume) { p.Spec.PersistentVolumeReclaimPolicy = "Keep" }, []string{
			`spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"`}},
		{"local without affinity", func(p *corev1.PersistentVolume) {
			p.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/x"}}
		}, []string{"spec.nodeAffinity: Required value: Local volume requires node affinity"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validPV()
			tc.mutate(p)
			checkErrs(t, gk, p.Name, ValidatePersistentVolume(p), tc.want)
		})
	}
	old := validPV()
	claimed := old.DeepCopy()
	claimed.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "www-web-0"}
	claimed.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
	checkErrs(t, gk, "pv-1", ValidatePersistentVolumeUpdate(claimed, old), nil)
	moved := old.DeepCopy()
	moved.Spec.HostPath.Path = "/elsewhere"
	checkErrs(t, gk, "pv-1", ValidatePersistentVolumeUpdate(moved, old), []string{"spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation"})
}

func TestStorageClass(t *testing.T) {
	gk := schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard", ResourceVersion: "1"}, Provisioner: "petset.io/local-path"}
	defaults.StorageClass(sc)
	checkErrs(t, gk, sc.Name, ValidateStorageClass(sc), nil)
	noProv := sc.DeepCopy()
	noProv.Provisioner = ""
	checkErrs(t, gk, sc.Name, ValidateStorageClass(noProv), []string{"provisioner: Required value"})

	relabeled := sc.DeepCopy()
	relabeled.Labels = map[string]string{"default": "true"}
	checkErrs(t, gk, sc.Name, ValidateStorageClassUpdate(relabeled, sc), nil)
	changed := sc.DeepCopy()
	changed.Provisioner = "other.io/x"
	changed.Parameters = map[string]string{"a": "b"}
	changed.ReclaimPolicy = ptrTo(corev1.PersistentVolumeReclaimRetain)
	changed.VolumeBindingMode = ptrTo(storagev1.VolumeBindingWaitForFirstConsumer)
	checkErrs(t, gk, sc.Name, ValidateStorageClassUpdate(changed, sc), []string{
		// kube 1.37 reports each as immutable (parity: validation StorageClass update)
		`parameters: Invalid value: {"a":"b"}: field is immutable`,
		`provisioner: Invalid value: "other.io/x": field is immutable`,
		`reclaimPolicy: Invalid value: "Retain": field is immutable`,
		`volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable`,
	})
}

func TestNamespaceAndNode(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo", ResourceVersion: "1"}}
	defaults.Namespace(ns)
	checkErrs(t, schema.GroupKind{Kind: "Namespace"}, "demo", ValidateNamespace(ns), nil)
	bad := ns.DeepCopy()
	bad.Name = "Demo"
	checkErrs(t, schema.GroupKind{Kind: "Namespace"}, "Demo", ValidateNamespace(bad), []string{`metadata.name: Invalid value: "Demo": a lowercase RFC 1123 label`})
	withFinalizers := ns.DeepCopy()
	withFinalizers.Finalizers = []string{"foregroundDeletion", "example.com/cleanup"}
	checkErrs(t, schema.GroupKind{Kind: "Namespace"}, "demo", ValidateNamespace(withFinalizers), nil)
	withFinalizers.Finalizers = []string{"cleanup"}
	checkErrs(t, schema.GroupKind{Kind: "Namespace"}, "demo", ValidateNamespace(withFinalizers), []string{
		`metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified`})
	terminating := ns.DeepCopy()
	terminating.Status.Phase = corev1.NamespaceTerminating
	checkErrs(t, schema.GroupKind{Kind: "Namespace"}, "demo", ValidateNamespaceStatusUpdate(terminating, ns), []string{
		"status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"})

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", ResourceVersion: "1"}, Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.0.0/24"}}}
	checkErrs(t, schema.GroupKind{Kind: "Node"}, "node-1", ValidateNode(node), nil)
	moved := node.DeepCopy()
	moved.Spec.PodCIDRs = []string{"10.244.1.0/24"}
	checkErrs(t, schema.GroupKind{Kind: "Node"}, "node-1", ValidateNodeUpdate(moved, node), []string{"spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid"})
	tainted := node.DeepCopy()
	tainted.Spec.Taints = []corev1.Taint{{Key: "k", Effect: "Sometimes"}}
	checkErrs(t, schema.GroupKind{Kind: "Node"}, "node-1", ValidateNode(tainted), []string{`metadata.taints[0].effect: Unsupported value: "Sometimes"`})
}

func TestConfigMapAndSecret(t *testing.T) {
	cmGK := schema.GroupKind{Kind: "ConfigMap"}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default", ResourceVersion: "1"}, Data: map[string]string{"app.conf": "x"}}
	checkErrs(t, cmGK, "cfg", ValidateConfigMap(cm), nil)
	badKey := cm.DeepCopy()
	badKey.Data["bad/key"] = "y"
	checkErrs(t, cmGK, "cfg", ValidateConfigMap(badKey), []string{`data[bad/key]: Invalid value: "bad/key": a valid config key must consist of alphanumeric characters`})
	big := cm.DeepCopy()
	big.Data["big"] = strings.Repeat("x", MaxSecretSize+1)
	checkErrs(t, cmGK, "cfg", ValidateConfigMap(big), []string{"Too long: may not be more than 1048576 bytes"})
	frozen := cm.DeepCopy()
	frozen.Immutable = ptrTo(true)
	edited := frozen.DeepCopy()
	edited.Data["app.conf"] = "y"
	checkErrs(t, cmGK, "cfg", ValidateConfigMapUpdate(edited, frozen), []string{"data: Forbidden: field is immutable when `immutable` is set"})
	thawed := frozen.DeepCopy()
	thawed.Immutable = ptrTo(false)
	checkErrs(t, cmGK, "cfg", ValidateConfigMapUpdate(thawed, frozen), []string{"immutable: Forbidden: field is immutable when `immutable` is set"})

	sGK := schema.GroupKind{Kind: "Secret"}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default", ResourceVersion: "1"}, Data: map[string][]byte{"password": []byte("x")}}
	defaults.Secret(s)
	checkErrs(t, sGK, "s", ValidateSecret(s), nil)
	tls := s.DeepCopy()
	tls.Type = corev1.SecretTypeTLS
	checkErrs(t, sGK, "s", ValidateSecret(tls), []string{"data[tls.crt]: Required value", "data[tls.key]: Required value"})
	retyped := s.DeepCopy()
	retyped.Type = corev1.SecretTypeBasicAuth
	retyped.Data = map[string][]byte{"username": []byte("u")}
	checkErrs(t, sGK, "s", ValidateSecretUpdate(retyped, s), []string{`type: Invalid value: "kubernetes.io/basic-auth": field is immutable`})
}

func TestEventsAndLease(t *testing.T) {
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "StatefulSet", Namespace: "default", Name: "web"},
	}
	checkErrs(t, schema.GroupKind{Kind: "Event"}, ev.Name, ValidateEvent(ev), nil)
	nodeEv := ev.DeepCopy()
	nodeEv.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-1"}
	checkErrs(t, schema.GroupKind{Kind: "Event"}, ev.Name, ValidateEvent(nodeEv), nil)
	other := ev.DeepCopy()
	other.InvolvedObject.Namespace = "kube-system"
	checkErrs(t, schema.GroupKind{Kind: "Event"}, ev.Name, ValidateEvent(other), []string{`involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace`})

	gk := schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}
	v1ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.2", Namespace: "default", ResourceVersion: "1"},
		EventTime:           metav1.NewMicroTime(time.Unix(1700000000, 0)),
		ReportingController: "petset.io/statefulset-controller",
		ReportingInstance:   "petset-1",
		Action:              "Create",
		Reason:              "SuccessfulCreate",
		Type:                corev1.EventTypeNormal,
		Regarding:           corev1.ObjectReference{Kind: "StatefulSet", Namespace: "default", Name: "web"},
	}
	checkErrs(t, gk, v1ev.Name, ValidateEventsV1Event(v1ev), nil)
	incomplete := v1ev.DeepCopy()
	incomplete.EventTime = metav1.MicroTime{}
	incomplete.Type = "Info"
	checkErrs(t, gk, v1ev.Name, ValidateEventsV1Event(incomplete), []string{"eventTime: Required value", `type: Invalid value: "": has invalid value: Info`})
	noController := v1ev.DeepCopy()
	noController.ReportingController = ""
	checkErrs(t, gk, v1ev.Name, ValidateEventsV1Event(noController), []string{"reportingController: Required value"})
	edited := v1ev.DeepCopy()
	edited.Note = "changed"
	checkErrs(t, gk, v1ev.Name, ValidateEventsV1EventUpdate(edited, v1ev), []string{`message: Invalid value: "changed": field is immutable`})
	series := v1ev.DeepCopy()
	series.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(time.Unix(1700000100, 0))}
	checkErrs(t, gk, v1ev.Name, ValidateEventsV1EventUpdate(series, v1ev), nil)

	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "petset-controllers", Namespace: "kube-system", ResourceVersion: "1"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptrTo("a"), LeaseDurationSeconds: ptrTo(int32(15))},
	}
	checkErrs(t, schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, lease.Name, ValidateLease(lease), nil)
	zero := lease.DeepCopy()
	zero.Spec.LeaseDurationSeconds = ptrTo(int32(0))
	checkErrs(t, schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, lease.Name, ValidateLeaseUpdate(zero, lease), []string{
		"spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"})
}

// TestStorageClassAllowedTopologies: kube validates allowedTopologies (found
// by hack/parity: validation StorageClass upstream-only allowedTopologies...).
func TestStorageClassAllowedTopologies(t *testing.T) {
	gk := schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Provisioner: "petset.io/local-path"}
	defaults.StorageClass(sc)
	term := func(key string, values ...string) corev1.TopologySelectorTerm {
		return corev1.TopologySelectorTerm{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: key, Values: values}}}
	}
	ok := sc.DeepCopy()
	ok.AllowedTopologies = []corev1.TopologySelectorTerm{term("topology.kubernetes.io/zone", "a", "b"), term("kubernetes.io/hostname", "n1")}
	checkErrs(t, gk, sc.Name, ValidateStorageClass(ok), nil)
	bad := sc.DeepCopy()
	bad.AllowedTopologies = []corev1.TopologySelectorTerm{term("bad key!", "a", "a"), term("zone"), term("bad key!", "a", "a"), {}}
	checkErrs(t, gk, sc.Name, ValidateStorageClass(bad), []string{
		`allowedTopologies[0].matchLabelExpressions[0].key: Invalid value: "bad key!"`,
		`allowedTopologies[0].matchLabelExpressions[0].values[1]: Duplicate value: "a"`,
		`allowedTopologies[1].matchLabelExpressions[0].values: Required value`,
		`allowedTopologies[2].matchLabelExpressions: Duplicate value: ""`,
		`allowedTopologies[3].matchLabelExpressions: Duplicate value: ""`,
	})
}
