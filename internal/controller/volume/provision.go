package volume

import (
	"context"
	"fmt"
	"os"
	"path"
	"sort"

	"petset/internal/logging"
	"petset/internal/sharedvolume"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/reference"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// The contract for petset's local volumes, shared with the node agent.
const (
	// ProvisionerName is petset's own provisioner.
	ProvisionerName = "petset.io/local"
	// VolumeDirAnnotation is set by each node agent on its Node: the absolute
	// directory under which that node keeps provisioned volumes.
	VolumeDirAnnotation = "petset.io/volume-dir"
	// Finalizer is put on every provisioned PV. The node agent of the node in
	// the PV's node affinity removes it after it removed the directory of a
	// deleted PV.
	Finalizer = "petset.io/local-volume"
	// DefaultClassName is the name of the class DefaultStorageClass returns.
	DefaultClassName = "standard"
	// IsDefaultClassAnnotation marks the default StorageClass.
	IsDefaultClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaIsDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"

	hostnameLabel = "kubernetes.io/hostname"
)

// DefaultStorageClass returns the StorageClass the server creates at first
// start: "standard", the default class, provisioned by petset.io/local,
// reclaim policy Delete, binding on first consumer.
func DefaultStorageClass() *storagev1.StorageClass {
	reclaim := v1.PersistentVolumeReclaimDelete
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	return &storagev1.StorageClass{
		TypeMeta: metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        DefaultClassName,
			Annotations: map[string]string{IsDefaultClassAnnotation: "true"},
		},
		Provisioner:       ProvisionerName,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &mode,
	}
}

// isOwnProvisioner reports whether name is one of petset's own
// provisioners (node-local or shared), the ones this controller provisions
// and deletes volumes for.
func isOwnProvisioner(name string) bool {
	return name == ProvisionerName || name == sharedvolume.ProvisionerName
}

// hasProvisionerAnnotations reports whether claim names provisioner in both
// storage-provisioner annotations (GA and beta), as upstream writes them.
func hasProvisionerAnnotations(claim *v1.PersistentVolumeClaim, provisioner string) bool {
	return claim.Annotations[storagehelpers.AnnStorageProvisioner] == provisioner &&
		claim.Annotations[storagehelpers.AnnBetaStorageProvisioner] == provisioner
}

// ProvisionedVolumeName is the name of the PV provisioned for claim.
func ProvisionedVolumeName(claim *v1.PersistentVolumeClaim) string {
	return "pvc-" + string(claim.UID)
}

// provision handles an unbound claim of a class for which no volume matched.
func (c *Controller) provision(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	className := storagehelpers.GetPersistentVolumeClaimClass(claim)
	class, err := c.classes.Get(className)
	if apierrors.IsNotFound(err) {
		c.recorder.Eventf(claim, v1.EventTypeWarning, reasonProvisioningFailed, "storageclass.storage.k8s.io %q not found", className)
		return nil
	}
	if err != nil {
		return fmt.Errorf("getting storage class %q: %w", className, err)
	}
	if class.Provisioner == storagehelpers.NotSupportedProvisioner {
		c.recorder.Eventf(claim, v1.EventTypeNormal, reasonFailedBinding, "no persistent volumes available for this claim and storage class %q does not provision volumes", className)
		return nil
	}
	ownProvisioner := isOwnProvisioner(class.Provisioner)
	// An external provisioner learns from these annotations that the claim
	// is its to provision, so they are written first. petset's own
	// provisioners need no such signal: bind writes them together with the
	// volume name, one write of the claim fewer.
	if !ownProvisioner && !hasProvisionerAnnotations(claim, class.Provisioner) {
		upd := claim.DeepCopy()
		setAnn(&upd.ObjectMeta, storagehelpers.AnnStorageProvisioner, class.Provisioner)
		setAnn(&upd.ObjectMeta, storagehelpers.AnnBetaStorageProvisioner, class.Provisioner)
		if claim, err = c.updateClaim(ctx, upd); err != nil {
			return fmt.Errorf("annotating claim %s/%s with its provisioner: %w", upd.Namespace, upd.Name, err)
		}
	}
	if class.Provisioner == sharedvolume.ProvisionerName && c.shared.id == "" {
		c.recorder.Eventf(claim, v1.EventTypeWarning, reasonProvisioningFailed,
			"storage class %q is provisioned by %s, but this petset server has no --shared-volume-dir: start every server with the directory the nodes share", className, sharedvolume.ProvisionerName)
		return nil
	}
	if !ownProvisioner {
		c.recorder.Eventf(claim, v1.EventTypeNormal, reasonExternalProvisioning,
			"Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
			class.Provisioner)
		return nil
	}

	node, msg, err := c.provisioningNode(claim, class)
	if err != nil {
		return err
	}
	if node == nil {
		c.recorder.Event(claim, v1.EventTypeWarning, reasonProvisioningFailed, msg)
		return nil // retried when nodes change
	}
	newVol := newLocalVolume(claim, class, node)
	if class.Provisioner == sharedvolume.ProvisionerName {
		newVol = c.newSharedVolume(claim, class)
		// Made here, where the server reaches the root, so that the data
		// dir exists whichever node mounts it first.
		dir := newVol.Spec.Local.Path
		if err := os.MkdirAll(dir, 0o777); err == nil {
			err = os.Chmod(dir, 0o777)
		} else {
			c.recorder.Eventf(claim, v1.EventTypeWarning, reasonProvisioningFailed, "failed to make directory %s under the shared volume dir: %v", dir, err)
			return fmt.Errorf("making shared volume directory %s: %w", dir, err)
		}
	}
	vol, err := c.createVolume(ctx, newVol)
	if apierrors.IsAlreadyExists(err) {
		// Provisioned earlier; the informer has not caught up yet.
		vol, err = c.client.CoreV1().PersistentVolumes().Get(ctx, ProvisionedVolumeName(claim), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("getting provisioned volume: %w", err)
		}
	} else if err != nil {
		c.recorder.Eventf(claim, v1.EventTypeWarning, reasonProvisioningFailed, "failed to create volume %s: %v", ProvisionedVolumeName(claim), err)
		return fmt.Errorf("creating volume for claim %s/%s: %w", claim.Namespace, claim.Name, err)
	} else {
		c.recorder.Eventf(claim, v1.EventTypeNormal, reasonProvisioningSucceeded, "Successfully provisioned volume %s using %s", vol.Name, class.Provisioner)
		logging.FromContext(ctx).Info("volume provisioned", "volume", vol.Name, "node", node.Name)
	}
	if !storagehelpers.IsVolumeBoundToClaim(vol, claim) {
		return fmt.Errorf("volume %s exists but is not bound to claim %s/%s", vol.Name, claim.Namespace, claim.Name)
	}
	return c.bind(ctx, vol, claim)
}

// provisioningNode returns the node to provision claim's volume on: the
// scheduler's selected node, or for Immediate classes the Ready node with a
// volume directory that holds the fewest petset volumes (ties by name). When
// no node qualifies it returns nil and the reason. For shared volumes the
// node only has to reach this server's shared root.
func (c *Controller) provisioningNode(claim *v1.PersistentVolumeClaim, class *storagev1.StorageClass) (*v1.Node, string, error) {
	if class.Provisioner == sharedvolume.ProvisionerName {
		return c.sharedProvisioningNode(claim, class)
	}
	if sel, ok := claim.Annotations[storagehelpers.AnnSelectedNode]; ok {
		node, err := c.nodes.Get(sel)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("selected node %q not found", sel), nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("getting node %s: %w", sel, err)
		}
		if node.Annotations[VolumeDirAnnotation] == "" {
			return nil, fmt.Sprintf("node %q has no %s annotation: its petset agent has not registered a volume directory", sel, VolumeDirAnnotation), nil
		}
		if !allowedOn(class, node) {
			return nil, fmt.Sprintf("selected node %q is not in the allowed topologies of storage class %q", sel, class.Name), nil
		}
		return node, "", nil
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return nil, "", fmt.Errorf("listing nodes: %w", err)
	}
	vols, err := c.volumes.List(labels.Everything())
	if err != nil {
		return nil, "", fmt.Errorf("listing volumes: %w", err)
	}
	perNode := map[string]int{}
	for _, v := range vols {
		if v.Annotations[storagehelpers.AnnDynamicallyProvisioned] == ProvisionerName {
			perNode[volumeNode(v)]++
		}
	}
	var candidates []*v1.Node
	for _, n := range nodes {
		if nodeReady(n) && !n.Spec.Unschedulable && n.Annotations[VolumeDirAnnotation] != "" && allowedOn(class, n) {
			candidates = append(candidates, n)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Sprintf("no Ready node with a %s annotation matches storage class %q", VolumeDirAnnotation, class.Name), nil
	}
	sort.Slice(candidates, func(i, j int) bool {
		a, b := candidates[i], candidates[j]
		if perNode[a.Name] != perNode[b.Name] {
			return perNode[a.Name] < perNode[b.Name]
		}
		return a.Name < b.Name
	})
	return candidates[0], "", nil
}

// allowedOn reports whether class's allowedTopologies admit node.
func allowedOn(class *storagev1.StorageClass, node *v1.Node) bool {
	if len(class.AllowedTopologies) == 0 {
		return true
	}
	for _, term := range class.AllowedTopologies {
		ok := true
		for _, req := range term.MatchLabelExpressions {
			val, has := node.Labels[req.Key]
			found := false
			for _, v := range req.Values {
				if has && v == val {
					found = true
					break
				}
			}
			if !found {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// nodeHostname is the value of kubernetes.io/hostname the PV's node affinity
// names: the node's label if it has one, else its name.
func nodeHostname(node *v1.Node) string {
	if h := node.Labels[hostnameLabel]; h != "" {
		return h
	}
	return node.Name
}

// volumeNode returns the single hostname a local PV's node affinity names.
func volumeNode(v *v1.PersistentVolume) string {
	if v.Spec.NodeAffinity == nil || v.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, term := range v.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, req := range term.MatchExpressions {
			if req.Key == hostnameLabel && req.Operator == v1.NodeSelectorOpIn && len(req.Values) == 1 {
				return req.Values[0]
			}
		}
	}
	return ""
}

// sharedProvisioningNode returns the scheduler's selected node, or for an
// Immediate class any Ready node, that reaches this server's shared root
// (carries its ID) and is in the class's topologies.
func (c *Controller) sharedProvisioningNode(claim *v1.PersistentVolumeClaim, class *storagev1.StorageClass) (*v1.Node, string, error) {
	fits := func(n *v1.Node) string {
		if n.Labels[sharedvolume.RootLabel] != c.shared.id {
			return fmt.Sprintf("node %q does not reach this server's shared volume dir (its %s label is %q, the dir's ID is %q): start its agent with --shared-volume-dir on the same files",
				n.Name, sharedvolume.RootLabel, n.Labels[sharedvolume.RootLabel], c.shared.id)
		}
		if !allowedOn(class, n) {
			return fmt.Sprintf("node %q is not in the allowed topologies of storage class %q", n.Name, class.Name)
		}
		return ""
	}
	if sel, ok := claim.Annotations[storagehelpers.AnnSelectedNode]; ok {
		node, err := c.nodes.Get(sel)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("selected node %q not found", sel), nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("getting node %s: %w", sel, err)
		}
		if msg := fits(node); msg != "" {
			return nil, msg, nil
		}
		return node, "", nil
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return nil, "", fmt.Errorf("listing nodes: %w", err)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	for _, n := range nodes {
		if nodeReady(n) && fits(n) == "" {
			return n, "", nil
		}
	}
	return nil, fmt.Sprintf("no Ready node with %s=%s matches storage class %q", sharedvolume.RootLabel, c.shared.id, class.Name), nil
}

// newSharedVolume is the PV of claim under this server's shared root: a
// local volume any node carrying the root's ID may mount.
func (c *Controller) newSharedVolume(claim *v1.PersistentVolumeClaim, class *storagev1.StorageClass) *v1.PersistentVolume {
	vol := newLocalVolume(claim, class, &v1.Node{})
	vol.Annotations[storagehelpers.AnnDynamicallyProvisioned] = sharedvolume.ProvisionerName
	vol.Finalizers = []string{sharedvolume.Finalizer}
	vol.Spec.Local.Path = path.Join(c.shared.dir, vol.Name)
	vol.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
		NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
			Key: sharedvolume.RootLabel, Operator: v1.NodeSelectorOpIn, Values: []string{c.shared.id},
		}}}},
	}}
	return vol
}

func newLocalVolume(claim *v1.PersistentVolumeClaim, class *storagev1.StorageClass, node *v1.Node) *v1.PersistentVolume {
	name := ProvisionedVolumeName(claim)
	reclaim := v1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	ref, err := reference.GetReference(scheme.Scheme, claim)
	if err != nil || ref == nil {
		ref = &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID}
	}
	ref.ResourceVersion = ""
	capacity := v1.ResourceList{}
	if q, ok := claim.Spec.Resources.Requests[v1.ResourceStorage]; ok {
		capacity[v1.ResourceStorage] = q
	}
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				storagehelpers.AnnDynamicallyProvisioned: ProvisionerName,
				storagehelpers.AnnBoundByController:      annYes,
			},
			Finalizers: []string{Finalizer},
		},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      capacity,
			AccessModes:                   claim.Spec.AccessModes,
			ClaimRef:                      ref,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    claim.Spec.VolumeMode,
			PersistentVolumeSource: v1.PersistentVolumeSource{
				Local: &v1.LocalVolumeSource{Path: path.Join(node.Annotations[VolumeDirAnnotation], name)},
			},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: hostnameLabel, Operator: v1.NodeSelectorOpIn, Values: []string{nodeHostname(node)},
				}}}},
			}},
		},
	}
}
