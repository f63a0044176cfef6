package registry

import (
	"context"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"petset/internal/registry/printers"
)

// Kind describes one served resource and every rule that differs between
// kinds: names, strategy hooks, validation, defaulting, table columns and
// subresources. Each kind is declared in one file, kind_<name>.go, which
// names the functions that implement its rules (the long validation,
// defaulting and printing bodies live in packages validation, defaults and
// printers); nothing about a kind is registered anywhere else. Everything
// else (metadata handling, status split, generation) is common and lives in
// the strategies below.
type Kind struct {
	GVK        schema.GroupVersionKind
	Resource   string // plural, e.g. "pods"
	Singular   string
	Namespaced bool
	ShortNames []string
	Categories []string
	New        func() runtime.Object
	NewList    func() runtime.Object

	// HasStatus splits spec from status: the main resource ignores status
	// changes, the status subresource ignores everything but status and
	// metadata labels/annotations, and spec changes bump generation.
	HasStatus bool
	// KeepStatusOnCreate keeps the status a client creates the object with
	// (nodes: the agent registers with its status, as kubelet does).
	KeepStatusOnCreate bool
	// ReturnDeletedObject makes DELETE answer with the object instead of a Status.
	ReturnDeletedObject bool
	// NoUnconditionalUpdate requires a resourceVersion on update (leases).
	NoUnconditionalUpdate bool

	// PrepareForCreate and PrepareForUpdate adjust kind-specific server-owned
	// fields; they run after the common preparation.
	PrepareForCreate func(ctx context.Context, obj runtime.Object)
	PrepareForUpdate func(ctx context.Context, obj, old runtime.Object)
	// PrepareForStatusUpdate runs on the status subresource after the spec was restored.
	PrepareForStatusUpdate func(ctx context.Context, obj, old runtime.Object)

	// Validate, ValidateUpdate and ValidateStatusUpdate (kinds with status
	// only) check a create, an update of the main resource and one of
	// /status (package validation; see validateCreate and validateUpdate).
	Validate             func(obj runtime.Object) field.ErrorList
	ValidateUpdate       func(obj, old runtime.Object) field.ErrorList
	ValidateStatusUpdate func(obj, old runtime.Object) field.ErrorList
	WarningsOnCreate     func(obj runtime.Object) []string
	// WarningsOnUpdate warns on updates of the main resource (not status).
	WarningsOnUpdate func(obj, old runtime.Object) []string

	// BeginCreate, BeginUpdate and AfterDelete hold resources outside the
	// object (allocated IPs and ports) for the duration of a write.
	BeginCreate genericregistry.BeginCreateFunc
	BeginUpdate genericregistry.BeginUpdateFunc
	AfterDelete genericregistry.AfterDeleteFunc
	// TTLSeconds expires objects (events) after this long; 0 keeps them.
	TTLSeconds uint64

	// GracefulDelete decides graceful deletion (pods); nil means immediate.
	GracefulDelete func(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool

	// Fields returns the kind's selectable fields beyond metadata.name and
	// metadata.namespace, for field selectors.
	Fields func(obj runtime.Object) fields.Set

	// Default applies kube's defaults to an object of the kind (package
	// defaults); AddDefaults installs it on the scheme, which runs it on
	// every decode and after patches. NoDefaults declares instead that kube
	// defaults nothing in the kind; a kind sets exactly one of the two.
	Default    func(obj runtime.Object)
	NoDefaults bool

	// Printer is the kind's table: the columns and rows kubectl get prints
	// (package printers).
	Printer printers.Printer

	// Subresources returns the kind's subresources beyond /status, given its
	// own store and every kind's; nil has none.
	Subresources func(self *Store, stores map[schema.GroupResource]*Store) map[string]rest.Storage
	// Storage wraps the store serving the main resource where the kind's
	// verbs differ from a plain store (namespace deletion); nil serves the
	// store itself.
	Storage func(store *Store) rest.Storage
}

// GroupResource is the kind's qualified resource.
func (k *Kind) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: k.GVK.Group, Resource: k.Resource}
}

// SelectableFields returns every field a selector may name for obj.
func (k *Kind) SelectableFields(obj runtime.Object) fields.Set {
	set := fields.Set{}
	if m, err := meta.Accessor(obj); err == nil {
		set = generic.ObjectMetaFieldsSet(&metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace()}, k.Namespaced)
	}
	if k.Fields != nil {
		for f, v := range k.Fields(obj) {
			set[f] = v
		}
	}
	return set
}

// strategy implements the create, update and delete strategies of a Kind.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	kind *Kind
}

func (s strategy) NamespaceScoped() bool { return s.kind.Namespaced }

func (s strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	m, _ := meta.Accessor(obj)
	if s.kind.HasStatus {
		if !s.kind.KeepStatusOnCreate {
			setField(obj, "Status", reflect.Zero(fieldOf(obj, "Status").Type()))
		}
		if fieldOf(obj, "Spec").IsValid() {
			m.SetGeneration(1)
		}
	}
	if s.kind.PrepareForCreate != nil {
		s.kind.PrepareForCreate(ctx, obj)
	}
}

func (s strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	if s.kind.Validate == nil {
		return nil
	}
	return s.kind.Validate(obj)
}

func (s strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	if s.kind.WarningsOnCreate == nil {
		return nil
	}
	return s.kind.WarningsOnCreate(obj)
}

func (s strategy) Canonicalize(obj runtime.Object) {}

func (s strategy) AllowCreateOnUpdate(ctx context.Context) bool { return false }

func (s strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if s.kind.HasStatus {
		setField(obj, "Status", fieldOf(old, "Status"))
		if spec := fieldOf(obj, "Spec"); spec.IsValid() && !equality.Semantic.DeepEqual(spec.Interface(), fieldOf(old, "Spec").Interface()) {
			m, _ := meta.Accessor(obj)
			o, _ := meta.Accessor(old)
			m.SetGeneration(o.GetGeneration() + 1)
		}
	}
	if s.kind.PrepareForUpdate != nil {
		s.kind.PrepareForUpdate(ctx, obj, old)
	}
}

// generationOne is a PrepareForCreate for kinds without a status whose
// upstream strategy starts the generation at 1 (the generic one does so for
// kinds with a status only).
func generationOne(_ context.Context, obj runtime.Object) {
	m, _ := meta.Accessor(obj)
	m.SetGeneration(1)
}

// generationFollows is a PrepareForUpdate for kinds without a status whose
// generation moves when the named field (their spec) changes.
func generationFollows(name string) func(ctx context.Context, obj, old runtime.Object) {
	return func(_ context.Context, obj, old runtime.Object) {
		if !equality.Semantic.DeepEqual(fieldOf(obj, name).Interface(), fieldOf(old, name).Interface()) {
			m, _ := meta.Accessor(obj)
			o, _ := meta.Accessor(old)
			m.SetGeneration(o.GetGeneration() + 1)
		}
	}
}

func (s strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	if s.kind.ValidateUpdate == nil {
		return nil
	}
	return s.kind.ValidateUpdate(obj, old)
}

func (s strategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	if s.kind.WarningsOnUpdate == nil {
		return nil
	}
	return s.kind.WarningsOnUpdate(obj, old)
}

func (s strategy) AllowUnconditionalUpdate(ctx context.Context) bool {
	return !s.kind.NoUnconditionalUpdate
}

func (s strategy) CheckGracefulDelete(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	if s.kind.GracefulDelete == nil {
		return false
	}
	return s.kind.GracefulDelete(ctx, obj, options)
}

// GetResetFields tells server-side apply which fields the main resource
// does not own.
func (s strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if !s.kind.HasStatus {
		return nil
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.kind.GVK.GroupVersion().String()): fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// statusStrategy is the update strategy of the status subresource.
type statusStrategy struct {
	strategy
}

// WarningsOnUpdate: status writes carry no warnings, as upstream's status
// strategies.
func (s statusStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

func (s statusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	restoreForSubresource(obj, old)
	if s.kind.PrepareForStatusUpdate != nil {
		s.kind.PrepareForStatusUpdate(ctx, obj, old)
	}
}

// restoreForSubresource keeps everything but status, labels and
// annotations of old: what a status-like subresource may not change.
func restoreForSubresource(obj, old runtime.Object) {
	if spec := fieldOf(old, "Spec"); spec.IsValid() {
		setField(obj, "Spec", spec)
	}
	// Only labels, annotations and status may change through /status.
	m, _ := meta.Accessor(obj)
	o, _ := meta.Accessor(old)
	m.SetOwnerReferences(o.GetOwnerReferences())
	m.SetFinalizers(o.GetFinalizers())
	m.SetDeletionTimestamp(o.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(o.GetDeletionGracePeriodSeconds())
	m.SetGeneration(o.GetGeneration())
}

func (s statusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	if s.kind.ValidateStatusUpdate == nil {
		return nil
	}
	return s.kind.ValidateStatusUpdate(obj, old)
}

func (s statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.kind.GVK.GroupVersion().String()): fieldpath.NewSet(
			fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata", "ownerReferences"),
			fieldpath.MakePathOrDie("metadata", "finalizers"),
		),
	}
}

func fieldOf(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	return v.FieldByName(name)
}

func setField(obj runtime.Object, name string, value reflect.Value) {
	f := fieldOf(obj, name)
	if f.IsValid() && f.CanSet() {
		f.Set(value)
	}
}
