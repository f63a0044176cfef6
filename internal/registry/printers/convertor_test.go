package printers

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

// now is the fixed clock of every test; objects are dated relative to it.
var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func agoPtr(d time.Duration) *metav1.Time { t := ago(d); return &t }

// byResource is the Printer of each resource the tests print, as the
// registry's kind declarations wire them.
var byResource = map[schema.GroupResource]Printer{
	{Resource: "pods"}: Pod, {Resource: "nodes"}: Node, {Resource: "namespaces"}: Namespace,
	{Resource: "services"}: Service, {Resource: "endpoints"}: Endpoints,
	{Resource: "persistentvolumes"}: PersistentVolume, {Resource: "persistentvolumeclaims"}: PersistentVolumeClaim,
	{Resource: "configmaps"}: ConfigMap, {Resource: "secrets"}: Secret, {Resource: "serviceaccounts"}: ServiceAccount,
	{Resource: "events"}: Event, {Group: "events.k8s.io", Resource: "events"}: EventsV1Event,
	{Group: "discovery.k8s.io", Resource: "endpointslices"}: EndpointSlice,
	{Group: "storage.k8s.io", Resource: "storageclasses"}:   StorageClass,
	{Group: "coordination.k8s.io", Resource: "leases"}:      Lease,
	{Group: "apps", Resource: "statefulsets"}:               StatefulSet, {Group: "apps", Resource: "controllerrevisions"}: ControllerRevision,
	{Group: "rbac.authorization.k8s.io", Resource: "roles"}: Role, {Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}: Role,
	{Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}:         RoleBinding,
	{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}:  ClusterRoleBinding,
	{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}: CertificateSigningRequest,
	{Group: "policy", Resource: "poddisruptionbudgets"}:                    PodDisruptionBudget,
	{Group: "networking.k8s.io", Resource: "networkpolicies"}:              NetworkPolicy,
	{Group: "apps", Resource: "deployments"}:                               Deployment,
	{Group: "apps", Resource: "replicasets"}:                               ReplicaSet,
	{Group: "batch", Resource: "jobs"}:                                     Job, {Group: "batch", Resource: "cronjobs"}: CronJob,
}

// convertorFor is the convertor of gr's Printer (the default one for a
// resource without).
func convertorFor(gr schema.GroupResource) rest.TableConvertor { return byResource[gr].Convertor(gr) }

// convertAt converts obj with gr's convertor, on the fixed clock.
func convertAt(t *testing.T, gr schema.GroupResource, obj runtime.Object, opts runtime.Object) *metav1.Table {
	t.Helper()
	c, ok := convertorFor(gr).(convertor)
	if !ok {
		t.Fatalf("convertor(%v) is %T, want kube's columns", gr, convertorFor(gr))
	}
	c.now = func() time.Time { return now }
	table, err := c.ConvertToTable(context.Background(), obj, opts)
	if err != nil {
		t.Fatalf("ConvertToTable(%T): %v", obj, err)
	}
	for i, row := range table.Rows {
		if len(row.Cells) != len(c.printer.columns) {
			t.Fatalf("row %d has %d cells for %d columns: %v", i, len(row.Cells), len(c.printer.columns), row.Cells)
		}
	}
	return table
}

// cells converts one object and returns its row's cells.
func cells(t *testing.T, gr schema.GroupResource, obj runtime.Object) []any {
	t.Helper()
	table := convertAt(t, gr, obj, nil)
	if len(table.Rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(table.Rows))
	}
	return table.Rows[0].Cells
}

func columnNames(cols []metav1.TableColumnDefinition, priority int32) []string {
	var names []string
	for _, c := range cols {
		if c.Priority == priority {
			names = append(names, strings.ToUpper(c.Name))
		}
	}
	return names
}

func TestColumnsMatchKubectlHeaders(t *testing.T) {
	tests := []struct {
		gr         schema.GroupResource
		normal     string
		wideExtras string
	}{
		{schema.GroupResource{Resource: "pods"}, "NAME READY STATUS RESTARTS AGE", "IP NODE NOMINATED NODE READINESS GATES"},
		{schema.GroupResource{Group: "apps", Resource: "statefulsets"}, "NAME READY AGE", "CONTAINERS IMAGES"},
		{schema.GroupResource{Group: "apps", Resource: "deployments"}, "NAME READY UP-TO-DATE AVAILABLE AGE", "CONTAINERS IMAGES SELECTOR"},
		{schema.GroupResource{Group: "apps", Resource: "replicasets"}, "NAME DESIRED CURRENT READY AGE", "CONTAINERS IMAGES SELECTOR"},
		{schema.GroupResource{Resource: "persistentvolumeclaims"}, "NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE", "VOLUMEMODE"},
		{schema.GroupResource{Resource: "persistentvolumes"}, "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE", "VOLUMEMODE"},
		{schema.GroupResource{Resource: "nodes"}, "NAME STATUS ROLES AGE VERSION", "INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME"},
		{schema.GroupResource{Resource: "events"}, "LAST SEEN TYPE REASON OBJECT MESSAGE", "SUBOBJECT SOURCE FIRST SEEN COUNT NAME"},
		{schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "LAST SEEN TYPE REASON OBJECT MESSAGE", "SUBOBJECT SOURCE FIRST SEEN COUNT NAME"},
		{schema.GroupResource{Resource: "namespaces"}, "NAME STATUS AGE", ""},
		{schema.GroupResource{Resource: "services"}, "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE", "SELECTOR"},
		{schema.GroupResource{Resource: "endpoints"}, "NAME ENDPOINTS AGE", ""},
		{schema.GroupResource{Resource: "configmaps"}, "NAME DATA AGE", ""},
		{schema.GroupResource{Resource: "secrets"}, "NAME TYPE DATA AGE", ""},
		{schema.GroupResource{Resource: "serviceaccounts"}, "NAME AGE", ""},
		{schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}, "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE", ""},
		{schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "NAME HOLDER AGE", ""},
		{schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "NAME ADDRESSTYPE PORTS ENDPOINTS AGE", ""},
		{schema.GroupResource{Group: "apps", Resource: "controllerrevisions"}, "NAME CONTROLLER REVISION AGE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.gr.String(), func(t *testing.T) {
			c, ok := convertorFor(tt.gr).(convertor)
			if !ok {
				t.Fatalf("convertor(%v) is %T, want kube's columns", tt.gr, convertorFor(tt.gr))
			}
			if got := strings.Join(columnNames(c.printer.columns, 0), " "); got != tt.normal {
				t.Errorf("columns = %q, want %q", got, tt.normal)
			}
			if got := strings.Join(columnNames(c.printer.columns, 1), " "); got != tt.wideExtras {
				t.Errorf("wide columns = %q, want %q", got, tt.wideExtras)
			}
			for _, col := range c.printer.columns {
				if col.Description == "" || col.Type == "" {
					t.Errorf("column %q lacks a type or description: %+v", col.Name, col)
				}
			}
		})
	}
}

func TestUnknownResourceFallsBackToDefault(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "daemonsets"}
	conv := convertorFor(gr)
	if _, ok := conv.(convertor); ok {
		t.Fatalf("convertor(%v) returned kube's columns for a kind petset does not print", gr)
	}
	table, err := conv.ConvertToTable(context.Background(), &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "d", CreationTimestamp: ago(time.Hour)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(columnNames(table.ColumnDefinitions, 0), " "); got != "NAME CREATED AT" {
		t.Errorf("default columns = %q", got)
	}
}

func TestListTable(t *testing.T) {
	count := int64(7)
	list := &corev1.ConfigMapList{
		ListMeta: metav1.ListMeta{ResourceVersion: "115", Continue: "tok", RemainingItemCount: &count},
		Items: []corev1.ConfigMap{
			{ObjectMeta: metav1.ObjectMeta{Name: "a", CreationTimestamp: ago(90 * time.Second)}, Data: map[string]string{"k": "v"}},
			{ObjectMeta: metav1.ObjectMeta{Name: "b", CreationTimestamp: ago(50 * time.Hour)}, Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": {1}}},
		},
	}
	gr := schema.GroupResource{Resource: "configmaps"}
	table := convertAt(t, gr, list, &metav1.TableOptions{})

	if table.ResourceVersion != "115" || table.Continue != "tok" || table.RemainingItemCount == nil || *table.RemainingItemCount != 7 {
		t.Errorf("list meta = %+v, want rv 115, continue tok, remaining 7", table.ListMeta)
	}
	if len(table.ColumnDefinitions) != 3 {
		t.Errorf("got %d column definitions, want 3", len(table.ColumnDefinitions))
	}
	want := [][]any{{"a", int64(1), "90s"}, {"b", int64(2), "2d2h"}}
	if len(table.Rows) != len(want) {
		t.Fatalf("got %d rows, want %d", len(table.Rows), len(want))
	}
	for i, row := range table.Rows {
		if !reflect.DeepEqual(row.Cells, want[i]) {
			t.Errorf("row %d cells = %#v, want %#v", i, row.Cells, want[i])
		}
		if row.Object.Object != &list.Items[i] {
			t.Errorf("row %d object = %p, want the list item %p", i, row.Object.Object, &list.Items[i])
		}
	}

	noHeaders := convertAt(t, gr, list, &metav1.TableOptions{NoHeaders: true})
	if noHeaders.ColumnDefinitions != nil {
		t.Errorf("NoHeaders still sent %d column definitions", len(noHeaders.ColumnDefinitions))
	}
	if len(noHeaders.Rows) != 2 {
		t.Errorf("NoHeaders table has %d rows, want 2", len(noHeaders.Rows))
	}
}

func TestSingleObjectTable(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "42", CreationTimestamp: ago(time.Minute)}}
	table := convertAt(t, schema.GroupResource{Resource: "configmaps"}, cm, nil)
	if table.ResourceVersion != "42" {
		t.Errorf("resourceVersion = %q, want the object's 42", table.ResourceVersion)
	}
	if len(table.Rows) != 1 || table.Rows[0].Object.Object != cm {
		t.Fatalf("rows = %+v, want one row carrying the object", table.Rows)
	}
	if len(table.ColumnDefinitions) != 3 {
		t.Errorf("nil table options: got %d column definitions, want 3", len(table.ColumnDefinitions))
	}
}

func TestEmptyListEncodesRowsAsArray(t *testing.T) {
	table := convertAt(t, schema.GroupResource{Resource: "pods"}, &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "9"}}, nil)
	b, err := json.Marshal(table)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"rows":[]`) {
		t.Errorf("empty list encodes as %s, want \"rows\":[]", b)
	}
	if table.ResourceVersion != "9" {
		t.Errorf("resourceVersion = %q, want 9", table.ResourceVersion)
	}
}

func TestConvertErrors(t *testing.T) {
	c := convertorFor(schema.GroupResource{Resource: "pods"})
	if _, err := c.ConvertToTable(context.Background(), &corev1.ConfigMap{}, nil); err == nil {
		t.Error("a ConfigMap given to the pod convertor was printed, want an error")
	}
	if _, err := c.ConvertToTable(context.Background(), &corev1.Pod{}, &corev1.Pod{}); err == nil {
		t.Error("table options of a wrong type were accepted, want an error")
	}
	if _, err := c.ConvertToTable(context.Background(), &corev1.ConfigMapList{Items: []corev1.ConfigMap{{}}}, nil); err == nil {
		t.Error("a ConfigMapList given to the pod convertor was printed, want an error")
	}
}
