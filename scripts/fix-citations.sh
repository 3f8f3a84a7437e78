#!/usr/bin/env bash
# scripts/fix-citations.sh - rewrite citations of the old out-of-repository documents into
# citations of the project's own docs (idempotent: a second run changes nothing).
#
#   bash scripts/fix-citations.sh          rewrite in place, list the files changed
#   bash scripts/fix-citations.sh --check  only list what would change (exit 1 if anything)
#
# Rules, in this order (the old names are written as regex classes, e.g. S[P]EC, so that this
# script does not itself contain them):
#   old rust-hdl notes §n          -> docs/rust-hdl.md §n      (same section numbers)
#   old FPGA budget notes          -> docs/targets.md
#   old flow notes                 -> formal/README.md on lines about YoWASP / /tmp / formal
#                                     tools, else docs/targets.md
#   old design document            -> docs/architecture.md §9 on lines about report figures
#                                     (figures, ops, operations, dense, goal, utilization,
#                                     throughput), else
#                                     docs/architecture.md
#   old spec file / "spec §n"      -> docs/arithmetic.md / docs/arithmetic.md §n (same numbers)
#   "spec('s) reference" (T_upd)   -> docs/arithmetic.md §6 reference
#   a few fixed phrases ("spec tie-break", "spec formulas", ...), then any remaining word
#   "spec" (upper case)            -> docs/arithmetic.md
# Scope: the text files that crates/spartus-model/tests/doc_citations.rs scans (crates/, docs/,
# scripts/, formal/, testbenches/, fuzz/, configs/, constraints/, reports/, .ci/, README.md,
# Cargo.toml; not target/, hdl_out/ or fuzzing corpora). References to the old shared folder
# cannot be rewritten mechanically: they are listed and make the script exit 1.
# Afterwards: cargo test --workspace --test doc_citations (checks every § has a heading).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  *) echo "usage: bash scripts/fix-citations.sh [--check]" >&2; exit 2 ;;
esac

OLD='S[P]EC|D[E]SIGN\.md|R[U]ST_HDL_NOTES|F[L]OW_NOTES|F[P]GA_BUDGETS'
SHARED='\.\./s[h]ared|/work/s[h]ared'

# candidate text files (grep -I skips binary files)
mapfile -t FILES < <(
  { find crates docs scripts formal testbenches fuzz configs constraints reports .ci \
      \( -name target -o -name .git -o -name hdl_out -o -name corpus -o -name artifacts \
         -o -name coverage \) -prune -o -type f -print 2>/dev/null
    ls README.md Cargo.toml 2>/dev/null; } |
    LC_ALL=C sort | xargs -r grep -IlE "$OLD" -- 2>/dev/null || true
)

# The rewrite, one line at a time (perl -p); the same program runs in --check mode on a copy.
# shellcheck disable=SC2016
PERL='
  s{R[U]ST_HDL_NOTES(?:\.md)?\s*§\s*(\d+(?:\.\d+)*)}{docs/rust-hdl.md §$1}g;
  s{R[U]ST_HDL_NOTES(?:\.md)?}{docs/rust-hdl.md}g;
  s{F[P]GA_BUDGETS(?:\.md)?}{docs/targets.md}g;
  if (/yowasp|\/tmp|formal|\bsby\b|smtbmc/i) { s{F[L]OW_NOTES(?:\.md)?}{formal/README.md}g }
  s{F[L]OW_NOTES(?:\.md)?}{docs/targets.md}g;
  if (/figure|\bops\b|operation|dense|goal|utiliz|throughput/i) { s{D[E]SIGN\.md}{docs/architecture.md §9}g }
  s{D[E]SIGN\.md}{docs/architecture.md}g;
  s{(?<![\w/])S[P]EC\.md}{docs/arithmetic.md}g;
  s{\bS[P]EC\s*§\s*}{docs/arithmetic.md §}g;
  s{\bS[P]EC(?:\x27s)? reference}{docs/arithmetic.md §6 reference}g;
  s{\bS[P]EC tie-break}{tie-break of docs/arithmetic.md §5}g;
  s{\bthe S[P]EC formulas}{the formulas of docs/arithmetic.md}g;
  s{\bS[P]EC default}{the default of docs/arithmetic.md}g;
  s{bit-exact S[P]EC model}{bit-exact model of docs/arithmetic.md}g;
  s{(?:\bthe )?\bS[P]EC(?:\x27s)? arithmetic}{the arithmetic of docs/arithmetic.md}g;
  s{(?<![\w/])S[P]EC\x27s\b}{docs/arithmetic.md}g;
  s{(?<![\w/])S[P]EC\b}{docs/arithmetic.md}g;
'

changed=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for f in "${FILES[@]}"; do
  perl -CSD -Mutf8 -pe "$PERL" -- "$f" > "$tmp"
  if ! cmp -s "$tmp" "$f"; then
    changed=$((changed + 1))
    if [ "$CHECK" = 1 ]; then
      echo "would change: $f"
    else
      cat "$tmp" > "$f"   # keeps the file's mode
      echo "rewrote: $f"
    fi
  fi
done

status=0
left=$( { find crates docs scripts formal testbenches fuzz configs constraints reports .ci \
            \( -name target -o -name .git -o -name hdl_out -o -name corpus -o -name artifacts \
               -o -name coverage \) -prune -o -type f -print 2>/dev/null
          ls README.md Cargo.toml 2>/dev/null; } |
        LC_ALL=C sort | xargs -r grep -InE "$SHARED" -- 2>/dev/null || true)
if [ -n "$left" ]; then
  echo "references to the old shared folder (rewrite by hand):" >&2
  echo "$left" >&2
  status=1
fi
if [ "$CHECK" = 1 ] && [ "$changed" -gt 0 ]; then
  status=1
fi
echo "$changed file(s) $([ "$CHECK" = 1 ] && echo "to rewrite" || echo "rewritten")"
exit "$status"
