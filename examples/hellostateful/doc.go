// Package hellostateful is the hello-stateful application of seed 001 as a
// Go program the petset binary ships (`petset example hellostateful`): an
// HTTP server on :8000 whose /store appends the request body (or
// "hello from v2:<hostname>" when the body is empty) to /etc/stateful/hello
// and whose /get prints the SRV look-up of "hello-stateful-service", as the
// seed's net.LookupSRV("", "", "hello-stateful-service") does: the
// canonical name, then one "target:port" line per record. The name is
// completed by the resolver's search path (the pod's resolv.conf).
//
// One goroutine serves HTTP until the context ends; appends to the file are
// serialized.
package hellostateful
