package controllerref

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"petset/internal/logging"
)

// Claimer claims one owner's dependents of type T.
type Claimer[T metav1.Object] struct {
	Owner metav1.Object
	// Kind is the owner's, for its controller reference.
	Kind     schema.GroupVersionKind
	Selector labels.Selector
	// Recheck confirms with a live read that the owner exists with its UID
	// and is not being deleted; it runs once, before the first adoption.
	Recheck func(ctx context.Context) error
	// Patch applies a strategic merge patch to a dependent and returns it
	// (the zero T, with no error, when it is gone or the patch no longer
	// applies).
	Patch func(ctx context.Context, dependent T, patch []byte) (T, error)
}

// Claim returns the dependents the owner controls and its selector
// matches, after adopting matching orphans and releasing the ones that no
// longer match. An owner being deleted neither adopts nor releases.
func (c Claimer[T]) Claim(ctx context.Context, dependents []T) ([]T, error) {
	var (
		claimed []T
		errs    []error
		checked bool
		gone    error
	)
	deleting := c.Owner.GetDeletionTimestamp() != nil
	for _, obj := range dependents {
		matches := c.Selector.Matches(labels.Set(obj.GetLabels()))
		if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
			switch {
			case ref.UID != c.Owner.GetUID():
			case matches:
				claimed = append(claimed, obj)
			case !deleting:
				if _, err := c.patch(ctx, obj, false); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		if !matches || deleting || obj.GetDeletionTimestamp() != nil {
			continue
		}
		if !checked {
			checked, gone = true, c.Recheck(ctx)
		}
		if gone != nil {
			errs = append(errs, fmt.Errorf("cannot adopt %s: %w", obj.GetName(), gone))
			continue
		}
		adopted, err := c.patch(ctx, obj, true)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if adopted != nil {
			claimed = append(claimed, *adopted)
		}
	}
	return claimed, errors.Join(errs...)
}

// patch adds the owner's controller reference to obj, or removes it,
// guarded by obj's UID.
func (c Claimer[T]) patch(ctx context.Context, obj T, adopt bool) (*T, error) {
	var ref any = map[string]any{"$patch": "delete", "uid": c.Owner.GetUID()}
	verb := "release"
	if adopt {
		ref, verb = metav1.NewControllerRef(c.Owner, c.Kind), "adopt"
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []any{ref}, "uid": obj.GetUID()}})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, obj.GetName(), err)
	}
	got, err := c.Patch(ctx, obj, patch)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, obj.GetName(), err)
	}
	var zero T
	if any(got) == any(zero) {
		return nil, nil
	}
	logging.FromContext(ctx).Info(map[string]string{"adopt": "adopted", "release": "released"}[verb], "dependent", obj.GetName())
	return &got, nil
}

// Fresh is the Recheck of an owner from its live read (fresh, err): an
// error unless it still exists with the same UID and is not being deleted.
func Fresh(owner, fresh metav1.Object, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("recheck %s before adoption: %w", owner.GetName(), err)
	case fresh.GetUID() != owner.GetUID():
		return fmt.Errorf("original %s/%s is gone: got uid %s, wanted %s", owner.GetNamespace(), owner.GetName(), fresh.GetUID(), owner.GetUID())
	case fresh.GetDeletionTimestamp() != nil:
		return fmt.Errorf("%s/%s has just been deleted at %s", owner.GetNamespace(), owner.GetName(), fresh.GetDeletionTimestamp())
	}
	return nil
}
