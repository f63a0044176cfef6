// Command peer-etcd is the etcd server of the peer cluster: upstream etcd's
// own main (go.etcd.io/etcd/server/v3/etcdmain), linked into the bench/peer
// module so it is built from the module proxy beside kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
