#!/usr/bin/env bash
# sweep.sh - random-config sweep: emit N random valid configs and prove each bit-exact in
# Verilator (gen verify with random stalls, the Yosys structural check, and a mid-sequence
# start_sequence/reset restart run).
#
#   scripts/sweep.sh --count N --seed S [--keep] [--jobs J] [--no-lint] [--no-yosys] [--no-restart]
#   scripts/sweep.sh --config-seed X        # reproduce one case (printed for every failure)
#   scripts/sweep.sh --count N --seed S --list   # only list the configs
#
# Prints one line per config, every failure (config seed + TOML, also written to
# hdl_out/sweep-failures/<name>.toml) and ends with "N passed, M failed". Exit code 0 when
# all passed, 1 when a config failed, 2 on a usage or setup error. Design folders:
# hdl_out/sweep/<name>/ (removed after a pass unless --keep). Needs Verilator
# (bash scripts/install-tools.sh). See docs/verification.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
exec cargo run --quiet --release --bin sweep -- "$@"
