package crdopenapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	restful "github.com/emicklei/go-restful/v3"
	"k8s.io/apiserver/pkg/server/mux"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

type widget struct {
	Name string `json:"name"`
}

// TestInstallV2Lazy: nothing is built until /openapi/v2 is asked for, then
// once; the spec served has the routes' paths and models.
func TestInstallV2Lazy(t *testing.T) {
	var builds atomic.Int32
	cfg := &common.Config{
		Info: &spec.Info{InfoProps: spec.InfoProps{Title: "test", Version: "v0"}},
		GetDefinitions: func(common.ReferenceCallback) map[string]common.OpenAPIDefinition {
			builds.Add(1)
			return map[string]common.OpenAPIDefinition{
				"petset/internal/apiserver/crdopenapi.widget": {Schema: spec.Schema{SchemaProps: spec.SchemaProps{
					Type: []string{"object"}, Properties: map[string]spec.Schema{"name": *spec.StringProperty()},
				}}},
			}
		},
	}
	ws := new(restful.WebService).Path("/apis/test/v1")
	ws.Route(ws.GET("/widgets").To(func(*restful.Request, *restful.Response) {}).Operation("listWidgets").Writes(widget{}).Returns(200, "OK", widget{}))
	c := restful.NewContainer()
	c.Add(ws)
	m := mux.NewPathRecorderMux("test")

	_, static := InstallV2(c, cfg, m)
	if n := builds.Load(); n != 0 {
		t.Fatalf("definitions built %d times at install, want 0", n)
	}
	for i := 0; i < 2; i++ {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi/v2", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /openapi/v2: %d %s", rec.Code, rec.Body)
		}
		body := rec.Body.String()
		if !strings.Contains(body, `"/apis/test/v1/widgets"`) || !strings.Contains(body, "crdopenapi.widget") {
			t.Fatalf("spec lacks the route or its model: %.400s", body)
		}
	}
	if n := builds.Load(); n != 1 {
		t.Fatalf("definitions built %d times after two requests, want 1", n)
	}
	s, _, err := static.Get()
	if err != nil || s.Paths == nil || len(s.Paths.Paths) != 1 {
		t.Fatalf("static spec: %v, %+v", err, s)
	}
}
