#!/usr/bin/env bash
# Prints the path of a polkadot binary: $POLKADOT_BIN, else `polkadot` on PATH,
# else the archive in ../shared/bin extracted once into ~/.cache/paraform/bin.
set -euo pipefail
if [ -n "${POLKADOT_BIN:-}" ] && [ -x "$POLKADOT_BIN" ]; then echo "$POLKADOT_BIN"; exit 0; fi
if command -v polkadot >/dev/null 2>&1; then command -v polkadot; exit 0; fi
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/paraform/bin"
if [ -x "$cache/polkadot" ]; then echo "$cache/polkadot"; exit 0; fi
# polkadot-*.tar.xz but never an omni-node archive (scripts/omni-node-bin.sh has that).
archive=$(ls "$here"/../shared/bin/polkadot-*.tar.xz 2>/dev/null | grep -v omni | head -n1 || true)
if [ -z "$archive" ]; then
  echo "no polkadot binary: set POLKADOT_BIN, put polkadot on PATH, or provide ../shared/bin/polkadot-*.tar.xz" >&2
  exit 1
fi
mkdir -p "$cache"
(cd "$(dirname "$archive")" && grep -F "  $(basename "$archive")" SHA256SUMS | sha256sum -c --quiet - >&2) || { echo "checksum mismatch for $archive" >&2; exit 1; }
tar -xJf "$archive" -C "$cache"
echo "$cache/polkadot"
