package bench

// The objects the benchmarks create: the kubia manifests of examples/kubia
// (seed 000), and sets shaped like them for the peer workloads.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// examples is examples/kubia, relative to this package.
var examples = filepath.Join("..", "..", "examples", "kubia")

func decodeFile(tb testing.TB, name string) any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(examples, name))
	if err != nil {
		tb.Fatalf("read manifest: %v", err)
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(b, nil, nil)
	if err != nil {
		tb.Fatalf("decode %s: %v", name, err)
	}
	return obj
}

// kubiaService is the seed's headless Service.
func kubiaService(tb testing.TB) *corev1.Service {
	s, ok := decodeFile(tb, "kubia-service-headless.yaml").(*corev1.Service)
	if !ok {
		tb.Fatalf("kubia-service-headless.yaml is not a Service")
	}
	return s
}

// kubiaSet is the seed's StatefulSet (OrderedReady, one claim template)
// with the given name, replicas and pod management policy.
func kubiaSet(tb testing.TB, name string, replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	s, ok := decodeFile(tb, "kubia-statefulset.yaml").(*appsv1.StatefulSet)
	if !ok {
		tb.Fatalf("kubia-statefulset.yaml is not a StatefulSet")
	}
	s.Name = name
	s.Spec.Replicas = &replicas
	s.Spec.PodManagementPolicy = policy
	labels := map[string]string{"app": name}
	s.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	s.Spec.Template.Labels = labels
	return s
}

// createNamespace creates ns and returns its name.
func createNamespace(ctx context.Context, tb testing.TB, cs kubernetes.Interface, name string) string {
	tb.Helper()
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create namespace %s: %v", name, err)
	}
	// The API server may answer before the namespace is visible to
	// admission's namespace lister; wait until a create there is accepted.
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bench-probe"}}
	err = waitFor(ctx, time.Minute, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ConfigMaps(name).Create(ctx, probe, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		tb.Fatalf("namespace %s not usable: %v", name, err)
	}
	return name
}

// deleteNamespace deletes ns and waits (bounded) until it is gone; it only
// logs on failure, since it is clean-up between measured runs.
func deleteNamespace(ctx context.Context, tb testing.TB, cs kubernetes.Interface, ns string, bound time.Duration) {
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		tb.Logf("delete namespace %s: %v", ns, err)
		return
	}
	err := waitFor(ctx, bound, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		tb.Logf("namespace %s still there: %v", ns, err)
	}
}

// createKubia creates the headless Service and the set in ns.
func createKubia(ctx context.Context, cs kubernetes.Interface, ns string, svc *corev1.Service, set *appsv1.StatefulSet) error {
	if svc != nil {
		if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service: %w", err)
		}
	}
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create statefulset: %w", err)
	}
	return nil
}

// podLatencies is, per pod, the time from its first watch event (the pod
// exists) to the first event in which it is Ready.
func podLatencies(t *tracker) durations {
	added, ready := t.snapshot()
	var out durations
	for name, r := range ready {
		if a, ok := added[name]; ok {
			out = append(out, r.Sub(a))
		}
	}
	return out
}
