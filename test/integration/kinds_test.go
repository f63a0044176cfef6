package integration

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"petset/internal/registry"
)

// upstreamShortNames are the short names Kubernetes 1.37 serves for each
// resource petset serves (kubectl api-resources against kube-apiserver);
// nil where upstream has none. Every served resource must be listed, so a
// new kind states here what upstream calls it.
var upstreamShortNames = map[schema.GroupResource][]string{
	{Resource: "namespaces"}: {"ns"}, {Resource: "nodes"}: {"no"}, {Resource: "pods"}: {"po"},
	{Resource: "services"}: {"svc"}, {Resource: "endpoints"}: {"ep"},
	{Resource: "persistentvolumes"}: {"pv"}, {Resource: "persistentvolumeclaims"}: {"pvc"},
	{Resource: "configmaps"}: {"cm"}, {Resource: "secrets"}: nil, {Resource: "serviceaccounts"}: {"sa"},
	{Resource: "events"}: {"ev"}, {Group: "events.k8s.io", Resource: "events"}: {"ev"},
	{Group: "apps", Resource: "statefulsets"}: {"sts"}, {Group: "apps", Resource: "controllerrevisions"}: nil,
	{Group: "apps", Resource: "deployments"}: {"deploy"}, {Group: "apps", Resource: "replicasets"}: {"rs"},
	{Group: "storage.k8s.io", Resource: "storageclasses"}:                                  {"sc"},
	{Group: "coordination.k8s.io", Resource: "leases"}:                                     nil,
	{Group: "discovery.k8s.io", Resource: "endpointslices"}:                                nil,
	{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}:                 {"csr"},
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}:     nil,
	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}:   nil,
	{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicies"}:       nil,
	{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicybindings"}: nil,
	{Group: "policy", Resource: "poddisruptionbudgets"}:                                    {"pdb"},
	{Group: "networking.k8s.io", Resource: "networkpolicies"}:                              {"netpol"},
	{Group: "rbac.authorization.k8s.io", Resource: "roles"}:                                nil, {Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}: nil,
	{Group: "batch", Resource: "jobs"}: nil, {Group: "batch", Resource: "cronjobs"}: {"cj"},
	{Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}: nil, {Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}: nil,
}

// virtualResources are served resources that are not kinds: create-only
// reviews that store nothing, list nothing and print nothing, as upstream.
var virtualResources = map[schema.GroupResource]bool{
	{Group: "authentication.k8s.io", Resource: "tokenreviews"}:             true,
	{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}:       true,
	{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}:      true,
	{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}:  true,
	{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}: true,
	{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"}:   true,
}

// defaultColumnsUpstream are the resources kube prints with the default
// NAME and CREATED AT columns: their printer cannot be told apart from
// none through the API.
var defaultColumnsUpstream = map[schema.GroupResource]bool{
	{Group: "rbac.authorization.k8s.io", Resource: "roles"}:        true,
	{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}: true,
}

// crdResource is served by the apiextensions server behind petset's.
var crdResource = schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}

// TestEveryServedKindHasEveryPart walks what discovery serves and checks
// that each kind has every part a kind needs: its declaration (one
// kind_<name>.go in package registry), validation of create, update and
// (with a status subresource) status update, defaulting or an explicit
// NoDefaults, kube's table columns as the server prints them, an OpenAPI
// model the server publishes, and upstream's short names.
func TestEveryServedKindHasEveryPart(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	kinds := map[schema.GroupVersionResource]*registry.Kind{}
	for _, k := range registry.Kinds(registry.Deps{}) {
		kinds[k.GVK.GroupVersion().WithResource(k.Resource)] = k
	}
	models := openAPIModels(t, c)

	_, lists, err := c.client.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		subresources := map[string]bool{}
		for _, r := range list.APIResources {
			subresources[r.Name] = true
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			gr := gv.WithResource(r.Name).GroupResource()
			k, ok := kinds[gv.WithResource(r.Name)]
			if gr == crdResource {
				// k8s.io/apiextensions-apiserver's kind, with its own
				// validation, defaulting and (kube's) NAME, CREATED AT.
				if !models[gv.WithKind(r.Kind)] || !slices.Equal(r.ShortNames, []string{"crd", "crds"}) {
					t.Errorf("%s: OpenAPI model %v, short names %v", gr, models[gv.WithKind(r.Kind)], r.ShortNames)
				}
				continue
			}
			if !ok {
				if !virtualResources[gr] {
					t.Errorf("%s is served but is no registry kind nor a known virtual resource", gr)
				}
				continue
			}
			served++
			t.Run(gr.String(), func(t *testing.T) {
				if k.Validate == nil || k.ValidateUpdate == nil {
					t.Errorf("no create or update validation")
				}
				if subresources[r.Name+"/status"] && k.ValidateStatusUpdate == nil {
					t.Errorf("serves /status without status validation")
				}
				if (k.Default == nil) == !k.NoDefaults {
					t.Errorf("declares %s of Default and NoDefaults, want exactly one", map[bool]string{true: "both", false: "neither"}[k.Default != nil])
				}
				if k.Printer.IsZero() {
					t.Errorf("declares no Printer (kube's table columns)")
				}
				if !defaultColumnsUpstream[gr] {
					checkTable(ctx, t, c, gv, r)
				}
				if !models[gv.WithKind(r.Kind)] {
					t.Errorf("the server publishes no OpenAPI v3 model of %s", gv.WithKind(r.Kind))
				}
				want, listed := upstreamShortNames[gr]
				if !listed {
					t.Errorf("upstream's short names of %s are not listed in upstreamShortNames", gr)
				} else if !slices.Equal(r.ShortNames, want) {
					t.Errorf("short names %v, upstream's are %v", r.ShortNames, want)
				}
			})
		}
	}
	if served != len(kinds) {
		t.Errorf("discovery serves %d of the %d registry kinds", served, len(kinds))
	}
}

// checkTable asks the server for r as a Table, as kubectl get does, and
// checks the columns are kube's for the kind, not the default NAME and
// CREATED AT every resource without a printer gets.
func checkTable(ctx context.Context, t *testing.T, c *cluster, gv schema.GroupVersion, r metav1.APIResource) {
	t.Helper()
	path := "/apis/" + gv.String() + "/" + r.Name
	if gv.Group == "" {
		path = "/api/" + gv.Version + "/" + r.Name
	}
	names, _ := getTable(ctx, t, c, path)
	if len(names) == 0 || slices.Equal(names, []string{"Name", "Created At"}) {
		t.Errorf("table columns %v: no printer (kube's columns) for %s", names, r.Name)
	}
}

// getTable gets path as a Table, as kubectl get does, and returns its
// column names and rows.
func getTable(ctx context.Context, t *testing.T, c *cluster, path string) ([]string, []metav1.TableRow) {
	t.Helper()
	body, err := c.client.Discovery().RESTClient().Get().AbsPath(path).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	if err != nil {
		t.Fatalf("get %s as a Table: %v", path, err)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, col := range table.ColumnDefinitions {
		names = append(names, col.Name)
	}
	return names, table.Rows
}

// openAPIModels returns every kind the server's OpenAPI v3 documents carry
// a model of (x-kubernetes-group-version-kind).
func openAPIModels(t *testing.T, c *cluster) map[schema.GroupVersionKind]bool {
	t.Helper()
	paths, err := c.client.Discovery().OpenAPIV3().Paths()
	if err != nil {
		t.Fatal(err)
	}
	models := map[schema.GroupVersionKind]bool{}
	for path, gv := range paths {
		if !strings.HasPrefix(path, "api/") && !strings.HasPrefix(path, "apis/") {
			continue
		}
		b, err := gv.Schema("application/json")
		if err != nil {
			t.Fatalf("OpenAPI v3 %s: %v", path, err)
		}
		var doc struct {
			Components struct {
				Schemas map[string]struct {
					GVKs []schema.GroupVersionKind `json:"x-kubernetes-group-version-kind"`
				} `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("OpenAPI v3 %s: %v", path, err)
		}
		for _, s := range doc.Components.Schemas {
			for _, gvk := range s.GVKs {
				models[gvk] = true
			}
		}
	}
	return models
}
