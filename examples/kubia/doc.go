// Package kubia is the luksa/kubia-pet application of seeds 000 and 003 as
// a Go program the petset binary ships (`petset example kubia`): an HTTP
// server on :8080 whose POST stores the request body in
// /var/data/kubia.txt and whose GET tells which pod answered and what it
// stores. The response texts are the seed's, byte for byte.
//
// It owns nothing beyond its data file. One goroutine serves HTTP until the
// context ends; requests are handled concurrently and writes to the data
// file are serialized.
package kubia
