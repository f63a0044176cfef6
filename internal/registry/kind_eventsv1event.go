package registry

import (
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// eventsV1EventKind is events.k8s.io/v1 Event, a Go type of its own here
// (stored under its own key prefix, not converted to core events), expired
// after eventTTLSeconds.
func eventsV1EventKind() *Kind {
	return &Kind{
		GVK: eventsv1.SchemeGroupVersion.WithKind("Event"), Resource: "events", Singular: "event",
		Namespaced: true, ShortNames: []string{"ev"}, TTLSeconds: eventTTLSeconds,
		New: func() runtime.Object { return &eventsv1.Event{} }, NewList: func() runtime.Object { return &eventsv1.EventList{} },
		Fields: func(obj runtime.Object) fields.Set {
			e := obj.(*eventsv1.Event)
			return fields.Set{
				"regarding.kind": e.Regarding.Kind, "regarding.namespace": e.Regarding.Namespace,
				"regarding.name": e.Regarding.Name, "regarding.uid": string(e.Regarding.UID),
				"reason": e.Reason, "reportingController": e.ReportingController, "type": e.Type,
			}
		},

		Validate:       validateCreate(validation.ValidateEventsV1Event),
		ValidateUpdate: validateUpdate(validation.ValidateEventsV1EventUpdate),
		NoDefaults:     true,
		Printer:        printers.EventsV1Event,
	}
}
