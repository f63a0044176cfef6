package integration

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	restclient "k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

var widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

// widgetCRD is a namespaced kind with a structural schema, printer
// columns and the status and scale subresources.
func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	num := apiextensionsv1.JSONSchemaProps{Type: "integer"}
	return namespacedCRD("example.com",
		apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ShortNames: []string{"wd"}},
		apiextensionsv1.CustomResourceDefinitionVersion{
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"spec": {Type: "object", Required: []string{"size"}, Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"size":     {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"small"`)}, {Raw: []byte(`"large"`)}}},
						"replicas": num,
					}},
					"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"replicas": num, "selector": str}},
				},
			}},
			Subresources: &apiextensionsv1.CustomResourceSubresources{
				Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
				Scale: &apiextensionsv1.CustomResourceSubresourceScale{
					SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas", LabelSelectorPath: ptr.To(".status.selector"),
				},
			},
			AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
				{Name: "Size", Type: "string", JSONPath: ".spec.size"},
				{Name: "Replicas", Type: "integer", JSONPath: ".spec.replicas"},
				{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
			},
		})
}

// namespacedCRD is a namespaced CustomResourceDefinition of one version,
// v1, served and stored.
func namespacedCRD(group string, names apiextensionsv1.CustomResourceDefinitionNames, v apiextensionsv1.CustomResourceDefinitionVersion) *apiextensionsv1.CustomResourceDefinition {
	v.Name, v.Served, v.Storage = "v1", true, true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: names.Plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Names: names, Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{v},
		},
	}
}

// serviceMonitorCRD is a small structural version of prometheus-operator's
// monitoring.coreos.com/v1 ServiceMonitor, the kind charts' optional
// metrics templates create.
func serviceMonitorCRD() *apiextensionsv1.CustomResourceDefinition {
	return namespacedCRD("monitoring.coreos.com",
		apiextensionsv1.CustomResourceDefinitionNames{Plural: "servicemonitors", Singular: "servicemonitor", Kind: "ServiceMonitor",
			ListKind: "ServiceMonitorList", ShortNames: []string{"smon"}, Categories: []string{"prometheus-operator"}},
		apiextensionsv1.CustomResourceDefinitionVersion{
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"spec": {Type: "object", Required: []string{"selector", "endpoints"}, Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"jobLabel": {Type: "string"},
						"selector": {Type: "object", XPreserveUnknownFields: ptr.To(true)},
						"namespaceSelector": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"any":        {Type: "boolean"},
							"matchNames": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}},
						}},
						"endpoints": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
							Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
								"port": {Type: "string"}, "path": {Type: "string"}, "interval": {Type: "string", Pattern: `^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?)$`},
								"scheme": {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"http"`)}, {Raw: []byte(`"https"`)}}},
							},
						}}},
					}},
				},
			}},
		})
}

// createCRD creates crd and waits until it is Established.
func createCRD(t *testing.T, c *cluster, crd *apiextensionsv1.CustomResourceDefinition) apiextensionsclient.Interface {
	t.Helper()
	ext, err := apiextensionsclient.NewForConfig(c.config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, crd.Name+" Established", func() (bool, error) {
		got, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	// The resource is served once discovery lists it.
	gv := crd.Spec.Group + "/" + crd.Spec.Versions[0].Name
	eventually(t, gv+" in discovery", func() (bool, error) {
		list, err := c.client.Discovery().ServerResourcesForGroupVersion(gv)
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == crd.Spec.Names.Plural }), nil
	})
	return ext
}

func widget(name, size string, replicas int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"size": size, "replicas": replicas},
	}}
}

// TestCustomResourceDefinitions serves a CustomResourceDefinition's kind
// through the apiextensions server behind petset's: create, get, list,
// watch, the status and scale subresources, printer columns, schema
// validation and pruning, strict field validation, server-side apply,
// discovery and OpenAPI; deleting the definition deletes its objects.
func TestCustomResourceDefinitions(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	ext := createCRD(t, c, widgetCRD())
	dyn, err := dynamic.NewForConfig(c.config)
	if err != nil {
		t.Fatal(err)
	}
	ws := dyn.Resource(widgets).Namespace("default")

	list, err := ws.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ws.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	created, err := ws.Create(ctx, widget("w1", "small", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if o, ok := ev.Object.(*unstructured.Unstructured); ev.Type != watch.Added || !ok || o.GetName() != "w1" {
			t.Errorf("first watch event %s %v, want ADDED w1", ev.Type, ev.Object)
		}
	case <-ctx.Done():
	}

	// The schema: an enum is enforced, an unknown field pruned (with a
	// warning) or refused under strict field validation.
	if _, err := ws.Create(ctx, widget("bad", "huge", 1), metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.size: Unsupported value: "huge"`) {
		t.Errorf("create with size huge: %v, want Invalid spec.size", err)
	}
	extra := widget("w2", "large", 1)
	extra.Object["spec"].(map[string]any)["color"] = "red"
	_, err = ws.Create(ctx, extra, metav1.CreateOptions{FieldValidation: "Strict"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `unknown field "spec.color"`) {
		t.Errorf("strict create with spec.color: %v, want BadRequest unknown field", err)
	}
	pruned, err := ws.Create(ctx, extra, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedString(pruned.Object, "spec", "color"); found {
		t.Errorf("spec.color was not pruned: %v", pruned.Object["spec"])
	}

	// Status goes only through /status; the main resource ignores it.
	st := created.DeepCopy()
	_ = unstructured.SetNestedField(st.Object, int64(2), "status", "replicas")
	_ = unstructured.SetNestedField(st.Object, "app=w1", "status", "selector")
	if _, err := ws.UpdateStatus(ctx, st, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := ws.Get(ctx, "w1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(got.Object, int64(9), "status", "replicas")
	updated, err := ws.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(updated.Object, "status", "replicas"); r != 2 {
		t.Errorf("status.replicas after a main-resource update = %d, want 2", r)
	}

	// The scale subresource, as kubectl scale uses it.
	scale, err := ws.Get(ctx, "w1", metav1.GetOptions{}, "scale")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(scale.Object, "spec", "replicas"); r != 2 || scale.GetKind() != "Scale" {
		t.Errorf("scale = %v, want a Scale of 2 replicas", scale.Object)
	}
	if sel, _, _ := unstructured.NestedString(scale.Object, "status", "selector"); sel != "app=w1" {
		t.Errorf("scale status.selector = %q, want app=w1", sel)
	}
	patch := []byte(`{"spec":{"replicas":5}}`)
	if _, err := ws.Patch(ctx, "w1", types.MergePatchType, patch, metav1.PatchOptions{}, "scale"); err != nil {
		t.Fatal(err)
	}
	got, err = ws.Get(ctx, "w1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 5 {
		t.Errorf("spec.replicas after scaling = %d, want 5", r)
	}

	// Server-side apply with a field manager.
	applied := []byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w3"},"spec":{"size":"large","replicas":3}}`)
	if _, err := ws.Patch(ctx, "w3", types.ApplyPatchType, applied, metav1.PatchOptions{FieldManager: "test"}); err != nil {
		t.Fatal(err)
	}
	got, err = ws.Get(ctx, "w3", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GetManagedFields()) == 0 || got.GetManagedFields()[0].Manager != "test" {
		t.Errorf("managed fields after apply = %v", got.GetManagedFields())
	}

	// kubectl get's columns.
	columns, rows := getTable(ctx, t, c, "/apis/example.com/v1/namespaces/default/widgets")
	if want := []string{"Name", "Size", "Replicas", "Age"}; !slices.Equal(columns, want) || len(rows) != 3 {
		t.Errorf("table columns %v with %d rows, want %v with 3", columns, len(rows), want)
	}

	// Discovery, unaggregated and aggregated, and the OpenAPI model.
	var groups metav1.APIGroupList
	body, err := c.client.Discovery().RESTClient().Get().AbsPath("/apis").SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &groups); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.Groups {
		names = append(names, g.Name)
	}
	if !slices.Contains(names, "example.com") || !slices.Contains(names, "apiextensions.k8s.io") || !slices.Contains(names, "apps") {
		t.Errorf("unaggregated /apis lists %v, want apps, apiextensions.k8s.io and example.com", names)
	}
	eventually(t, "the Widget OpenAPI v3 model", func() (bool, error) {
		return openAPIModels(t, c)[widgets.GroupVersion().WithKind("Widget")], nil
	})
	eventually(t, "the Widget OpenAPI v2 definition", func() (bool, error) {
		body, err := c.client.Discovery().RESTClient().Get().AbsPath("/openapi/v2").SetHeader("Accept", "application/json").DoRaw(ctx)
		return strings.Contains(string(body), `"com.example.v1.Widget"`) && strings.Contains(string(body), `"io.k8s.api.apps.v1.StatefulSet"`), err
	})

	// An unknown group or resource is NotFound.
	if _, err := dyn.Resource(schema.GroupVersionResource{Group: "nothing.example.com", Version: "v1", Resource: "things"}).List(ctx, metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("list of an unknown resource: %v, want NotFound", err)
	}

	// Deleting the definition deletes its objects (the finalizer) and
	// takes the group out of discovery.
	if err := ext.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, "widgets.example.com", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the CustomResourceDefinition gone", func() (bool, error) {
		_, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "widgets.example.com", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	eventually(t, "example.com out of discovery", func() (bool, error) {
		groups, err := c.client.Discovery().ServerGroups()
		if err != nil {
			return false, err
		}
		return !slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == "example.com" }), nil
	})
	// Recreated, the kind starts empty.
	createCRD(t, c, widgetCRD())
	list, err = ws.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("%d widgets outlived their definition", len(list.Items))
	}
}

// TestCustomResourceRBAC authorizes custom resources as any other: a user
// without a binding is refused, and a ClusterRole labelled
// aggregate-to-view extends the view role a RoleBinding grants.
func TestCustomResourceRBAC(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	createCRD(t, c, serviceMonitorCRD())
	smon := schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}
	dyn, err := dynamic.NewForConfig(c.config)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
		"metadata": map[string]any{"name": "db", "labels": map[string]any{"release": "db"}},
		"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": map[string]any{"app": "db"}},
			"endpoints": []any{map[string]any{"port": "metrics", "interval": "30s"}},
		},
	}}
	if _, err := dyn.Resource(smon).Namespace("default").Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cfg := restclient.CopyConfig(c.config)
	cfg.Impersonate = restclient.ImpersonationConfig{UserName: "carol"}
	carol, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Resource(smon).Namespace("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("carol lists servicemonitors without a binding: %v, want Forbidden", err)
	}
	if _, err := c.client.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "carol-view"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "carol"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "monitoring-view", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"monitoring.coreos.com"}, Resources: []string{"servicemonitors"}, Verbs: []string{"get", "list", "watch"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "carol lists servicemonitors through the aggregated view role", func() (bool, error) {
		list, err := carol.Resource(smon).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 1, err
	})
	if err := carol.Resource(smon).Namespace("default").Delete(ctx, "db", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("carol deletes a servicemonitor with view: %v, want Forbidden", err)
	}
}
