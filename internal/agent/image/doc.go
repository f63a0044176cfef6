// Package image owns the image catalog: the table that turns a container's
// image reference into what the node agent actually executes on the host.
//
// petset runs pods as host processes, without pulling images. An image
// reference is therefore only a name for a known program: an Entry gives the
// entrypoint, default command, environment and working directory an image
// would have had, and Resolve applies Kubernetes' rules on top of it
// (container `command` replaces the entrypoint, `args` replace the default
// command). A container that sets `command` runs that command from the host
// even when its image is unknown.
//
// Patterns match a reference with or without its registry, the
// "docker.io/library/" prefix, a tag or a digest: the pattern "nginx" matches
// "nginx:1.25", "docker.io/library/nginx:latest" and "nginx@sha256:…". A
// pattern that carries a tag ("hello-stateful:v3") only matches that tag.
// The repository part may use path.Match wildcards ("example.com/team/*").
// When several entries match, the one added last wins, so entries loaded
// from a file override the built-ins.
//
// Catalog file format (LoadFile), YAML or JSON:
//
//	images:
//	- pattern: registry.example.com/shop/cart
//	  entrypoint: ["/opt/cart/bin/cart"]
//	  cmd: ["--listen=:8080"]
//	  env: ["CART_MODE=demo"]
//	  workingDir: /opt/cart
//
// Programs are resolved inside the container: an isolated container sees
// only the host's /usr, /bin, /sbin and /lib* (read-only) and the petset
// binary at /.petset/petset, so an entrypoint elsewhere on the host (like
// /opt/cart above) is found only with --isolation=none.
//
// Built-in entries (Default, given the path containers see the petset
// binary at): the seeds' applications luksa/kubia-pet,
// luksa/kubia-pet-peers and hello-stateful run as `petset example <app>`;
// tutum/dnsutils idles (`sleep infinity`) and runs its args as the command
// (the host's dig, nslookup or host; on a host without dig, through
// `petset example dnsutils`, which brings its own dig, nslookup and host); busybox runs the host's sh; nginx runs the
// host's nginx binary in the foreground with a configuration petset writes
// (see nginxEntrypoint) when the host has one, and otherwise petset's static
// web server (`petset example static --root /usr/share/nginx/html --listen
// :80`), so the seeds' nginx sets serve their volume's index.html either
// way. mysql and other real databases are not in
// the catalog: their programs are not available as host binaries, so a pod
// naming them without a `command` gets ErrImageNotFound.
//
// The package does not start processes, does not look at the pod spec
// beyond image, command and args, and does no I/O except in LoadFile and the
// PATH look-up done once in Default. A Catalog is safe for concurrent use:
// Resolve may run concurrently with itself and with LoadFile/Add.
package image
