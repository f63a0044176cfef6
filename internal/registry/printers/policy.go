package printers

import (
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodDisruptionBudget is kube's table of PodDisruptionBudget objects: its
// columns and rows.
var PodDisruptionBudget = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Min Available", Type: "string", Description: "The minimum number of pods that must be available."},
		{Name: "Max Unavailable", Type: "string", Description: "The maximum number of pods that may be unavailable."},
		{Name: "Allowed Disruptions", Type: "integer", Description: "Calculated number of pods that may be disrupted at this time."},
		ageColumn,
	},
	row: rowFunc(podDisruptionBudgetRow),
}

// podDisruptionBudgetRow: MIN AVAILABLE and MAX UNAVAILABLE as written (an
// integer or a percentage), "N/A" for the one not set; ALLOWED DISRUPTIONS
// is status.disruptionsAllowed.
func podDisruptionBudgetRow(pdb *policyv1.PodDisruptionBudget, now time.Time) (metav1.TableRow, error) {
	minAvailable, maxUnavailable := "N/A", "N/A"
	if pdb.Spec.MinAvailable != nil {
		minAvailable = pdb.Spec.MinAvailable.String()
	}
	if pdb.Spec.MaxUnavailable != nil {
		maxUnavailable = pdb.Spec.MaxUnavailable.String()
	}
	return metav1.TableRow{Cells: []any{
		pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), since(pdb.CreationTimestamp, now),
	}}, nil
}
