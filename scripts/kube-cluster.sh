#!/usr/bin/env bash
# A one-node Kubernetes 1.20 cluster whose pods are real containers, for
# paraform's tests (see ../shared/TESTING-K8S-PODS.md and
# docs/decisions/0008-test-cluster.md). Built from Debian packages only:
# kube-apiserver, etcd and kube-controller-manager come from
# scripts/kube-apiserver.sh; this adds kubelet and kube-scheduler (same source
# tree), containerd + runc + bridge CNI (Debian binaries), a pause image built
# from pause.c, a polkadot image built from ../shared/bin, cluster DNS
# (dnsmasq fed from the API) and a hostPath volume provisioner.
#
#   scripts/kube-cluster.sh install                 # once; cached in ~/.cache/paraform/k8s
#   scripts/kube-cluster.sh start <run-dir> [--owner-pid PID]
#   scripts/kube-cluster.sh stop <run-dir>
#   scripts/kube-cluster.sh images                  # print the image refs it imports
#   scripts/kube-cluster.sh load <run-dir> <image.tar>  # import another image (e.g. paraform's)
#
# Needs root (containerd, netns, bridge). One cluster per host at a time: the
# bridge, /run/containerd and the host sysctls are host-global. `stop` stops
# only the processes `start` recorded, removes containerd's leftovers outside
# the run dir and restores the sysctls kubelet changed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
APISERVER_SH="$HERE/kube-apiserver.sh"
K8S_DEB_VERSION="${PARAFORM_K8S_DEB_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}"
CACHE="${PARAFORM_K8S_CACHE:-$HOME/.cache/paraform/k8s}"
VDIR="$CACHE/$K8S_DEB_VERSION"
BIN="$VDIR/bin"
IMAGES="$CACHE/images"
NICE="${PARAFORM_K8S_NICE:-nice -n 15}"
SHARED_BIN="${PARAFORM_SHARED_BIN:-$HERE/../../shared/bin}"
# Pod network: a bridge of our own; the DNS server listens on its gateway.
BRIDGE=pfcni0
POD_CIDR=10.88.0.0/16
DNS_IP=10.88.0.1
NODE_NAME=paraform-node
PAUSE_REF=localhost/pause:3.4.1-paraform
HOST_LOCK=/run/paraform-kube-cluster.lock
# Host settings kubelet and kube-proxy change; `stop` restores them.
SYSCTLS="vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables"

log() { echo "kube-cluster.sh: $*" >&2; }

polkadot_archive() { ls "$SHARED_BIN"/polkadot-*.tar.xz 2>/dev/null | head -n1; }
# Bump when the image recipe changes: the cached image is rebuilt.
IMAGE_RECIPE=3
polkadot_image_tar() { echo "$IMAGES/$(basename "$(polkadot_archive)" .tar.xz)-r$IMAGE_RECIPE.tar"; }
# The image of the polkadot archive: tagged with the archive's version, never
# `latest`, so the defaulted pull policy (IfNotPresent) never pulls.
polkadot_ref() {
  local a
  a=$(basename "$(polkadot_archive)" .tar.xz)
  a=${a#polkadot-}
  echo "localhost/polkadot:${a%-x86_64-linux}"
}

need_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v dnsmasq >/dev/null || missing+=(dnsmasq-base)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
  command -v gcc >/dev/null || missing+=(gcc libc6-dev)
  command -v python3 >/dev/null || missing+=(python3)
  command -v ip >/dev/null || missing+=(iproute2)
  [[ -s /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

installed() {
  [[ -x "$BIN/kubelet" && -x "$BIN/kube-scheduler" && -x "$BIN/kube-proxy" && -s "$IMAGES/pause.tar" && -s "$(polkadot_image_tar)" ]]
}

go_env() {
  export GOROOT="$VDIR/root/usr/lib/go-1.19"
  export PATH="$GOROOT/bin:$PATH"
  export GOPATH="$VDIR/gopath"
  export GO111MODULE=off GOPROXY=off CGO_ENABLED=0 GOFLAGS=
  export GOCACHE="$VDIR/gocache"
}


build_images() {
  mkdir -p "$IMAGES"
  local tmp
  tmp=$(mktemp -d)
  if [[ ! -s "$IMAGES/pause.tar" ]]; then
    log "building the pause image from build/pause/linux/pause.c"
    mkdir -p "$tmp/pause"
    gcc -Os -static -o "$tmp/pause/pause" "$VDIR/src/build/pause/linux/pause.c"
    strip "$tmp/pause/pause" 2>/dev/null || true
    python3 "$HERE/docker-archive.py" "$tmp/pause" "$PAUSE_REF" "$IMAGES/pause.tar.part" /pause
    mv "$IMAGES/pause.tar.part" "$IMAGES/pause.tar"
  fi
  local archive
  archive=$(polkadot_archive)
  [[ -n "$archive" ]] || { log "no ../shared/bin/polkadot-*.tar.xz"; return 1; }
  if [[ ! -s "$(polkadot_image_tar)" ]]; then
    log "building $(polkadot_ref) from $archive"
    (cd "$(dirname "$archive")" && sha256sum -c --quiet --ignore-missing SHA256SUMS >&2)
    local r="$tmp/polkadot"
    mkdir -p "$r/x" "$r/tmp" "$r/data" "$r/etc" "$r/keystore"
    tar -xJf "$archive" -C "$r/x"
    local b
    for b in polkadot polkadot-prepare-worker polkadot-execute-worker; do
      copy_with_libs "$r" "$r/x/$b" "/usr/local/bin/$b"
    done
    rm -rf "$r/x"
    # The manifests run the node through `/bin/sh -c` (dev keys, public addresses).
    copy_with_libs "$r" /bin/dash /bin/sh
    copy_with_libs "$r" /bin/sed /bin/sed
    copy_with_libs "$r" /bin/cat /bin/cat
    echo 'root:x:0:0:root:/root:/bin/sh
polkadot:x:1000:1000:polkadot:/data:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:
polkadot:x:1000:' >"$r/etc/group"
    echo 'hosts: files dns' >"$r/etc/nsswitch.conf"
    # The node's TLS clients (telemetry, chain-spec URLs) load the system roots.
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt"
    chmod 1777 "$r/tmp"
    chown 1000:1000 "$r/data" "$r/keystore"
    python3 "$HERE/docker-archive.py" "$r" "$(polkadot_ref)" "$(polkadot_image_tar).part" /usr/local/bin/polkadot
    mv "$(polkadot_image_tar).part" "$(polkadot_image_tar)"
  fi
  rm -rf "$tmp"
}

do_install() {
  need_packages
  "$APISERVER_SH" install
  if installed; then
    log "cached in $BIN and $IMAGES"
    return 0
  fi
  exec 9>"$VDIR/.install.lock"
  flock 9
  local started=$SECONDS
  go_env
  cd "$GOPATH/src/k8s.io/kubernetes"
  local ld="-s -w" pkg cmd
  for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=v1.20.2 -X $pkg.gitMajor=1 -X $pkg.gitMinor=20 -X $pkg.gitTreeState=clean"
  done
  for cmd in kubelet kube-scheduler kube-proxy; do
    [[ -x "$BIN/$cmd" ]] && continue
    log "building $cmd (nice; several minutes on a cold cache)"
    $NICE go build -ldflags "$ld" -o "$BIN/$cmd.tmp" "./cmd/$cmd"
    mv "$BIN/$cmd.tmp" "$BIN/$cmd"
  done
  build_images
  log "node components installed after $((SECONDS - started)) s"
}

# The address the node registers (kubelet refuses loopback): the host's source
# address towards the default route. kubelet listens there with client-cert
# authentication only (the harness CA).
node_ip() { ip -4 route get 1.1.1.1 2>/dev/null | grep -o 'src [0-9.]*' | cut -d' ' -f2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() { # <seconds> <what> <command...>
  local n=$(($1 * 5)) what=$2
  shift 2
  local i
  for i in $(seq 1 "$n"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "$what not ready after $((n / 5)) s"
  return 1
}

# The cluster's glue, in one loop: DNS records for Services and StatefulSet
# pods (dnsmasq re-reads its hosts file on SIGHUP) and a hostPath
# PersistentVolume, pre-bound, for every Pending claim (no storage provisioner
# in a bare cluster).
agent() {
  local run="$1"
  export KUBECONFIG="$run/kubeconfig"
  local hosts="$run/dns/hosts" last=""
  while true; do
    {
      # Pods of a StatefulSet (hostname.subdomain) and, for headless
      # Services, the Service name itself resolve to the pod IPs.
      kubectl get pods -A -o jsonpath='{range .items[*]}{.status.podIP}{"\t"}{.spec.hostname}{"\t"}{.spec.subdomain}{"\t"}{.metadata.namespace}{"\n"}{end}' 2>/dev/null |
        awk -F'\t' '$1 != "" && $2 != "" && $3 != "" {print $1, $2 "." $3 "." $4 ".svc.cluster.local"; print $1, $3 "." $4 ".svc.cluster.local"}'
      kubectl get svc -A -o jsonpath='{range .items[*]}{.spec.clusterIP}{"\t"}{.metadata.name}{"\t"}{.metadata.namespace}{"\n"}{end}' 2>/dev/null |
        awk -F'\t' '$1 != "" && $1 != "None" {print $1, $2 "." $3 ".svc.cluster.local"}'
    } | sort -u >"$hosts.new"
    if ! cmp -s "$hosts.new" "$hosts"; then
      mv "$hosts.new" "$hosts"
      kill -HUP "$(cat "$run/dnsmasq.pid")" 2>/dev/null || true
    fi
    local ns name size
    kubectl get pvc -A -o jsonpath='{range .items[?(@.status.phase=="Pending")]}{.metadata.namespace} {.metadata.name} {.spec.resources.requests.storage} {.spec.volumeName}{"\n"}{end}' 2>/dev/null |
      while read -r ns name size vol; do
        [[ -n "$name" && -z "${vol:-}" ]] || continue
        # PV names are cluster-wide: a digest of namespace/claim keeps them unique and short.
        local dir="$run/volumes/$ns/$name" pv
        pv="pf-$(printf '%s/%s' "$ns" "$name" | sha256sum | cut -c1-16)"
        mkdir -p "$dir" && chmod 0777 "$dir"
        kubectl apply -f - >/dev/null 2>&1 <<EOF || true
apiVersion: v1
kind: PersistentVolume
metadata: {name: $pv, labels: {paraform.io/test-volume: "true"}}
spec:
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $dir, type: DirectoryOrCreate}
  claimRef: {namespace: $ns, name: $name}
EOF
      done
    sleep 1
  done
}

start() {
  local run="${1:?usage: start <run-dir> [--owner-pid PID]}"
  local owner=""
  if [[ "${2:-}" == "--owner-pid" ]]; then owner="${3:?--owner-pid needs a PID}"; fi
  [[ $(id -u) == 0 ]] || { log "needs root (containerd, network namespaces)"; return 1; }
  installed || (do_install)
  mkdir -p "$run"
  run="$(cd "$run" && pwd)"
  local t0=$SECONDS
  # One cluster per host: the bridge, /run/containerd and sysctls are global.
  exec 8>"$HOST_LOCK"
  if ! flock -w "${PARAFORM_K8S_CLUSTER_WAIT:-900}" 8; then
    log "another cluster holds $HOST_LOCK"
    return 1
  fi
  echo "$run" >"$run/host-lock"

  # Host state kubelet changes, restored by `stop`.
  local s
  : >"$run/sysctls.saved"
  for s in $SYSCTLS; do
    sysctl -n "$s" >/dev/null 2>&1 && echo "$s=$(sysctl -n "$s")" >>"$run/sysctls.saved"
  done
  [[ -e /run/containerd ]] || touch "$run/created-run-containerd"
  # Pod network namespaces are named by containerd under /var/run/netns:
  # `stop` removes the ones that appeared while this cluster ran.
  ls /var/run/netns 2>/dev/null >"$run/netns.before" || true
  # Likewise the KUBE-* iptables chains kubelet creates (its canary chains).
  kube_chains >"$run/chains.before"

  # With a kubelet, the node lifecycle controller lifts the `not-ready`
  # taint kubelet registers with (and marks pods of a lost node).
  # Pods (paraform's drift job) reach the API through the `kubernetes`
  # Service: the apiserver advertises the node's address as its endpoint
  # and kube-proxy routes the ClusterIP there.
  local ip
  ip=$(node_ip)
  PARAFORM_K8S_CONTROLLERS='*,-nodeipam,-csrsigning,-bootstrapsigner,-tokencleaner' \
    PARAFORM_K8S_ADVERTISE_ADDRESS="$ip" "$APISERVER_SH" start "$run"
  local pki="$run/pki"
  # A reused run dir keeps etcd, and with it the `kubernetes` Endpoints of
  # the previous apiserver port, which the lease reconciler does not
  # correct for the same address: drop it, the reconciler writes it anew.
  local api_port
  api_port=$(grep -o 'server: https://127.0.0.1:[0-9]*' "$run/kubeconfig" | grep -o '[0-9]*$')
  if ! KUBECONFIG="$run/kubeconfig" kubectl get endpoints kubernetes -n default \
    -o jsonpath='{.subsets[0].ports[0].port}' 2>/dev/null | grep -qx "$api_port"; then
    KUBECONFIG="$run/kubeconfig" kubectl delete endpoints kubernetes -n default --ignore-not-found >/dev/null 2>&1 || true
  fi
  wait_for 30 "the kubernetes Service's endpoint" bash -c "KUBECONFIG='$run/kubeconfig' kubectl get endpoints kubernetes -n default -o jsonpath='{.subsets[0].ports[0].port}' | grep -qx '$api_port'"

  # containerd: root, state and sockets in the run dir.
  local cd="$run/containerd"
  mkdir -p "$cd/root" "$cd/state" "$run/cni/net.d" "$run/dns" "$run/volumes"
  cat >"$cd/config.toml" <<EOF
version = 2
root = "$cd/root"
state = "$cd/state"
[grpc]
  address = "$cd/containerd.sock"
[ttrpc]
  address = "$cd/containerd.sock.ttrpc"
[debug]
  address = "$cd/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_REF"
  disable_apparmor = true
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$run/cni/net.d"
EOF
  # The default route through the bridge: without it a pod reaches only
  # the pod network, not ClusterIPs (kube-proxy DNATs them on the host),
  # e.g. the `kubernetes` Service that in-cluster clients use.
  cat >"$run/cni/net.d/10-paraform.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "paraform",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$DNS_IP"}]],
              "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "$run/cni/ipam"}}
  ]
}
EOF
  containerd --config "$cd/config.toml" >>"$run/containerd.log" 2>&1 &
  echo $! >"$run/containerd.pid"
  wait_for 30 containerd ctr --address "$cd/containerd.sock" version
  local img
  for img in "$IMAGES/pause.tar" "$(polkadot_image_tar)"; do
    ctr --address "$cd/containerd.sock" -n k8s.io images import "$img" >/dev/null
  done

  # Cluster DNS: dnsmasq on the bridge's gateway (bind-dynamic: the bridge
  # appears with the first pod), authoritative for cluster.local only.
  : >"$run/dns/hosts"
  dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll \
    --addn-hosts="$run/dns/hosts" --local=/cluster.local/ --domain-needed \
    --listen-address="$DNS_IP" --bind-dynamic --except-interface=lo \
    --pid-file= --user=root --log-facility=- \
    >"$run/dnsmasq.log" 2>&1 &
  echo $! >"$run/dnsmasq.pid"
  echo "nameserver $DNS_IP" >"$run/resolv.conf"

  # kubelet: CRI over containerd's socket, cgroupfs (cgroup v1), no QoS
  # cgroup hierarchy, relaxed eviction, client-cert auth from the apiserver.
  local kport
  kport=$(free_port)
  mkdir -p "$run/kubelet"
  "$BIN/kubelet" \
    --kubeconfig "$run/kubeconfig" \
    --hostname-override "$NODE_NAME" --node-ip "$ip" \
    --address "$ip" --port "$kport" --read-only-port 0 --healthz-port 0 \
    --container-runtime remote --container-runtime-endpoint "unix://$cd/containerd.sock" \
    --runtime-request-timeout 5m \
    --cgroup-driver cgroupfs --cgroups-per-qos=false --enforce-node-allocatable= \
    --root-dir "$run/kubelet" --cert-dir "$run/kubelet/pki" \
    --client-ca-file "$pki/ca.crt" --anonymous-auth=false --authorization-mode AlwaysAllow \
    --cluster-dns "$DNS_IP" --cluster-domain cluster.local --resolv-conf "$run/resolv.conf" \
    --pod-infra-container-image "$PAUSE_REF" \
    --fail-swap-on=false \
    --eviction-hard 'memory.available<20Mi,nodefs.available<1%,imagefs.available<1%' \
    --image-gc-high-threshold 100 --image-gc-low-threshold 99 \
    --volume-plugin-dir "$run/kubelet/volume-plugins" \
    --make-iptables-util-chains=false \
    --serialize-image-pulls=false \
    >"$run/kubelet.log" 2>&1 &
  echo $! >"$run/kubelet.pid"

  "$BIN/kube-scheduler" --kubeconfig "$run/kubeconfig" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 0 --port 0 \
    >"$run/scheduler.log" 2>&1 &
  echo $! >"$run/scheduler.pid"

  # ClusterIP routing: the default p2p exposure announces the per-pod
  # Service's ClusterIP as --public-addr, so peers dial ClusterIPs.
  # iptables mode (IPVS is not built into these kernels); bridged pod
  # traffic must traverse iptables. Conntrack sysctls are left alone.
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 >/dev/null 2>&1 || true
  "$BIN/kube-proxy" --kubeconfig "$run/kubeconfig" --hostname-override "$NODE_NAME" \
    --proxy-mode iptables --cluster-cidr "$POD_CIDR" \
    --bind-address 127.0.0.1 --healthz-bind-address "127.0.0.1:$(free_port)" --metrics-bind-address "127.0.0.1:$(free_port)" \
    --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0 \
    >"$run/kube-proxy.log" 2>&1 &
  echo $! >"$run/kube-proxy.pid"

  agent "$run" </dev/null >>"$run/agent.log" 2>&1 &
  echo $! >"$run/agent.pid"

  if ! wait_for 120 "node $NODE_NAME" bash -c "KUBECONFIG='$run/kubeconfig' kubectl get node $NODE_NAME -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"; then
    tail -20 "$run/kubelet.log" >&2
    stop "$run"
    return 1
  fi
  # The default ServiceAccount must exist before pods are accepted.
  wait_for 30 "default ServiceAccount" env KUBECONFIG="$run/kubeconfig" kubectl get sa default -n default

  if [[ -n "$owner" ]]; then
    PARAFORM_K8S_FROM_WATCHER=1 setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3"; rm -rf "$3"' \
      watcher "$owner" "$SELF" "$run" </dev/null >/dev/null 2>&1 &
    echo $! >"$run/cluster-watcher.pid"
  fi
  log "ready after $((SECONDS - t0)) s: KUBECONFIG=$run/kubeconfig, node $NODE_NAME ($ip), image $(polkadot_ref)"
}

# "<table> <chain>" of every KUBE-* chain on the host.
kube_chains() {
  local t
  for t in filter nat mangle; do
    iptables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1 == "-N" && $2 ~ /^KUBE-/ {print t, $2}'
  done
}

# Remove the KUBE-* chains that appeared while this cluster ran (and the
# rules that jump to them).
remove_new_chains() {
  local run="$1" t c rule
  kube_chains | while read -r t c; do
    grep -qx "$t $c" "$run/chains.before" 2>/dev/null && continue
    iptables -t "$t" -S 2>/dev/null | grep -- "-j $c\b" | grep '^-A' | while read -r rule; do
      eval "iptables -t $t ${rule/-A/-D}" 2>/dev/null || true
    done
    iptables -t "$t" -F "$c" 2>/dev/null || true
  done
  kube_chains | while read -r t c; do
    grep -qx "$t $c" "$run/chains.before" 2>/dev/null || iptables -t "$t" -X "$c" 2>/dev/null || true
  done
}

kill_pidfile() {
  local f="$1" pid
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop() {
  local run="${1:?usage: stop <run-dir>}"
  [[ -d "$run" ]] || return 0
  run="$(cd "$run" && pwd)"
  local name
  for name in agent scheduler kube-proxy kubelet dnsmasq; do kill_pidfile "$run/$name.pid"; done
  # kube-proxy's KUBE-* chains and rules.
  [[ -f "$run/kube-proxy.log" ]] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  if [[ -f "$run/chains.before" ]]; then remove_new_chains "$run" || true; fi
  # Every container of this containerd: kill the tasks, delete the containers.
  local sock="$run/containerd/containerd.sock" c
  if [[ -S "$sock" ]] && [[ -f "$run/containerd.pid" ]]; then
    for c in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for c in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks rm -f "$c" >/dev/null 2>&1 || true
    done
    for c in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io containers rm "$c" >/dev/null 2>&1 || true
    done
  fi
  kill_pidfile "$run/containerd.pid"
  # Shims outlive containerd: stop the ones serving this run's socket.
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $sock" || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
  # Pod network namespaces (removing one removes its veth) and the bridge.
  local ns
  for ns in /var/run/netns/cni-*; do
    [[ -e "$ns" ]] || continue
    if ! grep -qx "$(basename "$ns")" "$run/netns.before" 2>/dev/null; then
      umount "$ns" 2>/dev/null || true
      rm -f "$ns"
    fi
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  # Mounts kubelet and containerd left under the run dir (secrets, overlays).
  grep -o " $run/[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  [[ -f "$run/created-run-containerd" ]] && rm -rf /run/containerd
  rm -rf /var/lib/cni/results 2>/dev/null || true
  "$APISERVER_SH" stop "$run"
  if [[ -f "$run/sysctls.saved" ]]; then
    local kv
    while read -r kv; do sysctl -qw "$kv" >/dev/null 2>&1 || true; done <"$run/sysctls.saved"
    rm -f "$run/sysctls.saved"
  fi
  [[ -n "${PARAFORM_K8S_FROM_WATCHER:-}" ]] || kill_pidfile "$run/cluster-watcher.pid"
}

# Import an image archive (docker-archive, e.g. scripts/paraform-image.sh's)
# into a running cluster's containerd, where kubelet finds it.
load() {
  local run="${1:?usage: load <run-dir> <image.tar>}" tar="${2:?usage: load <run-dir> <image.tar>}"
  local sock="$run/containerd/containerd.sock"
  [[ -S "$sock" ]] || { log "no containerd socket in $run (cluster not started?)"; return 1; }
  ctr --address "$sock" -n k8s.io images import "$tar" >/dev/null
}

case "${1:-}" in
install) do_install ;;
load) load "${2:-}" "${3:-}" ;;
start) start "${2:-}" "${3:-}" "${4:-}" ;;
stop) stop "${2:-}" ;;
images) echo "$PAUSE_REF $(polkadot_ref)" ;;
*)
  echo "usage: $0 install | start <run-dir> [--owner-pid PID] | stop <run-dir> | images | load <run-dir> <image.tar>" >&2
  exit 2
  ;;
esac
