package printers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Printer describes the table of one kind: its columns and how one object
// becomes one row.
type Printer struct {
	columns []metav1.TableColumnDefinition
	// row fills Cells (and Conditions) for one object. It fails for an object
	// of another type.
	row func(obj runtime.Object, now time.Time) (metav1.TableRow, error)
}

// rowFunc adapts a typed row function to Printer.row.
func rowFunc[T runtime.Object](f func(obj T, now time.Time) (metav1.TableRow, error)) func(runtime.Object, time.Time) (metav1.TableRow, error) {
	return func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
		t, ok := obj.(T)
		if !ok {
			return metav1.TableRow{}, fmt.Errorf("no table handler registered for this type %T", obj)
		}
		return f(t, now)
	}
}

// Convertor returns the Table convertor of resource gr printed by p: kube's
// columns, or rest.NewDefaultTableConvertor (NAME, CREATED AT) when p is
// the zero Printer.
func (p Printer) Convertor(gr schema.GroupResource) rest.TableConvertor {
	if p.IsZero() {
		return rest.NewDefaultTableConvertor(gr)
	}
	return convertor{printer: p, now: time.Now}
}

// IsZero reports whether p has no columns: a kind without kube's table.
func (p Printer) IsZero() bool { return len(p.columns) == 0 || p.row == nil }

// convertor is the rest.TableConvertor of one kind.
type convertor struct {
	printer Printer
	// now is the clock ages are measured against.
	now func() time.Time
}

var _ rest.TableConvertor = convertor{}

// ConvertToTable renders obj (one object or a List of them) as a Table with
// every column, as the Kubernetes API server does (it always prints "wide").
// tableOptions is nil or a *metav1.TableOptions; its NoHeaders drops the
// column definitions (the watch stream sends them only with the first event).
func (c convertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	noHeaders := false
	switch t := tableOptions.(type) {
	case nil:
	case *metav1.TableOptions:
		if t != nil {
			noHeaders = t.NoHeaders
		}
	default:
		return nil, fmt.Errorf("unrecognized type %T for table options, can't display tabular output", tableOptions)
	}

	now := c.now()
	table := &metav1.Table{Rows: []metav1.TableRow{}}
	add := func(o runtime.Object) error {
		row, err := c.printer.row(o, now)
		if err != nil {
			return err
		}
		row.Object = runtime.RawExtension{Object: o}
		table.Rows = append(table.Rows, row)
		return nil
	}
	if meta.IsListType(obj) {
		if err := meta.EachListItem(obj, add); err != nil {
			return nil, fmt.Errorf("printing %T as a table: %w", obj, err)
		}
	} else if err := add(obj); err != nil {
		return nil, err
	}

	if !noHeaders {
		table.ColumnDefinitions = c.printer.columns
	}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
		table.Continue = m.GetContinue()
		table.RemainingItemCount = m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	return table, nil
}

// Column descriptions shared by every kind.
var (
	objectMetaDoc  = metav1.ObjectMeta{}.SwaggerDoc()
	nameColumn     = metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
	ageColumn      = metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}
	containersDesc = "Names of each container in the template."
	imagesDesc     = "Images referenced by each container in the template."
)

// since is the age of a timestamp as kubectl shows it ("5m", "3d2h"), or
// "<unknown>" when the timestamp is unset.
func since(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// sinceMicro is since for a MicroTime.
func sinceMicro(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
