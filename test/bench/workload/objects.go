package workload

// The objects the workloads create: the kubia manifests of examples/kubia
// (seed 000), and sets shaped like them.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// Manifests are the seed's headless Service and StatefulSet.
type Manifests struct {
	Service *corev1.Service
	Set     *appsv1.StatefulSet
}

// LoadKubia reads kubia-service-headless.yaml and kubia-statefulset.yaml
// from dir (examples/kubia of the repository).
func LoadKubia(dir string) (Manifests, error) {
	var m Manifests
	svc, err := decodeFile(filepath.Join(dir, "kubia-service-headless.yaml"))
	if err != nil {
		return m, err
	}
	set, err := decodeFile(filepath.Join(dir, "kubia-statefulset.yaml"))
	if err != nil {
		return m, err
	}
	var ok bool
	if m.Service, ok = svc.(*corev1.Service); !ok {
		return m, errors.New("kubia-service-headless.yaml is not a Service")
	}
	if m.Set, ok = set.(*appsv1.StatefulSet); !ok {
		return m, errors.New("kubia-statefulset.yaml is not a StatefulSet")
	}
	return m, nil
}

func decodeFile(path string) (runtime.Object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(b, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return obj, nil
}

// ServiceCopy is a copy of the seed's headless Service.
func (m Manifests) ServiceCopy() *corev1.Service { return m.Service.DeepCopy() }

// KubiaSet is the seed's StatefulSet (one claim template) with the given
// name, replicas and pod management policy.
func (m Manifests) KubiaSet(name string, replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	s := m.Set.DeepCopy()
	s.Name = name
	s.Spec.Replicas = &replicas
	s.Spec.PodManagementPolicy = policy
	labels := map[string]string{"app": name}
	s.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	s.Spec.Template.Labels = labels
	return s
}

// CreateNamespace creates ns and waits until a create in it is accepted
// (the API server may answer before admission's namespace lister sees it).
func CreateNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bench-probe"}}
	err = WaitFor(ctx, time.Minute, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ConfigMaps(name).Create(ctx, probe, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err), nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s not usable: %w", name, err)
	}
	return nil
}

// CreateKubia creates the headless Service (if not nil) and the set in ns.
func CreateKubia(ctx context.Context, cs kubernetes.Interface, ns string, svc *corev1.Service, set *appsv1.StatefulSet) error {
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

// PodLatencies is, per pod, the time from its first watch event (the pod
// exists) to the first event in which it is Ready.
func PodLatencies(t *Tracker) Durations {
	added, ready := t.Snapshot()
	var out Durations
	for name, r := range ready {
		if a, ok := added[name]; ok {
			out = append(out, r.Sub(a))
		}
	}
	return out
}

// Durations summarises a sample.
type Durations []time.Duration

func (d Durations) sorted() Durations {
	s := append(Durations(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// Quantile is the nearest-rank q-quantile (0 < q ≤ 1) of d; 0 gives the
// minimum.
func (d Durations) Quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := d.sorted()
	i := int(float64(len(s))*q+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// Min is the smallest of d.
func (d Durations) Min() time.Duration { return d.Quantile(0) }

// Max is the largest of d.
func (d Durations) Max() time.Duration { return d.Quantile(1) }

func (d Durations) String() string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprintf("%.3fs", x.Seconds())
	}
	return strings.Join(parts, " ")
}

// WaitFor polls cond until it is true, fails, or the bound passes.
func WaitFor(ctx context.Context, bound time.Duration, every time.Duration, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("condition not met within " + bound.String())
		case <-time.After(every):
		}
	}
}
