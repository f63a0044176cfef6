// Package apiclient holds what petset's own API clients (the controllers',
// a node's, petset kubectl's) share beyond client-go: DrainOnStop, which
// lets a request in flight finish when its caller's context ends, and
// Failover, which sends requests to whichever of several API servers of a
// cluster answers, and DropManagedFields, the informer transform that keeps
// metadata.managedFields out of their caches. It starts no goroutines beyond the one per request in
// flight whose caller's context ended; Failover's choice of server is one
// atomic shared by the clients of a config.
package apiclient
