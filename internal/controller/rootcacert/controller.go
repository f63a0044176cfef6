package rootcacert

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"petset/internal/controller/runner"
)

// Names of the published ConfigMap, as on Kubernetes.
const (
	ConfigMapName = "kube-root-ca.crt"
	Key           = "ca.crt"
	// descriptionAnnotation and description are what kube writes on it.
	descriptionAnnotation = "kubernetes.io/description"
	description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Publisher keeps kube-root-ca.crt in every namespace.
type Publisher struct {
	client     kubernetes.Interface
	ca         string
	namespaces corelisters.NamespaceLister
	configMaps corelisters.ConfigMapLister
	runner     *runner.Runner[string]
}

// New wires the publisher of caPEM.
func New(ctx context.Context, client kubernetes.Interface, caPEM []byte, namespaces coreinformers.NamespaceInformer, configMaps coreinformers.ConfigMapInformer) *Publisher {
	p := &Publisher{client: client, ca: string(caPEM), namespaces: namespaces.Lister(), configMaps: configMaps.Lister()}
	p.runner = runner.New(runner.Config[string]{
		Name:      "root-ca-cert-publisher",
		Reconcile: p.sync,
		Synced:    []cache.InformerSynced{namespaces.Informer().HasSynced, configMaps.Informer().HasSynced},
		LogAttrs:  func(ns string) []any { return []any{"namespace", ns} },
	})
	_, _ = namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.enqueueNamespace(obj) },
		UpdateFunc: func(_, obj any) { p.enqueueNamespace(obj) },
	})
	cmChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == ConfigMapName {
			p.runner.Enqueue(cm.Namespace)
		}
	}
	_, _ = configMaps.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { cmChanged(obj) },
		DeleteFunc: cmChanged,
	})
	return p
}

func (p *Publisher) enqueueNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		p.runner.Enqueue(ns.Name)
	}
}

// Run publishes the CA in every namespace until ctx ends.
func (p *Publisher) Run(ctx context.Context) error { return p.runner.Run(ctx) }

// Ready is closed once the caches have synced and the publisher works.
func (p *Publisher) Ready() <-chan struct{} { return p.runner.Ready() }

// sync creates or repairs the namespace's kube-root-ca.crt.
func (p *Publisher) sync(ctx context.Context, name string) (runner.Result, error) {
	return runner.Done, p.publish(ctx, name)
}

func (p *Publisher) publish(ctx context.Context, name string) error {
	ns, err := p.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	cm, err := p.configMaps.ConfigMaps(name).Get(ConfigMapName)
	switch {
	case apierrors.IsNotFound(err):
		_, err = p.client.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Annotations: map[string]string{descriptionAnnotation: description}},
			Data:       map[string]string{Key: p.ca},
		}, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) || isTerminating(err) {
			return nil
		}
		return fmt.Errorf("create: %w", err)
	case err != nil:
		return err
	}
	if len(cm.Data) == 1 && cm.Data[Key] == p.ca && len(cm.BinaryData) == 0 && cm.Annotations[descriptionAnnotation] == description {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = map[string]string{Key: p.ca}
	cm.BinaryData = nil
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[descriptionAnnotation] = description
	if _, err := p.client.CoreV1().ConfigMaps(name).Update(ctx, cm, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

func isTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || strings.Contains(err.Error(), "because it is being terminated")
}
