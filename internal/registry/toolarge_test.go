package registry

import (
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func TestTooLarge(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"etcd request too large", grpcstatus.Error(codes.InvalidArgument, "etcdserver: request is too large"), true},
		{"etcd client's error", rpctypes.ErrRequestTooLarge, true},
		{"etcd client's error wrapped", fmt.Errorf("txn: %w", rpctypes.ErrRequestTooLarge), true},
		{"etcd client's other error", rpctypes.ErrEmptyKey, false},
		{"client send limit", grpcstatus.Error(codes.ResourceExhausted, "trying to send message larger than max (2560955 vs. 2097152)"), true},
		{"wrapped", fmt.Errorf("txn: %w", grpcstatus.Error(codes.InvalidArgument, "etcdserver: request is too large")), true},
		{"other invalid argument", grpcstatus.Error(codes.InvalidArgument, "etcdserver: key is not provided"), false},
		{"unavailable", grpcstatus.Error(codes.Unavailable, "connection refused"), false},
		{"plain", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tooLarge(tc.err)
			if got := apierrors.IsRequestEntityTooLargeError(err); got != tc.want {
				t.Fatalf("413 = %v, want %v (%v)", got, tc.want, err)
			}
			if !tc.want && err != tc.err {
				t.Fatalf("error changed: %v", err)
			}
		})
	}
	if tooLarge(nil) != nil {
		t.Fatal("nil became an error")
	}
}

func TestMergeStringData(t *testing.T) {
	s := &corev1.Secret{StringData: map[string]string{"a": "1"}}
	mergeStringData(s)
	if string(s.Data["a"]) != "1" || s.StringData != nil {
		t.Fatalf("nil data: %+v", s)
	}
	s = &corev1.Secret{Data: map[string][]byte{"a": []byte("old"), "b": []byte("b")}, StringData: map[string]string{"a": "new"}}
	mergeStringData(s)
	if string(s.Data["a"]) != "new" || string(s.Data["b"]) != "b" || len(s.Data) != 2 || s.StringData != nil {
		t.Fatalf("merge: %+v", s)
	}
	s = &corev1.Secret{}
	mergeStringData(s)
	if s.Data != nil {
		t.Fatalf("empty secret gained data: %+v", s)
	}
}
