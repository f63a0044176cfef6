package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptrTo[T any](v T) *T { return &v }

// ResourceList rounds every quantity up to milli precision, as kube does for
// all resource lists on decode.
func ResourceList(rl *corev1.ResourceList) {
	for name, q := range *rl {
		q.RoundUp(-3)
		(*rl)[name] = q
	}
}

// Container applies the per-container defaults: imagePullPolicy (Always for
// ":latest" or an untagged image, IfNotPresent otherwise), the termination
// message path and policy, port protocols, fieldRef API versions, fileKeyRef
// optional false, resource rounding, probes and lifecycle handlers.
func Container(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		} else {
			c.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil {
			objectFieldSelector(vf.FieldRef)
		}
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FileKeyRef != nil && vf.FileKeyRef.Optional == nil {
			vf.FileKeyRef.Optional = ptrTo(false)
		}
	}
	ResourceList(&c.Resources.Limits)
	ResourceList(&c.Resources.Requests)
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			Probe(p)
		}
	}
	if c.Lifecycle != nil {
		for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h != nil && h.HTTPGet != nil {
				httpGetAction(h.HTTPGet)
			}
		}
	}
}

// Probe defaults timeoutSeconds 1, periodSeconds 10, successThreshold 1,
// failureThreshold 3, the httpGet path and scheme and the gRPC service name.
func Probe(p *corev1.Probe) {
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HTTPGet != nil {
		httpGetAction(p.HTTPGet)
	}
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptrTo("")
	}
}

func httpGetAction(a *corev1.HTTPGetAction) {
	if a.Path == "" {
		a.Path = "/"
	}
	if a.Scheme == "" {
		a.Scheme = corev1.URISchemeHTTP
	}
}

func objectFieldSelector(s *corev1.ObjectFieldSelector) {
	if s.APIVersion == "" {
		s.APIVersion = "v1"
	}
}

// Volume defaults a volume: an emptyDir when no source is set, file modes of
// configMap/secret/downwardAPI/projected sources (0644), hostPath type,
// projected token expiry (1h), image pull policy, legacy plugin defaults and
// the claim template of ephemeral volumes.
func Volume(v *corev1.Volume) {
	vs := &v.VolumeSource
	if *vs == (corev1.VolumeSource{}) {
		vs.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if vs.Image != nil && vs.Image.PullPolicy == "" {
		if imageTag(vs.Image.Reference) == "latest" {
			vs.Image.PullPolicy = corev1.PullAlways
		} else {
			vs.Image.PullPolicy = corev1.PullIfNotPresent
		}
	}
	if vs.HostPath != nil {
		hostPath(vs.HostPath)
	}
	if vs.Secret != nil && vs.Secret.DefaultMode == nil {
		vs.Secret.DefaultMode = ptrTo(corev1.SecretVolumeSourceDefaultMode)
	}
	if vs.ISCSI != nil && vs.ISCSI.ISCSIInterface == "" {
		vs.ISCSI.ISCSIInterface = "default"
	}
	if vs.RBD != nil {
		rbd(&vs.RBD.RBDPool, &vs.RBD.RadosUser, &vs.RBD.Keyring)
	}
	if vs.DownwardAPI != nil {
		if vs.DownwardAPI.DefaultMode == nil {
			vs.DownwardAPI.DefaultMode = ptrTo(corev1.DownwardAPIVolumeSourceDefaultMode)
		}
		for i := range vs.DownwardAPI.Items {
			if fr := vs.DownwardAPI.Items[i].FieldRef; fr != nil {
				objectFieldSelector(fr)
			}
		}
	}
	if vs.ConfigMap != nil && vs.ConfigMap.DefaultMode == nil {
		vs.ConfigMap.DefaultMode = ptrTo(corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if vs.AzureDisk != nil {
		azureDisk(vs.AzureDisk)
	}
	if vs.Projected != nil {
		if vs.Projected.DefaultMode == nil {
			vs.Projected.DefaultMode = ptrTo(corev1.ProjectedVolumeSourceDefaultMode)
		}
		for i := range vs.Projected.Sources {
			src := &vs.Projected.Sources[i]
			if src.DownwardAPI != nil {
				for j := range src.DownwardAPI.Items {
					if fr := src.DownwardAPI.Items[j].FieldRef; fr != nil {
						objectFieldSelector(fr)
					}
				}
			}
			if src.ServiceAccountToken != nil && src.ServiceAccountToken.ExpirationSeconds == nil {
				src.ServiceAccountToken.ExpirationSeconds = ptrTo(int64(3600))
			}
		}
	}
	if vs.ScaleIO != nil {
		scaleIO(&vs.ScaleIO.StorageMode, &vs.ScaleIO.FSType)
	}
	if vs.Ephemeral != nil && vs.Ephemeral.VolumeClaimTemplate != nil {
		PersistentVolumeClaimSpec(&vs.Ephemeral.VolumeClaimTemplate.Spec)
	}
}

func hostPath(h *corev1.HostPathVolumeSource) {
	if h.Type == nil {
		h.Type = ptrTo(corev1.HostPathUnset)
	}
}

func rbd(pool, user, keyring *string) {
	if *pool == "" {
		*pool = "rbd"
	}
	if *user == "" {
		*user = "admin"
	}
	if *keyring == "" {
		*keyring = "/etc/ceph/keyring"
	}
}

func azureDisk(a *corev1.AzureDiskVolumeSource) {
	if a.CachingMode == nil {
		a.CachingMode = ptrTo(corev1.AzureDataDiskCachingReadWrite)
	}
	if a.Kind == nil {
		a.Kind = ptrTo(corev1.AzureSharedBlobDisk)
	}
	if a.FSType == nil {
		a.FSType = ptrTo("ext4")
	}
	if a.ReadOnly == nil {
		a.ReadOnly = ptrTo(false)
	}
}

func scaleIO(storageMode, fsType *string) {
	if *storageMode == "" {
		*storageMode = "ThinProvisioned"
	}
	if *fsType == "" {
		*fsType = "xfs"
	}
}

// PodSpec applies the defaults kube applies to every pod spec, including the
// one inside templates: dnsPolicy ClusterFirst, restartPolicy Always, an empty
// securityContext, terminationGracePeriodSeconds 30, schedulerName
// default-scheduler, serviceAccount and serviceAccountName kept equal (kube's
// conversion does that), plus the nested volume and container defaults.
func PodSpec(s *corev1.PodSpec) {
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = ptrTo(int64(corev1.DefaultTerminationGracePeriodSeconds))
	}
	if s.SchedulerName == "" {
		s.SchedulerName = corev1.DefaultSchedulerName
	}
	// serviceAccount is the deprecated alias of serviceAccountName: kube's
	// conversion takes the alias when the name is unset and always writes
	// the name back into the alias.
	if s.ServiceAccountName == "" {
		s.ServiceAccountName = s.DeprecatedServiceAccount
	}
	s.DeprecatedServiceAccount = s.ServiceAccountName
	for i := range s.Volumes {
		Volume(&s.Volumes[i])
	}
	for i := range s.InitContainers {
		Container(&s.InitContainers[i])
	}
	for i := range s.Containers {
		Container(&s.Containers[i])
	}
	for i := range s.EphemeralContainers {
		Container((*corev1.Container)(&s.EphemeralContainers[i].EphemeralContainerCommon))
	}
	ResourceList(&s.Overhead)
	if s.Resources != nil {
		ResourceList(&s.Resources.Limits)
		ResourceList(&s.Resources.Requests)
	}
}

// PodTemplateSpec defaults the spec of a pod template. Pod-only defaults
// (enableServiceLinks, requests from limits) are not applied to templates,
// exactly as in kube.
func PodTemplateSpec(t *corev1.PodTemplateSpec) {
	PodSpec(&t.Spec)
}

// Pod applies the pod defaults: requests defaulted from limits, pod-level
// requests/limits (PodLevelResources) when the pod sets some, enableServiceLinks true, host ports for hostNetwork pods, the pod spec
// defaults and the resource lists of the status.
func Pod(p *corev1.Pod) {
	requestsFromLimits(p.Spec.Containers)
	requestsFromLimits(p.Spec.InitContainers)
	podLevelResources(p)
	if p.Spec.EnableServiceLinks == nil {
		p.Spec.EnableServiceLinks = ptrTo(corev1.DefaultEnableServiceLinks)
	}
	if p.Spec.HostNetwork {
		hostNetworkPorts(p.Spec.Containers)
		hostNetworkPorts(p.Spec.InitContainers)
	}
	PodSpec(&p.Spec)
	if p.Status.Resources != nil {
		ResourceList(&p.Status.Resources.Limits)
		ResourceList(&p.Status.Resources.Requests)
	}
	for _, statuses := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for i := range statuses {
			ResourceList(&statuses[i].AllocatedResources)
			if r := statuses[i].Resources; r != nil {
				ResourceList(&r.Limits)
				ResourceList(&r.Requests)
			}
		}
	}
}

func requestsFromLimits(cs []corev1.Container) {
	for i := range cs {
		r := &cs[i].Resources
		if r.Limits == nil {
			continue
		}
		if r.Requests == nil {
			r.Requests = make(corev1.ResourceList)
		}
		for name, q := range r.Limits {
			if _, ok := r.Requests[name]; !ok {
				r.Requests[name] = q.DeepCopy()
			}
		}
	}
}

func hostNetworkPorts(cs []corev1.Container) {
	for i := range cs {
		for j := range cs[i].Ports {
			if cs[i].Ports[j].HostPort == 0 {
				cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
			}
		}
	}
}

// Service defaults sessionAffinity None (and its config), type ClusterIP,
// port protocol TCP, targetPort = port, externalTrafficPolicy Cluster for
// externally reachable services, internalTrafficPolicy Cluster,
// allocateLoadBalancerNodePorts and the load-balancer ingress ipMode.
// ClusterIP, ipFamilies and ipFamilyPolicy are allocated by the registry.
func Service(s *corev1.Service) {
	sp := &s.Spec
	if sp.SessionAffinity == "" {
		sp.SessionAffinity = corev1.ServiceAffinityNone
	}
	if sp.SessionAffinity == corev1.ServiceAffinityNone {
		sp.SessionAffinityConfig = nil
	}
	if sp.SessionAffinity == corev1.ServiceAffinityClientIP {
		if sp.SessionAffinityConfig == nil || sp.SessionAffinityConfig.ClientIP == nil || sp.SessionAffinityConfig.ClientIP.TimeoutSeconds == nil {
			sp.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo(corev1.DefaultClientIPServiceAffinitySeconds)},
			}
		}
	}
	if sp.Type == "" {
		sp.Type = corev1.ServiceTypeClusterIP
	}
	for i := range sp.Ports {
		p := &sp.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	externallyAccessible := sp.Type == corev1.ServiceTypeLoadBalancer || sp.Type == corev1.ServiceTypeNodePort ||
		(sp.Type == corev1.ServiceTypeClusterIP && len(sp.ExternalIPs) > 0)
	if externallyAccessible && sp.ExternalTrafficPolicy == "" {
		sp.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if sp.InternalTrafficPolicy == nil {
		switch sp.Type {
		case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeClusterIP:
			sp.InternalTrafficPolicy = ptrTo(corev1.ServiceInternalTrafficPolicyCluster)
		}
	}
	if sp.Type == corev1.ServiceTypeLoadBalancer {
		if sp.AllocateLoadBalancerNodePorts == nil {
			sp.AllocateLoadBalancerNodePorts = ptrTo(true)
		}
		for i, ing := range s.Status.LoadBalancer.Ingress {
			if ing.IP != "" && ing.IPMode == nil {
				s.Status.LoadBalancer.Ingress[i].IPMode = ptrTo(corev1.LoadBalancerIPModeVIP)
			}
		}
	}
}

// Endpoints defaults every port's protocol to TCP.
func Endpoints(e *corev1.Endpoints) {
	for i := range e.Subsets {
		for j := range e.Subsets[i].Ports {
			if e.Subsets[i].Ports[j].Protocol == "" {
				e.Subsets[i].Ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

// PersistentVolume defaults status phase Pending, reclaim policy Retain,
// volumeMode Filesystem, capacity rounding and the volume sources' defaults.
func PersistentVolume(pv *corev1.PersistentVolume) {
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		pv.Spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
	}
	ResourceList(&pv.Spec.Capacity)
	src := &pv.Spec.PersistentVolumeSource
	if src.HostPath != nil {
		hostPath(src.HostPath)
	}
	if src.RBD != nil {
		rbd(&src.RBD.RBDPool, &src.RBD.RadosUser, &src.RBD.Keyring)
	}
	if src.ISCSI != nil && src.ISCSI.ISCSIInterface == "" {
		src.ISCSI.ISCSIInterface = "default"
	}
	if src.AzureDisk != nil {
		azureDisk(src.AzureDisk)
	}
	if src.ScaleIO != nil {
		scaleIO(&src.ScaleIO.StorageMode, &src.ScaleIO.FSType)
	}
}

// PersistentVolumeClaimSpec defaults volumeMode to Filesystem and rounds the
// resource lists.
func PersistentVolumeClaimSpec(s *corev1.PersistentVolumeClaimSpec) {
	if s.VolumeMode == nil {
		s.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
	}
	ResourceList(&s.Resources.Limits)
	ResourceList(&s.Resources.Requests)
}

// PersistentVolumeClaim defaults status phase Pending and the claim spec.
func PersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	PersistentVolumeClaimSpec(&pvc.Spec)
	ResourceList(&pvc.Status.Capacity)
	ResourceList(&pvc.Status.AllocatedResources)
}

// Namespace sets the kubernetes.io/metadata.name label to the name and the
// status phase to Active.
func Namespace(ns *corev1.Namespace) {
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

// Node defaults allocatable to capacity and rounds both.
func Node(n *corev1.Node) {
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = make(corev1.ResourceList, len(n.Status.Capacity))
		for name, q := range n.Status.Capacity {
			n.Status.Allocatable[name] = q.DeepCopy()
		}
	}
	ResourceList(&n.Status.Capacity)
	ResourceList(&n.Status.Allocatable)
}

// Secret defaults the type to Opaque and merges stringData into data (each
// key overwriting data's) and drops it, as kube's conversion of v1.Secret to
// its internal type does on every decode. Doing it here, where petset
// decodes, rather than only in the strategy, keeps the request's object as
// kube's field manager sees it: a client-side apply owns data's keys, not
// stringData, so a later server-side apply of the same stringData does not
// conflict.
func Secret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// ConfigMap makes data a non-nil map.
func ConfigMap(cm *corev1.ConfigMap) {
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
}
