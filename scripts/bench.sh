#!/usr/bin/env bash
# scripts/bench.sh - the full spartus-gen benchmark, published to reports/.
#
#   bash scripts/bench.sh              # full: synthesis per target (Yosys + nextpnr: Fmax,
#                                      # resources), G = 1 / 8 / 8 + overlap on the spartus-1024
#                                      # shape in Verilator, 5 weight sparsities x 4 delta
#                                      # densities through Verilator, generator scaling
#                                      # A·N = 8..512 (tens of minutes on 2 cores; bench.md has
#                                      # the run time), then copies bench.json, bench.md and
#                                      # bench_*.svg to reports/
#   bash scripts/bench.sh --quick      # the CI subset (~3 min, no synthesis; not published)
#   bash scripts/bench.sh --skip-synth --skip-schedule   # matrix + scaling only
#   bash scripts/bench.sh --max-build-macs 128 --out-dir /tmp/b   # any `bench` option
#
# Results (and the generated designs) go to hdl_out/bench/. Needs Verilator, g++ and make
# (bash scripts/install-tools.sh). Exit code: 0 = every point bit-exact with measured cycles
# equal to the cycle model; 1 = problems (listed in bench.md); 2 = the bench could not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Both binaries: `bench` measures `gen emit` as a child process (peak RSS), so `gen` must be
# built from the same tree.
cargo build --release -p spartus-gen --bin gen --bin bench
publish=--publish
for a in "$@"; do [ "$a" = --quick ] && publish=; done
exec target/release/bench ${publish:+"$publish"} "$@"
