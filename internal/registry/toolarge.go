package registry

import (
	"context"
	"errors"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"
)

// sizeLimited turns etcd's refusal of an object too large to store into
// kube's 413 RequestEntityTooLarge, instead of the raw gRPC error that
// would reach the client as a 500. It recognises what k8s.io/apiserver's
// handlers recognise as too large (handlers.isTooLargeError): etcd's
// "request is too large" and the gRPC client's send-size limit.
type sizeLimited struct {
	storage.Interface
}

func (s sizeLimited) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	return tooLarge(s.Interface.Create(ctx, key, obj, out, ttl))
}

func (s sizeLimited) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	return tooLarge(s.Interface.GuaranteedUpdate(ctx, key, destination, ignoreNotFound, preconditions, tryUpdate, cachedExistingObject))
}

// tooLarge maps a too-large error to a 413 and returns others unchanged.
func tooLarge(err error) error {
	if err == nil || !isTooLarge(err) {
		return err
	}
	return apierrors.NewRequestEntityTooLargeError("the object is larger than the storage accepts")
}

func isTooLarge(err error) bool {
	// etcd's refusal as its client returns it (rpctypes.Error): no gRPC
	// status left, the same from a client in-process and on the network.
	if errors.Is(err, rpctypes.ErrRequestTooLarge) {
		return true
	}
	var st interface{ GRPCStatus() *grpcstatus.Status }
	if !errors.As(err, &st) {
		return false
	}
	s := st.GRPCStatus()
	switch s.Code() {
	case codes.InvalidArgument:
		return s.Message() == "etcdserver: request is too large"
	case codes.ResourceExhausted:
		return strings.Contains(s.Message(), "trying to send message larger than max")
	}
	return false
}
