//! `train`: train a CBTD-pruned DeltaLSTM classifier on JapaneseVowels, export it for `gen`,
//! evaluate it (float / pruned / bit-exact golden), and sweep sparsity and thresholds.
//!
//! ```text
//! train [OPTIONS]                 train + export + evaluate (writes --out and --report)
//! train eval --model M.safetensors [--dense D.safetensors]
//! train sweep [OPTIONS]           accuracy vs weight sparsity and vs Θ (table + SVG)
//! ```

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use spartus_train::data::Split;
use spartus_train::export::{load_model, save_model, write_atomic, ModelPaths};
use spartus_train::pipeline::{self, accel, dataset_hashes};
use spartus_train::report::{eval_row, reference_t_upd_for, EvalReport};
use spartus_train::sweep::run_sweep;
use spartus_train::train::{Prepared, Progress, TrainConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(name = "train", version, about = "Train, export and evaluate a CBTD-pruned DeltaLSTM classifier for spartus-gen")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    fit: FitArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Evaluate an exported model (reads <stem>.meta.json beside it).
    Eval(EvalArgs),
    /// Accuracy vs weight sparsity and vs delta threshold (trains every point).
    Sweep(SweepArgs),
}

#[derive(Args)]
struct FitArgs {
    /// Data folder with <Name>_TRAIN.ts and <Name>_TEST.ts.
    #[arg(long, default_value = "data/JapaneseVowels")]
    data: PathBuf,
    /// Output weights; <stem>.toml (gen config) and <stem>.meta.json are written beside it,
    /// and the dense baseline as <stem>-dense.safetensors.
    #[arg(long, default_value = "reports/jvowels/jvowels.safetensors")]
    out: PathBuf,
    /// Report path prefix: writes <report>.json and <report>.md.
    #[arg(long, default_value = "reports/jvowels")]
    report: PathBuf,
    /// Skip the dense baseline (γ = 0) training.
    #[arg(long)]
    no_baseline: bool,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    cfg: TrainConfig,
}

#[derive(Args)]
struct EvalArgs {
    /// Exported model (.safetensors) of `train`.
    #[arg(long, default_value = "reports/jvowels/jvowels.safetensors")]
    model: PathBuf,
    /// Optional dense baseline for the first row.
    #[arg(long)]
    dense: Option<PathBuf>,
    /// Data folder.
    #[arg(long, default_value = "data/JapaneseVowels")]
    data: PathBuf,
    /// Report path prefix (<report>.json, <report>.md); none if omitted.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Args)]
struct SweepArgs {
    /// Data folder.
    #[arg(long, default_value = "data/JapaneseVowels")]
    data: PathBuf,
    /// Output prefix: <out>.json, <out>.md, <out>.svg.
    #[arg(long, default_value = "reports/jvowels_sweep")]
    out: PathBuf,
    /// Weight sparsities γ (γ_x = γ_h).
    #[arg(long, value_delimiter = ',', default_value = "0,0.75,0.875,0.9375,0.96875")]
    gammas: Vec<f64>,
    /// Delta thresholds Θ (Θx = Θh), swept at the base γ (--gamma-x).
    #[arg(long, value_delimiter = ',', default_value = "0,0.03125,0.0625,0.125,0.25")]
    thetas: Vec<f64>,
    /// Seeds (every point is trained once per seed).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    seeds: Vec<u64>,
    #[command(flatten)]
    cfg: TrainConfig,
}

fn write_report(prefix: &Path, report: &EvalReport, extra: serde_json::Value) -> Result<()> {
    let mut json = serde_json::to_value(report)?;
    if let (Some(obj), serde_json::Value::Object(extra)) = (json.as_object_mut(), extra) {
        obj.extend(extra);
    }
    write_atomic(&prefix.with_extension("json"), serde_json::to_string_pretty(&json)?.as_bytes())?;
    write_atomic(&prefix.with_extension("md"), report.markdown().as_bytes())?;
    eprintln!("wrote {}.json and {}.md", prefix.display(), prefix.display());
    Ok(())
}

fn fit(a: FitArgs) -> Result<()> {
    let split = Split::load_dir(&a.data).with_context(|| format!("loading {}", a.data.display()))?;
    let progress = if a.quiet { Progress::Hidden } else { Progress::Bar };
    let out = pipeline::run(&split, &a.data, &a.cfg, !a.no_baseline, progress)?;
    let paths = ModelPaths::from_weights(&a.out);
    let max_len = split.test.length_range().1.max(split.train.length_range().1);
    save_model(&paths, &out.fine.params, &out.meta, max_len)?;
    if let Some(b) = &out.baseline {
        let dense = a.out.with_file_name(format!("{}-dense.safetensors", paths.stem()));
        write_atomic(&dense, &spartus_train::export::to_safetensors(&b.params)?)?;
    }
    eprintln!("wrote {}, {}, {}", paths.weights.display(), paths.config.display(), paths.meta.display());
    print!("{}", out.report.markdown());
    let log = serde_json::json!({
        "train_config": a.cfg,
        "input_scaling": out.meta.input_scaling,
        "dataset_sha256": out.meta.dataset_sha256,
        "model_sha256": format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&paths.weights)?)),
        "final_train_loss": out.fine.log.last().map(|e| e.loss),
        "final_train_acc": out.fine.log.last().map(|e| e.train_acc),
    });
    write_report(&a.report, &out.report, log)
}

fn eval(a: EvalArgs) -> Result<()> {
    let t0 = Instant::now();
    let split = Split::load_dir(&a.data).with_context(|| format!("loading {}", a.data.display()))?;
    let paths = ModelPaths::from_weights(&a.model);
    let (params, meta) = load_model(&paths).with_context(|| format!("loading {}", a.model.display()))?;
    let hashes = dataset_hashes(&a.data)?;
    if hashes != meta.dataset_sha256 {
        bail!("dataset files differ from the ones the model was trained on: {hashes:?} vs {:?}", meta.dataset_sha256);
    }
    let cfg: TrainConfig = serde_json::from_value(meta.train.clone()).context("meta.train")?;
    // Use the recorded scaling (what the host applies); it must match a re-fit up to JSON
    // float round-off.
    let refit = Prepared::new(&split, meta.input_scaling.scale).scaling;
    let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0));
    if !close(&refit.mean, &meta.input_scaling.mean) || !close(&refit.std, &meta.input_scaling.std) {
        bail!("the recorded input scaling does not match the training set");
    }
    let data = Prepared::with_scaling(&split, meta.input_scaling.clone());
    let i = params.input_size;
    let r = cfg.rows_per_pe();
    let mut rows = Vec::new();
    if let Some(d) = &a.dense {
        let dp = spartus_train::export::from_safetensors(&std::fs::read(d).with_context(|| d.display().to_string())?)?;
        rows.push(eval_row("dense", &dp, &accel(&cfg, i, r, r, 0.0, 0.0), &data.test, meta.pool)?);
    }
    let pct = |k: usize| 100.0 * (1.0 - k as f64 / r as f64);
    let label = format!("CBTD {:.2}/{:.2}%", pct(meta.k_x), pct(meta.k_h));
    rows.push(eval_row(&label, &params, &accel(&cfg, i, meta.k_x, meta.k_h, 0.0, 0.0), &data.test, meta.pool)?);
    rows.push(eval_row(&format!("{label} + Δ"), &params, &meta.accel(i), &data.test, meta.pool)?);
    let report = EvalReport {
        dataset: meta.dataset.clone(),
        train_cases: split.train.series.len(),
        test_cases: split.test.series.len(),
        input_size: i,
        hidden_size: meta.hidden_size,
        pe_count: meta.pe_count,
        rows_per_pe: r,
        t_upd: reference_t_upd_for(&meta.accel(i))?,
        pool: meta.pool,
        rows,
        train_seconds: 0.0,
        eval_seconds: t0.elapsed().as_secs_f64(),
    };
    print!("{}", report.markdown());
    if let Some(prefix) = &a.report {
        write_report(prefix, &report, serde_json::json!({ "model": a.model }))?;
    }
    Ok(())
}

fn sweep(a: SweepArgs) -> Result<()> {
    let split = Split::load_dir(&a.data).with_context(|| format!("loading {}", a.data.display()))?;
    let s = run_sweep(&split, &a.cfg, &a.gammas, &a.thetas, &a.seeds, |line| eprintln!("{line}"))?;
    let md = s.markdown();
    print!("{md}");
    write_atomic(&a.out.with_extension("json"), serde_json::to_string_pretty(&s)?.as_bytes())?;
    write_atomic(&a.out.with_extension("md"), md.as_bytes())?;
    let svg = a.out.with_extension("svg");
    if let Some(dir) = svg.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    s.plot_svg(&svg).map_err(|e| anyhow::anyhow!("plot: {e}"))?;
    eprintln!("wrote {}.{{json,md,svg}} in {:.0} s", a.out.display(), s.seconds);
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        None => fit(cli.fit),
        Some(Cmd::Eval(a)) => eval(a),
        Some(Cmd::Sweep(a)) => sweep(a),
    }
}
