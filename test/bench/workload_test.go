package bench

// The objects the benchmarks create, from petset/test/bench/workload: the
// kubia manifests of examples/kubia (seed 000), failing the benchmark on
// error.

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"petset/test/bench/workload"
)

// manifests are examples/kubia's, relative to this package.
func manifests(tb testing.TB) workload.Manifests {
	tb.Helper()
	m, err := workload.LoadKubia(filepath.Join("..", "..", "examples", "kubia"))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// kubiaService is the seed's headless Service.
func kubiaService(tb testing.TB) *corev1.Service { return manifests(tb).ServiceCopy() }

// kubiaSet is the seed's StatefulSet with the given name, replicas and pod
// management policy.
func kubiaSet(tb testing.TB, name string, replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	return manifests(tb).KubiaSet(name, replicas, policy)
}

// createNamespace creates ns and returns its name.
func createNamespace(ctx context.Context, tb testing.TB, cs kubernetes.Interface, name string) string {
	tb.Helper()
	if err := workload.CreateNamespace(ctx, cs, name); err != nil {
		tb.Fatal(err)
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
	err := workload.WaitFor(ctx, bound, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		tb.Logf("namespace %s still there: %v", ns, err)
	}
}

// createKubia creates the headless Service and the set in ns.
func createKubia(ctx context.Context, cs kubernetes.Interface, ns string, svc *corev1.Service, set *appsv1.StatefulSet) error {
	return workload.CreateKubia(ctx, cs, ns, svc, set)
}
