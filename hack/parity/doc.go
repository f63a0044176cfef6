// Package parity checks petset's API behaviour against upstream Kubernetes
// (k8s.io/kubernetes at the version petset serves, v1.37.2) for every kind
// petset serves: the field errors validation reports on create, update and
// status update, the object v1 defaulting makes, and the server-side table
// `kubectl get` prints.
//
// It is a module of its own so that petset never links k8s.io/kubernetes:
// only this check imports both, petset's registry in-process (replace
// petset => ../..) and upstream's registry strategies, defaulters and
// printers. Inputs are near-valid objects: a hand-written valid seed per
// kind with a few fields mutated (mutate.go), drawn from a seeded source so
// that every case can be replayed. known.txt lists the differences petset
// keeps for now; any other fails TestParity. See docs/parity.md.
package parity
