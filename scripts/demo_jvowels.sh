#!/usr/bin/env bash
# demo_jvowels.sh - the JapaneseVowels demo end to end on a fresh machine:
#   FPGA tools (scripts/install-tools.sh, skipped when present) -> build -> train the
#   CBTD + delta DeltaLSTM classifier (reports/jvowels/*, ~2 min) -> export the whole test set
#   as replay vectors -> emit the Verilog (gen) -> run all 370 test cases back to back through
#   it in Verilator (gen testset: bit-exact vs golden, counters vs cycle model) -> add the
#   "(d) RTL" row to reports/jvowels.{md,json} (train eval --add-to; fails unless the RTL h
#   equals the golden h in every case).
#
# Usage:  bash scripts/demo_jvowels.sh [--no-train]
#         --no-train: keep the committed model in reports/jvowels/ (skips the ~2 min training)
# Env:    CARGO_TARGET_DIR (default target), DEMO_OUT (default hdl_out; test-set files go to
#         $DEMO_OUT/jvowels_testset, the design to $DEMO_OUT/jvowels)
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN=1
for a in "$@"; do
  case "$a" in
    --no-train) TRAIN=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option: $a" >&2; exit 2 ;;
  esac
done
SECONDS=0
OUT="${DEMO_OUT:-hdl_out}"
TS="$OUT/jvowels_testset"
BIN="${CARGO_TARGET_DIR:-target}/release"

echo "== tools" >&2
bash scripts/install-tools.sh --no-iverilog --no-ecp5
echo "== build" >&2
cargo build --release -p spartus-train --bin train -p spartus-gen --bin gen
if [ "$TRAIN" = 1 ]; then
  echo "== train (writes reports/jvowels.{md,json} and reports/jvowels/)" >&2
  "$BIN/train" --quiet
fi
echo "== test set as replay vectors -> $TS" >&2
"$BIN/train" vectors --out "$TS"
echo "== emit + Verilator, all test cases back to back" >&2
"$BIN/gen" testset reports/jvowels/jvowels.toml --weights reports/jvowels/jvowels.safetensors \
  --vectors "$TS" --out-dir "$OUT" --h-out "$TS/h_rtl.hex" --report "$TS/rtl.json"
echo "== accuracy table (a) float dense (b) float pruned (c) golden (d) RTL" >&2
"$BIN/train" eval --dense reports/jvowels/jvowels-dense.safetensors \
  --rtl-h "$TS/h_rtl.hex" --rtl-sim "$TS/rtl.json" --add-to reports/jvowels
echo "demo finished in ${SECONDS} s" >&2
