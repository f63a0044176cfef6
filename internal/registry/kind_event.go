package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"petset/internal/registry/printers"
	"petset/internal/registry/validation"
)

// eventTTLSeconds is how long events are kept (kube-apiserver's --event-ttl default).
const eventTTLSeconds = 3600

// eventKind is core/v1 Event, expired after eventTTLSeconds.
func eventKind() *Kind {
	return &Kind{
		GVK: corev1.SchemeGroupVersion.WithKind("Event"), Resource: "events", Singular: "event",
		Namespaced: true, ShortNames: []string{"ev"}, TTLSeconds: eventTTLSeconds,
		New: func() runtime.Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} },
		Fields: func(obj runtime.Object) fields.Set {
			e := obj.(*corev1.Event)
			source := e.Source.Component
			if source == "" {
				source = e.ReportingController
			}
			return fields.Set{
				"involvedObject.kind": e.InvolvedObject.Kind, "involvedObject.namespace": e.InvolvedObject.Namespace,
				"involvedObject.name": e.InvolvedObject.Name, "involvedObject.uid": string(e.InvolvedObject.UID),
				"involvedObject.apiVersion": e.InvolvedObject.APIVersion, "involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
				"involvedObject.fieldPath": e.InvolvedObject.FieldPath, "reason": e.Reason, "reportingComponent": e.ReportingController,
				"source": source, "type": e.Type,
			}
		},

		Validate:       validateCreate(validation.ValidateEvent),
		ValidateUpdate: validateUpdate(validation.ValidateEventUpdate),
		NoDefaults:     true,
		Printer:        printers.Event,
	}
}
