package apiserver

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"petset/internal/registry"
)

// FuzzDecodeRequest feeds arbitrary bodies through what the server does
// with a request body before storage: decoding (JSON, YAML, protobuf; strict
// and lenient) into each served kind with defaulting, then the kind's
// validation. None of it may panic.
func FuzzDecodeRequest(f *testing.F) {
	scheme, codecs, err := NewScheme()
	if err != nil {
		f.Fatal(err)
	}
	kinds := registry.Kinds(registry.Deps{})
	if err := registry.AddDefaults(scheme, kinds); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"web"},"spec":{"replicas":-1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"c"}},"spec":{"containers":[{"name":"n","image":"i"}]}}}}`), uint8(0), uint8(0))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: x\n    ports: [{containerPort: 99999}]\n"), uint8(1), uint8(2))
	f.Add([]byte("k8s\x00\n\x0b\n\x02v1\x12\x05Pod\x12\x00"), uint8(2), uint8(2))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","spec":{"ports":[{"port":"x"}]}}`), uint8(0), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, mediaType uint8, kindIndex uint8) {
		types := []string{runtime.ContentTypeJSON, runtime.ContentTypeYAML, runtime.ContentTypeProtobuf}
		info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), types[int(mediaType)%len(types)])
		if !ok {
			t.Fatalf("no serializer for %s", types[int(mediaType)%len(types)])
		}
		k := kinds[int(kindIndex)%len(kinds)]
		internal := schema.GroupVersion{Group: k.GVK.Group, Version: runtime.APIVersionInternal}
		for _, s := range []runtime.Serializer{info.Serializer, info.StrictSerializer} {
			if s == nil {
				continue
			}
			decoder := codecs.DecoderToVersion(s, internal)
			into := k.New()
			obj, _, err := decoder.Decode(body, &k.GVK, into)
			if err != nil {
				continue
			}
			if k.Validate != nil && sameType(obj, into) {
				k.Validate(obj)
				if k.ValidateUpdate != nil {
					k.ValidateUpdate(obj, obj.DeepCopyObject())
				}
			}
		}
	})
}

func sameType(a, b runtime.Object) bool {
	return reflect.TypeOf(a) == reflect.TypeOf(b)
}
