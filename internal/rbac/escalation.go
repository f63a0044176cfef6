package rbac

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/component-helpers/auth/rbac/validation"
)

// fullAuthority is cluster-admin's rules; only its holders may write an
// aggregationRule (which can gather anything).
var fullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{rbacv1.VerbAll}, APIGroups: []string{rbacv1.APIGroupAll}, Resources: []string{rbacv1.ResourceAll}},
	{Verbs: []string{rbacv1.VerbAll}, NonResourceURLs: []string{rbacv1.NonResourceAll}},
}

// Guard is kube's RBAC escalation prevention: a user may write a role only
// with rules it already holds (or with the "escalate" verb on the role), and
// a binding only to a role whose rules it holds (or with the "bind" verb
// on the role). Members of system:masters may do anything.
type Guard struct {
	resolver *Resolver
	// authz is the API server's whole authorizer chain.
	authz authorizer.Authorizer
}

// NewGuard returns a guard resolving rules with r and asking authz about
// the escalate and bind verbs.
func NewGuard(r *Resolver, authz authorizer.Authorizer) *Guard {
	return &Guard{resolver: r, authz: authz}
}

// CheckRole allows writing a role (gr roles or clusterroles) with rules.
func (g *Guard) CheckRole(ctx context.Context, gr schema.GroupResource, namespace, name string, rules []rbacv1.PolicyRule, aggregated bool) error {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(gr, name, errors.New("no user on request"))
	}
	if privileged(u) || g.allowed(ctx, u, "escalate", gr.Resource, namespace, name) {
		return nil
	}
	if err := g.confirmNoEscalation(ctx, u, namespace, rules); err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	if aggregated {
		if err := g.confirmNoEscalation(ctx, u, namespace, fullAuthority); err != nil {
			return apierrors.NewForbidden(gr, name, errors.New("must have cluster-admin privileges to use the aggregationRule"))
		}
	}
	return nil
}

// CheckBinding allows writing a binding (in namespace, "" for a
// ClusterRoleBinding) to the role ref names.
func (g *Guard) CheckBinding(ctx context.Context, gr schema.GroupResource, namespace, name string, ref rbacv1.RoleRef) error {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(gr, name, errors.New("no user on request"))
	}
	if privileged(u) {
		return nil
	}
	resource := map[string]string{"Role": "roles", "ClusterRole": "clusterroles"}[ref.Kind]
	if resource != "" && g.allowed(ctx, u, "bind", resource, namespace, ref.Name) {
		return nil
	}
	rules, err := g.resolver.RoleReferenceRules(ctx, ref, namespace)
	if err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	if err := g.confirmNoEscalation(ctx, u, namespace, rules); err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	return nil
}

func privileged(u user.Info) bool {
	for _, g := range u.GetGroups() {
		if g == user.SystemPrivilegedGroup {
			return true
		}
	}
	return false
}

// allowed asks the authorizer whether u may verb the named role.
func (g *Guard) allowed(ctx context.Context, u user.Info, verb, resource, namespace, name string) bool {
	if g.authz == nil {
		return false
	}
	d, _, err := g.authz.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: verb, APIGroup: rbacv1.GroupName, APIVersion: "*", Resource: resource,
		Namespace: namespace, Name: name, ResourceRequest: true,
	})
	return err == nil && d == authorizer.DecisionAllow
}

// confirmNoEscalation fails, with kube's message, when u does not hold
// every one of rules in namespace.
func (g *Guard) confirmNoEscalation(ctx context.Context, u user.Info, namespace string, rules []rbacv1.PolicyRule) error {
	owned, resolveErr := g.resolver.RulesFor(ctx, u, namespace)
	covers, missing := validation.Covers(owned, rules)
	if covers {
		return nil
	}
	var lines []string
	seen := map[string]bool{}
	for _, r := range compactRules(missing) {
		s := compactString(r)
		if !seen[s] {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	sort.Strings(lines)
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s",
		u.GetName(), u.GetGroups(), strings.Join(lines, "\n"))
	if resolveErr != nil {
		msg += fmt.Sprintf("; resolution errors: %v", resolveErr)
	}
	return errors.New(msg)
}

// compactRules merges broken-down rules (one group, resource, name and
// verb each) that differ only in their verb, as kube's CompactRules does.
func compactRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	type key struct{ group, resource, name string }
	merged := map[key]*rbacv1.PolicyRule{}
	var out []rbacv1.PolicyRule
	var order []key
	for _, r := range rules {
		if len(r.APIGroups) != 1 || len(r.Resources) != 1 || len(r.ResourceNames) > 1 || len(r.NonResourceURLs) > 0 {
			out = append(out, r)
			continue
		}
		k := key{group: r.APIGroups[0], resource: r.Resources[0]}
		if len(r.ResourceNames) == 1 {
			k.name = r.ResourceNames[0]
		}
		if m, ok := merged[k]; ok {
			m.Verbs = append(m.Verbs, r.Verbs...)
			continue
		}
		c := r.DeepCopy()
		merged[k] = c
		order = append(order, k)
	}
	for _, k := range order {
		out = append(out, *merged[k])
	}
	return out
}

// compactString is kube's rbacv1helpers.CompactString of a rule.
func compactString(r rbacv1.PolicyRule) string {
	var parts []string
	var args []any
	for _, f := range []struct {
		name string
		v    []string
	}{{"APIGroups", r.APIGroups}, {"Resources", r.Resources}, {"NonResourceURLs", r.NonResourceURLs}, {"ResourceNames", r.ResourceNames}, {"Verbs", r.Verbs}} {
		if len(f.v) > 0 {
			parts = append(parts, f.name+":%q")
			args = append(args, f.v)
		}
	}
	return fmt.Sprintf("{"+strings.Join(parts, ", ")+"}", args...)
}
