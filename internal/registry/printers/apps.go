package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// StatefulSet is kube's table of StatefulSet objects: its columns and rows.
var StatefulSet = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
		ageColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDesc},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDesc},
	},
	row: rowFunc(statefulSetRow),
}

// statefulSetRow: READY is status.readyReplicas/spec.replicas (replicas
// defaults to 1 when unset).
func statefulSetRow(sts *appsv1.StatefulSet, now time.Time) (metav1.TableRow, error) {
	names, images := containerCells(sts.Spec.Template.Spec.Containers)
	return metav1.TableRow{Cells: []any{
		sts.Name,
		fmt.Sprintf("%d/%d", sts.Status.ReadyReplicas, replicasOrOne(sts.Spec.Replicas)),
		since(sts.CreationTimestamp, now),
		names,
		images,
	}}, nil
}

// containerCells are the CONTAINERS and IMAGES cells: names and images,
// comma-separated in template order.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// ControllerRevision is kube's table of ControllerRevision objects: its columns and rows.
var ControllerRevision = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Controller", Type: "string", Description: "Controller of the object"},
		{Name: "Revision", Type: "string", Description: appsv1beta1.ControllerRevision{}.SwaggerDoc()["revision"]},
		ageColumn,
	},
	row: rowFunc(controllerRevisionRow),
}

// controllerRevisionRow: CONTROLLER is "<kind>.<group>/<name>" of the
// controlling owner in lower case ("statefulset.apps/web"), or "<none>".
func controllerRevisionRow(cr *appsv1.ControllerRevision, now time.Time) (metav1.TableRow, error) {
	controller := "<none>"
	if ref := metav1.GetControllerOf(cr); ref != nil {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return metav1.TableRow{}, fmt.Errorf("controller revision %s/%s: owner apiVersion: %w", cr.Namespace, cr.Name, err)
		}
		controller = ref.Name
		if gk := gv.WithKind(ref.Kind).GroupKind(); !gk.Empty() {
			controller = strings.ToLower(gk.String()) + "/" + ref.Name
		}
	}
	return metav1.TableRow{Cells: []any{cr.Name, controller, cr.Revision, since(cr.CreationTimestamp, now)}}, nil
}

// Deployment is kube's table of Deployment objects: its columns and rows.
var Deployment = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
		{Name: "Up-to-date", Type: "string", Description: appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]},
		{Name: "Available", Type: "string", Description: appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]},
		ageColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDesc},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDesc},
		{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]},
	},
	row: rowFunc(deploymentRow),
}

// deploymentRow: READY is status.readyReplicas/spec.replicas, UP-TO-DATE
// and AVAILABLE the status counts; SELECTOR "<invalid>" for a selector
// that does not parse.
func deploymentRow(d *appsv1.Deployment, now time.Time) (metav1.TableRow, error) {
	selector := "<invalid>"
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = sel.String()
	}
	names, images := containerCells(d.Spec.Template.Spec.Containers)
	return metav1.TableRow{Cells: []any{
		d.Name,
		fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicasOrOne(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas),
		int64(d.Status.AvailableReplicas),
		since(d.CreationTimestamp, now),
		names, images, selector,
	}}, nil
}

// ReplicaSet is kube's table of ReplicaSet objects: its columns and rows.
var ReplicaSet = Printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Desired", Type: "integer", Description: appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]},
		{Name: "Current", Type: "integer", Description: appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]},
		{Name: "Ready", Type: "integer", Description: appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]},
		ageColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDesc},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDesc},
		{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"]},
	},
	row: rowFunc(replicaSetRow),
}

// replicaSetRow: DESIRED is spec.replicas, CURRENT and READY the status
// counts; SELECTOR as kubectl formats a label selector.
func replicaSetRow(rs *appsv1.ReplicaSet, now time.Time) (metav1.TableRow, error) {
	names, images := containerCells(rs.Spec.Template.Spec.Containers)
	return metav1.TableRow{Cells: []any{
		rs.Name,
		int64(replicasOrOne(rs.Spec.Replicas)),
		int64(rs.Status.Replicas),
		int64(rs.Status.ReadyReplicas),
		since(rs.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
	}}, nil
}

// replicasOrOne is spec.replicas, 1 when unset (the default).
func replicasOrOne(replicas *int32) int32 {
	if replicas == nil {
		return 1
	}
	return *replicas
}
