package rbac

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/component-helpers/auth/rbac/reconciliation"
)

// reconcileWorkers bounds how many roles and bindings are reconciled at
// once. Each is a read and usually a create; side by side, etcd commits
// the creates together instead of one after another (≈ 80 ms for the
// bootstrap policy in turn on the development machine, on the way to
// /readyz).
const reconcileWorkers = 8

// EnsurePolicy reconciles the bootstrap policy as kube-apiserver's
// rbac/bootstrap-roles post-start hook does: missing roles and bindings are
// created, missing rules and subjects added, and nothing an operator added
// is removed. Objects annotated rbac.authorization.kubernetes.io/autoupdate
// "false" are left alone. Each object is reconciled on its own (no object of
// the policy depends on another being there first), several at once.
func EnsurePolicy(ctx context.Context, client kubernetes.Interface, log *slog.Logger) error {
	var jobs []func() error
	for _, role := range ClusterRoles() {
		opts := reconciliation.ReconcileRoleOptions{
			Role:    reconciliation.ClusterRoleRuleOwner{ClusterRole: &role},
			Client:  reconciliation.ClusterRoleModifier{Client: client.RbacV1().ClusterRoles()},
			Confirm: true,
		}
		jobs = append(jobs, func() error {
			res, err := opts.Run()
			if err != nil {
				return fmt.Errorf("reconcile clusterrole %s: %w", role.Name, err)
			}
			if res.Operation != reconciliation.ReconcileNone && !res.Protected {
				log.Info("reconciled cluster role", "clusterrole", role.Name, "operation", res.Operation)
			}
			return nil
		})
	}
	for _, b := range ClusterRoleBindings() {
		opts := reconciliation.ReconcileRoleBindingOptions{
			RoleBinding: reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: &b},
			Client:      reconciliation.ClusterRoleBindingClientAdapter{Client: client.RbacV1().ClusterRoleBindings()},
			Confirm:     true,
		}
		jobs = append(jobs, func() error {
			res, err := opts.Run()
			if err != nil {
				return fmt.Errorf("reconcile clusterrolebinding %s: %w", b.Name, err)
			}
			if res.Operation != reconciliation.ReconcileNone && !res.Protected {
				log.Info("reconciled cluster role binding", "clusterrolebinding", b.Name, "operation", res.Operation)
			}
			return nil
		})
	}
	return runBounded(ctx, reconcileWorkers, jobs)
}

// runBounded runs each job, retried on conflicts, at most n at once, and
// returns every error. Jobs not started when ctx ends are skipped with its
// error.
func runBounded(ctx context.Context, n int, jobs []func() error) error {
	sem := make(chan struct{}, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, job := range jobs {
		if ctx.Err() != nil {
			wg.Wait()
			return errors.Join(append(errs, ctx.Err())...)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(append(errs, ctx.Err())...)
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := retry.RetryOnConflict(retry.DefaultBackoff, job); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
