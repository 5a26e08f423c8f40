#!/usr/bin/env bash
# Bring up a network of networks/ on this machine with the local provider,
# each node a detached process under .paraform/<net>/ (they keep running after
# this script ends):
#   scripts/run-local.sh              networks/local: 2 genesis validators (Alice,
#                                     Bob), 2 validators paraform registers, 1 RPC node
#   scripts/run-local.sh local-para   networks/local-para: relay (Alice, Bob) + para
#                                     2000 (penpal): a genesis collator (--alice) and
#                                     2 collators paraform funds, keys and registers
#   scripts/run-local.sh local-paras  networks/local-paras: relay + paras 2000 and 2001
#                                     (penpal) with an HRMP channel each way
# Further arguments go to `paraform apply`.
#
# Binaries: $POLKADOT_BIN / $POLKADOT_OMNI_NODE_BIN, else on PATH, else the
# archives in ../shared/bin extracted once into ~/.cache/paraform
# (scripts/polkadot-bin.sh, scripts/omni-node-bin.sh; sha256 checked).
#
# Secrets: the example uses public dev keys (//Alice is sudo on rococo-local
# and on penpal) and a public derivation root — fine for a local testnet,
# never for a real one.
set -euo pipefail

# twox128 of the pallet and item names of a cumulus runtime's para id.
TWOX_PARACHAIN_INFO=0d715f2646c8f85767b5d2764bb27826
TWOX_PARACHAIN_ID=04a74d81251e398fd8a0a4d55023bb3f
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

net=local
if [ $# -gt 0 ] && [ -d "networks/$1" ]; then net="$1"; shift; fi

POLKADOT_BIN="$("$here/scripts/polkadot-bin.sh")"
export POLKADOT_BIN
echo "polkadot: $POLKADOT_BIN ($("$POLKADOT_BIN" --version))"
if grep -q 'polkadot-omni-node' networks/"$net"/*.toml; then
  POLKADOT_OMNI_NODE_BIN="$("$here/scripts/omni-node-bin.sh")"
  export POLKADOT_OMNI_NODE_BIN
  echo "polkadot-omni-node: $POLKADOT_OMNI_NODE_BIN ($("$POLKADOT_OMNI_NODE_BIN" --version))"
  # The penpal raw specs come from the same archive (not kept in git).
  assets="$("$here/scripts/omni-node-bin.sh" --assets 2>/dev/null || true)"
  mkdir -p "networks/$net/specs"
  for spec in $(grep -ho 'specs/penpal-[0-9]*-rococo-local.json' networks/"$net"/*.toml | sort -u); do
    if [ ! -f "networks/$net/$spec" ]; then
      [ -n "$assets" ] && [ -f "$assets/$(basename "$spec")" ] \
        || { echo "no $(basename "$spec"): provide ../shared/bin/omni-node-*.tar.xz or copy it to networks/$net/$spec" >&2; exit 1; }
      cp "$assets/$(basename "$spec")" "networks/$net/$spec"
      # The archive's penpal-2001 spec says para_id 2001 but its genesis
      # (the `development` preset) has ParachainInfo.ParachainId = 2000, so
      # its collator would run as para 2000 (`paraform validate` refuses
      # it). Put the spec's own id into the genesis of the copy.
      id="$(basename "$spec" | sed -E 's/penpal-([0-9]+)-.*/\1/')"
      le="$(printf '%08x' "$id" | sed -E 's/(..)(..)(..)(..)/\4\3\2\1/')"
      # Storage key: twox128("ParachainInfo") ++ twox128("ParachainId"), as
      # `parachain_id_key` in src/spec/validate.rs computes it.
      key="0x${TWOX_PARACHAIN_INFO}${TWOX_PARACHAIN_ID}"
      sed -i -E "s/(\"$key\": *\")0x[0-9a-f]{8}/\10x$le/" "networks/$net/$spec"
    fi
  done
fi
export PARAFORM_SUDO_SURI="${PARAFORM_SUDO_SURI:-//Alice}"
export PARAFORM_DERIVATION_ROOT="${PARAFORM_DERIVATION_ROOT:-//paraform-local}"

cargo run --release -- apply "networks/$net" --auto-approve "$@"

# HRMP channels can be opened once both paras are registered (two sessions
# after onboarding): until then the plan shows them pending ("opened by a
# later plan"). Apply again until no channel waits for that.
if grep -q '^\[\[hrmp\]\]' networks/"$net"/*.toml; then
  for _ in $(seq 1 30); do
    { cargo run --release -q -- plan "networks/$net" || true; } | grep -q 'opened by a later plan' || break
    echo "waiting for the paras to be registered before opening HRMP channels…"
    sleep 20
    cargo run --release -q -- apply "networks/$net" --auto-approve "$@"
  done
fi

cat <<MSG

The network runs in the background (it outlives this script).
  nodes and logs:  $here/.paraform/$net/nodes/<node>/node.log
  status:          cargo run --release -- status networks/$net [nodes|validators|parachains|collators]
  check:           cargo run --release -- plan networks/$net --detailed-exitcode   (exit 0 = converged)
  stop & delete:   cargo run --release -- destroy networks/$net --auto-approve
(keep PARAFORM_SUDO_SURI, PARAFORM_DERIVATION_ROOT and the *_BIN variables exported as above)
MSG
