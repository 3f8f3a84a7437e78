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

use spartus_gen::bench;

use anyhow::Result;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "bench",
    version,
    about = "Benchmark spartus-gen: sparsity × density matrix in Verilator, generator scaling"
)]
struct Cli {
    /// CI subset: 2 weight sparsities × 2 densities, scaling A·N = 8, 32 (only A·N = 8 built).
    #[arg(long)]
    quick: bool,
    /// Parent folder; results go to <out-dir>/bench/.
    #[arg(long, default_value = "hdl_out")]
    out_dir: PathBuf,
    /// Also copy bench.json, bench.md and the plots to --publish-dir.
    #[arg(long)]
    publish: bool,
    /// Where --publish copies to.
    #[arg(long, default_value = "reports")]
    publish_dir: PathBuf,
    /// Skip the generator-scaling sweep.
    #[arg(long)]
    skip_scaling: bool,
    /// Skip the sparsity × density matrix.
    #[arg(long)]
    skip_matrix: bool,
    /// Skip the Verilator build of scaling points with A·N above this (default: 512 full,
    /// 8 quick).
    #[arg(long)]
    max_build_macs: Option<usize>,
    /// Build with Verilator's default C++ flags instead of -O0 (slower builds, faster sims).
    #[arg(long)]
    no_fast_build: bool,
    /// Extra Verilator argument for every build (repeatable), e.g. --verilator-arg=--x-assign
    /// --verilator-arg=fast.
    #[arg(long = "verilator-arg", allow_hyphen_values = true)]
    verilator_args: Vec<String>,
    /// -j of the C++ builds.
    #[arg(long, default_value_t = 2)]
    jobs: u32,
    /// Matrix time steps per vector set.
    #[arg(long)]
    timesteps: Option<usize>,
    /// Matrix densities, comma-separated (default 1,0.5,0.3,0.1; quick 1,0.1).
    #[arg(long, value_delimiter = ',')]
    densities: Option<Vec<f64>>,
    /// Matrix weight sparsities as divisors of R (K = R/d), comma-separated (default
    /// 1,4,8,16,32; quick 1,16).
    #[arg(long, value_delimiter = ',')]
    divisors: Option<Vec<usize>>,
    /// The `gen` binary measured for scaling (default: `gen` next to this binary; none ⇒
    /// in-process without an RSS figure).
    #[arg(long)]
    gen: Option<PathBuf>,
    /// Generations per scaling point (default 3 full, 1 quick; the fastest is reported).
    #[arg(long)]
    gen_repeats: Option<usize>,
    /// Measure generation in-process even when a `gen` binary is found.
    #[arg(long)]
    gen_in_process: bool,
    /// Do not measure: re-render bench.md and the plots from this bench.json into
    /// <out-dir>/bench/ (and --publish them).
    #[arg(long)]
    from_json: Option<PathBuf>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

fn options(cli: Cli) -> bench::BenchOptions {
    let mut o = if cli.quick {
        bench::BenchOptions::quick(cli.out_dir)
    } else {
        bench::BenchOptions::full(cli.out_dir)
    };
    o.skip_matrix = cli.skip_matrix;
    o.skip_scaling = cli.skip_scaling;
    if let Some(m) = cli.max_build_macs {
        o.max_build_macs = m;
    }
    if cli.no_fast_build {
        o.verilator_args.clear();
    }
    o.verilator_args.extend(cli.verilator_args);
    o.jobs = cli.jobs;
    if let Some(n) = cli.gen_repeats {
        o.gen_repeats = n.max(1);
    }
    if let Some(t) = cli.timesteps {
        o.shape.timesteps = t;
    }
    if let Some(d) = cli.densities {
        o.densities = d;
    }
    if let Some(d) = cli.divisors {
        o.divisors = d;
    }
    o.gen_exe = if cli.gen_in_process {
        None
    } else {
        cli.gen.or_else(|| {
            let me = std::env::current_exe().ok()?;
            let gen = me.with_file_name(format!("gen{}", std::env::consts::EXE_SUFFIX));
            gen.is_file().then_some(gen)
        })
    };
    if cli.publish {
        o.publish = Some(cli.publish_dir);
    }
    o.progress = !cli.quiet;
    o
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let from_json = cli.from_json.clone();
    let opts = options(cli);
    let result = match from_json {
        Some(j) => rerender(&j, &opts),
        None => run(&opts),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(opts: &bench::BenchOptions) -> Result<bool> {
    if let Some(g) = &opts.gen_exe {
        eprintln!("bench: generation measured with {}", g.display());
    }
    let out = bench::run(opts)?;
    print!("{}", bench::render_markdown(&out.report));
    println!("\nwrote:");
    for f in &out.files {
        println!("  {}", f.display());
    }
    if let Some(p) = &opts.publish {
        println!("copied to {}", p.display());
    }
    Ok(out.report.problems.is_empty())
}

fn rerender(json: &std::path::Path, opts: &bench::BenchOptions) -> Result<bool> {
    let (report, files) = bench::render_from_json(json, &opts.bench_dir())?;
    print!("{}", bench::render_markdown(&report));
    println!("\nre-rendered from {}:", json.display());
    for f in &files {
        println!("  {}", f.display());
    }
    if let Some(p) = &opts.publish {
        bench::publish(&files, p)?;
        println!("copied to {}", p.display());
    }
    Ok(report.problems.is_empty())
}
