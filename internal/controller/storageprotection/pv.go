package storageprotection

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// PVController removes PVFinalizer from volumes being deleted that are not
// Bound, and adds it to volumes that lack it.
type PVController struct {
	protection[*v1.PersistentVolume]
}

// NewPV wires the pv-protection controller to its informer (the caller
// starts it); workers volumes are synced at once.
func NewPV(client kubernetes.Interface, volumes coreinformers.PersistentVolumeInformer, workers int) (*PVController, error) {
	lister := volumes.Lister()
	c := &PVController{protection[*v1.PersistentVolume]{
		finalizer: PVFinalizer,
		kind:      "volume",
		get:       lister.Get,
		holder: func(_ context.Context, pv *v1.PersistentVolume) ([]any, error) {
			if pv.Status.Phase == v1.VolumeBound {
				return []any{"claim", claimOf(pv)}, nil
			}
			return nil, nil
		},
		update: func(ctx context.Context, pv *v1.PersistentVolume) error {
			_, err := client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{})
			return err
		},
	}}
	c.start("pv-protection", workers, volumes.Informer().HasSynced)
	changed := func(obj any) {
		if pv, ok := obj.(*v1.PersistentVolume); ok {
			c.enqueueIfWork(pv, pv.Name)
		}
	}
	if _, err := volumes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
	}); err != nil {
		return nil, fmt.Errorf("pv-protection: volume handler: %w", err)
	}
	return c, nil
}

func claimOf(pv *v1.PersistentVolume) string {
	if pv.Spec.ClaimRef == nil {
		return ""
	}
	return pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name
}
