#!/usr/bin/env bash
# A real kube-apiserver (+ etcd, + kube-controller-manager) for paraform's
# Kubernetes tests, built from Debian packages only (see ../shared/TESTING-K8S.md):
# no Docker, no container registry, no prebuilt upstream binaries.
#
#   scripts/kube-apiserver.sh install          # build once, cached in $PARAFORM_K8S_CACHE
#   scripts/kube-apiserver.sh start <run-dir> [--owner-pid PID]
#                                              # start etcd + apiserver (+ controller-manager)
#                                              # on free loopback ports; writes <run-dir>/kubeconfig;
#                                              # with --owner-pid, stops them when PID exits
#   scripts/kube-apiserver.sh stop <run-dir>   # stop what `start` started, by PID
#   scripts/kube-apiserver.sh env <run-dir>    # print `export KUBECONFIG=...`
#
# Cache: ~/.cache/paraform/k8s/<version>/bin/{kube-apiserver,kube-controller-manager,etcd}.
# Every process listens on 127.0.0.1 only and is stopped by the PID recorded in <run-dir>.
# Exception: with PARAFORM_K8S_ADVERTISE_ADDRESS=<host address> (set by
# scripts/kube-cluster.sh, whose pods must reach the API through the
# `kubernetes` Service) the apiserver listens on every address, advertises
# that one as the Service's endpoint and refuses anonymous requests.
set -euo pipefail

K8S_DEB_VERSION="${PARAFORM_K8S_DEB_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}"
K8S_GIT_VERSION="v1.20.2"
CACHE="${PARAFORM_K8S_CACHE:-$HOME/.cache/paraform/k8s}"
VDIR="$CACHE/$K8S_DEB_VERSION"
BIN="$VDIR/bin"
NICE="${PARAFORM_K8S_NICE:-nice -n 15}"
SERVICE_CIDR=10.96.0.0/16
# The `kubernetes` Service's ClusterIP: the first address of the range.
KUBERNETES_SERVICE_IP=10.96.0.1

log() { echo "kube-apiserver.sh: $*" >&2; }

installed() {
  [[ -x "$BIN/kube-apiserver" && -x "$BIN/kube-controller-manager" && -x "$BIN/etcd" ]]
}

# A private apt configuration with deb-src lines, so /etc/apt stays untouched.
apt_private() {
  local adir="$VDIR/apt"
  mkdir -p "$adir/sources" "$adir/lists/partial" "$adir/cache/archives/partial"
  local src=/etc/apt/sources.list.d/debian.sources
  if [[ -f "$src" ]]; then
    sed -e 's/^Types: deb$/Types: deb deb-src/' "$src" >"$adir/sources/debian.sources"
  else
    echo "Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" >"$adir/sources/debian.sources"
  fi
  APT_OPTS=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$adir/sources"
    -o "Dir::State::Lists=$adir/lists" -o "Dir::Cache=$adir/cache"
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  if [[ ! -f "$adir/updated" ]]; then
    apt-get "${APT_OPTS[@]}" update -qq >&2
    touch "$adir/updated"
  fi
}

# Host tools the build and the servers need (present on Debian images; installed if not).
need_tools() {
  local missing=()
  command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v flock >/dev/null || missing+=(util-linux)
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

install() {
  need_tools
  if installed; then
    log "cached in $BIN"
    return 0
  fi
  mkdir -p "$VDIR" "$BIN"
  # One build at a time (parallel test binaries, a developer's shell).
  exec 9>"$VDIR/.install.lock"
  flock 9
  if installed; then
    log "cached in $BIN"
    return 0
  fi
  local started=$SECONDS
  apt_private
  local dl="$VDIR/dl"
  mkdir -p "$dl"
  (
    cd "$dl"
    if ! ls kubernetes_*.dsc >/dev/null 2>&1; then
      apt-get "${APT_OPTS[@]}" source --download-only "kubernetes=$K8S_DEB_VERSION" >&2
    fi
    for p in golang-1.19-go golang-1.19-src etcd-server; do
      ls "${p}"_*.deb >/dev/null 2>&1 || apt-get "${APT_OPTS[@]}" download "$p" >&2
    done
  )
  # Toolchain and etcd: unpacked, not installed.
  local root="$VDIR/root"
  if [[ ! -x "$root/usr/lib/go-1.19/bin/go" || ! -x "$root/usr/bin/etcd" ]]; then
    rm -rf "$root"
    mkdir -p "$root"
    for d in "$dl"/golang-1.19-go_*.deb "$dl"/golang-1.19-src_*.deb "$dl"/etcd-server_*.deb; do
      dpkg-deb -x "$d" "$root"
    done
  fi
  cp "$root/usr/bin/etcd" "$BIN/etcd.tmp" && mv "$BIN/etcd.tmp" "$BIN/etcd"

  local src="$VDIR/src"
  if [[ ! -f "$src/.extracted" ]]; then
    rm -rf "$src"
    (cd "$dl" && dpkg-source --no-check -x kubernetes_*.dsc "$src" >&2)
    touch "$src/.extracted"
  fi

  export GOROOT="$root/usr/lib/go-1.19"
  export PATH="$GOROOT/bin:$PATH"
  export GOPATH="$VDIR/gopath"
  export GO111MODULE=off GOPROXY=off CGO_ENABLED=0 GOFLAGS=
  export GOCACHE="$VDIR/gocache"
  mkdir -p "$GOPATH/src/k8s.io"
  ln -sfn "$src" "$GOPATH/src/k8s.io/kubernetes"
  cd "$GOPATH/src/k8s.io/kubernetes"

  # The one generated file the source tarball lacks.
  local oa=pkg/generated/openapi/zz_generated.openapi.go
  if [[ ! -s "$oa" ]]; then
    log "generating $oa"
    $NICE go build -o "$VDIR/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
    local pkgs
    pkgs=$(grep -rl --include='*.go' '+k8s:openapi-gen=' pkg staging/src 2>/dev/null |
      xargs -n1 dirname | sort -u |
      grep -v -e 'code-generator' -e 'sample-apiserver' -e '/testdata' -e '^pkg/generated' |
      sed -e 's#^staging/src/#k8s.io/kubernetes/vendor/#' -e 's#^pkg/#k8s.io/kubernetes/pkg/#' |
      paste -sd, -)
    $NICE "$VDIR/openapi-gen" \
      --input-dirs "$pkgs" \
      --output-package k8s.io/kubernetes/pkg/generated/openapi \
      -O zz_generated.openapi \
      --go-header-file vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
      --output-base "$GOPATH/src" \
      --report-filename /dev/null >&2
  fi

  local ld="-s -w"
  for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$K8S_GIT_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=20 -X $pkg.gitTreeState=clean"
  done
  for cmd in kube-apiserver kube-controller-manager; do
    log "building $cmd (nice; several minutes on a cold cache)"
    $NICE go build -ldflags "$ld" -o "$BIN/$cmd.tmp" "./cmd/$cmd"
    mv "$BIN/$cmd.tmp" "$BIN/$cmd"
  done
  log "installed in $BIN after $((SECONDS - started)) s"
}

free_port() {
  python3 - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
EOF
}

start() {
  local run="${1:?usage: start <run-dir> [--owner-pid PID]}"
  local owner=""
  if [[ "${2:-}" == "--owner-pid" ]]; then owner="${3:?--owner-pid needs a PID}"; fi
  need_tools
  installed || (install)
  mkdir -p "$run"
  run="$(cd "$run" && pwd)"
  if [[ -f "$run/apiserver.pid" ]] && kill -0 "$(cat "$run/apiserver.pid")" 2>/dev/null; then
    log "already running in $run"
    return 0
  fi
  local etcd_client etcd_peer api
  etcd_client=$(free_port)
  etcd_peer=$(free_port)
  api=$(free_port)
  # PKI: a CA, an apiserver serving cert for 127.0.0.1, a service-account key.
  local pki="$run/pki"
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=paraform-test-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  # With an advertised address (a cluster with pods, scripts/kube-cluster.sh),
  # pods reach the apiserver through the `kubernetes` Service: its ClusterIP
  # (the first of the service range) and its DNS names are in the cert too.
  local adv="${PARAFORM_K8S_ADVERTISE_ADDRESS:-}" san="IP:127.0.0.1,DNS:localhost"
  if [[ -n "$adv" ]]; then
    san="$san,IP:$adv,IP:$KUBERNETES_SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  fi
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$pki/ext.cnf"
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 3650 -extfile "$pki/ext.cnf" -out "$pki/apiserver.crt" 2>/dev/null
  # The apiserver's client cert towards kubelets (logs, exec, port-forward);
  # scripts/kube-cluster.sh's kubelet trusts the same CA.
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
    -keyout "$pki/kubelet-client.key" -out "$pki/kubelet-client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$pki/client.cnf"
  openssl x509 -req -in "$pki/kubelet-client.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 3650 -extfile "$pki/client.cnf" -out "$pki/kubelet-client.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  local token
  token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token,paraform-admin,paraform-admin,system:masters" >"$pki/tokens.csv"
  chmod 600 "$pki"/*

  "$BIN/etcd" --data-dir "$run/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_client" \
    --advertise-client-urls "http://127.0.0.1:$etcd_client" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "default=http://127.0.0.1:$etcd_peer" \
    >"$run/etcd.log" 2>&1 &
  echo $! >"$run/etcd.pid"

  # Loopback only, with no endpoints for the `kubernetes` Service, unless an
  # address is advertised: then the apiserver listens on every address
  # (loopback for the kubeconfig, the advertised one for the Service's
  # endpoint, which may not be a loopback address) and refuses anonymous
  # requests; the lease reconciler writes the endpoint.
  local listen=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none)
  if [[ -n "$adv" ]]; then
    listen=(--bind-address 0.0.0.0 --advertise-address "$adv" --endpoint-reconciler-type lease --anonymous-auth=false)
  fi
  "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_client" \
    "${listen[@]}" \
    --secure-port "$api" --insecure-port 0 \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/kubelet-client.crt" \
    --kubelet-client-key "$pki/kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    --token-auth-file "$pki/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --api-audiences https://kubernetes.default.svc \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --service-node-port-range 30000-32767 \
    --enable-priority-and-fairness=false \
    --cert-dir "$pki" \
    >"$run/apiserver.log" 2>&1 &
  echo $! >"$run/apiserver.pid"

  cat >"$run/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: paraform-test
  cluster:
    server: https://127.0.0.1:$api
    certificate-authority: $pki/ca.crt
users:
- name: paraform-admin
  user:
    token: $token
contexts:
- name: paraform-test
  context:
    cluster: paraform-test
    user: paraform-admin
    namespace: default
current-context: paraform-test
EOF
  chmod 600 "$run/kubeconfig"

  local i
  for i in $(seq 1 120); do
    if curl -sk --max-time 2 -H "Authorization: Bearer $token" \
      "https://127.0.0.1:$api/readyz" 2>/dev/null | grep -q '^ok$'; then
      break
    fi
    if ! kill -0 "$(cat "$run/apiserver.pid")" 2>/dev/null; then
      log "kube-apiserver exited; tail of $run/apiserver.log:"
      tail -20 "$run/apiserver.log" >&2
      stop "$run"
      return 1
    fi
    sleep 0.5
  done
  if [[ $i -ge 120 ]]; then
    log "kube-apiserver not ready after 60 s (see $run/apiserver.log)"
    stop "$run"
    return 1
  fi

  # The controller manager makes StatefulSets create Pods/PVCs and runs GC.
  if [[ "${PARAFORM_K8S_CONTROLLER_MANAGER:-1}" == 1 ]]; then
    "$BIN/kube-controller-manager" \
      --kubeconfig "$run/kubeconfig" \
      --bind-address 127.0.0.1 --secure-port 0 --port 0 \
      --leader-elect=false \
      --service-account-private-key-file "$pki/sa.key" \
      --root-ca-file "$pki/ca.crt" \
      --use-service-account-credentials=false \
      --controllers "${PARAFORM_K8S_CONTROLLERS:-*,-nodeipam,-nodelifecycle,-csrsigning,-ttl,-bootstrapsigner,-tokencleaner}" \
      >"$run/controller-manager.log" 2>&1 &
    echo $! >"$run/controller-manager.pid"
  fi
  # Tests: stop everything when the process that asked for it exits.
  if [[ -n "$owner" ]]; then
    local self
    self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3"; rm -rf "$3"' \
      watcher "$owner" "$self" "$run" </dev/null >/dev/null 2>&1 &
    echo $! >"$run/watcher.pid"
  fi
  log "ready: KUBECONFIG=$run/kubeconfig (https://127.0.0.1:$api)"
}

stop() {
  local run="${1:?usage: stop <run-dir>}"
  local name pid
  for name in controller-manager apiserver etcd watcher; do
    [[ -f "$run/$name.pid" ]] || continue
    pid=$(cat "$run/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$run/$name.pid"
  done
}

case "${1:-}" in
install) install ;;
start) start "${2:-}" "${3:-}" "${4:-}" ;;
stop) stop "${2:-}" ;;
env) echo "export KUBECONFIG=${2:?usage: env <run-dir>}/kubeconfig" ;;
path) echo "$BIN" ;;
*)
  echo "usage: $0 install | start <run-dir> [--owner-pid PID] | stop <run-dir> | env <run-dir> | path" >&2
  exit 2
  ;;
esac
