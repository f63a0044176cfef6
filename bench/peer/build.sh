#!/bin/sh
# build.sh DIR — builds the peer's binaries into DIR (default ../../bin/peer),
# one at a time (the machine is small), skipping any already there. Remove a
# binary to rebuild it. kwok is installed at its release from the module proxy
# (go install …@v0.8.0: its own go.mod, older Kubernetes libraries, no replaces).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../bin/peer}
mkdir -p "$out"
out=$(cd "$out" && pwd)
build() { # name dir package
	if [ -x "$out/$1" ]; then echo "peer: $1 cached in $out"; return; fi
	echo "peer: building $1 ($3) …"
	start=$(date +%s)
	(cd "$2" && go build -trimpath -o "$out/$1.tmp" "$3")
	mv "$out/$1.tmp" "$out/$1"
	echo "peer: built $1 in $(($(date +%s) - start)) s"
}
build peer-etcd "$here" ./cmd/peer-etcd
build kube-apiserver "$here" k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager "$here" k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler "$here" k8s.io/kubernetes/cmd/kube-scheduler
if [ -x "$out/kwok" ]; then echo "peer: kwok cached in $out"; else
	echo "peer: building kwok (sigs.k8s.io/kwok/cmd/kwok@v0.8.0) …"
	start=$(date +%s)
	(cd "$here" && GOBIN="$out" go install -trimpath sigs.k8s.io/kwok/cmd/kwok@v0.8.0)
	echo "peer: built kwok in $(($(date +%s) - start)) s"
fi
