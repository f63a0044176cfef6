package integration

import (
	"context"
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
