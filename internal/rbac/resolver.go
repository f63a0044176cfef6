package rbac

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
)

// Source is where the resolver reads roles and bindings.
type Source interface {
	ClusterRoleBindings(ctx context.Context) ([]*rbacv1.ClusterRoleBinding, error)
	RoleBindings(ctx context.Context, namespace string) ([]*rbacv1.RoleBinding, error)
	Role(ctx context.Context, namespace, name string) (*rbacv1.Role, error)
	ClusterRole(ctx context.Context, name string) (*rbacv1.ClusterRole, error)
}

// Listers is a Source over informers' listers: what the authorizer reads.
type Listers struct {
	RoleLister               rbaclisters.RoleLister
	ClusterRoleLister        rbaclisters.ClusterRoleLister
	RoleBindingLister        rbaclisters.RoleBindingLister
	ClusterRoleBindingLister rbaclisters.ClusterRoleBindingLister
}

func (l Listers) ClusterRoleBindings(context.Context) ([]*rbacv1.ClusterRoleBinding, error) {
	return l.ClusterRoleBindingLister.List(labels.Everything())
}

func (l Listers) RoleBindings(_ context.Context, namespace string) ([]*rbacv1.RoleBinding, error) {
	return l.RoleBindingLister.RoleBindings(namespace).List(labels.Everything())
}

func (l Listers) Role(_ context.Context, namespace, name string) (*rbacv1.Role, error) {
	return l.RoleLister.Roles(namespace).Get(name)
}

func (l Listers) ClusterRole(_ context.Context, name string) (*rbacv1.ClusterRole, error) {
	return l.ClusterRoleLister.Get(name)
}

// Resolver resolves the rules a user holds, as kube's DefaultRuleResolver.
type Resolver struct {
	src Source
}

// NewResolver returns a resolver reading src.
func NewResolver(src Source) *Resolver { return &Resolver{src: src} }

// source describes where a rule came from, for the authorizer's reason.
type source struct {
	binding, namespace string
	ref                rbacv1.RoleRef
	subject            rbacv1.Subject
}

func (s source) String() string {
	kind := "ClusterRoleBinding"
	name := s.binding
	if s.namespace != "" {
		kind = "RoleBinding"
		name = s.binding + "/" + s.namespace
	}
	subject := fmt.Sprintf("%s %q", s.subject.Kind, s.subject.Name)
	if s.subject.Kind == rbacv1.ServiceAccountKind {
		ns := s.subject.Namespace
		if ns == "" {
			ns = s.namespace
		}
		subject = fmt.Sprintf("%s %q", s.subject.Kind, s.subject.Name+"/"+ns)
	}
	return fmt.Sprintf("%s %q of %s %q to %s", kind, name, s.ref.Kind, s.ref.Name, subject)
}

// visitor sees each rule (with its source) or a resolution error; it
// returns false to stop.
type visitor func(src *source, rule *rbacv1.PolicyRule, err error) bool

// visitRulesFor visits every rule u holds in namespace ("" for cluster-wide
// rules only): the rules of ClusterRoleBindings, then of the namespace's
// RoleBindings.
func (r *Resolver) visitRulesFor(ctx context.Context, u user.Info, namespace string, visit visitor) {
	crbs, err := r.src.ClusterRoleBindings(ctx)
	if err != nil {
		if !visit(nil, nil, err) {
			return
		}
	}
	for _, b := range crbs {
		i, ok := appliesTo(u, b.Subjects, "")
		if !ok {
			continue
		}
		rules, err := r.RoleReferenceRules(ctx, b.RoleRef, "")
		if err != nil {
			if !visit(nil, nil, err) {
				return
			}
			continue
		}
		src := &source{binding: b.Name, ref: b.RoleRef, subject: b.Subjects[i]}
		for j := range rules {
			if !visit(src, &rules[j], nil) {
				return
			}
		}
	}
	if namespace == "" {
		return
	}
	rbs, err := r.src.RoleBindings(ctx, namespace)
	if err != nil {
		visit(nil, nil, err)
		return
	}
	for _, b := range rbs {
		i, ok := appliesTo(u, b.Subjects, namespace)
		if !ok {
			continue
		}
		rules, err := r.RoleReferenceRules(ctx, b.RoleRef, namespace)
		if err != nil {
			if !visit(nil, nil, err) {
				return
			}
			continue
		}
		src := &source{binding: b.Name, namespace: namespace, ref: b.RoleRef, subject: b.Subjects[i]}
		for j := range rules {
			if !visit(src, &rules[j], nil) {
				return
			}
		}
	}
}

// RulesFor returns every rule u holds in namespace. The error lists the
// roles that could not be resolved; the rules are then incomplete but
// still usable.
func (r *Resolver) RulesFor(ctx context.Context, u user.Info, namespace string) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	var errs []error
	r.visitRulesFor(ctx, u, namespace, func(_ *source, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil {
			rules = append(rules, *rule)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	return rules, joinErrors(errs)
}

// RoleReferenceRules returns the rules of the role a binding in namespace refers to.
func (r *Resolver) RoleReferenceRules(ctx context.Context, ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		role, err := r.src.Role(ctx, namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	case "ClusterRole":
		role, err := r.src.ClusterRole(ctx, ref.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// appliesTo returns the index of the first subject u matches.
func appliesTo(u user.Info, subjects []rbacv1.Subject, namespace string) (int, bool) {
	for i, s := range subjects {
		if appliesToUser(u, s, namespace) {
			return i, true
		}
	}
	return 0, false
}

func appliesToUser(u user.Info, s rbacv1.Subject, namespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return u.GetName() == s.Name
	case rbacv1.GroupKind:
		for _, g := range u.GetGroups() {
			if g == s.Name {
				return true
			}
		}
		return false
	case rbacv1.ServiceAccountKind:
		// A RoleBinding may name a service account of its own namespace
		// without a namespace.
		ns := namespace
		if s.Namespace != "" {
			ns = s.Namespace
		}
		return ns != "" && serviceaccount.MatchesUsername(ns, s.Name, u.GetName())
	}
	return false
}
