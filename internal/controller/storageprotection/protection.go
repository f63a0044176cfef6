package storageprotection

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// object is a kind a protection controller guards: a claim or a volume.
type object[T any] interface {
	metav1.Object
	DeepCopy() T
}

// protection is the shape both controllers share: a key names an object
// of kind T; being deleted, it loses finalizer once nothing holds it; not
// being deleted, it gets finalizer if it lacks it. What differs per kind
// is how the object is read and written and what holds it.
type protection[T object[T]] struct {
	finalizer string
	// kind names the object in logs ("claim", "volume"); it is also the
	// per-item logger's key.
	kind string
	// get reads the object of key from the informer cache.
	get func(key string) (T, error)
	// holder names what keeps obj, being deleted, from losing the
	// finalizer, as log attributes; nil when nothing does.
	holder func(ctx context.Context, obj T) ([]any, error)
	// update writes obj.
	update func(ctx context.Context, obj T) error
	runner *runner.Runner[string]
}

// start builds the runner that reconciles keys of p once synced.
func (p *protection[T]) start(name string, workers int, synced ...cache.InformerSynced) {
	p.runner = runner.New(runner.Config[string]{
		Name:      name,
		Workers:   workers,
		Reconcile: p.reconcile,
		Synced:    synced,
		LogAttrs:  func(key string) []any { return []any{p.kind, key} },
	})
}

// Run protects objects until ctx ends.
func (p *protection[T]) Run(ctx context.Context) error { return p.runner.Run(ctx) }

// Ready is closed once the caches have synced and the workers run.
func (p *protection[T]) Ready() <-chan struct{} { return p.runner.Ready() }

// enqueueIfWork queues obj's key if it is being deleted with the
// finalizer, or lacks it.
func (p *protection[T]) enqueueIfWork(obj T, key string) {
	if needToAddFinalizer(obj, p.finalizer) || isDeletionCandidate(obj, p.finalizer) {
		p.runner.Enqueue(key)
	}
}

// reconcile removes the finalizer of the object key if it is being deleted
// and nothing holds it, or adds it if it is missing.
func (p *protection[T]) reconcile(ctx context.Context, key string) (runner.Result, error) {
	obj, err := p.get(key)
	if apierrors.IsNotFound(err) {
		return runner.Done, nil
	}
	if err != nil {
		return runner.Done, err
	}
	log := logging.FromContext(ctx)
	switch {
	case isDeletionCandidate(obj, p.finalizer):
		holder, err := p.holder(ctx, obj)
		if err != nil {
			return runner.Done, err
		}
		if holder != nil {
			log.Debug("keeping "+p.kind+": in use", holder...)
			return runner.Done, nil
		}
		if err := p.setFinalizers(ctx, obj, func(f []string) []string {
			return slices.DeleteFunc(f, func(s string) bool { return s == p.finalizer })
		}); err != nil {
			return runner.Done, fmt.Errorf("removing %s: %w", p.finalizer, err)
		}
		log.Info(p.kind + " unused: protection finalizer removed")
	case needToAddFinalizer(obj, p.finalizer):
		if err := p.setFinalizers(ctx, obj, func(f []string) []string { return append(f, p.finalizer) }); err != nil {
			return runner.Done, fmt.Errorf("adding %s: %w", p.finalizer, err)
		}
		log.Debug("protection finalizer added")
	}
	return runner.Done, nil
}

// setFinalizers writes a copy of obj with finalizers changed; an object
// already gone is no error.
func (p *protection[T]) setFinalizers(ctx context.Context, obj T, finalizers func([]string) []string) error {
	upd := obj.DeepCopy()
	upd.SetFinalizers(finalizers(upd.GetFinalizers()))
	if err := p.update(ctx, upd); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func isDeletionCandidate(obj metav1.Object, finalizer string) bool {
	return obj.GetDeletionTimestamp() != nil && slices.Contains(obj.GetFinalizers(), finalizer)
}

func needToAddFinalizer(obj metav1.Object, finalizer string) bool {
	return obj.GetDeletionTimestamp() == nil && !slices.Contains(obj.GetFinalizers(), finalizer)
}
