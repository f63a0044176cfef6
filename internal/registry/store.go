package registry

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Store is a registry.Store that also reports its short names and categories
// to discovery.
type Store struct {
	*genericregistry.Store
	kind *Kind
	// status is the kind's status subresource (nil without one), for
	// subresources of other kinds that write it (pods/eviction).
	status *StatusREST
}

func (s *Store) ShortNames() []string { return s.kind.ShortNames }
func (s *Store) Categories() []string { return s.kind.Categories }
func (s *Store) Kind() *Kind          { return s.kind }

// StatusREST serves the status subresource of a Kind.
type StatusREST struct {
	store *genericregistry.Store
}

func (r *StatusREST) New() runtime.Object { return r.store.New() }
func (r *StatusREST) Destroy()            {}

func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// NewStore builds the etcd-backed store of a Kind and, when the kind has
// one, its status subresource.
func NewStore(k *Kind, typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*Store, *StatusREST, error) {
	st := strategy{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator, kind: k}
	attrs := func(obj runtime.Object) (labels.Set, fields.Set, error) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, nil, fmt.Errorf("not a %s: %w", k.GVK.Kind, err)
		}
		return labels.Set(m.GetLabels()), k.SelectableFields(obj), nil
	}
	s := &genericregistry.Store{
		NewFunc:                   k.New,
		NewListFunc:               k.NewList,
		DefaultQualifiedResource:  k.GroupResource(),
		SingularQualifiedResource: singular(k),
		PredicateFunc: func(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
			return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: attrs}
		},
		CreateStrategy:      st,
		UpdateStrategy:      st,
		DeleteStrategy:      st,
		ResetFieldsStrategy: st,
		ReturnDeletedObject: k.ReturnDeletedObject,
		TableConvertor:      k.Printer.Convertor(k.GroupResource()),
		BeginCreate:         k.BeginCreate,
		BeginUpdate:         k.BeginUpdate,
		AfterDelete:         k.AfterDelete,
	}
	if k.TTLSeconds > 0 {
		s.TTLFunc = func(obj runtime.Object, existing uint64, update bool) (uint64, error) {
			return k.TTLSeconds, nil
		}
	}
	if err := s.CompleteWithOptions(&generic.StoreOptions{RESTOptions: opts, AttrFunc: attrs}); err != nil {
		return nil, nil, fmt.Errorf("complete store for %s: %w", k.GroupResource(), err)
	}
	s.Storage.Storage = sizeLimited{s.Storage.Storage}
	store := &Store{Store: s, kind: k}
	if !k.HasStatus {
		return store, nil, nil
	}
	statusStore := *s
	ss := statusStrategy{strategy: st}
	statusStore.UpdateStrategy = ss
	statusStore.ResetFieldsStrategy = ss
	store.status = &StatusREST{store: &statusStore}
	return store, store.status, nil
}

func singular(k *Kind) (gr schema.GroupResource) {
	gr.Group = k.GVK.Group
	gr.Resource = k.Singular
	return gr
}
