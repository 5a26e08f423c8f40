#!/usr/bin/env bash
# Bring up networks/local on this machine with the local provider:
# 2 genesis validators (Alice, Bob), 2 validators paraform registers, 1 RPC node,
# each a detached `polkadot` process under .paraform/local/ (they keep running
# after this script ends).
#
# The polkadot binary: $POLKADOT_BIN, else `polkadot` on PATH, else the archive
# in ../shared/bin extracted once into ~/.cache/paraform/bin (scripts/polkadot-bin.sh).
#
# Secrets: the example uses public dev keys (//Alice is sudo on rococo-local)
# and a public derivation root — fine for a local testnet, never for a real one.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

POLKADOT_BIN="$("$here/scripts/polkadot-bin.sh")"
export POLKADOT_BIN
export PARAFORM_SUDO_SURI="${PARAFORM_SUDO_SURI:-//Alice}"
export PARAFORM_DERIVATION_ROOT="${PARAFORM_DERIVATION_ROOT:-//paraform-local}"

echo "polkadot: $POLKADOT_BIN ($("$POLKADOT_BIN" --version))"
cargo run --release -- apply networks/local --auto-approve "$@"

cat <<MSG

The network runs in the background (it outlives this script).
  nodes and logs:  $here/.paraform/local/nodes/<node>/node.log
  status:          cargo run --release -- status networks/local
  check:           cargo run --release -- plan networks/local --detailed-exitcode   (exit 0 = converged)
  stop & delete:   cargo run --release -- destroy networks/local --auto-approve
(keep PARAFORM_SUDO_SURI and PARAFORM_DERIVATION_ROOT exported as above for those commands)
MSG
