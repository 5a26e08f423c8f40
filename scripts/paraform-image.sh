#!/usr/bin/env bash
# The paraform container image, for running paraform inside a cluster (the
# drift CronJob of deploy/kubernetes/drift-cronjob.yaml), built without
# Docker or a registry, the same way scripts/kube-cluster.sh builds the
# polkadot image: a root filesystem of the binary cargo built, the libraries
# `ldd` names, /etc/passwd and group (user 65532, no shell), nsswitch.conf
# and the CA roots, packed by scripts/docker-archive.py as a one-layer
# docker-archive. Debug info is stripped (symbols stay, for backtraces).
#
#   scripts/paraform-image.sh build [BINARY]   # default target/debug/paraform;
#                                              # prints "<archive.tar> <image ref>"
#
# Load it into the test cluster: scripts/kube-cluster.sh load <run-dir> <archive.tar>.
# The tag is the version plus a digest of the binary (never `latest`), so a
# pod with `imagePullPolicy: Never` (or the defaulted IfNotPresent) runs
# exactly this binary. Archives are cached in ~/.cache/paraform/k8s/images
# by that digest; older paraform archives there are removed.
#
# For a registry, build from source with deploy/Dockerfile instead.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
CACHE="${PARAFORM_K8S_CACHE:-$HOME/.cache/paraform/k8s}"
IMAGES="$CACHE/images"
# Bump when the recipe changes: cached archives are rebuilt.
RECIPE=2

log() { echo "paraform-image.sh: $*" >&2; }


build() {
  local bin="${1:-$HERE/../target/debug/paraform}"
  [[ -x "$bin" ]] || {
    log "no paraform binary at $bin (cargo build first)"
    return 1
  }
  local digest version ref tar
  digest=$(sha256sum "$bin" | cut -c1-12)
  version=$("$bin" --version | awk '{print $2}')
  ref="localhost/paraform:$version-$digest"
  tar="$IMAGES/paraform-$version-$digest-r$RECIPE.tar"
  if [[ ! -s "$tar" ]]; then
    local t0=$SECONDS tmp
    mkdir -p "$IMAGES"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    local r="$tmp/rootfs"
    mkdir -p "$r/etc" "$r/tmp"
    # Libraries of the binary as built, then its debug info dropped.
    copy_with_libs "$r" "$bin" /usr/local/bin/paraform
    strip --strip-debug "$r/usr/local/bin/paraform"
    echo 'root:x:0:0:root:/root:/usr/sbin/nologin
paraform:x:65532:65532:paraform:/tmp:/usr/sbin/nologin' >"$r/etc/passwd"
    echo 'root:x:0:
paraform:x:65532:' >"$r/etc/group"
    echo 'hosts: files dns' >"$r/etc/nsswitch.conf"
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt"
    chmod 1777 "$r/tmp"
    python3 "$HERE/docker-archive.py" --user 65532:65532 "$r" "$ref" "$tar.part" /usr/local/bin/paraform
    mv "$tar.part" "$tar"
    # One paraform archive at a time in the cache (every build makes a new one).
    find "$IMAGES" -maxdepth 1 -name 'paraform-*.tar' ! -path "$tar" -delete
    log "built $ref ($(du -m "$tar" | cut -f1) MB) in $((SECONDS - t0)) s"
  fi
  echo "$tar $ref"
}

case "${1:-}" in
build) build "${2:-}" ;;
*)
  echo "usage: $0 build [BINARY]" >&2
  exit 2
  ;;
esac
