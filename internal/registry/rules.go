package registry

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateCreate adapts a typed validation function (package validation) to
// Kind.Validate.
func validateCreate[T runtime.Object](f func(T) field.ErrorList) func(runtime.Object) field.ErrorList {
	return func(obj runtime.Object) field.ErrorList { return f(obj.(T)) }
}

// validateUpdate adapts a typed update validation function to
// Kind.ValidateUpdate or Kind.ValidateStatusUpdate.
func validateUpdate[T runtime.Object](f func(obj, old T) field.ErrorList) func(obj, old runtime.Object) field.ErrorList {
	return func(obj, old runtime.Object) field.ErrorList { return f(obj.(T), old.(T)) }
}

// defaulter adapts a typed defaulting function (package defaults) to
// Kind.Default.
func defaulter[T runtime.Object](f func(T)) func(runtime.Object) {
	return func(obj runtime.Object) { f(obj.(T)) }
}

// AddDefaults installs on scheme the defaulting of every kind that has
// some, for its objects and for each item of its lists: the codec then
// defaults on decode and after patches, as kube's generated
// SetObjectDefaults_* do.
func AddDefaults(scheme *runtime.Scheme, kinds []*Kind) error {
	for _, k := range kinds {
		if (k.Default == nil) != k.NoDefaults {
			return fmt.Errorf("kind %s must declare exactly one of Default and NoDefaults", k.GVK)
		}
		if k.Default == nil {
			continue
		}
		def := k.Default
		scheme.AddTypeDefaultingFunc(k.New(), func(obj any) { def(obj.(runtime.Object)) })
		scheme.AddTypeDefaultingFunc(k.NewList(), func(list any) {
			// EachListItem hands out pointers into the list's items.
			_ = meta.EachListItem(list.(runtime.Object), func(item runtime.Object) error {
				def(item)
				return nil
			})
		})
	}
	return nil
}
