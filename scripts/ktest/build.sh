#!/bin/bash
# Builds a real kube-apiserver and kube-controller-manager (v1.20.2) from Debian 12's `kubernetes` SOURCE
# package with Debian's golang-1.19, plus Debian's etcd-server, unpacked under $KTEST_HOME (default
# ~/.cache/ktest, outside the repository). Nothing is installed system-wide. About 15 min and 4 GB the first
# time on 2 cores; afterwards it returns at once. Used by the live-cluster and admission tests
# (tests/cluster/conftest.py runs it when the binaries are missing).
set -euo pipefail
H=${KTEST_HOME:-$HOME/.cache/ktest}
if [ -x "$H/bin/kube-apiserver" ] && [ -x "$H/root/usr/bin/etcd" ]; then echo "$H/bin"; exit 0; fi
mkdir -p "$H/debs" "$H/root" "$H/src" "$H/bin" "$H/tools" "$H/apt/lists/partial" "$H/apt/parts"
cd "$H/debs"
apt-get update -qq >/dev/null 2>&1 || true
apt-get download golang-1.19-go golang-1.19-src etcd-server etcd-client rsync libpopt0 \
                 golang-github-modern-go-reflect2-dev
for f in *.deb; do dpkg -x "$f" "$H/root"; done
# kubernetes' build scripts call rsync; a wrapper finds its libpopt
printf '#!/bin/sh\nLD_LIBRARY_PATH=%s/root/usr/lib/x86_64-linux-gnu exec %s/root/usr/bin/rsync "$@"\n' "$H" "$H" > "$H/tools/rsync"
chmod +x "$H/tools/rsync"
# deb-src entries derived from the machine's own Debian sources (system files untouched)
sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$H/apt/parts/src.sources"
O="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$H/apt/parts -o Dir::State::Lists=$H/apt/lists"
apt-get $O update -qq
cd "$H/src"
apt-get $O source --download-only kubernetes      # 1.20.5+really1.20.2-1.1+deb12u1, vendor/ included
rm -rf k8s && dpkg-source -x kubernetes_*.dsc k8s
cd k8s
# 1: vendored modern-go/reflect2 v1.0.1 crashes under Go >= 1.18 -> Debian's 1.0.2
rm -rf vendor/github.com/modern-go/reflect2
cp -r "$H/root/usr/share/gocode/src/github.com/modern-go/reflect2" vendor/github.com/modern-go/reflect2
rm -f vendor/github.com/modern-go/reflect2/go.mod
export PATH="$H/tools:$H/root/usr/lib/go-1.19/bin:$PATH" GOCACHE="$H/gocache" CGO_ENABLED=0 GOPROXY=off
export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20 KUBE_GIT_TREE_STATE=clean
# 2: the source tarball lacks pkg/generated/openapi/zz_generated.openapi.go -> run the generators
make generated_files
make WHAT=cmd/kube-apiserver
make WHAT=cmd/kube-controller-manager
cp _output/bin/kube-apiserver _output/bin/kube-controller-manager "$H/bin/"
cd "$H" && rm -rf src gocache            # 3.5 GB of build tree no longer needed
"$H/bin/kube-apiserver" --version >&2
echo "$H/bin"
