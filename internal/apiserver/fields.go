package apiserver

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry"
)

// addFieldLabelConversions lets field selectors name every selectable
// field of each kind, and rejects the others with kube's message.
func addFieldLabelConversions(s *runtime.Scheme, kinds []*registry.Kind) error {
	for _, k := range kinds {
		allowed := k.SelectableFields(k.New())
		gvk := k.GVK
		err := s.AddFieldLabelConversionFunc(gvk, func(label, value string) (string, string, error) {
			if _, ok := allowed[label]; ok {
				return label, value, nil
			}
			return "", "", fmt.Errorf("field label not supported: %s", label)
		})
		if err != nil {
			return fmt.Errorf("field labels of %s: %w", gvk.Kind, err)
		}
	}
	return nil
}
