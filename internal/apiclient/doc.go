// Package apiclient holds what petset's own API clients (the controllers',
// a node's) share beyond client-go: DrainOnStop, which lets a request in
// flight finish when its caller's context ends. It starts no goroutines
// beyond the one per request in flight whose caller's context ended.
package apiclient
