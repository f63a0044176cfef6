// Package pvnode names the node a PersistentVolume is pinned to: the one
// value of a kubernetes.io/hostname In term of its required node affinity,
// as petset's local volumes (and local PersistentVolumes people write)
// have. The API server serves it as the PersistentVolume field
// petset.io/pinned-node, so that a node agent watches only the volumes of
// its own node (it reclaims their data) instead of every volume of the
// cluster, and the Node authorizer lets a node list and watch volumes only
// with that selector; NodeRestriction lets a node update only volumes
// pinned to it.
package pvnode
