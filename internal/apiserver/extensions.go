package apiserver

import (
	"fmt"
	"sort"
	"sync"

	restful "github.com/emicklei/go-restful/v3"
	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiextensionslisters "k8s.io/apiextensions-apiserver/pkg/client/listers/apiextensions/v1"
	apiextensionsoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	openapiv3controller "k8s.io/apiextensions-apiserver/pkg/controller/openapiv3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	genericapifilters "k8s.io/apiserver/pkg/endpoints/filters"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/server/routes"
	"k8s.io/apiserver/pkg/util/notfoundhandler"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"petset/internal/apiserver/crdopenapi"
	"petset/internal/etcdstorage"
)

// newExtensions builds the apiextensions-apiserver that serves
// CustomResourceDefinitions and custom resources, as kube-apiserver does:
// it is the delegate of petset's own server (a path petset does not serve
// goes to it) and its own delegate is the NotFound handler. It shares
// petset's serving, authentication, authorization and admission (cfg is a
// copy of petset's completed-to-be config) and stores in the same etcd
// under the same prefix: CustomResourceDefinitions as
// /registry/apiextensions.k8s.io/customresourcedefinitions/<name>, custom
// resources as /registry/<group>/<plural>/[<namespace>/]<name>.
func newExtensions(cfg genericapiserver.Config, etcd options.EtcdOptions, shared *etcdstorage.Shared, kubeInformers informers.SharedInformerFactory,
	services webhook.ServiceResolver, auth webhook.AuthenticationInfoResolverWrapper) (*apiextensionsapiserver.CustomResourceDefinitions, error) {
	// Only what differs from petset's server is changed on the copy.
	cfg.PostStartHooks = map[string]genericapiserver.PostStartHookConfigEntry{}
	cfg.RESTOptionsGetter = nil
	etcd.StorageConfig.Codec = apiextensionsapiserver.Codecs.LegacyCodec(v1beta1.SchemeGroupVersion, apiextensionsv1.SchemeGroupVersion)
	// kube stores CustomResourceDefinitions as v1beta1 (the more compact
	// serialization, kubernetes/kubernetes#82292).
	etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(v1beta1.SchemeGroupVersion, schema.GroupKind{Group: v1beta1.GroupName})
	etcd.SkipHealthEndpoints = true // petset's server checks etcd already
	if err := etcd.ApplyTo(&cfg); err != nil {
		return nil, fmt.Errorf("apiextensions storage: %w", err)
	}
	cfg.RESTOptionsGetter = shared.Getter(cfg.RESTOptionsGetter, etcd.EnableWatchCache)
	cfg.MergedResourceConfig = apiextensionsapiserver.DefaultAPIResourceConfigSource()
	extCfg := &apiextensionsapiserver.Config{
		GenericConfig: &genericapiserver.RecommendedConfig{Config: cfg, SharedInformerFactory: kubeInformers},
		ExtraConfig: apiextensionsapiserver.ExtraConfig{
			CRDRESTOptionsGetter: shared.Getter(apiextensionsoptions.NewCRDRESTOptionsGetter(etcd, cfg.ResourceTransformers, cfg.StorageObjectCountTracker), etcd.EnableWatchCache),
			MasterCount:          1,
			ServiceResolver:      services,
			AuthResolverWrapper:  auth,
		},
	}
	notFound := notfoundhandler.New(cfg.Serializer, genericapifilters.NoMuxAndDiscoveryIncompleteKey)
	ext, err := extCfg.Complete().New(genericapiserver.NewEmptyDelegateWithCustomHandler(notFound))
	if err != nil {
		return nil, fmt.Errorf("create apiextensions server: %w", err)
	}
	return ext, nil
}

// installOpenAPI serves /openapi/v2 and /openapi/v3 on petset's server for
// what both servers serve, and keeps the custom resources' models in them
// (kube's aggregator merges the specs of its delegates; petset has no
// aggregator, so both servers are configured with SkipOpenAPIInstallation).
// It builds the specs of every web service of petset's server and the
// apiextensions server, once all are installed.
func (s *Server) installOpenAPI(cfg *genericapiserver.Config, ext *apiextensionsapiserver.CustomResourceDefinitions) {
	all := restful.NewContainer()
	seen := sets.New[string]()
	for _, c := range []*restful.Container{s.generic.Handler.GoRestfulContainer, ext.GenericAPIServer.Handler.GoRestfulContainer} {
		for _, ws := range c.RegisteredWebServices() {
			if seen.Has(ws.RootPath()) {
				continue
			}
			seen.Insert(ws.RootPath())
			all.Add(ws)
		}
	}
	crds := ext.Informers.Apiextensions().V1().CustomResourceDefinitions()
	// The v2 spec is built on its first request (crdopenapi).
	v2, static := crdopenapi.InstallV2(all, cfg.OpenAPIConfig, s.generic.Handler.NonGoRestfulMux)
	v3 := routes.OpenAPI{V3Config: cfg.OpenAPIV3Config}.InstallV3(all, s.generic.Handler.NonGoRestfulMux)
	// Every group's v3 spec is built now; the map of all definitions that
	// DefaultOpenAPIV3Config computed for building them (≈6 MB) would
	// otherwise stay for the server's lifetime. A later build calls
	// GetDefinitions again.
	cfg.OpenAPIV3Config.Definitions = nil
	ctrl2, ctrl3 := crdopenapi.NewController(crds), openapiv3controller.NewController(crds)
	s.generic.AddPostStartHookOrDie("crd-openapi-controllers", func(hc genericapiserver.PostStartHookContext) error {
		go ctrl2.Run(static, v2, hc.Done())
		go ctrl3.Run(v3, hc.Done())
		return nil
	})
}

// crdGroups lists the groups of established CustomResourceDefinitions and
// the apiextensions.k8s.io group in petset's unaggregated /apis (the
// aggregated /apis is one resource manager both servers share).
type crdGroups struct {
	manager discovery.GroupManager
	lister  apiextensionslisters.CustomResourceDefinitionLister
	builtin sets.Set[string] // groups petset's server serves itself

	mu    sync.Mutex
	added sets.Set[string]
}

func newCRDGroups(manager discovery.GroupManager, crds cache.SharedIndexInformer, lister apiextensionslisters.CustomResourceDefinitionLister) (*crdGroups, error) {
	g := &crdGroups{manager: manager, lister: lister, builtin: sets.New[string](), added: sets.New[string]()}
	for _, gv := range servedGroupVersions {
		g.builtin.Insert(gv.Group)
	}
	manager.AddGroup(metav1.APIGroup{
		Name:             apiextensionsv1.GroupName,
		Versions:         []metav1.GroupVersionForDiscovery{{GroupVersion: apiextensionsv1.SchemeGroupVersion.String(), Version: "v1"}},
		PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: apiextensionsv1.SchemeGroupVersion.String(), Version: "v1"},
	})
	_, err := crds.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { g.sync() },
		UpdateFunc: func(any, any) { g.sync() },
		DeleteFunc: func(any) { g.sync() },
	})
	if err != nil {
		return nil, fmt.Errorf("watch CustomResourceDefinitions for discovery: %w", err)
	}
	return g, nil
}

// sync recomputes every custom group from the lister.
func (g *crdGroups) sync() {
	g.mu.Lock()
	defer g.mu.Unlock()
	crds, err := g.lister.List(labels.Everything())
	if err != nil {
		return // a lister of an informer's cache does not fail
	}
	versions := map[string]sets.Set[string]{}
	for _, crd := range crds {
		if !apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established) || g.builtin.Has(crd.Spec.Group) {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			if versions[crd.Spec.Group] == nil {
				versions[crd.Spec.Group] = sets.New[string]()
			}
			versions[crd.Spec.Group].Insert(v.Name)
		}
	}
	for group := range g.added {
		if _, ok := versions[group]; !ok {
			g.manager.RemoveGroup(group)
			g.added.Delete(group)
		}
	}
	for group, vs := range versions {
		names := vs.UnsortedList()
		// The preferred version is the highest by kube's version priority,
		// as the apiextensions server's own group discovery says.
		sort.Slice(names, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(names[i], names[j]) > 0 })
		apiGroup := metav1.APIGroup{Name: group}
		for _, v := range names {
			apiGroup.Versions = append(apiGroup.Versions, metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v, Version: v})
		}
		apiGroup.PreferredVersion = apiGroup.Versions[0]
		g.manager.AddGroup(apiGroup)
		g.added.Insert(group)
	}
}
