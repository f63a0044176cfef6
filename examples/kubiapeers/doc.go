// Package kubiapeers is the luksa/kubia-pet-peers application of seed 000
// as a Go program the petset binary ships (`petset example kubiapeers`).
// Like package kubia, POST stores the body in /var/data/kubia.txt and
// GET /data returns it raw; any other GET looks up the SRV records of
// kubia.default.svc.cluster.local, fetches /data from every peer on port
// 8080 and answers with everything the cluster stores, in the seed's text.
//
// One goroutine serves HTTP until the context ends; each GET fetches the
// peers concurrently and waits for all of them before answering.
package kubiapeers
