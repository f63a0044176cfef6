package examples

import (
	"slices"
	"testing"

	"petset/internal/agent/image"
)

// Every `petset example <app>` command the image catalog produces names an
// app of this table.
func TestCatalogAppsExist(t *testing.T) {
	c := image.Default("/petset")
	for _, img := range []string{"luksa/kubia-pet", "luksa/kubia-pet-peers", "hello-stateful:v3", "nginx", "tutum/dnsutils"} {
		r, err := c.Resolve(img, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", img, err)
		}
		if len(r.Argv) < 3 || r.Argv[0] != "/petset" {
			continue // a host program (nginx or dig present on this host)
		}
		if r.Argv[1] != "example" {
			t.Fatalf("%s: argv %q", img, r.Argv)
		}
		if _, ok := App(r.Argv[2]); !ok {
			t.Errorf("%s: app %q not in the table %v", img, r.Argv[2], Names())
		}
	}
	if !slices.IsSorted(Names()) || len(Names()) != 5 {
		t.Fatalf("Names() = %v", Names())
	}
}
