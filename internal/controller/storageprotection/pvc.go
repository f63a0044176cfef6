package storageprotection

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"petset/internal/controller/runner"
)

// podClaimIndex indexes pods by "<namespace>/<claim name>" of every claim
// they name.
const podClaimIndex = "petset.io/pod-claims"

// PVCController removes PVCFinalizer from claims being deleted that no pod
// uses, and adds it to claims that lack it.
type PVCController struct {
	protection[*v1.PersistentVolumeClaim]
	client kubernetes.Interface
	claims corelisters.PersistentVolumeClaimLister
	pods   cache.Indexer
}

// NewPVC wires the pvc-protection controller to its informers (the caller
// starts them); workers claims are synced at once. It adds an index to the
// pod informer, so it must be called before that informer starts.
func NewPVC(client kubernetes.Interface, claims coreinformers.PersistentVolumeClaimInformer, pods coreinformers.PodInformer, workers int) (*PVCController, error) {
	c := &PVCController{client: client, claims: claims.Lister(), pods: pods.Informer().GetIndexer()}
	c.protection = protection[*v1.PersistentVolumeClaim]{
		finalizer: PVCFinalizer,
		kind:      "claim",
		get:       c.get,
		holder: func(ctx context.Context, claim *v1.PersistentVolumeClaim) ([]any, error) {
			user, err := c.user(ctx, claim)
			if err != nil || user == "" {
				return nil, err
			}
			return []any{"pod", user}, nil
		},
		update: func(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
			_, err := client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{})
			return err
		},
	}
	c.start("pvc-protection", workers, claims.Informer().HasSynced, pods.Informer().HasSynced)
	if _, ok := c.pods.GetIndexers()[podClaimIndex]; !ok {
		err := pods.Informer().AddIndexers(cache.Indexers{podClaimIndex: func(obj any) ([]string, error) {
			pod, ok := obj.(*v1.Pod)
			if !ok {
				return nil, nil
			}
			var keys []string
			for _, name := range claimNames(pod) {
				keys = append(keys, pod.Namespace+"/"+name)
			}
			return keys, nil
		}})
		if err != nil {
			return nil, fmt.Errorf("pvc-protection: pod index: %w", err)
		}
	}
	if _, err := claims.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.claimChanged,
		UpdateFunc: func(_, obj any) { c.claimChanged(obj) },
	}); err != nil {
		return nil, fmt.Errorf("pvc-protection: claim handler: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: c.podUpdated,
		DeleteFunc: func(obj any) {
			if pod := podOf(obj); pod != nil {
				c.enqueueClaims(pod)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("pvc-protection: pod handler: %w", err)
	}
	return c, nil
}

// get is the cached claim of key.
func (c *PVCController) get(key string) (*v1.PersistentVolumeClaim, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, runner.Terminal(fmt.Errorf("invalid key: %w", err))
	}
	return c.claims.PersistentVolumeClaims(ns).Get(name)
}

func (c *PVCController) claimChanged(obj any) {
	if claim, ok := obj.(*v1.PersistentVolumeClaim); ok {
		c.enqueueIfWork(claim, claim.Namespace+"/"+claim.Name)
	}
}

// podUpdated enqueues the claims of a pod that stopped counting as their
// user: shut down (its ephemeral claims), or replaced by a pod of the same
// name (the update hides the old pod's deletion).
func (c *PVCController) podUpdated(old, obj any) {
	pod, oldPod := podOf(obj), podOf(old)
	if pod == nil {
		return
	}
	if podIsShutDown(pod) {
		c.enqueueClaims(pod)
	}
	if oldPod != nil && oldPod.UID != pod.UID {
		c.enqueueClaims(oldPod)
	}
}

func (c *PVCController) enqueueClaims(pod *v1.Pod) {
	for _, name := range claimNames(pod) {
		c.runner.Enqueue(pod.Namespace + "/" + name)
	}
}

func podOf(obj any) *v1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, _ := obj.(*v1.Pod)
	return pod
}

// user names a pod that uses claim, or "" if none does. The informer
// cache is asked first; it may not have seen a new pod yet, so an unused
// verdict is only given after a live list of the namespace's pods.
func (c *PVCController) user(ctx context.Context, claim *v1.PersistentVolumeClaim) (string, error) {
	objs, err := c.pods.ByIndex(podClaimIndex, claim.Namespace+"/"+claim.Name)
	if err != nil {
		return "", fmt.Errorf("pods of claim from cache: %w", err)
	}
	for _, obj := range objs {
		if pod, ok := obj.(*v1.Pod); ok && PodUsesClaim(pod, claim) {
			return pod.Name, nil
		}
	}
	pods, err := c.client.CoreV1().Pods(claim.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("live list of pods in %s: %w", claim.Namespace, err)
	}
	for i := range pods.Items {
		if PodUsesClaim(&pods.Items[i], claim) {
			return pods.Items[i].Name, nil
		}
	}
	return "", nil
}
