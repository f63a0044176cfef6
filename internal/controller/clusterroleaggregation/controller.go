package clusterroleaggregation

import (
	"context"
	"fmt"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	rbacinformers "k8s.io/client-go/informers/rbac/v1"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"petset/internal/controller/runner"
	"petset/internal/logging"
)

// Controller aggregates ClusterRoles.
type Controller struct {
	client kubernetes.Interface
	lister rbaclisters.ClusterRoleLister
	runner *runner.Runner[string]
}

// New wires the controller; workers roles are synced at once.
func New(ctx context.Context, client kubernetes.Interface, roles rbacinformers.ClusterRoleInformer, workers int) *Controller {
	c := &Controller{client: client, lister: roles.Lister()}
	c.runner = runner.New(runner.Config[string]{
		Name:        "clusterrole-aggregation",
		Workers:     workers,
		Reconcile:   c.reconcile,
		Synced:      []cache.InformerSynced{roles.Informer().HasSynced},
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second),
		LogAttrs:    func(name string) []any { return []any{"clusterrole", name} },
	})
	enqueue := func(any) { c.enqueueAggregated(ctx) }
	_, _ = roles.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	return c
}

// enqueueAggregated queues every ClusterRole with an aggregation rule: any
// role change may change what they gather.
func (c *Controller) enqueueAggregated(ctx context.Context) {
	roles, err := c.lister.List(labels.Everything())
	if err != nil {
		logging.FromContext(ctx).Error("listing cluster roles", "controller", "clusterrole-aggregation", logging.ErrKey, err)
		return
	}
	for _, r := range roles {
		if r.AggregationRule != nil {
			c.runner.Enqueue(r.Name)
		}
	}
}

// Run aggregates until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the cache has synced and the workers run.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

func (c *Controller) reconcile(ctx context.Context, name string) (runner.Result, error) {
	return runner.Done, c.sync(ctx, name)
}

// sync sets the rules of the aggregated role name to the union, without
// duplicates and in name order, of the rules of the roles its selectors match.
func (c *Controller) sync(ctx context.Context, name string) error {
	role, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if role.AggregationRule == nil {
		return nil
	}
	rules, err := Aggregate(c.lister, role)
	if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(rules, role.Rules) {
		return nil
	}
	cp := role.DeepCopy()
	cp.Rules = rules
	if _, err := c.client.RbacV1().ClusterRoles().Update(ctx, cp, metav1.UpdateOptions{FieldManager: "clusterrole-aggregation-controller"}); err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	logging.FromContext(ctx).Info("aggregated cluster role", "rules", len(rules))
	return nil
}

// Aggregate returns the rules role gathers through its aggregation rule.
func Aggregate(lister rbaclisters.ClusterRoleLister, role *rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	rules := []rbacv1.PolicyRule{}
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			return nil, fmt.Errorf("clusterrole %s selector %d: %w", role.Name, i, err)
		}
		matched, err := lister.List(sel)
		if err != nil {
			return nil, err
		}
		sort.Slice(matched, func(a, b int) bool { return matched[a].Name < matched[b].Name })
		for _, m := range matched {
			if m.Name == role.Name {
				continue
			}
			for _, r := range m.Rules {
				if !contains(rules, r) {
					rules = append(rules, r)
				}
			}
		}
	}
	return rules, nil
}

func contains(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for _, have := range rules {
		if equality.Semantic.DeepEqual(have, r) {
			return true
		}
	}
	return false
}
