//! `sweep --count N --seed S [--keep]`: random valid configs, each emitted and proven
//! bit-exact in Verilator with random stalls (`gen verify`) plus a mid-sequence restart run
//! (see `spartus_gen::sweep`).
//!
//! Prints one line per config as it finishes, then every failure (config seed, problems and the
//! config TOML, also written to `<out-dir>/sweep-failures/<name>.toml`), and ends with
//! `N passed, M failed`. Exit code 0 when every config passed, 1 otherwise, 2 on a usage error.
//! Design folders go to `<out-dir>/sweep/<name>/` and are removed after a pass unless `--keep`.

use clap::Parser;
use spartus_gen::sweep::{run_cases, CaseResult, SweepCase, SweepOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sweep",
    about = "Random-config sweep: emit and prove random valid configs in Verilator"
)]
struct Cli {
    /// Number of configs.
    #[arg(long, default_value_t = 20)]
    count: usize,
    /// Master seed: config i is a function of (seed, i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run only these config seeds (as printed for a failure); repeatable. Ignores --count.
    #[arg(long = "config-seed")]
    config_seeds: Vec<u64>,
    /// Keep the design folders of passing configs.
    #[arg(long)]
    keep: bool,
    /// Configs verified at the same time (each Verilator build uses -j 2).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Parent of `sweep/` (design folders) and `sweep-failures/`.
    #[arg(long, default_value = "hdl_out")]
    out_dir: PathBuf,
    /// Skip the Verilator lint of each design.
    #[arg(long)]
    no_lint: bool,
    /// Skip the Yosys structural check (latches, undriven wires, loops) of each design.
    #[arg(long)]
    no_yosys: bool,
    /// Skip the mid-sequence restart run.
    #[arg(long)]
    no_restart: bool,
    /// Only list the cases (config seed, PEs, config summary); run nothing.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cases: Vec<SweepCase> = if cli.config_seeds.is_empty() {
        (0..cli.count)
            .map(|i| SweepCase::generate(cli.seed, i))
            .collect()
    } else {
        cli.config_seeds
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let mut c = SweepCase::from_config_seed(s);
                c.index = i;
                c
            })
            .collect()
    };
    if cli.list {
        for c in &cases {
            println!(
                "[{:>4}] {} {:>20} {:>3} PEs {}",
                c.index,
                c.config.name,
                c.config_seed,
                c.pes(),
                c.describe()
            );
        }
        return ExitCode::SUCCESS;
    }
    let opts = SweepOptions {
        work_dir: cli.out_dir.join("sweep"),
        failures_dir: Some(cli.out_dir.join("sweep-failures")),
        keep: cli.keep,
        jobs: cli.jobs,
        lint: !cli.no_lint,
        yosys: !cli.no_yosys,
        restart: !cli.no_restart,
    };
    println!(
        "sweep: {} configs, master seed {}, {} job(s), designs in {}",
        cases.len(),
        cli.seed,
        opts.jobs,
        opts.work_dir.display()
    );
    let summary = match run_cases(&cases, &opts, |r: &CaseResult| println!("{}", r.line())) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sweep: {e:#}");
            return ExitCode::from(2);
        }
    };
    for r in summary.results.iter().filter(|r| !r.passed()) {
        println!(
            "\n==== FAILED: case {} (master seed {}, config seed {}), folder {}, config in {}",
            r.case.index,
            cli.seed,
            r.case.config_seed,
            r.dir.display(),
            cli.out_dir
                .join("sweep-failures")
                .join(format!("{}.toml", r.case.config.name))
                .display()
        );
        print!("{}", r.failure_report());
    }
    println!("{}", summary.totals_line());
    if summary.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
