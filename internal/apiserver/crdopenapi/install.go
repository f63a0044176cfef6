package crdopenapi

import (
	restful "github.com/emicklei/go-restful/v3"
	"k8s.io/apiserver/pkg/server/mux"
	builder2 "k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/common/restfuladapter"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// InstallV2 serves /openapi/v2 on mux as k8s.io/apiserver's
// routes.OpenAPI.InstallV2 does, except that the spec of the routes of c is
// built on the first request that needs it (then kept), not now. It returns
// the service and that lazy spec, for Controller.Run to merge the custom
// resources' specs into.
func InstallV2(c *restful.Container, cfg *common.Config, m *mux.PathRecorderMux) (*handler.OpenAPIService, cached.Value[*spec.Swagger]) {
	static := cached.Once(cached.Func(func() (*spec.Swagger, string, error) {
		s, err := builder2.BuildOpenAPISpecFromRoutes(restfuladapter.AdaptWebServices(c.RegisteredWebServices()), cfg)
		if err != nil {
			return nil, "", err
		}
		s.Definitions = handler.PruneDefaults(s.Definitions)
		// Built once: one etag for its lifetime.
		return s, "static", nil
	}))
	svc := handler.NewOpenAPIServiceLazy(static)
	svc.RegisterOpenAPIVersionedService("/openapi/v2", m)
	return svc, static
}
