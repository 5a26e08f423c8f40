#!/usr/bin/env bash
# Prints the path of a polkadot-omni-node binary: $OMNI_NODE_BIN (or
# $POLKADOT_OMNI_NODE_BIN, the name the local provider reads), else
# `polkadot-omni-node` on PATH, else the archive in ../shared/bin
# (omni-node-*-x86_64-linux.tar.xz) extracted once into
# ~/.cache/paraform/omni-node, its sha256 checked against SHA256SUMS.
# The archive also holds the penpal runtime and raw para specs
# (penpal-2000-rococo-local.json, penpal-2001-rococo-local.json): with
# `--assets` the script prints the directory holding them instead.
set -euo pipefail
want_assets=false
[ "${1:-}" = "--assets" ] && want_assets=true
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/paraform/omni-node"
if ! $want_assets; then
  for v in "${OMNI_NODE_BIN:-}" "${POLKADOT_OMNI_NODE_BIN:-}"; do
    if [ -n "$v" ] && [ -x "$v" ]; then echo "$v"; exit 0; fi
  done
  if command -v polkadot-omni-node >/dev/null 2>&1; then command -v polkadot-omni-node; exit 0; fi
fi
if [ -x "$cache/polkadot-omni-node" ] && [ -f "$cache/penpal-2000-rococo-local.json" ]; then
  if $want_assets; then echo "$cache"; else echo "$cache/polkadot-omni-node"; fi
  exit 0
fi
archive=$(ls "$here"/../shared/bin/omni-node-*.tar.xz 2>/dev/null | sort | tail -n1 || true)
if [ -z "$archive" ]; then
  echo "no polkadot-omni-node: set OMNI_NODE_BIN, put polkadot-omni-node on PATH, or provide ../shared/bin/omni-node-*.tar.xz" >&2
  exit 1
fi
dir="$(dirname "$archive")"; name="$(basename "$archive")"
(cd "$dir" && grep -F "  $name" SHA256SUMS | sha256sum -c --quiet - >&2) \
  || { echo "checksum mismatch (or no SHA256SUMS entry) for $archive" >&2; exit 1; }
tmp="$cache.extract.$$"
rm -rf "$tmp" && mkdir -p "$tmp"
tar -xJf "$archive" -C "$tmp"
mkdir -p "$cache"
# Binary last: its presence marks a complete extraction.
for f in "$tmp"/*; do [ "$(basename "$f")" = polkadot-omni-node ] || mv -f "$f" "$cache/"; done
mv -f "$tmp/polkadot-omni-node" "$cache/polkadot-omni-node"
rm -rf "$tmp"
if $want_assets; then echo "$cache"; else echo "$cache/polkadot-omni-node"; fi
