package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func claim(name string, class *string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
		},
	}
}

func className(c *corev1.PersistentVolumeClaim) string {
	if c.Spec.StorageClassName == nil {
		return "<nil>"
	}
	return *c.Spec.StorageClassName
}

// TestDefaultStorageClassAdmission checks kube's DefaultStorageClass
// admission: a claim created without storageClassName is stored with the
// default class's name (the newest default when there are several), "" is
// kept, and with no default class the field stays nil.
func TestDefaultStorageClassAdmission(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	claims := c.client.CoreV1().PersistentVolumeClaims("default")
	classes := c.client.StorageV1().StorageClasses()
	var standard *storagev1.StorageClass
	eventually(t, "default class standard", func() (bool, error) {
		var err error
		standard, err = classes.Get(ctx, "standard", metav1.GetOptions{})
		return err == nil, err
	})

	create := func(name string, class *string) *corev1.PersistentVolumeClaim {
		t.Helper()
		got, err := claims.Create(ctx, claim(name, class), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// What Create returns is what admission stored: no controller has
	// touched the claim yet.
	if got := create("classless", nil); className(got) != "standard" {
		t.Errorf("class-less claim stored with storageClassName %s, want standard", className(got))
	}
	if got := create("explicit-empty", ptr.To("")); className(got) != "" {
		t.Errorf(`claim with storageClassName "" stored with %s`, className(got))
	}
	if got := create("explicit", ptr.To("other")); className(got) != "other" {
		t.Errorf("claim with storageClassName other stored with %s", className(got))
	}

	// A second default class, created later: the newest wins. Creation
	// timestamps have a resolution of one second: create it in a later one.
	eventually(t, "a second after standard's creation", func() (bool, error) {
		return time.Now().Truncate(time.Second).After(standard.CreationTimestamp.Time), nil
	})
	fast := &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "fast", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "example.com/fast",
	}
	if _, err := classes.Create(ctx, fast, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := create("newest-default", nil); className(got) != "fast" {
		t.Errorf("with two defaults, class-less claim got %s, want the newest (fast)", className(got))
	}

	// No default class at all: left nil.
	for _, n := range []string{"fast", "standard"} {
		if err := classes.Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := create("no-default", nil); got.Spec.StorageClassName != nil {
		t.Errorf("with no default class, claim stored with storageClassName %s, want nil", className(got))
	}
}

// staticPV is one of seed 000's pv-a/b/c as examples/kubia has them: 1Mi,
// ReadWriteOnce, class standard, a hostPath.
func staticPV(name, dir string, policy corev1.PersistentVolumeReclaimPolicy) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: policy,
			StorageClassName:              "standard",
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: dir, Type: ptr.To(corev1.HostPathDirectoryOrCreate),
			}},
		},
	}
}

// TestStaticVolumesPreferredOverProvisioning is issue 8 item 2, seed 000's
// sequence: three matching static PVs, the kubia set with 2 replicas, then
// scaled to 3. Every claim must be bound to one of the static volumes (the
// scheduler pre-binds it, the volume controller completes the binding), no
// volume is provisioned, and no volume is left half-bound (a claimRef to a
// claim bound elsewhere).
func TestStaticVolumesPreferredOverProvisioning(t *testing.T) {
	c := startCluster(t, "")
	startSimulatedNodes(t, c, 2)
	ctx := context.Background()
	for _, n := range []string{"pv-a", "pv-b", "pv-c"} {
		if _, err := c.client.CoreV1().PersistentVolumes().Create(ctx, staticPV(n, t.TempDir(), corev1.PersistentVolumeReclaimRetain), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	set := webSet("kubia", 2, "")
	set.Spec.VolumeClaimTemplates[0].Name = "data"
	set.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "data"
	if _, err := c.client.AppsV1().StatefulSets("default").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, "kubia", "kubia-0", "kubia-1")
	scaleSet(t, c, "kubia", 3)
	waitReady(t, c, "kubia", "kubia-0", "kubia-1", "kubia-2")

	bound := map[string]string{} // volume → claim
	eventually(t, "every claim bound to a static volume, both sides complete", func() (bool, error) {
		clear(bound)
		for i := range 3 {
			name := fmt.Sprintf("data-kubia-%d", i)
			pvc, err := c.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if pvc.Status.Phase != corev1.ClaimBound || pvc.Annotations["pv.kubernetes.io/bind-completed"] != "yes" {
				return false, fmt.Errorf("claim %s: phase %s, annotations %v", name, pvc.Status.Phase, pvc.Annotations)
			}
			bound[pvc.Spec.VolumeName] = name
		}
		pvs, err := c.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, pv := range pvs.Items {
			if !strings.HasPrefix(pv.Name, "pv-") {
				return false, fmt.Errorf("volume %s was provisioned although static volumes matched", pv.Name)
			}
			ref := pv.Spec.ClaimRef
			if pv.Status.Phase != corev1.VolumeBound || ref == nil || bound[pv.Name] != ref.Name || ref.UID == "" {
				return false, fmt.Errorf("volume %s: phase %s, claimRef %v, claims bound to it: %q", pv.Name, pv.Status.Phase, ref, bound[pv.Name])
			}
			if pv.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes" {
				return false, fmt.Errorf("volume %s: annotations %v", pv.Name, pv.Annotations)
			}
		}
		return len(bound) == 3, fmt.Errorf("bound volumes %v", bound)
	})
}
