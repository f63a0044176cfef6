package printers

import (
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NetworkPolicy is kube's table of NetworkPolicy objects: NAME, POD-SELECTOR
// (the selector as kubectl formats one, <none> when empty) and AGE.
var NetworkPolicy = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Pod-Selector", Type: "string", Description: networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
		ageColumn,
	},
	row: rowFunc(func(np *networkingv1.NetworkPolicy, now time.Time) (metav1.TableRow, error) {
		return metav1.TableRow{Cells: []any{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), since(np.CreationTimestamp, now)}}, nil
	}),
}
