package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// eventColumns are shared by core/v1 and events.k8s.io/v1 Events, which are
// two views of the same stored objects.
var eventColumns = []metav1.TableColumnDefinition{
	{Name: "Last Seen", Type: "string", Description: corev1.Event{}.SwaggerDoc()["lastTimestamp"]},
	{Name: "Type", Type: "string", Description: corev1.Event{}.SwaggerDoc()["type"]},
	{Name: "Reason", Type: "string", Description: corev1.Event{}.SwaggerDoc()["reason"]},
	{Name: "Object", Type: "string", Description: corev1.Event{}.SwaggerDoc()["involvedObject"]},
	{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
	{Name: "Source", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["source"]},
	{Name: "Message", Type: "string", Description: corev1.Event{}.SwaggerDoc()["message"]},
	{Name: "First Seen", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["firstTimestamp"]},
	{Name: "Count", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["count"]},
	{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: objectMetaDoc["name"]},
}

// Event is kube's table of Event objects: its columns and rows.
var Event = Printer{columns: eventColumns, row: rowFunc(coreEventRow)}

// EventsV1Event is kube's table of events.k8s.io/v1 Event objects (the same columns as core events).
var EventsV1Event = Printer{columns: eventColumns, row: rowFunc(eventsV1Row)}

// eventFields are the parts of an Event that its row shows, whichever API
// version it was read through.
type eventFields struct {
	name                   string
	firstSeen, lastSeen    metav1.Time
	eventTime              metav1.MicroTime
	series                 *eventsv1.EventSeries
	count                  int32
	object                 corev1.ObjectReference
	source                 corev1.EventSource
	controller, instance   string
	eventType, reason, msg string
}

func coreEventRow(e *corev1.Event, now time.Time) (metav1.TableRow, error) {
	f := eventFields{
		name: e.Name, firstSeen: e.FirstTimestamp, lastSeen: e.LastTimestamp, eventTime: e.EventTime,
		count: e.Count, object: e.InvolvedObject, source: e.Source,
		controller: e.ReportingController, instance: e.ReportingInstance,
		eventType: e.Type, reason: e.Reason, msg: e.Message,
	}
	if e.Series != nil {
		f.series = &eventsv1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return eventRow(f, now), nil
}

func eventsV1Row(e *eventsv1.Event, now time.Time) (metav1.TableRow, error) {
	return eventRow(eventFields{
		name: e.Name, firstSeen: e.DeprecatedFirstTimestamp, lastSeen: e.DeprecatedLastTimestamp, eventTime: e.EventTime,
		series: e.Series, count: e.DeprecatedCount, object: e.Regarding, source: e.DeprecatedSource,
		controller: e.ReportingController, instance: e.ReportingInstance,
		eventType: e.Type, reason: e.Reason, msg: e.Note,
	}, now), nil
}

// eventRow: FIRST SEEN falls back to eventTime and LAST SEEN to FIRST SEEN; a
// series overrides LAST SEEN and COUNT; a singleton counts 1. OBJECT is
// "kind/name" in lower-case kind.
func eventRow(e eventFields, now time.Time) metav1.TableRow {
	first := since(e.firstSeen, now)
	if e.firstSeen.IsZero() {
		first = sinceMicro(e.eventTime, now)
	}
	last := since(e.lastSeen, now)
	if e.lastSeen.IsZero() {
		last = first
	}
	count := e.count
	if e.series != nil {
		last = sinceMicro(e.series.LastObservedTime, now)
		count = e.series.Count
	} else if count == 0 {
		count = 1
	}

	target := strings.ToLower(e.object.Kind)
	if e.object.Name != "" {
		target += "/" + e.object.Name
	}
	return metav1.TableRow{Cells: []any{
		last,
		e.eventType,
		e.reason,
		target,
		e.object.FieldPath,
		eventSource(e.source, e.controller, e.instance),
		strings.TrimSpace(e.msg),
		first,
		int64(count),
		e.name,
	}}
}

// eventSource is "component, host", using the reporting controller and
// instance where the legacy source is empty.
func eventSource(s corev1.EventSource, controller, instance string) string {
	component := s.Component
	if component == "" {
		component = controller
	}
	host := s.Host
	if host == "" {
		host = instance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
