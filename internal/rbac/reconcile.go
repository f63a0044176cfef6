package rbac

import (
	"context"
	"fmt"
	"log/slog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/component-helpers/auth/rbac/reconciliation"
)

// EnsurePolicy reconciles the bootstrap policy as kube-apiserver's
// rbac/bootstrap-roles post-start hook does: missing roles and bindings are
// created, missing rules and subjects added, and nothing an operator added
// is removed. Objects annotated rbac.authorization.kubernetes.io/autoupdate
// "false" are left alone.
func EnsurePolicy(ctx context.Context, client kubernetes.Interface, log *slog.Logger) error {
	for _, role := range ClusterRoles() {
		opts := reconciliation.ReconcileRoleOptions{
			Role:    reconciliation.ClusterRoleRuleOwner{ClusterRole: &role},
			Client:  reconciliation.ClusterRoleModifier{Client: client.RbacV1().ClusterRoles()},
			Confirm: true,
		}
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			res, err := opts.Run()
			if err != nil {
				return err
			}
			if res.Operation != reconciliation.ReconcileNone && !res.Protected {
				log.Info("reconciled cluster role", "clusterrole", role.Name, "operation", res.Operation)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reconcile clusterrole %s: %w", role.Name, err)
		}
	}
	for _, b := range ClusterRoleBindings() {
		opts := reconciliation.ReconcileRoleBindingOptions{
			RoleBinding: reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: &b},
			Client:      reconciliation.ClusterRoleBindingClientAdapter{Client: client.RbacV1().ClusterRoleBindings()},
			Confirm:     true,
		}
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			res, err := opts.Run()
			if err != nil {
				return err
			}
			if res.Operation != reconciliation.ReconcileNone && !res.Protected {
				log.Info("reconciled cluster role binding", "clusterrolebinding", b.Name, "operation", res.Operation)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reconcile clusterrolebinding %s: %w", b.Name, err)
		}
	}
	return nil
}
