// Package examples_test checks the walkthrough manifests: each document
// decodes strictly into a kind petset serves, and every container image
// resolves through petset's image catalog.
package examples_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"petset/internal/agent/image"
)

func decodeAll(t *testing.T, file string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	dec := codecs.UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if list, ok := obj.(*corev1.List); ok {
			for _, item := range list.Items {
				o, _, err := dec.Decode(item.Raw, nil, nil)
				if err != nil {
					t.Fatalf("%s: list item: %v", file, err)
				}
				out = append(out, o)
			}
			continue
		}
		out = append(out, obj)
	}
	return out
}

// unrunnable lists the manifests whose images petset cannot run on purpose:
// their walkthrough shows what kubectl says about it.
var unrunnable = map[string]string{
	"mysql/statefulset.yaml": "seed 002's MySQL set, unchanged: its README shows the ErrImagePull events, then gives it a host command",
}

func TestManifests(t *testing.T) {
	files, err := filepath.Glob("*/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	catalog := image.Default("/usr/local/bin/petset")
	kinds := map[string]int{}
	for _, f := range files {
		for _, obj := range decodeAll(t, f) {
			switch o := obj.(type) {
			case *appsv1.StatefulSet:
				kinds["StatefulSet"]++
				if o.Spec.Selector == nil {
					t.Errorf("%s: StatefulSet %s has no selector", f, o.Name)
				}
				for _, c := range o.Spec.Template.Spec.Containers {
					_, err := catalog.Resolve(c.Image, c.Command, c.Args)
					if _, ok := unrunnable[f]; ok {
						if err == nil {
							t.Errorf("%s: container %s resolves; drop it from unrunnable", f, c.Name)
						}
					} else if err != nil {
						t.Errorf("%s: container %s: %v", f, c.Name, err)
					}
				}
			case *corev1.Service:
				kinds["Service"]++
			case *corev1.ConfigMap:
				kinds["ConfigMap"]++
			case *corev1.Secret:
				kinds["Secret"]++
			case *corev1.PersistentVolume:
				kinds["PersistentVolume"]++
			case *storagev1.StorageClass:
				kinds["StorageClass"]++
				if o.Provisioner != "petset.io/local" {
					t.Errorf("%s: provisioner %s", f, o.Provisioner)
				}
			default:
				t.Errorf("%s: unexpected kind %T", f, obj)
			}
		}
	}
	want := map[string]int{"StatefulSet": 8, "Service": 6, "PersistentVolume": 3, "StorageClass": 1, "ConfigMap": 2, "Secret": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s: %d, want %d", k, kinds[k], n)
		}
	}
}

// The walkthroughs follow the data dir: a manifest naming a host path
// under the default data dir /var/lib/petset is applied in every README
// command with that prefix replaced by $PETSET_DATA_DIR, and no README
// command names a path under /var/lib/petset itself.
func TestWalkthroughsFollowDataDir(t *testing.T) {
	manifests, err := filepath.Glob("*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pinned := map[string]bool{} // file name -> names /var/lib/petset/
	for _, f := range manifests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "#") && strings.Contains(l, "/var/lib/petset/") {
				pinned[f] = true
			}
		}
	}
	if len(pinned) == 0 {
		t.Fatal("no manifest names a path under /var/lib/petset: update this test")
	}
	readmes, err := filepath.Glob("*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	readmes = append(readmes, "README.md")
	for _, r := range readmes {
		b, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		inCode := false
		for i, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "```") {
				inCode = !inCode
				continue
			}
			cmd, _, _ := strings.Cut(l, "#  ")
			if !inCode || strings.HasPrefix(strings.TrimSpace(cmd), "#") {
				continue
			}
			follows := strings.Contains(cmd, "${PETSET_DATA_DIR")
			for f := range pinned {
				rel, _ := filepath.Rel(filepath.Dir(r), f)
				if (strings.Contains(cmd, " "+rel) || strings.Contains(cmd, " "+f)) && !follows {
					t.Errorf("%s:%d applies %s, which names /var/lib/petset/…, without replacing it by the data dir: %s", r, i+1, f, l)
				}
			}
			if strings.Contains(strings.ReplaceAll(cmd, "s#/var/lib/petset/#", ""), "/var/lib/petset") && !follows {
				t.Errorf("%s:%d names /var/lib/petset whatever the data dir: %s", r, i+1, l)
			}
		}
	}
}
