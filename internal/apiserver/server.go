package apiserver

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	authzunion "k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/component-base/compatibility"

	"petset/internal/apiclient"
	"petset/internal/apiserver/openapi"
	"petset/internal/etcdstorage"
	"petset/internal/logging"
	"petset/internal/pki"
	"petset/internal/rbac"
	"petset/internal/registry"
	"petset/internal/serviceaccount"
)

// KubernetesVersion is the Kubernetes release whose API petset serves. The
// kubectl dispatcher picks the kubectl it runs by this minor version.
var KubernetesVersion = version.Info{
	Major: "1", Minor: "37", GitVersion: "v1.37.2", GitCommit: "petset", GitTreeState: "clean",
	BuildDate: "2026-11-01T00:00:00Z", GoVersion: "go1.26", Compiler: "gc", Platform: "linux/amd64",
}

// Config says how to serve.
type Config struct {
	// BindAddress and Port to listen on; port 0 picks a free one.
	BindAddress net.IP
	Port        int
	// CertFile and KeyFile are the serving certificate.
	CertFile, KeyFile string
	// AdminToken and JoinToken are the accepted bearer tokens.
	AdminToken, JoinToken string
	// TokenAuthFile is a CSV of static tokens (token,user,uid,"group1,group2"),
	// kube-apiserver's --token-auth-file; "" for none.
	TokenAuthFile string
	// Authorizers decide after privileged users and before the stopgap
	// (the Node authorizer).
	Authorizers []authzunion.NamedAuthorizer
	// Admission are admission plugins run after petset's own (NodeRestriction).
	Admission []admission.Interface
	// ClientCAFile is the CA whose client certificates authenticate users
	// (common name = user, organizations = groups); "" accepts none.
	ClientCAFile string
	// ServiceAccountIssuer signs the tokens of serviceaccounts/token;
	// ServiceAccountKeys (each an *rsa.PublicKey or an *ecdsa.PublicKey)
	// verify service-account tokens and are served for issuer discovery
	// (/.well-known/openid-configuration, /openid/v1/jwks). Without them
	// no service-account tokens are issued or accepted.
	ServiceAccountIssuer *serviceaccount.Issuer
	ServiceAccountKeys   []crypto.PublicKey
	// Etcd, when set, is the etcd client every resource's storage shares
	// (package etcdstorage); its owner closes it after the server has
	// stopped. Nil: each storage dials its own client to EtcdServers, as
	// k8s.io/apiserver's storage factory does.
	Etcd *clientv3.Client
	// EtcdServers are the etcd client URLs, which the etcd health and
	// readiness checks and the database size monitor dial.
	EtcdServers []string
	// EtcdCAFile, EtcdCertFile and EtcdKeyFile secure the connection to
	// etcd (kube-apiserver's --etcd-cafile/--etcd-certfile/--etcd-keyfile).
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// DisableWatchCache serves every read from etcd (kube-apiserver's
	// --watch-cache=false).
	DisableWatchCache bool
	// StoragePrefix is the etcd key prefix (default "/registry").
	StoragePrefix string
	// Registry are the dependencies of the kinds (allocators).
	Registry registry.Deps
	// Unauthenticated are handlers served by path ahead of the API's
	// authentication and authorization, which must authenticate their
	// callers themselves (a cluster's join endpoint, which checks the
	// server token).
	Unauthenticated map[string]http.Handler
	Logger          *slog.Logger
}

// Server is a configured API server.
type Server struct {
	generic  *genericapiserver.GenericAPIServer
	loopback *restclient.Config
	scheme   *runtime.Scheme
	codecs   serializer.CodecFactory
	stores   map[schema.GroupResource]*registry.Store
	port     int
	ready    chan struct{}
	log      *slog.Logger
}

// New wires the API server: scheme, storage over etcd, auth, OpenAPI and
// every kind's store. It does not listen yet.
func New(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.ServiceAccountIssuer != nil {
		cfg.Registry.Tokens = cfg.ServiceAccountIssuer
	}
	scheme, codecs, err := NewScheme()
	if err != nil {
		return nil, fmt.Errorf("build scheme: %w", err)
	}

	c := genericapiserver.NewConfig(codecs)
	c.EffectiveVersion = compatibility.NewEffectiveVersionFromString(KubernetesVersion.Major+"."+KubernetesVersion.Minor+".2", "", "")

	secure := options.NewSecureServingOptions()
	secure.BindAddress = cfg.BindAddress
	secure.BindPort = cfg.Port
	secure.ServerCert.CertKey = options.CertKey{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}
	if cfg.Port == 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress.String(), "0"))
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		secure.Listener = ln
		secure.BindPort = ln.Addr().(*net.TCPAddr).Port
	}
	if err := secure.ApplyTo(&c.SecureServing); err != nil {
		return nil, fmt.Errorf("secure serving: %w", err)
	}
	if err := applyLoopback(c); err != nil {
		return nil, err
	}
	// In-process clients ask for plain responses: the server otherwise
	// gzips every watch event (per flush) to them, and each open watch holds
	// a gzip reader on the client side and a flate writer on the server's.
	c.LoopbackClientConfig.DisableCompression = true
	objects := &storeObjects{}
	var saTokens authenticator.Token
	saIssuer := ""
	if cfg.ServiceAccountIssuer != nil {
		saIssuer = cfg.ServiceAccountIssuer.Name()
	}
	if len(cfg.ServiceAccountKeys) > 0 {
		a, err := serviceaccount.NewAuthenticator(saIssuer, cfg.ServiceAccountKeys, nil, objects)
		if err != nil {
			return nil, fmt.Errorf("service-account token authenticator: %w", err)
		}
		saTokens = a
	}
	authn, clientCA, err := newAuthenticator(cfg, saTokens)
	if err != nil {
		return nil, err
	}
	c.Authentication.Authenticator = authn
	if err := c.Authentication.ApplyClientCert(clientCA, c.SecureServing); err != nil {
		return nil, fmt.Errorf("client certificates: %w", err)
	}

	// RBAC reads roles and bindings through informers of the server's own
	// privileged loopback client; they start in a post-start hook.
	loopbackClient, err := kubernetes.NewForConfig(c.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("loopback client: %w", err)
	}
	informerFactory := informers.NewSharedInformerFactoryWithOptions(loopbackClient, 0, informers.WithTransform(apiclient.DropManagedFields))
	rbacInformers := informerFactory.Rbac().V1()
	resolver := rbac.NewResolver(rbac.Listers{
		RoleLister: rbacInformers.Roles().Lister(), ClusterRoleLister: rbacInformers.ClusterRoles().Lister(),
		RoleBindingLister: rbacInformers.RoleBindings().Lister(), ClusterRoleBindingLister: rbacInformers.ClusterRoleBindings().Lister(),
	})
	rbacAuthz := rbac.NewAuthorizer(resolver)
	authz, err := newAuthorizer(cfg.Authorizers, rbacAuthz)
	if err != nil {
		return nil, err
	}
	c.Authorization.Authorizer = authz
	c.RuleResolver = rbacAuthz
	deps := cfg.Registry
	// The guard resolves from storage, as kube's escalation check does.
	guardSource := &storeSource{}
	deps.RBAC = rbac.NewGuard(rbac.NewResolver(guardSource), authz)
	kinds := registry.Kinds(deps)
	if err := registry.AddDefaults(scheme, kinds); err != nil {
		return nil, err
	}
	if err := addFieldLabelConversions(scheme, kinds); err != nil {
		return nil, err
	}
	c.ExternalAddress = net.JoinHostPort(cfg.BindAddress.String(), strconv.Itoa(secure.BindPort))
	c.PublicAddress = cfg.BindAddress
	// On shutdown, end open watches (kubectl -w, informers) within a short
	// grace period instead of waiting for them to time out.
	c.ShutdownWatchTerminationGracePeriod = 2 * time.Second
	c.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
		return servePaths(cfg.Unauthenticated, serveVersion(genericapiserver.DefaultBuildHandlerChain(h, c)))
	}

	prefix := cfg.StoragePrefix
	if prefix == "" {
		prefix = "/registry"
	}
	etcdOpts := options.NewEtcdOptions(storagebackend.NewDefaultConfig(prefix, nil))
	etcdOpts.StorageConfig.Transport.ServerList = cfg.EtcdServers
	etcdOpts.StorageConfig.Transport.TrustedCAFile = cfg.EtcdCAFile
	etcdOpts.StorageConfig.Transport.CertFile = cfg.EtcdCertFile
	etcdOpts.StorageConfig.Transport.KeyFile = cfg.EtcdKeyFile
	etcdOpts.EnableWatchCache = !cfg.DisableWatchCache
	etcdOpts.WatchCacheSizes = etcdstorage.WatchCacheSizes()
	resourceConfig := serverstorage.NewResourceConfig()
	resourceConfig.EnableVersions(servedGroupVersions...)
	storageFactory := serverstorage.NewDefaultStorageFactory(etcdOpts.StorageConfig, "application/vnd.kubernetes.protobuf",
		codecs, serverstorage.NewDefaultResourceEncodingConfig(scheme), resourceConfig, map[schema.GroupResource]string{
			// events.k8s.io events are a Go type of their own here (no conversion
			// to core events), so they live under a key prefix of their own.
			{Group: "events.k8s.io", Resource: "events"}: "events.k8s.io/events",
		})
	if err := etcdOpts.ApplyWithStorageFactoryTo(storageFactory, c); err != nil {
		return nil, fmt.Errorf("etcd storage: %w", err)
	}
	var shared *etcdstorage.Shared
	if cfg.Etcd != nil {
		shared = etcdstorage.New(ctx, cfg.Etcd, etcdOpts.StorageConfig.CompactionInterval)
	}
	c.RESTOptionsGetter = shared.Getter(c.RESTOptionsGetter, etcdOpts.EnableWatchCache)

	namer := openapinamer.NewDefinitionNamer(scheme, apiextensionsapiserver.Scheme)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, namer)
	c.OpenAPIConfig.Info.Title = "Kubernetes"
	c.OpenAPIConfig.Info.Version = KubernetesVersion.GitVersion
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, namer)
	c.OpenAPIV3Config.Info.Title = "Kubernetes"
	c.OpenAPIV3Config.Info.Version = KubernetesVersion.GitVersion
	// installOpenAPI serves the specs of both servers (extensions.go).
	c.SkipOpenAPIInstallation = true
	// Both servers list their groups in one aggregated /apis.
	c.AggregatedDiscoveryGroupManager = aggregated.NewResourceManager("apis")

	services := endpointResolver{services: informerFactory.Core().V1().Services().Lister(), slices: informerFactory.Discovery().V1().EndpointSlices().Lister()}
	webhookAuth := webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, c.LoopbackClientConfig, c.TracerProvider)
	mutatingWebhooks, validatingWebhooks, err := newWebhookAdmission(loopbackClient, informerFactory, authz, c.EffectiveVersion, services, webhookAuth, ctx.Done())
	if err != nil {
		return nil, err
	}
	policies, err := newPolicyAdmission(c.LoopbackClientConfig, loopbackClient, informerFactory, authz, c.EffectiveVersion, ctx.Done())
	if err != nil {
		return nil, err
	}
	nsLifecycle := &namespaceLifecycle{}
	defaultClass := &defaultStorageClass{}
	handlers := []admission.Interface{nsLifecycle, &serviceAccountAdmission{objects: objects}, &csrAdmission{authz: authz}, defaultClass,
		storageObjectInUseProtection{}}
	handlers = append(handlers, cfg.Admission...)
	// As kube orders them: the mutating webhooks after the other mutating
	// plugins, then the validating admission policies, the validating
	// webhooks last.
	c.AdmissionControl = admission.NewChainHandler(append(handlers, mutatingWebhooks, policies, validatingWebhooks)...)

	ext, err := newExtensions(*c, *etcdOpts, shared, informerFactory, services, webhookAuth)
	if err != nil {
		return nil, err
	}
	gen, err := c.Complete(nil).New("petset-apiserver", ext.GenericAPIServer)
	if err != nil {
		return nil, fmt.Errorf("create API server: %w", err)
	}
	s := &Server{
		generic: gen, loopback: c.LoopbackClientConfig, scheme: scheme, codecs: codecs,
		stores: map[schema.GroupResource]*registry.Store{}, port: secure.BindPort,
		ready: make(chan struct{}), log: log,
	}
	if err := s.install(kinds, reviewStorage(authz, rbacAuthz, authn), c.RESTOptionsGetter); err != nil {
		return nil, err
	}
	guardSource.stores = s.stores
	s.installOpenAPI(c, ext)
	if len(cfg.ServiceAccountKeys) > 0 {
		jwksURI := (&url.URL{Scheme: "https", Host: c.ExternalAddress, Path: serviceaccount.JWKSPath}).String()
		if err := installIssuerDiscovery(gen.Handler.NonGoRestfulMux, saIssuer, jwksURI, cfg.ServiceAccountKeys); err != nil {
			return nil, err
		}
	}
	crdInformer := ext.Informers.Apiextensions().V1().CustomResourceDefinitions()
	if _, err := newCRDGroups(gen.DiscoveryGroupManager, crdInformer.Informer(), crdInformer.Lister()); err != nil {
		return nil, err
	}
	var nsGetter namespaceGetter = s.stores[schema.GroupResource{Resource: "namespaces"}]
	nsLifecycle.namespaces.Store(&nsGetter)
	var classLister objectLister = s.stores[schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}]
	defaultClass.classes.Store(&classLister)
	objects.set(map[schema.GroupResource]objectGetter{
		corev1.Resource("serviceaccounts"): s.stores[corev1.Resource("serviceaccounts")],
		corev1.Resource("pods"):            s.stores[corev1.Resource("pods")],
	})

	synced := []func() bool{
		rbacInformers.Roles().Informer().HasSynced, rbacInformers.ClusterRoles().Informer().HasSynced,
		rbacInformers.RoleBindings().Informer().HasSynced, rbacInformers.ClusterRoleBindings().Informer().HasSynced,
	}
	if err := gen.AddReadyzChecks(healthz.NamedCheck("rbac-informer-sync", func(*http.Request) error {
		for _, ok := range synced {
			if !ok() {
				return errors.New("RBAC informers not synced")
			}
		}
		return nil
	})); err != nil {
		return nil, fmt.Errorf("readyz check: %w", err)
	}
	gen.AddPostStartHookOrDie("start-rbac-informers", func(hc genericapiserver.PostStartHookContext) error {
		informerFactory.Start(hc.Done())
		return nil
	})
	gen.AddPostStartHookOrDie("rbac/bootstrap-roles", func(hc genericapiserver.PostStartHookContext) error {
		// As kube-apiserver: retry until the policy is in place; /readyz
		// fails until this hook returns.
		err := wait.PollUntilContextCancel(hc, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			if err := rbac.EnsurePolicy(ctx, loopbackClient, log); err != nil {
				log.Warn("bootstrap RBAC policy (will retry)", logging.ErrKey, err)
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		// Ready only once the authorizer sees the policy it just wrote.
		return wait.PollUntilContextCancel(hc, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			for _, b := range rbac.ClusterRoleBindings() {
				if _, err := rbacInformers.ClusterRoleBindings().Lister().Get(b.Name); err != nil {
					return false, nil
				}
			}
			return true, nil
		})
	})
	return s, nil
}

// install builds a store per kind and installs each API group.
func (s *Server) install(kinds []*registry.Kind, virtual map[schema.GroupVersion]map[string]rest.Storage, opts generic.RESTOptionsGetter) error {
	groups := map[string]*genericapiserver.APIGroupInfo{}
	var order []string
	paramCodec := runtime.NewParameterCodec(s.scheme)
	for _, k := range kinds {
		store, status, err := registry.NewStore(k, s.scheme, opts)
		if err != nil {
			return err
		}
		s.stores[k.GroupResource()] = store
		info, ok := groups[k.GVK.Group]
		if !ok {
			gi := genericapiserver.NewDefaultAPIGroupInfo(k.GVK.Group, s.scheme, paramCodec, s.codecs)
			info = &gi
			groups[k.GVK.Group] = info
			order = append(order, k.GVK.Group)
		}
		m := info.VersionedResourcesStorageMap[k.GVK.Version]
		if m == nil {
			m = map[string]rest.Storage{}
			info.VersionedResourcesStorageMap[k.GVK.Version] = m
		}
		m[k.Resource] = registry.Main(k, store)
		if status != nil {
			m[k.Resource+"/status"] = status
		}
	}
	for _, k := range kinds {
		m := groups[k.GVK.Group].VersionedResourcesStorageMap[k.GVK.Version]
		for sub, st := range registry.Subresources(k, s.stores) {
			m[k.Resource+"/"+sub] = st
		}
	}
	virtualGVs := make([]schema.GroupVersion, 0, len(virtual))
	for gv := range virtual {
		virtualGVs = append(virtualGVs, gv)
	}
	sort.Slice(virtualGVs, func(i, j int) bool { return virtualGVs[i].String() < virtualGVs[j].String() })
	for _, gv := range virtualGVs {
		resources := virtual[gv]
		info, ok := groups[gv.Group]
		if !ok {
			gi := genericapiserver.NewDefaultAPIGroupInfo(gv.Group, s.scheme, paramCodec, s.codecs)
			info = &gi
			groups[gv.Group] = info
			order = append(order, gv.Group)
		}
		m := info.VersionedResourcesStorageMap[gv.Version]
		if m == nil {
			m = map[string]rest.Storage{}
			info.VersionedResourcesStorageMap[gv.Version] = m
		}
		for r, st := range resources {
			m[r] = st
		}
	}
	for _, g := range order {
		info := groups[g]
		if g == "" {
			if err := s.generic.InstallLegacyAPIGroup("/api", info); err != nil {
				return fmt.Errorf("install core API: %w", err)
			}
			continue
		}
		if err := s.generic.InstallAPIGroup(info); err != nil {
			return fmt.Errorf("install API group %s: %w", g, err)
		}
	}
	return nil
}

// Run serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	prepared := s.generic.PrepareRun()
	go s.waitReady(ctx)
	return prepared.RunWithContext(ctx)
}

// waitReady closes Ready once /readyz answers ok through the loopback client.
func (s *Server) waitReady(ctx context.Context) {
	client, err := restclient.RESTClientFor(s.restConfigForRaw())
	if err != nil {
		s.log.Error("readiness client", logging.ErrKey, err)
		return
	}
	for {
		res := client.Get().AbsPath("/readyz").Do(ctx)
		var code int
		res.StatusCode(&code)
		if code == http.StatusOK {
			close(s.ready)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) restConfigForRaw() *restclient.Config {
	c := restclient.CopyConfig(s.loopback)
	c.GroupVersion = &schema.GroupVersion{}
	c.NegotiatedSerializer = s.codecs.WithoutConversion()
	return c
}

// Ready is closed when the API server answers /readyz with ok.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// LoopbackConfig is a privileged client config for in-process clients.
func (s *Server) LoopbackConfig() *restclient.Config { return restclient.CopyConfig(s.loopback) }

// Handler is the server's full handler chain, the one its TLS listener
// serves (authentication, authorization, audit, admission, priority and
// fairness): in-process clients reach it through package inproc.
func (s *Server) Handler() http.Handler { return s.generic.Handler }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.port }

// Scheme is the server's scheme.
func (s *Server) Scheme() *runtime.Scheme { return s.scheme }

// serveVersion answers /version with the Kubernetes release petset
// matches, in front of the library's handler (whose git version comes from
// linker flags petset does not set).
// servePaths serves the handlers by their exact path and everything else
// with next.
func servePaths(handlers map[string]http.Handler, next http.Handler) http.Handler {
	if len(handlers) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := handlers[r.URL.Path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func serveVersion(next http.Handler) http.Handler {
	body, _ := json.MarshalIndent(KubernetesVersion, "", "  ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" || r.URL.Path == "/version/" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackLifetime is the loopback certificate's validity, as
// kube-apiserver's (made again on every start).
const loopbackLifetime = (3*365 + 1) * 24 * time.Hour

// applyLoopback does what options.SecureServingOptionsWithLoopback.ApplyTo
// does for the privileged in-process client — a self-signed serving
// certificate for the fake name apiserver-loopback-client, served by SNI in
// front of the others, and a client config with a fresh token that trusts
// it — with an ECDSA key instead of two RSA 2048 keys (pki.SelfSigned).
func applyLoopback(c *genericapiserver.Config) error {
	certPEM, keyPEM, err := pki.SelfSigned(genericapiserver.LoopbackClientServerNameOverride, loopbackLifetime)
	if err != nil {
		return fmt.Errorf("loopback certificate: %w", err)
	}
	provider, err := dynamiccertificates.NewStaticSNICertKeyContent("self-signed loopback", certPEM, keyPEM, genericapiserver.LoopbackClientServerNameOverride)
	if err != nil {
		return fmt.Errorf("loopback certificate: %w", err)
	}
	c.SecureServing.SNICerts = append([]dynamiccertificates.SNICertKeyContentProvider{provider}, c.SecureServing.SNICerts...)
	loopback, err := c.SecureServing.NewLoopbackClientConfig(uuid.New().String(), certPEM)
	if err != nil {
		return fmt.Errorf("loopback client config: %w", err)
	}
	c.LoopbackClientConfig = loopback
	return nil
}
