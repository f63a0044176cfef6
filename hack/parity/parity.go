package parity

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/printers"
	printersinternal "k8s.io/kubernetes/pkg/printers/internalversion"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/mutatingwebhookconfiguration"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/resolver"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/validatingadmissionpolicy"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/validatingadmissionpolicybinding"
	"k8s.io/kubernetes/pkg/registry/admissionregistration/validatingwebhookconfiguration"
	"k8s.io/kubernetes/pkg/registry/apps/controllerrevision"
	"k8s.io/kubernetes/pkg/registry/apps/deployment"
	"k8s.io/kubernetes/pkg/registry/apps/replicaset"
	"k8s.io/kubernetes/pkg/registry/apps/statefulset"
	"k8s.io/kubernetes/pkg/registry/batch/cronjob"
	"k8s.io/kubernetes/pkg/registry/batch/job"
	"k8s.io/kubernetes/pkg/registry/certificates/certificates"
	"k8s.io/kubernetes/pkg/registry/coordination/lease"
	"k8s.io/kubernetes/pkg/registry/core/configmap"
	"k8s.io/kubernetes/pkg/registry/core/endpoint"
	"k8s.io/kubernetes/pkg/registry/core/event"
	"k8s.io/kubernetes/pkg/registry/core/namespace"
	"k8s.io/kubernetes/pkg/registry/core/node"
	"k8s.io/kubernetes/pkg/registry/core/persistentvolume"
	"k8s.io/kubernetes/pkg/registry/core/persistentvolumeclaim"
	"k8s.io/kubernetes/pkg/registry/core/pod"
	"k8s.io/kubernetes/pkg/registry/core/secret"
	"k8s.io/kubernetes/pkg/registry/core/service"
	"k8s.io/kubernetes/pkg/registry/core/serviceaccount"
	"k8s.io/kubernetes/pkg/registry/discovery/endpointslice"
	"k8s.io/kubernetes/pkg/registry/networking/networkpolicy"
	"k8s.io/kubernetes/pkg/registry/policy/poddisruptionbudget"
	"k8s.io/kubernetes/pkg/registry/rbac/clusterrole"
	"k8s.io/kubernetes/pkg/registry/rbac/clusterrolebinding"
	"k8s.io/kubernetes/pkg/registry/rbac/role"
	"k8s.io/kubernetes/pkg/registry/rbac/rolebinding"
	"k8s.io/kubernetes/pkg/registry/storage/storageclass"

	"petset/internal/registry"
)

// upstreamStrategies are upstream's registry strategies of one kind: what
// kube-apiserver runs to prepare and validate a create, an update and a
// status update.
type upstreamStrategies struct {
	create rest.RESTCreateStrategy
	update rest.RESTUpdateStrategy
	status rest.RESTUpdateStrategy
}

// Upstream's policy strategies authorize a paramKind or paramRef for the
// user only with an authorizer (the parity check has none); the binding's
// wants a resolver all the same.
var (
	policyStrategy  = validatingadmissionpolicy.NewStrategy(nil, nil)
	bindingStrategy = validatingadmissionpolicybinding.NewStrategy(nil, nil, resolver.ResourceResolverFunc(
		func(gvk schema.GroupVersionKind) (schema.GroupVersionResource, error) {
			return schema.GroupVersionResource{}, fmt.Errorf("no resolver for %s", gvk)
		}))
)

// upstream lists kube's strategies by seed name. Every kind petset serves
// needs an entry (TestEveryServedKindIsChecked).
var upstream = map[string]upstreamStrategies{
	"Namespace":                        {namespace.Strategy, namespace.Strategy, namespace.StatusStrategy},
	"Node":                             {node.Strategy, node.Strategy, node.StatusStrategy},
	"Pod":                              {pod.Strategy, pod.Strategy, pod.StatusStrategy},
	"Service":                          {service.Strategy, service.Strategy, service.StatusStrategy},
	"Endpoints":                        {endpoint.Strategy, endpoint.Strategy, nil},
	"PersistentVolume":                 {persistentvolume.Strategy, persistentvolume.Strategy, persistentvolume.StatusStrategy},
	"PersistentVolumeClaim":            {persistentvolumeclaim.Strategy, persistentvolumeclaim.Strategy, persistentvolumeclaim.StatusStrategy},
	"ConfigMap":                        {configmap.Strategy, configmap.Strategy, nil},
	"Secret":                           {secret.Strategy, secret.Strategy, nil},
	"ServiceAccount":                   {serviceaccount.Strategy, serviceaccount.Strategy, nil},
	"Event":                            {event.Strategy, event.Strategy, nil},
	"events.k8s.io/Event":              {event.Strategy, event.Strategy, nil},
	"StatefulSet":                      {statefulset.Strategy, statefulset.Strategy, statefulset.StatusStrategy},
	"ControllerRevision":               {controllerrevision.Strategy, controllerrevision.Strategy, nil},
	"Deployment":                       {deployment.Strategy, deployment.Strategy, deployment.StatusStrategy},
	"ReplicaSet":                       {replicaset.Strategy, replicaset.Strategy, replicaset.StatusStrategy},
	"Job":                              {job.Strategy, job.Strategy, job.StatusStrategy},
	"CronJob":                          {cronjob.Strategy, cronjob.Strategy, cronjob.StatusStrategy},
	"StorageClass":                     {storageclass.Strategy, storageclass.Strategy, nil},
	"Lease":                            {lease.Strategy, lease.Strategy, nil},
	"EndpointSlice":                    {endpointslice.Strategy, endpointslice.Strategy, nil},
	"CertificateSigningRequest":        {certificates.Strategy, certificates.Strategy, certificates.StatusStrategy},
	"PodDisruptionBudget":              {poddisruptionbudget.Strategy, poddisruptionbudget.Strategy, poddisruptionbudget.StatusStrategy},
	"NetworkPolicy":                    {networkpolicy.Strategy, networkpolicy.Strategy, nil},
	"MutatingWebhookConfiguration":     {mutatingwebhookconfiguration.Strategy, mutatingwebhookconfiguration.Strategy, nil},
	"ValidatingWebhookConfiguration":   {validatingwebhookconfiguration.Strategy, validatingwebhookconfiguration.Strategy, nil},
	"ValidatingAdmissionPolicy":        {policyStrategy, policyStrategy, validatingadmissionpolicy.NewStatusStrategy(policyStrategy)},
	"ValidatingAdmissionPolicyBinding": {bindingStrategy, bindingStrategy, nil},
	"Role":                             {role.Strategy, role.Strategy, nil},
	"ClusterRole":                      {clusterrole.Strategy, clusterrole.Strategy, nil},
	"RoleBinding":                      {rolebinding.Strategy, rolebinding.Strategy, nil},
	"ClusterRoleBinding":               {clusterrolebinding.Strategy, clusterrolebinding.Strategy, nil},
}

// seedName is the key of a kind in seeds and upstream: its kind, qualified
// by group where the core group has a kind of the same name.
func seedName(gvk schema.GroupVersionKind) string {
	if gvk.Group == "events.k8s.io" {
		return gvk.Group + "/" + gvk.Kind
	}
	return gvk.Kind
}

// kindCase is one kind as both sides see it.
type kindCase struct {
	name     string
	gvk      schema.GroupVersionKind
	petset   *registry.Kind
	upstream upstreamStrategies
	table    rest.TableConvertor
}

// petsetScheme applies petset's defaulting, as petset's codec does on decode.
var petsetScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := registry.AddDefaults(s, registry.Kinds(registry.Deps{})); err != nil {
		panic(err)
	}
	return s
}()

var upstreamTables = printers.NewTableGenerator().With(printersinternal.AddHandlers)

// kindCases pairs every kind petset serves with upstream's strategies; a
// kind without an upstream entry or seed is returned in missing.
func kindCases() (cases []kindCase, missing []string) {
	for _, k := range registry.Kinds(registry.Deps{}) {
		name := seedName(k.GVK)
		up, ok := upstream[name]
		if _, seeded := seeds[name]; !ok || !seeded {
			missing = append(missing, k.GVK.String())
			continue
		}
		gr := schema.GroupResource{Group: k.GVK.Group, Resource: k.Resource}
		cases = append(cases, kindCase{name: name, gvk: k.GVK, petset: k, upstream: up, table: k.Printer.Convertor(gr)})
	}
	return cases, missing
}

// requestContext is the context of a write by user alice to the kind.
func (k kindCase) requestContext(obj runtime.Object, verb string) context.Context {
	ctx := genericapirequest.NewContext()
	if m, err := metaOf(obj); err == nil && m.GetNamespace() != "" {
		ctx = genericapirequest.WithNamespace(ctx, m.GetNamespace())
	}
	ctx = genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: "alice", UID: "uid-alice", Groups: []string{"dev", "system:authenticated"}})
	return genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: verb, APIGroup: k.gvk.Group, APIVersion: k.gvk.Version, Resource: k.petset.Resource,
	})
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no ObjectMeta", obj)
	}
	return m, nil
}

// toInternal converts a v1 object to upstream's internal type of its group.
func (k kindCase) toInternal(obj runtime.Object) runtime.Object {
	out, err := legacyscheme.Scheme.ConvertToVersion(obj.DeepCopyObject(), schema.GroupVersion{Group: k.gvk.Group, Version: runtime.APIVersionInternal})
	if err != nil {
		panic(fmt.Sprintf("convert %s to internal: %v", k.name, err))
	}
	return out
}

// Difference is one way petset departs from upstream, in a form that stays
// the same across cases: list indices and map keys in paths read [*].
type Difference struct {
	// Check is validation, defaulting or printing.
	Check string
	Kind  string
	// Op is create, update or status (validation), or - .
	Op string
	// What: for validation "upstream-only"/"petset-only" <path> <error type>;
	// for defaulting the path whose value differs; for printing the column.
	What string
}

func (d Difference) String() string {
	return strings.Join([]string{d.Check, d.Kind, d.Op, d.What}, " ")
}

var index = regexp.MustCompile(`\[[^\]]*\]`)

func normPath(p string) string { return index.ReplaceAllString(p, "[*]") }

// errorSet is a validation result as (path, type) pairs.
func errorSet(errs field.ErrorList) map[string]*field.Error {
	set := map[string]*field.Error{}
	for _, e := range errs {
		set[normPath(e.Field)+" "+string(e.Type)] = e
	}
	return set
}

// compareValidation returns the (path, type) pairs only one side reports,
// with an example message for each.
func compareValidation(kind, op string, up, ps field.ErrorList) map[Difference]string {
	out := map[Difference]string{}
	u, p := errorSet(up), errorSet(ps)
	for key, e := range u {
		if _, ok := p[key]; !ok {
			out[Difference{"validation", kind, op, "upstream-only " + key}] = e.Error()
		}
	}
	for key, e := range p {
		if _, ok := u[key]; !ok {
			out[Difference{"validation", kind, op, "petset-only " + key}] = e.Error()
		}
	}
	return out
}

// compareDefaulting returns the JSON paths where the two defaulted objects
// differ, with both values.
func compareDefaulting(kind string, up, ps runtime.Object) map[Difference]string {
	out := map[Difference]string{}
	diffJSON(toJSON(up), toJSON(ps), "", func(path string, a, b any) {
		if path == "apiVersion" || path == "kind" {
			return // the encoder sets them on the way out, on both sides
		}
		out[Difference{"defaulting", kind, "-", normPath(path)}] = fmt.Sprintf("%s: upstream %s, petset %s", path, short(a), short(b))
	})
	return out
}

func toJSON(obj runtime.Object) any {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	return v
}

func short(v any) string {
	if v == nil {
		return "<unset>"
	}
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

// diffJSON calls report for each path where a and b differ; a field on one
// side only is reported at its own path.
func diffJSON(a, b any, path string, report func(path string, a, b any)) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			diffJSON(am[k], bm[k], strings.TrimPrefix(path+"."+k, "."), report)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diffJSON(al[i], bl[i], fmt.Sprintf("%s[%d]", path, i), report)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		report(path, a, b)
	}
}

// comparePrinting returns the columns whose definition or cell differs.
func comparePrinting(kind string, up, ps *metav1.Table) map[Difference]string {
	out := map[Difference]string{}
	cols := func(t *metav1.Table) []string {
		var names []string
		for _, c := range t.ColumnDefinitions {
			names = append(names, fmt.Sprintf("%s(%s,%d)", c.Name, c.Type, c.Priority))
		}
		return names
	}
	uc, pc := cols(up), cols(ps)
	if !reflect.DeepEqual(uc, pc) {
		out[Difference{"printing", kind, "-", "columns"}] = fmt.Sprintf("upstream %v, petset %v", uc, pc)
		return out
	}
	if len(up.Rows) != len(ps.Rows) {
		out[Difference{"printing", kind, "-", "rows"}] = fmt.Sprintf("upstream %d rows, petset %d", len(up.Rows), len(ps.Rows))
		return out
	}
	for r := range up.Rows {
		for i, c := range up.ColumnDefinitions {
			var a, b any
			if i < len(up.Rows[r].Cells) {
				a = up.Rows[r].Cells[i]
			}
			if i < len(ps.Rows[r].Cells) {
				b = ps.Rows[r].Cells[i]
			}
			if fmt.Sprint(a) != fmt.Sprint(b) {
				out[Difference{"printing", kind, "-", "cell " + c.Name}] = fmt.Sprintf("upstream %q, petset %q", fmt.Sprint(a), fmt.Sprint(b))
			}
		}
	}
	return out
}

// upstreamTable prints an internal object as kube-apiserver's TableConvertor
// does: with the kind's handler in k8s.io/kubernetes/pkg/printers/internalversion,
// or, for the kinds that have none (roles, cluster roles), with the default
// NAME / CREATED AT convertor their storage uses.
func (k kindCase) upstreamTable(internal runtime.Object) (*metav1.Table, error) {
	t, err := upstreamTables.GenerateTable(internal, printers.GenerateOptions{Wide: true})
	if err != nil && strings.Contains(err.Error(), "no table handler registered") {
		gr := schema.GroupResource{Group: k.gvk.Group, Resource: k.petset.Resource}
		return rest.NewDefaultTableConvertor(gr).ConvertToTable(context.Background(), internal, &metav1.TableOptions{})
	}
	return t, err
}

// petsetTable prints a v1 object through petset's TableConvertor.
func (k kindCase) petsetTable(obj runtime.Object) (*metav1.Table, error) {
	return k.table.ConvertToTable(context.Background(), obj, &metav1.TableOptions{})
}

// sortedKeys returns the keys of a Difference map in a stable order.
func sortedKeys[V any](m map[Difference]V) []Difference {
	keys := make([]Difference, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}
