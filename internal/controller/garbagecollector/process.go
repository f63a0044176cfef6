package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"petset/internal/logging"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/retry"
)

// process makes one decision about one object: finish its own Orphan or
// Foreground deletion, or collect it (or its dangling references) when owners
// are gone.
func (c *Collector) process(ctx context.Context, id objectID) error {
	cached, ok := c.cached(id.uid)
	if !ok {
		// Deleted since it was queued; its dependents were queued then.
		return nil
	}
	switch {
	case cached.foregroundDeleting() || cached.orphaning():
		// Our own deletion to finish: checked live below.
	case cached.deleting || len(cached.owners) == 0:
		// Being deleted by someone else (a pod terminating gracefully), or
		// owned by nothing: nothing for the collector to do.
		return nil
	case c.ownersCachedAndSolid(cached):
		// Every owner is in the caches and not deleting. The cache is
		// trusted only to skip work: when an owner goes, its deletion
		// event queues this object again and the owners are checked live.
		return nil
	}

	latest, err := c.live(ctx, id)
	if err != nil {
		return err
	}
	if latest == nil {
		return nil
	}

	if latest.DeletionTimestamp != nil {
		switch {
		case hasString(latest.Finalizers, FinalizerOrphan):
			return c.orphanDependents(ctx, id)
		case hasString(latest.Finalizers, FinalizerForegroundDeletion):
			return c.processForeground(ctx, id)
		default:
			// Being deleted without our finalizers (e.g. a pod in graceful
			// termination): nothing for the collector to do.
			return nil
		}
	}

	if len(latest.OwnerReferences) == 0 {
		return nil
	}
	solid, dangling, waiting, err := c.classify(ctx, id, latest.OwnerReferences)
	if err != nil {
		return err
	}
	log := logging.FromContext(ctx)
	switch {
	case len(solid) > 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		// Some owner remains: drop only the references to owners that are
		// gone or that are waiting for their dependents to go.
		drop := map[types.UID]bool{}
		for _, r := range append(dangling, waiting...) {
			drop[r.UID] = true
		}
		log.Info("removing references to absent or deleting owners", "owners", len(drop))
		return c.removeOwnerRefs(ctx, id, drop)
	case len(waiting) > 0 && len(c.cachedDependents(id)) > 0:
		// An owner waits for us in foreground deletion and we have
		// dependents of our own: delete them first, in the foreground too.
		// If one of our dependents is itself waiting for its dependents,
		// there may be a cycle; stop blocking our owners so that the cycle
		// cannot deadlock (upstream's rule, with its false positives).
		for _, d := range c.cachedDependents(id) {
			if d.foregroundDeleting() {
				unblock := map[types.UID]bool{}
				for _, r := range waiting {
					unblock[r.UID] = true
				}
				log.Info("possible ownership cycle; no longer blocking owners in foreground deletion")
				if err := c.unblockOwners(ctx, id, unblock); err != nil {
					return err
				}
				break
			}
		}
		log.Info("deleting dependent in the foreground for an owner in foreground deletion")
		return c.delete(ctx, id, metav1.DeletePropagationForeground)
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case hasString(latest.Finalizers, FinalizerOrphan):
			policy = metav1.DeletePropagationOrphan
		case hasString(latest.Finalizers, FinalizerForegroundDeletion):
			policy = metav1.DeletePropagationForeground
		}
		log.Info("deleting object whose owners are all gone or deleting", "propagationPolicy", policy)
		return c.delete(ctx, id, policy)
	}
}

// ownersCachedAndSolid reports whether every owner of n is present in the
// caches (same UID, right namespace) and not in foreground deletion. Owners
// of kinds the collector does not watch count as present.
func (c *Collector) ownersCachedAndSolid(n node) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ref := range n.owners {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		res, known := c.byKind[schema.GroupKind{Group: gv.Group, Kind: ref.Kind}]
		if err != nil || !known {
			continue
		}
		o := c.nodes[ref.UID]
		if o == nil || o.id.res != res || o.id.name != ref.Name || o.foregroundDeleting() {
			return false
		}
		if c.resources[res].Namespaced && o.id.namespace != n.id.namespace {
			return false
		}
	}
	return true
}

// resourceClient returns the metadata client for one object's resource and
// namespace.
func (c *Collector) resourceClient(res int, namespace string) metadata.ResourceInterface {
	r := c.resources[res]
	if r.Namespaced {
		return c.client.Resource(r.GVR).Namespace(namespace)
	}
	return c.client.Resource(r.GVR)
}

// live GETs an object from the API server. It returns nil (and no error) when
// the object is gone or has been replaced by one with another UID.
func (c *Collector) live(ctx context.Context, id objectID) (*metav1.PartialObjectMetadata, error) {
	m, err := c.resourceClient(id.res, id.namespace).Get(ctx, id.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", c.resources[id.res].GVR.Resource, key(id.namespace, id.name), err)
	}
	if m.UID != id.uid {
		return nil, nil
	}
	return m, nil
}

// classify sorts the owner references of a dependent into solid owners
// (present and not in foreground deletion), dangling ones (absent: a live GET
// says 404 or shows another UID) and owners in foreground deletion.
func (c *Collector) classify(ctx context.Context, dep objectID, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, ref := range refs {
		gv, perr := schema.ParseGroupVersion(ref.APIVersion)
		res, known := c.byKind[schema.GroupKind{Group: gv.Group, Kind: ref.Kind}]
		if perr != nil || !known {
			// An owner kind we do not watch cannot be checked, so it
			// counts as present: never delete on a guess.
			logging.FromContext(ctx).Debug("owner kind not watched; treating owner as present", "apiVersion", ref.APIVersion, "kind", ref.Kind, "name", ref.Name)
			solid = append(solid, ref)
			continue
		}
		ns := ""
		if c.resources[res].Namespaced {
			if !c.resources[dep.res].Namespaced {
				// A cluster-scoped object cannot be owned by a namespaced
				// one; such a reference can never resolve.
				dangling = append(dangling, ref)
				continue
			}
			ns = dep.namespace
		}
		owner, gerr := c.resourceClient(res, ns).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(gerr):
			dangling = append(dangling, ref)
		case gerr != nil:
			return nil, nil, nil, fmt.Errorf("get owner %s %s: %w", c.resources[res].GVR.Resource, key(ns, ref.Name), gerr)
		case owner.UID != ref.UID:
			dangling = append(dangling, ref)
		case owner.DeletionTimestamp != nil && hasString(owner.Finalizers, FinalizerForegroundDeletion):
			waiting = append(waiting, ref)
		default:
			solid = append(solid, ref)
		}
	}
	return solid, dangling, waiting, nil
}

// delete deletes an object with the given propagation policy, guarded by a
// UID precondition so that a re-created object of the same name survives.
func (c *Collector) delete(ctx context.Context, id objectID, policy metav1.DeletionPropagation) error {
	uid := id.uid
	err := c.resourceClient(id.res, id.namespace).Delete(ctx, id.name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid},
		PropagationPolicy: &policy,
	})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Conflict: the UID precondition failed, the object we meant is gone.
		return nil
	}
	return fmt.Errorf("delete %s %s: %w", c.resources[id.res].GVR.Resource, key(id.namespace, id.name), err)
}

// processForeground handles an owner in foreground deletion: it queues its
// dependents for deletion and removes the foregroundDeletion finalizer once
// no dependent blocks it.
func (c *Collector) processForeground(ctx context.Context, owner objectID) error {
	deps := c.cachedDependents(owner)
	blocking := 0
	for _, d := range deps {
		for _, ref := range d.owners {
			if ref.UID == owner.uid && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				blocking++
				break
			}
		}
	}
	if blocking == 0 {
		logging.FromContext(ctx).Info("no blocking dependents left; removing finalizer", "finalizer", FinalizerForegroundDeletion)
		return c.removeFinalizer(ctx, owner, FinalizerForegroundDeletion)
	}
	for _, d := range deps {
		if !d.deleting {
			c.runner.Enqueue(d.id)
		}
	}
	// The owner is queued again when a dependent changes or goes away.
	return nil
}

// orphanDependents removes the owner's reference from every dependent, then
// the orphan finalizer from the owner.
func (c *Collector) orphanDependents(ctx context.Context, owner objectID) error {
	var errs []error
	for _, d := range c.cachedDependents(owner) {
		if err := c.removeOwnerRefs(ctx, d.id, map[types.UID]bool{owner.uid: true}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("orphan dependents: %w", err)
	}
	logging.FromContext(ctx).Info("dependents orphaned; removing finalizer", "finalizer", FinalizerOrphan)
	return c.removeFinalizer(ctx, owner, FinalizerOrphan)
}

// metaPatch is a JSON merge patch of the metadata fields the collector
// writes. uid and resourceVersion make the API server refuse it when the
// object was replaced or changed since it was read.
type metaPatch struct {
	Metadata metaPatchFields `json:"metadata"`
}

type metaPatchFields struct {
	UID             types.UID                `json:"uid"`
	ResourceVersion string                   `json:"resourceVersion"`
	OwnerReferences *[]metav1.OwnerReference `json:"ownerReferences,omitempty"`
	Finalizers      *[]string                `json:"finalizers,omitempty"`
}

// removeOwnerRefs removes the references to the given owner UIDs from one
// object, re-reading it on conflict.
func (c *Collector) removeOwnerRefs(ctx context.Context, id objectID, drop map[types.UID]bool) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		latest, err := c.live(ctx, id)
		if err != nil || latest == nil {
			return err
		}
		kept := []metav1.OwnerReference{}
		for _, ref := range latest.OwnerReferences {
			if !drop[ref.UID] {
				kept = append(kept, ref)
			}
		}
		if len(kept) == len(latest.OwnerReferences) {
			return nil
		}
		return c.patch(ctx, id, metaPatchFields{UID: id.uid, ResourceVersion: latest.ResourceVersion, OwnerReferences: &kept})
	})
}

// unblockOwners sets blockOwnerDeletion=false on the references to the given
// owner UIDs, re-reading the object on conflict.
func (c *Collector) unblockOwners(ctx context.Context, id objectID, owners map[types.UID]bool) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		latest, err := c.live(ctx, id)
		if err != nil || latest == nil {
			return err
		}
		refs := append([]metav1.OwnerReference(nil), latest.OwnerReferences...)
		changed := false
		for i := range refs {
			if owners[refs[i].UID] && refs[i].BlockOwnerDeletion != nil && *refs[i].BlockOwnerDeletion {
				no := false
				refs[i].BlockOwnerDeletion = &no
				changed = true
			}
		}
		if !changed {
			return nil
		}
		return c.patch(ctx, id, metaPatchFields{UID: id.uid, ResourceVersion: latest.ResourceVersion, OwnerReferences: &refs})
	})
}

// removeFinalizer removes one finalizer from an object, re-reading it on
// conflict.
func (c *Collector) removeFinalizer(ctx context.Context, id objectID, finalizer string) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		latest, err := c.live(ctx, id)
		if err != nil || latest == nil {
			return err
		}
		kept := []string{}
		for _, f := range latest.Finalizers {
			if f != finalizer {
				kept = append(kept, f)
			}
		}
		if len(kept) == len(latest.Finalizers) {
			return nil
		}
		return c.patch(ctx, id, metaPatchFields{UID: id.uid, ResourceVersion: latest.ResourceVersion, Finalizers: &kept})
	})
}

func (c *Collector) patch(ctx context.Context, id objectID, fields metaPatchFields) error {
	data, err := json.Marshal(metaPatch{Metadata: fields})
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	_, err = c.resourceClient(id.res, id.namespace).Patch(ctx, id.name, types.MergePatchType, data, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("patch %s %s: %w", c.resources[id.res].GVR.Resource, key(id.namespace, id.name), err)
	}
	return err
}
