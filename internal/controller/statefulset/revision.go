package statefulset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"sync"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// maxRevisionPrefix is the longest set-name prefix of a revision name.
const maxRevisionPrefix = 223

// revisionPatch serializes the set's pod template the way ControllerRevision
// data is stored: {"spec":{"template":{...,"$patch":"replace"}}} with sorted
// keys and numbers rendered as JSON float64 values.
func revisionPatch(set *apps.StatefulSet) ([]byte, error) {
	data, err := json.Marshal(&set.Spec.Template)
	if err != nil {
		return nil, fmt.Errorf("encode pod template: %w", err)
	}
	var template map[string]interface{}
	if err := json.Unmarshal(data, &template); err != nil {
		return nil, fmt.Errorf("decode pod template: %w", err)
	}
	template["$patch"] = "replace"
	return json.Marshal(map[string]interface{}{
		"spec": map[string]interface{}{"template": template},
	})
}

// hashRevision is FNV-1 (32 bit) over raw followed by the decimal collision
// count, rendered as a safe-encoded decimal string.
func hashRevision(raw []byte, collisionCount *int32) string {
	h := fnv.New32()
	h.Write(raw)
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return safeEncode(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// safeEncode maps each byte onto an alphabet without vowels or confusable digits.
func safeEncode(s string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	out := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = alphabet[int(s[i])%len(alphabet)]
	}
	return string(out)
}

func revisionName(setName, hash string) string {
	if len(setName) > maxRevisionPrefix {
		setName = setName[:maxRevisionPrefix]
	}
	return setName + "-" + hash
}

// newRevision builds (without writing) the revision of set's live template.
func newRevision(set *apps.StatefulSet, number int64, collisionCount *int32) (*apps.ControllerRevision, error) {
	raw, err := revisionPatch(set)
	if err != nil {
		return nil, err
	}
	rev := &apps.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       set.Namespace,
			Labels:          make(map[string]string, len(set.Spec.Template.Labels)+1),
			Annotations:     make(map[string]string, len(set.Annotations)),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, setKind)},
		},
		Data:     runtime.RawExtension{Raw: raw},
		Revision: number,
	}
	for k, v := range set.Spec.Template.Labels {
		rev.Labels[k] = v
	}
	for k, v := range set.Annotations {
		rev.Annotations[k] = v
	}
	hash := hashRevision(raw, collisionCount)
	rev.Labels[RevisionHashLabel] = hash
	rev.Name = revisionName(set.Name, hash)
	return rev, nil
}

// revisionTemplate decodes the pod template stored in a revision.
func revisionTemplate(rev *apps.ControllerRevision) (*v1.PodTemplateSpec, error) {
	var data struct {
		Spec struct {
			Template v1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &data); err != nil {
		return nil, fmt.Errorf("decode revision %s: %w", rev.Name, err)
	}
	return &data.Spec.Template, nil
}

// applyRevision returns a copy of set whose template is the revision's.
func applyRevision(set *apps.StatefulSet, rev *apps.ControllerRevision) (*apps.StatefulSet, error) {
	tmpl, err := revisionTemplate(rev)
	if err != nil {
		return nil, err
	}
	clone := set.DeepCopy()
	clone.Spec.Template = *tmpl
	return clone, nil
}

// templateComparer decides whether a stored revision holds the same template
// as a candidate: byte-equal data, or (semantic comparison) templates that
// decode to semantically equal objects although their serialization differs,
// e.g. a revision written before creationTimestamp stopped being emitted.
// Decisions are cached by (revision UID, resourceVersion, candidate bytes).
type templateComparer struct {
	mu    sync.Mutex
	cache map[comparisonKey]bool
}

type comparisonKey struct {
	uid       types.UID
	rv        string
	candidate string
}

const comparerCacheSize = 4096

func (c *templateComparer) equal(stored, candidate *apps.ControllerRevision) bool {
	if bytes.Equal(stored.Data.Raw, candidate.Data.Raw) {
		return true
	}
	key := comparisonKey{uid: stored.UID, rv: stored.ResourceVersion, candidate: string(candidate.Data.Raw)}
	cacheable := stored.UID != "" && stored.ResourceVersion != ""
	if cacheable {
		c.mu.Lock()
		v, ok := c.cache[key]
		c.mu.Unlock()
		if ok {
			return v
		}
	}
	a, errA := revisionTemplate(stored)
	b, errB := revisionTemplate(candidate)
	eq := errA == nil && errB == nil && apiequality.Semantic.DeepEqual(a, b)
	if cacheable {
		c.mu.Lock()
		if c.cache == nil || len(c.cache) >= comparerCacheSize {
			c.cache = make(map[comparisonKey]bool)
		}
		c.cache[key] = eq
		c.mu.Unlock()
	}
	return eq
}

// sortRevisions orders by revision number, then creation time, then name.
func sortRevisions(revs []*apps.ControllerRevision) {
	sort.SliceStable(revs, func(i, j int) bool {
		if revs[i].Revision != revs[j].Revision {
			return revs[i].Revision < revs[j].Revision
		}
		if !revs[i].CreationTimestamp.Equal(&revs[j].CreationTimestamp) {
			return revs[i].CreationTimestamp.Before(&revs[j].CreationTimestamp)
		}
		return revs[i].Name < revs[j].Name
	})
}

func nextRevisionNumber(sorted []*apps.ControllerRevision) int64 {
	if len(sorted) == 0 {
		return 1
	}
	return sorted[len(sorted)-1].Revision + 1
}

// history reads and writes ControllerRevisions.
type history struct {
	client kubernetes.Interface
	// revisions holds the ControllerRevisions with the RevisionsByController index.
	revisions cache.Indexer
}

// list returns the revisions selected by selector that set owns or that have no controller.
// They are read through the RevisionsByController index.
func (h *history) list(set *apps.StatefulSet, selector labels.Selector) ([]*apps.ControllerRevision, error) {
	var owned []*apps.ControllerRevision
	for _, key := range []string{string(set.UID), orphanKey(set.Namespace)} {
		objs, err := h.revisions.ByIndex(RevisionsByController, key)
		if err != nil {
			return nil, fmt.Errorf("list revisions: %w", err)
		}
		for _, o := range objs {
			// Owner references never cross namespaces (see podsOf).
			if rev, ok := o.(*apps.ControllerRevision); ok && rev.Namespace == set.Namespace && selector.Matches(labels.Set(rev.Labels)) {
				owned = append(owned, rev)
			}
		}
	}
	return owned, nil
}

// create writes rev, resolving name collisions by bumping collisionCount. If
// an object with the same name and byte-identical data exists, it is reused.
func (h *history) create(ctx context.Context, set *apps.StatefulSet, rev *apps.ControllerRevision, collisionCount *int32) (*apps.ControllerRevision, error) {
	clone := rev.DeepCopy()
	for {
		hash := hashRevision(clone.Data.Raw, collisionCount)
		clone.Name = revisionName(set.Name, hash)
		clone.Labels[RevisionHashLabel] = hash
		created, err := h.client.AppsV1().ControllerRevisions(set.Namespace).Create(ctx, clone, metav1.CreateOptions{})
		if err == nil {
			return created, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create revision %s: %w", clone.Name, err)
		}
		existing, getErr := h.client.AppsV1().ControllerRevisions(set.Namespace).Get(ctx, clone.Name, metav1.GetOptions{})
		if getErr != nil {
			return nil, fmt.Errorf("get colliding revision %s: %w", clone.Name, getErr)
		}
		if bytes.Equal(existing.Data.Raw, clone.Data.Raw) {
			return existing, nil
		}
		*collisionCount++
	}
}

// renumber sets rev.Revision to number (a rollback to an older template).
func (h *history) renumber(ctx context.Context, rev *apps.ControllerRevision, number int64) (*apps.ControllerRevision, error) {
	clone := rev.DeepCopy()
	for attempt := 0; ; attempt++ {
		if clone.Revision == number {
			return clone, nil
		}
		clone.Revision = number
		updated, err := h.client.AppsV1().ControllerRevisions(clone.Namespace).Update(ctx, clone, metav1.UpdateOptions{})
		if err == nil {
			return updated, nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return nil, fmt.Errorf("renumber revision %s: %w", rev.Name, err)
		}
		fresh, getErr := h.client.AppsV1().ControllerRevisions(clone.Namespace).Get(ctx, clone.Name, metav1.GetOptions{})
		if getErr != nil {
			return nil, errors.Join(fmt.Errorf("renumber revision %s: %w", rev.Name, err), getErr)
		}
		clone = fresh
	}
}

func (h *history) delete(ctx context.Context, rev *apps.ControllerRevision) error {
	err := h.client.AppsV1().ControllerRevisions(rev.Namespace).Delete(ctx, rev.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete revision %s: %w", rev.Name, err)
	}
	return nil
}

// adopt adds a controller reference to set on an orphan revision.
func (h *history) adopt(ctx context.Context, set *apps.StatefulSet, rev *apps.ControllerRevision) error {
	patch, err := ownerRefPatch(set, rev.UID)
	if err != nil {
		return err
	}
	_, err = h.client.AppsV1().ControllerRevisions(rev.Namespace).Patch(ctx, rev.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("adopt revision %s: %w", rev.Name, err)
	}
	return nil
}

// ownerRefPatch is a strategic-merge patch adding a controller ref to set,
// guarded by the dependent's UID.
func ownerRefPatch(set *apps.StatefulSet, dependentUID types.UID) ([]byte, error) {
	ref := metav1.NewControllerRef(set, setKind)
	return json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{
			"ownerReferences": []interface{}{ref},
			"uid":             dependentUID,
		},
	})
}

// releasePatch removes the controller ref to set from a dependent.
func releasePatch(set *apps.StatefulSet, dependentUID types.UID) ([]byte, error) {
	return json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{
			"ownerReferences": []interface{}{map[string]interface{}{"$patch": "delete", "uid": set.UID}},
			"uid":             dependentUID,
		},
	})
}
