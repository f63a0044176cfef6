package e2e

import (
	"strings"
	"testing"

	"petset/test/harness"
)

// widgetCRD is a CustomResourceDefinition as a chart ships one: a
// structural schema, printer columns, the status and scale subresources.
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    additionalPrinterColumns:
    - name: Size
      type: string
      jsonPath: .spec.size
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the widget should be.
            required: [size]
            properties:
              size:
                type: string
                description: How big the widget is.
                enum: [small, large]
              replicas:
                type: integer
          status:
            type: object
            properties:
              replicas:
                type: integer
`

// TestCustomResourcesKubectl: the real kubectl against petset up's
// CustomResourceDefinitions — apply a definition and an object of it,
// get with the definition's printer columns, explain its schema, describe,
// scale through /scale, strict field validation, and kubectl's own "no
// matches for kind" for a kind nothing serves.
func TestCustomResourcesKubectl(t *testing.T) {
	t.Parallel()
	u := harness.StartUp(t, "--simulate-nodes", "1")
	k := u.K

	if r := k.RunWith(harness.RunOpts{Stdin: widgetCRD}, "apply", "-f", "-"); r.Err != nil {
		t.Fatalf("%s", r)
	}
	k.MustRun(t, "wait", "--for=condition=Established", "--timeout=60s", "crd/widgets.example.com")
	widget := "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: small\n  replicas: 2\n"
	if r := k.RunWith(harness.RunOpts{Stdin: widget}, "apply", "-f", "-"); r.Err != nil {
		t.Fatalf("%s", r)
	}
	out := k.MustRun(t, "get", "wd").Stdout
	if h := harness.Header(out); h != "NAME SIZE REPLICAS AGE" {
		t.Errorf("kubectl get wd header %q", h)
	}
	if rows := harness.Rows(out); len(rows) != 1 || strings.Join(rows[0][:3], " ") != "w1 small 2" {
		t.Errorf("kubectl get wd rows %q", rows)
	}
	// explain reads the model the server publishes for the new kind.
	if out := k.MustRun(t, "explain", "widget.spec.size").Stdout; !strings.Contains(out, "How big the widget is.") {
		t.Errorf("kubectl explain widget.spec.size:\n%s", out)
	}
	if out := k.MustRun(t, "describe", "widget", "w1").Stdout; !strings.Contains(out, "Size:") || !strings.Contains(out, "Kind:         Widget") {
		t.Errorf("kubectl describe widget w1:\n%s", out)
	}
	k.MustRun(t, "scale", "widget/w1", "--replicas=4")
	if got := k.JSONPath(t, "{.spec.replicas}", "widget", "w1"); got != "4" {
		t.Errorf("spec.replicas after kubectl scale = %q, want 4", got)
	}
	colored := strings.Replace(widget, "  size: small\n", "  size: small\n  color: red\n", 1)
	r := k.RunWith(harness.RunOpts{Stdin: colored}, "apply", "--validate=strict", "-f", "-")
	if r.Err == nil || !strings.Contains(r.Combined(), `unknown field "spec.color"`) {
		t.Errorf("kubectl apply --validate=strict with spec.color: %s", r)
	}
	unknown := "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\n"
	r = k.RunWith(harness.RunOpts{Stdin: unknown}, "apply", "-f", "-")
	if r.Err == nil || !strings.Contains(r.Combined(), `no matches for kind "Gadget" in version "example.com/v1"`) || strings.Contains(r.Combined(), "failed to check CRD") {
		t.Errorf("kubectl apply of an unknown kind: %s", r)
	}
	k.MustRun(t, "delete", "crd", "widgets.example.com")
	// kubectl's discovery cache may still name the resource: then the
	// server's NotFound is the answer, as on kube.
	r = k.Run("get", "widgets")
	if out := r.Combined(); r.Err == nil || !strings.Contains(out, `the server doesn't have a resource type "widgets"`) && !strings.Contains(out, "(NotFound)") {
		t.Errorf("kubectl get widgets after the definition's delete: %s", r)
	}
}
