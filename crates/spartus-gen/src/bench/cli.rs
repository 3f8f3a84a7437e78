//! Command-line options of the bench, shared by the `bench` binary and `gen bench`.

use super::BenchOptions;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// The bench's command-line options (the `bench` binary and `gen bench`).
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// CI subset: 2 weight sparsities × 2 densities, scaling A·N = 8, 32 (only A·N = 8 built).
    #[arg(long)]
    pub quick: bool,
    /// Parent folder; results go to <out-dir>/bench/.
    #[arg(long, default_value = "hdl_out")]
    pub out_dir: PathBuf,
    /// Also copy bench.json, bench.md and the plots to --publish-dir.
    #[arg(long)]
    pub publish: bool,
    /// Where --publish copies to.
    #[arg(long, default_value = "reports")]
    pub publish_dir: PathBuf,
    /// Skip the generator-scaling sweep.
    #[arg(long)]
    pub skip_scaling: bool,
    /// Skip the sparsity × density matrix.
    #[arg(long)]
    pub skip_matrix: bool,
    /// Skip the gate-lane / overlap variants (Verilator builds of the spartus-1024 shape in
    /// the full bench) and their model curves.
    #[arg(long)]
    pub skip_schedule: bool,
    /// Skip the synthesis runs (Fmax / resources per target; full bench only).
    #[arg(long, conflicts_with = "synth")]
    pub skip_synth: bool,
    /// Only these synthesis runs, comma-separated (up5k, ecp5-tiny, ecp5-85k, icebreaker,
    /// ulx3s; default: all in the full bench, none in --quick).
    #[arg(long, value_delimiter = ',')]
    pub synth: Option<Vec<String>>,
    /// Skip the Verilator build of scaling points with A·N above this (default: 512 full,
    /// 8 quick).
    #[arg(long)]
    pub max_build_macs: Option<usize>,
    /// Build with Verilator's default C++ flags instead of -O0 (slower builds, faster sims).
    #[arg(long)]
    pub no_fast_build: bool,
    /// Extra Verilator argument for every build (repeatable), e.g. --verilator-arg=--x-assign
    /// --verilator-arg=fast.
    #[arg(long = "verilator-arg", allow_hyphen_values = true)]
    pub verilator_args: Vec<String>,
    /// -j of the C++ builds.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
    /// Matrix time steps per vector set.
    #[arg(long)]
    pub timesteps: Option<usize>,
    /// Matrix densities, comma-separated (default 1,0.5,0.3,0.1; quick 1,0.1).
    #[arg(long, value_delimiter = ',')]
    pub densities: Option<Vec<f64>>,
    /// Matrix weight sparsities as divisors of R (K = R/d), comma-separated (default
    /// 1,4,8,16,32; quick 1,16).
    #[arg(long, value_delimiter = ',')]
    pub divisors: Option<Vec<usize>>,
    /// The `gen` binary measured for scaling (default: `gen` next to this binary; none ⇒
    /// in-process without an RSS figure).
    #[arg(long)]
    pub gen: Option<PathBuf>,
    /// Generations per scaling point (default 3 full, 1 quick; the fastest is reported).
    #[arg(long)]
    pub gen_repeats: Option<usize>,
    /// Measure generation in-process even when a `gen` binary is found.
    #[arg(long)]
    pub gen_in_process: bool,
    /// Do not measure: re-render bench.md and the plots from this bench.json into
    /// <out-dir>/bench/ (and --publish them).
    #[arg(long)]
    pub from_json: Option<PathBuf>,
    /// No progress lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The [`BenchOptions`] these arguments ask for.
pub fn options(cli: BenchArgs) -> Result<BenchOptions> {
    let mut o = if cli.quick {
        BenchOptions::quick(cli.out_dir)
    } else {
        BenchOptions::full(cli.out_dir)
    };
    o.skip_matrix = cli.skip_matrix;
    o.skip_scaling = cli.skip_scaling;
    o.skip_schedule = cli.skip_schedule;
    if cli.skip_synth {
        o.synth.clear();
    }
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
    if let Some(keys) = &cli.synth {
        o.synth = super::targets::select_jobs(keys)?;
    }
    o.progress = !cli.quiet;
    Ok(o)
}

/// Run (or, with `--from-json`, re-render) the bench, print bench.md and the files written;
/// `Ok(true)` when there were no problems.
pub fn run_cli(cli: BenchArgs) -> Result<bool> {
    let from_json = cli.from_json.clone();
    let opts = options(cli)?;
    match from_json {
        Some(j) => rerender(&j, &opts),
        None => run_opts(&opts),
    }
}

fn run_opts(opts: &BenchOptions) -> Result<bool> {
    if let Some(g) = &opts.gen_exe {
        eprintln!("bench: generation measured with {}", g.display());
    }
    let out = super::run(opts)?;
    print!("{}", super::render_markdown(&out.report));
    println!("\nwrote:");
    for f in &out.files {
        println!("  {}", f.display());
    }
    if let Some(p) = &opts.publish {
        println!("copied to {}", p.display());
    }
    Ok(out.report.problems.is_empty())
}

fn rerender(json: &std::path::Path, opts: &BenchOptions) -> Result<bool> {
    let (report, files) = super::render_from_json(json, &opts.bench_dir())?;
    print!("{}", super::render_markdown(&report));
    println!("\nre-rendered from {}:", json.display());
    for f in &files {
        println!("  {}", f.display());
    }
    if let Some(p) = &opts.publish {
        super::publish(&files, p)?;
        println!("copied to {}", p.display());
    }
    Ok(report.problems.is_empty())
}
