# Shell helpers shared by the scripts that build container images
# (kube-cluster.sh, paraform-image.sh). Sourced, not run.

# Copy a dynamically linked binary and every library it loads into a rootfs.
copy_with_libs() {
  local rootfs="$1" bin="$2" dest="$3"
  install -D -m 0755 "$bin" "$rootfs$dest"
  local lib
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    [[ -e "$rootfs$lib" ]] || install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
  done
}
