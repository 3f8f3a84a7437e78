//! `bench`: the performance benchmark of spartus-gen (sparsity × density matrix through
//! Verilator, generator scaling). Thin argument parsing; the logic is `spartus_gen::bench`.
//!
//! ```sh
//! cargo run --release -p spartus-gen --bin bench -- [--quick] [--out-dir hdl_out] [--publish]
//! bash scripts/bench.sh          # the full bench, published to reports/
//! ```
//!
//! Exit code: 0 = done and every point bit-exact with cycles equal to the model; 1 = done
//! but with problems (listed in bench.md / bench.json); 2 = the bench could not run.

use clap::Parser;
use spartus_gen::bench::cli::{run_cli, BenchArgs};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "bench",
    version,
    about = "Benchmark spartus-gen: per-target synthesis, gate lanes / overlap, sparsity × density matrix in Verilator, generator scaling"
)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

fn main() -> ExitCode {
    match run_cli(Cli::parse().args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
