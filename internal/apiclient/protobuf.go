package apiclient

import (
	"k8s.io/apimachinery/pkg/runtime"
	restclient "k8s.io/client-go/rest"
)

// Protobuf makes the typed clients of cfg speak protobuf, as
// kube-controller-manager, kube-scheduler and kubelet do by default
// (--kube-api-content-type): encoding and decoding cost a fraction of
// JSON's on both sides. Clients of custom resources built from cfg
// (dynamic.ConfigFor) switch back to JSON themselves.
func Protobuf(cfg *restclient.Config) {
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
}
