package integration

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/retry"
)

// TestSecretStringData: stringData is merged into data (its keys win) on
// create and update and is never stored; the merged data is held to the
// 1 MiB limit with kube's 422.
func TestSecretStringData(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	secrets := c.client.CoreV1().Secrets("default")
	created, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "mixed"},
		Data:       map[string][]byte{"a": []byte("from-data"), "b": []byte("kept")},
		StringData: map[string]string{"a": "from-stringData", "c": "new"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "from-stringData", "b": "kept", "c": "new"}
	check := func(what string, s *corev1.Secret, want map[string]string) {
		t.Helper()
		if len(s.StringData) != 0 {
			t.Errorf("%s: stringData %v returned", what, s.StringData)
		}
		if len(s.Data) != len(want) {
			t.Errorf("%s: data %v, want %v", what, s.Data, want)
		}
		for k, v := range want {
			if string(s.Data[k]) != v {
				t.Errorf("%s: data[%s] = %q, want %q", what, k, s.Data[k], v)
			}
		}
	}
	check("create response", created, want)
	got, err := secrets.Get(ctx, "mixed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("get", got, want)

	got.StringData = map[string]string{"b": "updated"}
	updated, err := secrets.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want["b"] = "updated"
	check("update response", updated, want)

	// Not stored: the raw value in etcd holds no stringData key.
	cli := etcdClient(t, c.cp.EtcdEndpoints(), c.cp.EtcdTLS())
	resp, err := cli.Get(ctx, "/registry/secrets/default/mixed", clientv3.WithLimit(1))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("etcd: %v", err)
	}
	stored, _, err := scheme.Codecs.UniversalDeserializer().Decode(resp.Kvs[0].Value, nil, nil)
	if err != nil {
		t.Fatalf("decode the stored secret: %v", err)
	}
	check("stored in etcd", stored.(*corev1.Secret), want)

	// 2 MiB of stringData: kube's 422 for the merged data.
	big := strings.Repeat("x", 2<<20)
	_, err = secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "big"}, StringData: map[string]string{"k": big},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "Too long: may not be more than 1048576 bytes") {
		t.Fatalf("2 MiB stringData: want 422 Too long, got %v", err)
	}
	got, err = secrets.Get(ctx, "mixed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.StringData = map[string]string{"k": big}
	if _, err := secrets.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("update with 2 MiB stringData: want 422, got %v", err)
	}
}

// TestObjectTooLargeForStorage: an object the request-size limit lets
// through but etcd refuses (its 2 MiB request limit; the API server calls
// the embedded etcd in-process) gets kube's 413, not a 500 carrying an
// etcd error; the same on update. A smaller one is stored.
func TestObjectTooLargeForStorage(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	pod := func(name string, envBytes int) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "c", Image: "busybox",
				Env: []corev1.EnvVar{{Name: "BIG", Value: strings.Repeat("y", envBytes)}},
			}}},
		}
	}
	pods := c.client.CoreV1().Pods("default")
	_, err := pods.Create(ctx, pod("huge", 2500<<10), metav1.CreateOptions{})
	var status apierrors.APIStatus
	if !apierrors.IsRequestEntityTooLargeError(err) || !errorsAs(err, &status) || status.Status().Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("2.5 MiB pod: want 413 RequestEntityTooLarge, got %v", err)
	}
	if !strings.HasPrefix(status.Status().Message, "Request entity too large") || strings.Contains(status.Status().Message, "rpc error") {
		t.Errorf("message %q", status.Status().Message)
	}
	small, err := pods.Create(ctx, pod("small", 1<<10), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The update path (here the status subresource; a pod's spec is immutable).
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := pods.Get(ctx, small.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Status.Message = strings.Repeat("z", 2500<<10)
		_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if !apierrors.IsRequestEntityTooLargeError(err) {
		t.Fatalf("status update to 2.5 MiB: want 413, got %v", err)
	}
	if _, err := pods.Get(ctx, "huge", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused pod exists: %v", err)
	}
}

func errorsAs(err error, target *apierrors.APIStatus) bool { return errors.As(err, target) }

// A Secret written client-side with stringData, then applied server-side
// with the same stringData by kubectl, does not conflict: as kube's
// conversion does, stringData is merged into data where the request is
// decoded, so the client-side manager owns data's keys and not stringData.
func TestSecretStringDataClientToServerSideApply(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	const manifest = `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"pw"},"type":"Opaque","stringData":{"password":"change-me"}}`
	rest := c.client.CoreV1().RESTClient()
	err := rest.Post().Namespace("default").Resource("secrets").Param("fieldManager", "kubectl-client-side-apply").
		Body([]byte(manifest)).Do(ctx).Error()
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.client.CoreV1().Secrets("default").Get(ctx, "pw", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range s.ManagedFields {
		if m.FieldsV1 != nil && strings.Contains(string(m.FieldsV1.Raw), "f:stringData") {
			t.Errorf("manager %s owns stringData: %s", m.Manager, m.FieldsV1.Raw)
		}
	}
	if _, err := c.client.CoreV1().Secrets("default").Patch(ctx, "pw", "application/apply-patch+yaml", []byte(manifest),
		metav1.PatchOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatalf("server-side apply of the same stringData: %v", err)
	}
	s, err = c.client.CoreV1().Secrets("default").Get(ctx, "pw", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["password"]) != "change-me" || len(s.StringData) != 0 {
		t.Errorf("after apply: data %q stringData %v", s.Data, s.StringData)
	}
}
