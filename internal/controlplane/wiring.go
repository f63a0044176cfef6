package controlplane

import (
	"context"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/record"

	"petset/internal/clusterservice"
	"petset/internal/controller/certificates"
	"petset/internal/controller/clusterroleaggregation"
	"petset/internal/controller/cronjob"
	"petset/internal/controller/deployment"
	"petset/internal/controller/disruption"
	"petset/internal/controller/endpointslice"
	"petset/internal/controller/garbagecollector"
	"petset/internal/controller/job"
	"petset/internal/controller/lostvolume"
	"petset/internal/controller/namespace"
	"petset/internal/controller/nodelifecycle"
	"petset/internal/controller/podgc"
	"petset/internal/controller/replicaset"
	"petset/internal/controller/rootcacert"
	"petset/internal/controller/scheduler"
	"petset/internal/controller/serviceaccount"
	"petset/internal/controller/statefulset"
	"petset/internal/controller/storageprotection"
	"petset/internal/controller/volume"
)

func init() {
	controllers = append(controllers,
		startGarbageCollector, startStatefulSet, startScheduler, startVolume,
		startEndpointSlice, startNodeLifecycle, startNamespace, startCertificates,
		startServiceAccount, startRootCACertPublisher,
		startPodGC, startClusterRoleAggregation, startDNSEndpoints,
		startPVCProtection, startPVProtection, startLostVolume,
		startDisruption, startReplicaSet, startJob, startCronJob, startDeployment,
	)
	bootstrapObjects = append(bootstrapObjects, func(ctx context.Context, client kubernetes.Interface) error {
		_, err := client.StorageV1().StorageClasses().Create(ctx, volume.DefaultStorageClass(), metav1.CreateOptions{})
		return err
	})
}

// recorder returns an event recorder that writes core/v1 events as component.
func recorder(ctx context.Context, client kubernetes.Interface, component string) record.EventRecorder {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	go func() {
		<-ctx.Done()
		b.Shutdown()
	}()
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
}

// gcResources are the kinds the garbage collector follows ownerReferences of.
var gcResources = []garbagecollector.Resource{
	{GVR: corev1.SchemeGroupVersion.WithResource("pods"), Kind: "Pod", Namespaced: true},
	{GVR: corev1.SchemeGroupVersion.WithResource("services"), Kind: "Service", Namespaced: true},
	{GVR: corev1.SchemeGroupVersion.WithResource("endpoints"), Kind: "Endpoints", Namespaced: true},
	{GVR: corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), Kind: "PersistentVolumeClaim", Namespaced: true},
	{GVR: corev1.SchemeGroupVersion.WithResource("persistentvolumes"), Kind: "PersistentVolume"},
	{GVR: corev1.SchemeGroupVersion.WithResource("configmaps"), Kind: "ConfigMap", Namespaced: true},
	{GVR: corev1.SchemeGroupVersion.WithResource("secrets"), Kind: "Secret", Namespaced: true},
	{GVR: corev1.SchemeGroupVersion.WithResource("serviceaccounts"), Kind: "ServiceAccount", Namespaced: true},
	{GVR: corev1.SchemeGroupVersion.WithResource("nodes"), Kind: "Node"},
	{GVR: appsv1.SchemeGroupVersion.WithResource("statefulsets"), Kind: "StatefulSet", Namespaced: true},
	{GVR: appsv1.SchemeGroupVersion.WithResource("controllerrevisions"), Kind: "ControllerRevision", Namespaced: true},
	{GVR: appsv1.SchemeGroupVersion.WithResource("deployments"), Kind: "Deployment", Namespaced: true},
	{GVR: appsv1.SchemeGroupVersion.WithResource("replicasets"), Kind: "ReplicaSet", Namespaced: true},
	{GVR: discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), Kind: "EndpointSlice", Namespaced: true},
	{GVR: storagev1.SchemeGroupVersion.WithResource("storageclasses"), Kind: "StorageClass"},
	{GVR: coordinationv1.SchemeGroupVersion.WithResource("leases"), Kind: "Lease", Namespaced: true},
	{GVR: policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets"), Kind: "PodDisruptionBudget", Namespaced: true},
	{GVR: networkingv1.SchemeGroupVersion.WithResource("networkpolicies"), Kind: "NetworkPolicy", Namespaced: true},
	{GVR: batchv1.SchemeGroupVersion.WithResource("jobs"), Kind: "Job", Namespaced: true},
	{GVR: batchv1.SchemeGroupVersion.WithResource("cronjobs"), Kind: "CronJob", Namespaced: true},
	{GVR: rbacv1.SchemeGroupVersion.WithResource("roles"), Kind: "Role", Namespaced: true},
	{GVR: rbacv1.SchemeGroupVersion.WithResource("rolebindings"), Kind: "RoleBinding", Namespaced: true},
	{GVR: rbacv1.SchemeGroupVersion.WithResource("clusterroles"), Kind: "ClusterRole"},
	{GVR: rbacv1.SchemeGroupVersion.WithResource("clusterrolebindings"), Kind: "ClusterRoleBinding"},
}

func startGarbageCollector(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	md, err := metadata.NewForConfig(cc.Config)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	gc, err := garbagecollector.New(ctx, md, gcResources, 5)
	if err != nil {
		return nil, fmt.Errorf("garbage collector: %w", err)
	}
	return gc.Run, nil
}

// statefulSetWorkers is how many sets are synced at once. A sync mostly
// waits on its API writes (claims, pods, status), so many sets progress
// together only with many workers: kube-controller-manager's default of 5
// (--concurrent-statefulset-syncs) held 100 OrderedReady sets of 10 pods
// to 62 s where 20 workers took 32 s on the same machine (peerbench W3,
// load ≈4); 20 is what the side-by-side harness gives the tuned peer.
const statefulSetWorkers = 20

func startStatefulSet(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := statefulset.NewController(ctx, cc.Client, f.Core().V1().Pods(), f.Apps().V1().StatefulSets(),
		f.Core().V1().PersistentVolumeClaims(), f.Apps().V1().ControllerRevisions(),
		recorder(ctx, cc.Client, "statefulset-controller"), statefulSetWorkers, statefulset.Options{AutoFailover: cc.AutoFailover})
	return c.Run, nil
}

func startScheduler(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	s := scheduler.New(ctx, cc.Client, cc.Informers, recorder(ctx, cc.Client, "default-scheduler"), 1)
	return s.Run, nil
}

func startVolume(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	c := volume.New(ctx, cc.Client, cc.Informers, recorder(ctx, cc.Client, "persistentvolume-controller"), volume.Workers)
	if cc.SharedVolumeID != "" {
		c.ServeSharedRoot(cc.SharedVolumeDir, cc.SharedVolumeID)
	}
	return c.Run, nil
}

func startEndpointSlice(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := endpointslice.New(ctx, cc.Client, f.Core().V1().Services(), f.Core().V1().Pods(),
		f.Discovery().V1().EndpointSlices(), f.Core().V1().Endpoints(), 5)
	return c.Run, nil
}

func startNodeLifecycle(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	cfg := cc.NodeLifecycle
	cfg.EvictionEnabled = true
	c := nodelifecycle.New(ctx, cc.Client, f.Core().V1().Nodes(), f.Coordination().V1().Leases(), f.Core().V1().Pods(), cfg)
	return c.Run, nil
}

func startPodGC(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := podgc.New(cc.Client, f.Core().V1().Pods(), f.Core().V1().Nodes(), cc.PodGC)
	return c.Run, nil
}

func startNamespace(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	dyn, err := dynamic.NewForConfig(cc.Config)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	var namespaced []schema.GroupVersionResource
	for _, r := range gcResources {
		if r.Namespaced {
			namespaced = append(namespaced, r.GVR)
		}
	}
	namespaced = append(namespaced, corev1.SchemeGroupVersion.WithResource("events"),
		schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"})
	c := namespace.New(ctx, cc.Client, dyn, cc.Informers.Core().V1().Namespaces(), namespaced, 2)
	return c.Run, nil
}

func startCertificates(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	ca, err := cc.PKI.LoadCA()
	if err != nil {
		return nil, err
	}
	c := certificates.New(cc.Client, ca, cc.Informers.Certificates().V1().CertificateSigningRequests(), cc.Informers.Core().V1().Nodes(), 2)
	return c.Run, nil
}

func startServiceAccount(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := serviceaccount.New(ctx, cc.Client, f.Core().V1().Namespaces(), f.Core().V1().ServiceAccounts(), 1)
	return c.Run, nil
}

func startRootCACertPublisher(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	ca, err := os.ReadFile(cc.PKI.CACert())
	if err != nil {
		return nil, fmt.Errorf("read the cluster CA: %w", err)
	}
	f := cc.Informers
	p := rootcacert.New(ctx, cc.Client, ca, f.Core().V1().Namespaces(), f.Core().V1().ConfigMaps())
	return p.Run, nil
}

func startDNSEndpoints(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	c := clusterservice.NewDNSEndpoints(cc.Client, cc.Informers.Core().V1().Nodes())
	return c.Run, nil
}

func startClusterRoleAggregation(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	c := clusterroleaggregation.New(ctx, cc.Client, cc.Informers.Rbac().V1().ClusterRoles(), 1)
	return c.Run, nil
}

func startPVCProtection(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c, err := storageprotection.NewPVC(cc.Client, f.Core().V1().PersistentVolumeClaims(), f.Core().V1().Pods(), 1)
	if err != nil {
		return nil, err
	}
	return c.Run, nil
}

func startPVProtection(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	c, err := storageprotection.NewPV(cc.Client, cc.Informers.Core().V1().PersistentVolumes(), 1)
	if err != nil {
		return nil, err
	}
	return c.Run, nil
}

func startDisruption(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := disruption.New(cc.Client, f.Policy().V1().PodDisruptionBudgets(), f.Core().V1().Pods(), f.Apps().V1(),
		recorder(ctx, cc.Client, "controllermanager"), nil, 2)
	return c.Run, nil
}

func startReplicaSet(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := replicaset.New(cc.Client, f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(), recorder(ctx, cc.Client, "replicaset-controller"), nil, 5)
	return c.Run, nil
}

func startJob(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := job.New(cc.Client, f.Batch().V1().Jobs(), f.Core().V1().Pods(), recorder(ctx, cc.Client, "job-controller"), nil, 5)
	return c.Run, nil
}

func startCronJob(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := cronjob.New(cc.Client, f.Batch().V1().CronJobs(), f.Batch().V1().Jobs(), recorder(ctx, cc.Client, "cronjob-controller"), nil, 5)
	return c.Run, nil
}

func startDeployment(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	f := cc.Informers
	c := deployment.New(cc.Client, f.Apps().V1().Deployments(), f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(),
		recorder(ctx, cc.Client, "deployment-controller"), nil, 5)
	return c.Run, nil
}

func startLostVolume(ctx context.Context, cc controllerContext) (func(context.Context) error, error) {
	c := lostvolume.New(ctx, cc.Client, cc.Informers, recorder(ctx, cc.Client, "lost-volume-controller"))
	return c.Run, nil
}
