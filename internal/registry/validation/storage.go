package validation

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	supportedAccessModes  = []string{string(corev1.ReadOnlyMany), string(corev1.ReadWriteMany), string(corev1.ReadWriteOnce), string(corev1.ReadWriteOncePod)}
	supportedVolumeModes  = []string{string(corev1.PersistentVolumeBlock), string(corev1.PersistentVolumeFilesystem)}
	supportedReclaimPols  = []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRecycle), string(corev1.PersistentVolumeReclaimRetain)}
	supportedSCReclaim    = []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}
	supportedBindingModes = []string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}
)

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path, requiredMsg string) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(fldPath, requiredMsg))
	}
	supported := sets.New(supportedAccessModes...)
	for _, m := range modes {
		if !supported.Has(string(m)) {
			errs = append(errs, field.NotSupported(fldPath, m, supportedAccessModes))
		}
	}
	if len(modes) > 1 && sets.New(modes...).Has(corev1.ReadWriteOncePod) {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

func validateVolumeMode(mode *corev1.PersistentVolumeMode, fldPath *field.Path) field.ErrorList {
	if mode != nil && !sets.New(supportedVolumeModes...).Has(string(*mode)) {
		return field.ErrorList{field.NotSupported(fldPath, *mode, supportedVolumeModes)}
	}
	return nil
}

func validateStorageClassName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range nameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

// ValidatePersistentVolumeClaimSpec validates a claim spec (also used for
// StatefulSet volumeClaimTemplates and ephemeral volumes).
func ValidatePersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	errs := validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"), "at least 1 access mode is required")
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if e := quantityPositive(q, storagePath); len(e) > 0 {
		errs = append(errs, e...)
	}
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		errs = append(errs, validateStorageClassName(*spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	errs = append(errs, validateVolumeMode(spec.VolumeMode, fldPath.Child("volumeMode"))...)
	if spec.DataSource != nil {
		p := fldPath.Child("dataSource")
		if spec.DataSource.Kind == "" {
			errs = append(errs, field.Required(p.Child("kind"), ""))
		}
		if spec.DataSource.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
	}
	return errs
}

// ValidatePersistentVolumeClaim validates a claim on create.
func ValidatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateObjectMeta(&pvc.ObjectMeta, true, nameIsDNSSubdomain)
	errs = append(errs, ValidatePersistentVolumeClaimSpec(&pvc.Spec, field.NewPath("spec"))...)
	return errs
}

// ValidatePersistentVolumeClaimUpdate validates a claim update: the spec is
// immutable except volumeName (set once), volumeAttributesClassName, and
// resources.requests of a bound claim, whose storage may grow (or shrink to
// above status.capacity, to recover from a failed expansion).
func ValidatePersistentVolumeClaimUpdate(newPvc, oldPvc *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateObjectMetaUpdate(&newPvc.ObjectMeta, &oldPvc.ObjectMeta)
	errs = append(errs, ValidatePersistentVolumeClaim(newPvc)...)
	newClone, oldClone := newPvc.Spec.DeepCopy(), oldPvc.Spec.DeepCopy()
	if oldPvc.Spec.VolumeName == "" {
		oldClone.VolumeName = newClone.VolumeName
	}
	// A claim created without a class may get one (retroactive default
	// class) once, unless the beta annotation names a different class.
	if oldClone.StorageClassName == nil && newClone.StorageClassName != nil {
		if a, ok := oldPvc.Annotations[corev1.BetaStorageClassAnnotation]; !ok || a == *newClone.StorageClassName {
			newClone.StorageClassName = nil
		}
	}
	newClone.VolumeAttributesClassName = oldClone.VolumeAttributesClassName
	if newPvc.Status.Phase == corev1.ClaimBound && newClone.Resources.Requests != nil {
		if q, ok := oldPvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
			newClone.Resources.Requests[corev1.ResourceStorage] = q
		} else {
			delete(newClone.Resources.Requests, corev1.ResourceStorage)
		}
	}
	if !equality.Semantic.DeepEqual(*newClone, *oldClone) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), fmt.Sprintf("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v", diff.Diff(*oldClone, *newClone))))
	}
	oldSize := oldPvc.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := newPvc.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := oldPvc.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	errs = append(errs, immutable(newPvc.Spec.VolumeMode, oldPvc.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	return errs
}

// ValidatePersistentVolumeClaimStatusUpdate validates a write to
// persistentvolumeclaims/status.
func ValidatePersistentVolumeClaimStatusUpdate(newPvc, oldPvc *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateObjectMetaUpdate(&newPvc.ObjectMeta, &oldPvc.ObjectMeta)
	if newPvc.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	if len(newPvc.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	for name, q := range newPvc.Status.Capacity {
		errs = append(errs, validateBasicResource(q, field.NewPath("status", "capacity").Key(string(name)))...)
	}
	for name, q := range newPvc.Status.AllocatedResources {
		errs = append(errs, validateBasicResource(q, field.NewPath("status", "allocatedResources").Key(string(name)))...)
	}
	return errs
}

func validateBasicResource(q resource.Quantity, p *field.Path) field.ErrorList {
	if q.Value() < 0 {
		return field.ErrorList{field.Invalid(p, q.Value(), "must be a valid resource quantity")}
	}
	return nil
}

// pvSourceOrder lists a PersistentVolume's sources in the order kube
// examines them.
var pvSourceOrder = []struct {
	name string
	set  func(*corev1.PersistentVolumeSource) bool
}{
	{"hostPath", func(s *corev1.PersistentVolumeSource) bool { return s.HostPath != nil }},
	{"gcePersistentDisk", func(s *corev1.PersistentVolumeSource) bool { return s.GCEPersistentDisk != nil }},
	{"awsElasticBlockStore", func(s *corev1.PersistentVolumeSource) bool { return s.AWSElasticBlockStore != nil }},
	{"glusterfs", func(s *corev1.PersistentVolumeSource) bool { return s.Glusterfs != nil }},
	{"flocker", func(s *corev1.PersistentVolumeSource) bool { return s.Flocker != nil }},
	{"nfs", func(s *corev1.PersistentVolumeSource) bool { return s.NFS != nil }},
	{"rbd", func(s *corev1.PersistentVolumeSource) bool { return s.RBD != nil }},
	{"quobyte", func(s *corev1.PersistentVolumeSource) bool { return s.Quobyte != nil }},
	{"cephFS", func(s *corev1.PersistentVolumeSource) bool { return s.CephFS != nil }},
	{"iscsi", func(s *corev1.PersistentVolumeSource) bool { return s.ISCSI != nil }},
	{"cinder", func(s *corev1.PersistentVolumeSource) bool { return s.Cinder != nil }},
	{"fc", func(s *corev1.PersistentVolumeSource) bool { return s.FC != nil }},
	{"flexVolume", func(s *corev1.PersistentVolumeSource) bool { return s.FlexVolume != nil }},
	{"azureFile", func(s *corev1.PersistentVolumeSource) bool { return s.AzureFile != nil }},
	{"vsphereVolume", func(s *corev1.PersistentVolumeSource) bool { return s.VsphereVolume != nil }},
	{"photonPersistentDisk", func(s *corev1.PersistentVolumeSource) bool { return s.PhotonPersistentDisk != nil }},
	{"portworxVolume", func(s *corev1.PersistentVolumeSource) bool { return s.PortworxVolume != nil }},
	{"azureDisk", func(s *corev1.PersistentVolumeSource) bool { return s.AzureDisk != nil }},
	{"scaleIO", func(s *corev1.PersistentVolumeSource) bool { return s.ScaleIO != nil }},
	{"local", func(s *corev1.PersistentVolumeSource) bool { return s.Local != nil }},
	{"storageos", func(s *corev1.PersistentVolumeSource) bool { return s.StorageOS != nil }},
	{"csi", func(s *corev1.PersistentVolumeSource) bool { return s.CSI != nil }},
}

// ValidatePersistentVolume validates a volume on create.
func ValidatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	errs := validateObjectMeta(&pv.ObjectMeta, false, nameIsDNSSubdomain)
	specPath := field.NewPath("spec")
	spec := &pv.Spec
	errs = append(errs, validateAccessModes(spec.AccessModes, specPath.Child("accessModes"), "")...)

	capPath := specPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(capPath, spec.Capacity, []string{string(corev1.ResourceStorage)}))
	}
	for name, q := range spec.Capacity {
		errs = append(errs, quantityPositive(q, capPath.Key(string(name)))...)
	}
	if r := spec.PersistentVolumeReclaimPolicy; r != "" && !sets.New(supportedReclaimPols...).Has(string(r)) {
		errs = append(errs, field.NotSupported(specPath.Child("persistentVolumeReclaimPolicy"), r, supportedReclaimPols))
	}

	affinitySpecified := false
	if na := spec.NodeAffinity; na != nil && na.Required != nil {
		affinitySpecified = true
		errs = append(errs, validateNodeSelector(na.Required, specPath.Child("nodeAffinity", "required"))...)
	}

	src := &spec.PersistentVolumeSource
	first := ""
	for _, v := range pvSourceOrder {
		if !v.set(src) {
			continue
		}
		if first != "" {
			errs = append(errs, field.Forbidden(specPath.Child(v.name), "may not specify more than 1 volume type"))
			continue
		}
		first = v.name
		switch {
		case src.HostPath != nil:
			p := specPath.Child("hostPath")
			if src.HostPath.Path == "" {
				errs = append(errs, field.Required(p.Child("path"), ""))
				break
			}
			errs = append(errs, validatePathNoBacksteps(src.HostPath.Path, p.Child("path"))...)
			if t := src.HostPath.Type; t != nil && !sets.New(supportedHostPathTypes...).Has(string(*t)) {
				errs = append(errs, field.NotSupported(p.Child("type"), *t, supportedHostPathTypes))
			}
		case src.NFS != nil:
			p := specPath.Child("nfs")
			if src.NFS.Server == "" {
				errs = append(errs, field.Required(p.Child("server"), ""))
			}
			if src.NFS.Path == "" {
				errs = append(errs, field.Required(p.Child("path"), ""))
			}
			if !strings.HasPrefix(src.NFS.Path, "/") {
				errs = append(errs, field.Invalid(p.Child("path"), src.NFS.Path, "must be an absolute path"))
			}
		case src.Local != nil:
			p := specPath.Child("local")
			if src.Local.Path == "" {
				errs = append(errs, field.Required(p.Child("path"), ""))
			} else {
				errs = append(errs, validatePathNoBacksteps(src.Local.Path, p.Child("path"))...)
			}
			if !affinitySpecified {
				errs = append(errs, field.Required(specPath.Child("nodeAffinity"), "Local volume requires node affinity"))
			}
		case src.CSI != nil:
			p := specPath.Child("csi")
			if src.CSI.Driver == "" {
				errs = append(errs, field.Required(p.Child("driver"), ""))
			}
			if src.CSI.VolumeHandle == "" {
				errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
			}
		}
	}
	if first == "" {
		errs = append(errs, field.Required(specPath, "must specify a volume type"))
	}
	if src.HostPath != nil && path.Clean(src.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(specPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, validateStorageClassName(spec.StorageClassName, specPath.Child("storageClassName"))...)
	}
	errs = append(errs, validateVolumeMode(spec.VolumeMode, specPath.Child("volumeMode"))...)
	return errs
}

// ValidatePersistentVolumeUpdate validates a volume update: the volume
// source, volumeMode and a set nodeAffinity are immutable.
func ValidatePersistentVolumeUpdate(newPv, oldPv *corev1.PersistentVolume) field.ErrorList {
	errs := ValidatePersistentVolume(newPv)
	errs = append(errs, validateObjectMetaUpdate(&newPv.ObjectMeta, &oldPv.ObjectMeta)...)
	if !equality.Semantic.DeepEqual(newPv.Spec.PersistentVolumeSource, oldPv.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"),
			fmt.Sprintf("spec.persistentvolumesource is immutable after creation\n%v", diff.Diff(oldPv.Spec.PersistentVolumeSource, newPv.Spec.PersistentVolumeSource))))
	}
	errs = append(errs, immutable(newPv.Spec.VolumeMode, oldPv.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if oldPv.Spec.NodeAffinity != nil && !equality.Semantic.DeepEqual(newPv.Spec.NodeAffinity, oldPv.Spec.NodeAffinity) {
		errs = append(errs, field.Invalid(field.NewPath("nodeAffinity"), newPv.Spec.NodeAffinity, "field is immutable, except for updating from beta label to GA"))
	}
	return errs
}

// ValidatePersistentVolumeStatusUpdate validates a write to
// persistentvolumes/status.
func ValidatePersistentVolumeStatusUpdate(newPv, oldPv *corev1.PersistentVolume) field.ErrorList {
	errs := validateObjectMetaUpdate(&newPv.ObjectMeta, &oldPv.ObjectMeta)
	if newPv.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	return errs
}

const maxProvisionerParameterSize = 256 * 1024
const maxProvisionerParameterLen = 512

// ValidateStorageClass validates a storage class on create.
func ValidateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	errs := validateObjectMeta(&sc.ObjectMeta, false, nameIsDNSSubdomain)
	p := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(p, ""))
	} else {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(sc.Provisioner)) {
			errs = append(errs, field.Invalid(p, sc.Provisioner, msg))
		}
	}
	params := field.NewPath("parameters")
	if len(sc.Parameters) > maxProvisionerParameterLen {
		errs = append(errs, field.TooLong(params, "", maxProvisionerParameterLen))
	} else {
		size := 0
		for k, v := range sc.Parameters {
			if k == "" {
				errs = append(errs, field.Invalid(params, k, "field can not be empty."))
			}
			size += len(k) + len(v)
		}
		if size > maxProvisionerParameterSize {
			errs = append(errs, field.TooLong(params, "", maxProvisionerParameterSize))
		}
	}
	if sc.ReclaimPolicy != nil && !sets.New(supportedSCReclaim...).Has(string(*sc.ReclaimPolicy)) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *sc.ReclaimPolicy, supportedSCReclaim))
	}
	bm := field.NewPath("volumeBindingMode")
	if sc.VolumeBindingMode == nil {
		errs = append(errs, field.Required(bm, ""))
	} else if !sets.New(supportedBindingModes...).Has(string(*sc.VolumeBindingMode)) {
		errs = append(errs, field.NotSupported(bm, *sc.VolumeBindingMode, supportedBindingModes))
	}
	errs = append(errs, validateAllowedTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
	return errs
}

// validateAllowedTopologies checks a storage class's allowedTopologies as
// kube does: each expression has a label-name key, at least one value and
// no value twice, no key twice in a term, and no two terms alike (an empty
// term counts as a duplicate).
func validateAllowedTopologies(terms []corev1.TopologySelectorTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	// kube starts its list of seen terms with len(terms) empty ones, so a
	// term without expressions is always a duplicate; so here.
	seen := make([]map[string]sets.Set[string], len(terms))
	for i, term := range terms {
		exprPath := fldPath.Index(i).Child("matchLabelExpressions")
		exprs := map[string]sets.Set[string]{}
		for j, rq := range term.MatchLabelExpressions {
			idx := exprPath.Index(j)
			values := sets.New[string]()
			if len(rq.Values) == 0 {
				errs = append(errs, field.Required(idx.Child("values"), ""))
			}
			for k, v := range rq.Values {
				if values.Has(v) {
					errs = append(errs, field.Duplicate(idx.Child("values").Index(k), v))
				}
				values.Insert(v)
			}
			errs = append(errs, metav1validation.ValidateLabelName(rq.Key, idx.Child("key"))...)
			if _, dup := exprs[rq.Key]; dup {
				errs = append(errs, field.Duplicate(idx.Child("key"), rq.Key))
			}
			exprs[rq.Key] = values
		}
		for _, other := range seen {
			if equality.Semantic.DeepEqual(exprs, other) {
				errs = append(errs, field.Duplicate(exprPath, ""))
			}
		}
		seen = append(seen, exprs)
	}
	return errs
}

// ValidateStorageClassUpdate validates a storage class update: parameters,
// provisioner, reclaimPolicy and volumeBindingMode are immutable.
func ValidateStorageClassUpdate(newSC, oldSC *storagev1.StorageClass) field.ErrorList {
	errs := validateObjectMetaUpdate(&newSC.ObjectMeta, &oldSC.ObjectMeta)
	errs = append(errs, ValidateStorageClass(newSC)...)
	// Each immutable field reports "field is immutable" (Invalid), as kube 1.37 does.
	errs = append(errs, immutable(newSC.Parameters, oldSC.Parameters, field.NewPath("parameters"))...)
	errs = append(errs, immutable(newSC.Provisioner, oldSC.Provisioner, field.NewPath("provisioner"))...)
	errs = append(errs, immutable(newSC.ReclaimPolicy, oldSC.ReclaimPolicy, field.NewPath("reclaimPolicy"))...)
	errs = append(errs, immutable(newSC.VolumeBindingMode, oldSC.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
	return errs
}
