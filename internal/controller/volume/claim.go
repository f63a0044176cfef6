package volume

import (
	"context"
	"fmt"
	"sort"

	"petset/internal/logging"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// Event reasons, as upstream's PV controller emits them.
const (
	reasonFailedBinding         = "FailedBinding"
	reasonVolumeMismatch        = "VolumeMismatch"
	reasonClaimLost             = "ClaimLost"
	reasonWaitForFirstConsumer  = "WaitForFirstConsumer"
	reasonExternalProvisioning  = "ExternalProvisioning"
	reasonProvisioningFailed    = "ProvisioningFailed"
	reasonProvisioningSucceeded = "ProvisioningSucceeded"
	reasonVolumeFailedDelete    = "VolumeFailedDelete"
	reasonVolumeRecycled        = "VolumeRecycled"
	reasonVolumeDelete          = "VolumeDelete"
)

const annYes = "yes"

func (c *Controller) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // deletion is handled from the volume side
	}
	if err != nil {
		return fmt.Errorf("getting claim %s: %w", key, err)
	}
	claim = c.writtenClaims.latest(claim)
	if _, done := claim.Annotations[storagehelpers.AnnBindCompleted]; done {
		return c.syncBoundClaim(ctx, claim)
	}
	return c.syncUnboundClaim(ctx, claim)
}

func (c *Controller) syncUnboundClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeName != "" {
		return c.syncPreboundClaim(ctx, claim)
	}
	delay, err := c.delayBinding(claim)
	if err != nil {
		return err
	}
	vol, err := c.findBestMatch(claim, delay)
	if err != nil {
		return err
	}
	if vol != nil {
		return c.bind(ctx, vol, claim)
	}
	// Retroactive default storage class, as upstream: a claim with no
	// storageClassName (nor the beta annotation, which upstream also takes
	// as its class) that no class-less volume satisfies gets the default
	// class.
	if _, beta := claim.Annotations[v1.BetaStorageClassAnnotation]; claim.Spec.StorageClassName == nil && !beta {
		def, err := c.defaultClass()
		if err != nil {
			return err
		}
		if def != nil {
			upd := claim.DeepCopy()
			upd.Spec.StorageClassName = &def.Name
			if _, err := c.updateClaim(ctx, upd); err != nil {
				return fmt.Errorf("assigning default storage class %q to claim %s/%s: %w", def.Name, claim.Namespace, claim.Name, err)
			}
			return nil // the update brings the claim back
		}
	}
	className := storagehelpers.GetPersistentVolumeClaimClass(claim)
	switch {
	case delay && !storagehelpers.IsDelayBindingProvisioning(claim):
		c.recorder.Event(claim, v1.EventTypeNormal, reasonWaitForFirstConsumer, "waiting for first consumer to be created before binding")
	case className != "":
		if err := c.provision(ctx, claim); err != nil {
			return err
		}
	default:
		c.recorder.Event(claim, v1.EventTypeNormal, reasonFailedBinding, "no persistent volumes available for this claim and no storage class is set")
	}
	return c.setClaimPhase(ctx, claim, v1.ClaimPending)
}

// syncPreboundClaim handles a claim whose user set spec.volumeName.
func (c *Controller) syncPreboundClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	vol, err := c.volume(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return c.setClaimPhase(ctx, claim, v1.ClaimPending)
	}
	if err != nil {
		return fmt.Errorf("getting volume %s: %w", claim.Spec.VolumeName, err)
	}
	if vol.Spec.ClaimRef == nil || storagehelpers.IsVolumeBoundToClaim(vol, claim) {
		if msg := volumeSatisfiesClaim(vol, claim); msg != "" {
			c.recorder.Event(claim, v1.EventTypeWarning, reasonVolumeMismatch, "Cannot bind to requested volume \""+vol.Name+"\": "+msg)
			return c.setClaimPhase(ctx, claim, v1.ClaimPending)
		}
		return c.bind(ctx, vol, claim)
	}
	c.recorder.Eventf(claim, v1.EventTypeWarning, reasonFailedBinding, "volume %q already bound to a different claim.", vol.Name)
	return c.setClaimPhase(ctx, claim, v1.ClaimPending)
}

func (c *Controller) syncBoundClaim(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeName == "" {
		if claim.Status.Phase != v1.ClaimLost {
			c.recorder.Event(claim, v1.EventTypeWarning, reasonClaimLost, "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
		}
		return c.setClaimPhase(ctx, claim, v1.ClaimLost)
	}
	vol, err := c.volume(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		if claim.Status.Phase != v1.ClaimLost {
			c.recorder.Event(claim, v1.EventTypeWarning, reasonClaimLost, "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
		}
		return c.setClaimPhase(ctx, claim, v1.ClaimLost)
	}
	if err != nil {
		return fmt.Errorf("getting volume %s: %w", claim.Spec.VolumeName, err)
	}
	if vol.Spec.ClaimRef == nil || storagehelpers.IsVolumeBoundToClaim(vol, claim) {
		return c.bind(ctx, vol, claim)
	}
	if claim.Status.Phase != v1.ClaimLost {
		c.recorder.Event(claim, v1.EventTypeWarning, reasonClaimLost, "Two claims are bound to the same volume, this one is bound incorrectly")
	}
	return c.setClaimPhase(ctx, claim, v1.ClaimLost)
}

// delayBinding reports whether the claim's class binds on first consumer.
// A class that does not exist does not delay.
func (c *Controller) delayBinding(claim *v1.PersistentVolumeClaim) (bool, error) {
	className := storagehelpers.GetPersistentVolumeClaimClass(claim)
	if className == "" {
		return false, nil
	}
	class, err := c.classes.Get(className)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("getting storage class %q: %w", className, err)
	}
	return class.VolumeBindingMode != nil && *class.VolumeBindingMode == "WaitForFirstConsumer", nil
}

// findBestMatch returns the volume pre-bound to claim, or the smallest
// Available volume that satisfies it, preferring volumes whose access modes
// are the fewest superset of the claim's (as upstream's access-mode index).
// Under delayed binding only pre-bound volumes are returned: choosing among
// unbound volumes is the scheduler's job there.
func (c *Controller) findBestMatch(claim *v1.PersistentVolumeClaim, delay bool) (*v1.PersistentVolume, error) {
	all, err := c.candidates(claim)
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if v.Spec.ClaimRef != nil && storagehelpers.IsVolumeBoundToClaim(v, claim) && v.DeletionTimestamp == nil {
			if volumeSatisfiesClaim(v, claim) == "" {
				return v, nil
			}
		}
	}
	byModes := map[int][]*v1.PersistentVolume{}
	var counts []int
	for _, v := range all {
		if !storagehelpers.CheckAccessModes(claim, v) {
			continue
		}
		if v.Spec.ClaimRef == nil && (v.Status.Phase == "" || v.Status.Phase == v1.VolumePending) {
			// New and free, only not yet marked Available by this
			// controller's volume worker: as good as Available.
			v = v.DeepCopy()
			v.Status.Phase = v1.VolumeAvailable
		}
		n := len(v.Spec.AccessModes)
		if _, ok := byModes[n]; !ok {
			counts = append(counts, n)
		}
		byModes[n] = append(byModes[n], v)
	}
	sort.Ints(counts)
	for _, n := range counts {
		vols := byModes[n]
		sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
		vol, err := storagehelpers.FindMatchingVolume(claim, vols, nil, nil, delay, true)
		if err != nil {
			return nil, fmt.Errorf("matching volumes for claim %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		if vol != nil {
			return vol, nil
		}
	}
	return nil, nil
}

// candidates are the volumes that may serve claim: those whose claimRef
// names it and those with no claimRef. A volume bound to another claim never
// matches (FindMatchingVolume skips it), so the bound volumes of a big
// cluster cost a claim's sync nothing.
func (c *Controller) candidates(claim *v1.PersistentVolumeClaim) ([]*v1.PersistentVolume, error) {
	return Candidates(c.byClaim, claim)
}

// Candidates are the volumes of volumes (an indexer with EnsureClaimRefIndex's
// index) that may serve claim: those whose claimRef names it and those with
// no claimRef.
func Candidates(volumes cache.Indexer, claim *v1.PersistentVolumeClaim) ([]*v1.PersistentVolume, error) {
	var out []*v1.PersistentVolume
	for _, key := range []string{claim.Namespace + "/" + claim.Name, unclaimedKey} {
		objs, err := volumes.ByIndex(claimRefIndex, key)
		if err != nil {
			return nil, fmt.Errorf("listing volumes: %w", err)
		}
		for _, o := range objs {
			if v, ok := o.(*v1.PersistentVolume); ok {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// volumeSatisfiesClaim returns why vol cannot serve claim, or "".
func volumeSatisfiesClaim(vol *v1.PersistentVolume, claim *v1.PersistentVolumeClaim) string {
	req := claim.Spec.Resources.Requests[v1.ResourceStorage]
	capacity := vol.Spec.Capacity[v1.ResourceStorage]
	if capacity.Cmp(req) < 0 {
		return "requested PV is too small"
	}
	if storagehelpers.GetPersistentVolumeClass(vol) != storagehelpers.GetPersistentVolumeClaimClass(claim) {
		return "storageClassName does not match"
	}
	if storagehelpers.CheckVolumeModeMismatches(&claim.Spec, &vol.Spec) {
		return "incompatible volumeMode"
	}
	if !storagehelpers.CheckAccessModes(claim, vol) {
		return "incompatible accessMode"
	}
	return ""
}

// bind makes vol and claim point at each other and marks both Bound. Every
// step is idempotent, so a failed bind is simply retried.
func (c *Controller) bind(ctx context.Context, vol *v1.PersistentVolume, claim *v1.PersistentVolumeClaim) error {
	log := logging.FromContext(ctx).With("volume", vol.Name)
	if vol.Spec.ClaimRef == nil {
		// The cache may not show a binding made moments ago; the API
		// server has the truth.
		fresh, err := c.client.CoreV1().PersistentVolumes().Get(ctx, vol.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("getting volume %s: %w", vol.Name, err)
		}
		if fresh.Spec.ClaimRef != nil && !storagehelpers.IsVolumeBoundToClaim(fresh, claim) {
			return fmt.Errorf("volume %s was meanwhile bound to %s/%s", vol.Name, fresh.Spec.ClaimRef.Namespace, fresh.Spec.ClaimRef.Name)
		}
		vol = fresh
	}
	newVol, dirty, err := storagehelpers.GetBindVolumeToClaim(vol, claim)
	if err != nil {
		return fmt.Errorf("binding volume %s: %w", vol.Name, err)
	}
	if dirty {
		newVol, err = c.updateVolume(ctx, newVol)
		if err != nil {
			return fmt.Errorf("binding volume %s to claim %s/%s: %w", vol.Name, claim.Namespace, claim.Name, err)
		}
	}
	if newVol.Status.Phase != v1.VolumeBound {
		upd := newVol.DeepCopy()
		upd.Status.Phase = v1.VolumeBound
		upd.Status.Message = ""
		upd.Status.Reason = ""
		t := metav1.NewTime(now())
		upd.Status.LastPhaseTransitionTime = &t
		if _, err := c.updateVolumeStatus(ctx, upd); err != nil {
			return fmt.Errorf("marking volume %s Bound: %w", vol.Name, err)
		}
	}

	if claimBound(claim, vol) {
		// Nothing to write on the claim side (every sync of a bound claim
		// comes here): no read of the claim from the API server either.
		return nil
	}
	// The claim is written from the copy at hand (the cache's, or the one
	// provisioning just wrote), as upstream's binder does: a stale copy
	// fails with a conflict and the claim is synced again, so no read of
	// the claim precedes the write.
	cur := claim
	upd := cur.DeepCopy()
	changed := false
	if upd.Spec.VolumeName != vol.Name {
		upd.Spec.VolumeName = vol.Name
		setAnn(&upd.ObjectMeta, storagehelpers.AnnBoundByController, annYes)
		changed = true
	}
	if _, ok := upd.Annotations[storagehelpers.AnnBindCompleted]; !ok {
		setAnn(&upd.ObjectMeta, storagehelpers.AnnBindCompleted, annYes)
		changed = true
	}
	// A volume petset provisioned for the claim: the claim names its
	// provisioner (provision leaves that to this write).
	if p := provisionerToAnnotate(upd, vol); p != "" {
		setAnn(&upd.ObjectMeta, storagehelpers.AnnStorageProvisioner, p)
		setAnn(&upd.ObjectMeta, storagehelpers.AnnBetaStorageProvisioner, p)
		changed = true
	}
	if changed {
		var err error
		upd, err = c.updateClaim(ctx, upd)
		if apierrors.IsNotFound(err) {
			return nil // deleted meanwhile; the volume side releases the volume
		}
		if err != nil {
			return fmt.Errorf("binding claim %s/%s to volume %s: %w", claim.Namespace, claim.Name, vol.Name, err)
		}
	}
	want := upd.DeepCopy()
	want.Status.Phase = v1.ClaimBound
	want.Status.AccessModes = vol.Spec.AccessModes
	want.Status.Capacity = vol.Spec.Capacity
	if upd.Status.Phase != want.Status.Phase || !equalModes(upd.Status.AccessModes, want.Status.AccessModes) ||
		!equalResources(upd.Status.Capacity, want.Status.Capacity) {
		if _, err := c.updateClaimStatus(ctx, want); err != nil {
			return fmt.Errorf("marking claim %s/%s Bound: %w", claim.Namespace, claim.Name, err)
		}
		log.Info("claim bound")
	}
	return nil
}

// claimBound reports whether claim (as the cache shows it) already is
// what bind makes of it: pointing at vol, bind-completed, and Bound with
// vol's access modes and capacity.
func claimBound(claim *v1.PersistentVolumeClaim, vol *v1.PersistentVolume) bool {
	_, completed := claim.Annotations[storagehelpers.AnnBindCompleted]
	if provisionerToAnnotate(claim, vol) != "" {
		return false
	}
	return claim.Spec.VolumeName == vol.Name && completed && claim.Status.Phase == v1.ClaimBound &&
		equalModes(claim.Status.AccessModes, vol.Spec.AccessModes) && equalResources(claim.Status.Capacity, vol.Spec.Capacity)
}

// provisionerToAnnotate is the petset provisioner claim still has to be
// annotated with: the one that made vol for claim, when claim does not
// name it yet in both storage-provisioner annotations ("" when there is
// none to write: vol was made otherwise, or for another claim, or claim
// already names it).
func provisionerToAnnotate(claim *v1.PersistentVolumeClaim, vol *v1.PersistentVolume) string {
	p := vol.Annotations[storagehelpers.AnnDynamicallyProvisioned]
	if !isOwnProvisioner(p) || !isProvisionedFor(vol, claim) || hasProvisionerAnnotations(claim, p) {
		return ""
	}
	return p
}

// isProvisionedFor reports whether vol was provisioned for claim (named
// after its UID) rather than bound to it later.
func isProvisionedFor(vol *v1.PersistentVolume, claim *v1.PersistentVolumeClaim) bool {
	return vol.Name == ProvisionedVolumeName(claim)
}

func (c *Controller) setClaimPhase(ctx context.Context, claim *v1.PersistentVolumeClaim, phase v1.PersistentVolumeClaimPhase) error {
	if claim.Status.Phase == phase {
		return nil
	}
	upd := claim.DeepCopy()
	upd.Status.Phase = phase
	if _, err := c.updateClaimStatus(ctx, upd); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("setting claim %s/%s phase %s: %w", claim.Namespace, claim.Name, phase, err)
	}
	return nil
}

func setAnn(m *metav1.ObjectMeta, k, v string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[k] = v
}

func equalModes(a, b []v1.PersistentVolumeAccessMode) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalResources(a, b v1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, q := range a {
		o, ok := b[k]
		if !ok || o.Cmp(q) != 0 {
			return false
		}
	}
	return true
}
