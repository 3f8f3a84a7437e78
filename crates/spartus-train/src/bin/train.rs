//! `train`: train a CBTD-pruned DeltaLSTM classifier on JapaneseVowels, export it for `gen`,
//! evaluate it (float / pruned / bit-exact golden), and sweep sparsity and thresholds.
//!
//! ```text
//! train [OPTIONS]                 train + export + evaluate (writes --out and --report)
//! train eval --model M.safetensors [--dense D.safetensors]
//! train sweep [OPTIONS]           accuracy vs weight sparsity and vs Θ (table + SVG)
//! train vectors --model M.safetensors --out DIR   whole test set as RTL replay vectors
//! train eval --model M.safetensors --rtl-h DIR/h_rtl.hex   RTL accuracy from its h
//! train eval --dense D --rtl-h H --rtl-sim S.json --add-to reports/jvowels   + RTL row
//! ```

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use spartus_model::fixed::quantize_inputs;
use spartus_train::data::{Split, TsDataset};
use spartus_train::eval::{accuracy_from_h, golden_eval};
use spartus_train::export::{
    gen_config, load_model, save_model, write_atomic, write_test_vectors, ModelMeta, ModelPaths,
};
use spartus_train::model::Params;
use spartus_train::pipeline::{self, accel, dataset_hashes};
use spartus_train::report::{
    default_hw_t_upd, eval_row, reference_t_upd_for, EvalReport, RtlResult, RtlSim,
};
use spartus_train::sweep::{run_sweep, Sweep};
use spartus_train::train::{Prepared, Progress, TrainConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "train",
    version,
    about = "Train, export and evaluate a CBTD-pruned DeltaLSTM classifier for spartus-gen"
)]
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
    /// Write the whole test set as RTL replay vectors (inputs, golden h, sequence lengths).
    Vectors(VectorsArgs),
}

#[derive(Args)]
struct VectorsArgs {
    /// Exported model (.safetensors) of `train`.
    #[arg(long, default_value = "reports/jvowels/jvowels.safetensors")]
    model: PathBuf,
    /// Data folder.
    #[arg(long, default_value = "data/JapaneseVowels")]
    data: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "reports/jvowels/vectors")]
    out: PathBuf,
    /// Also write these test cases as `case_<c>.npy` (f64 [T, I], scaled inputs), the
    /// `gen verify --inputs` format.
    #[arg(long, value_delimiter = ',')]
    npy_cases: Vec<usize>,
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
    /// The generated hardware's per-step overhead T_upd for the cycle figures
    /// (default H + 18, as spartus_model::cycles::hw_t_upd).
    #[arg(long)]
    t_upd_hw: Option<u64>,
    /// Set both Θx and Θh (overrides --theta-x / --theta-h).
    #[arg(long)]
    theta: Option<f64>,
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
    /// The generated hardware's T_upd (default H + 18).
    #[arg(long)]
    t_upd_hw: Option<u64>,
    /// h produced by the RTL for the whole test set (same layout as `vectors`' h_q.hex):
    /// adds the RTL accuracy and the number of cases that differ from the golden model.
    #[arg(long)]
    rtl_h: Option<PathBuf>,
    /// JSON of `gen testset --report` for the same RTL run: adds the figures measured in
    /// Verilator (cycles, deltas, speedup, utilization). Needs --rtl-h.
    #[arg(long, requires = "rtl_h")]
    rtl_sim: Option<PathBuf>,
    /// Add the RTL result to an existing report of `train` (<prefix>.json, <prefix>.md) for
    /// the same model, keeping its rows and training figures. Needs --rtl-h.
    #[arg(long, requires = "rtl_h", conflicts_with = "report")]
    add_to: Option<PathBuf>,
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
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,0.75,0.875,0.9375,0.96875"
    )]
    gammas: Vec<f64>,
    /// Delta thresholds Θ (Θx = Θh), swept at the base γ (--gamma-x).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,0.03125,0.0625,0.125,0.25"
    )]
    thetas: Vec<f64>,
    /// Seeds (every point is trained once per seed).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    seeds: Vec<u64>,
    /// Do not train: re-render <out>.md and <out>.svg from an existing <out>.json.
    #[arg(long)]
    render_only: bool,
    #[command(flatten)]
    cfg: TrainConfig,
}

fn write_report(prefix: &Path, report: &EvalReport, extra: serde_json::Value) -> Result<()> {
    let mut json = serde_json::to_value(report)?;
    if let (Some(obj), serde_json::Value::Object(extra)) = (json.as_object_mut(), extra) {
        obj.extend(extra);
    }
    write_atomic(
        &prefix.with_extension("json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    write_atomic(&prefix.with_extension("md"), report.markdown().as_bytes())?;
    eprintln!(
        "wrote {}.json and {}.md",
        prefix.display(),
        prefix.display()
    );
    Ok(())
}

fn fit(mut a: FitArgs) -> Result<()> {
    if let Some(t) = a.theta {
        a.cfg.theta_x = t;
        a.cfg.theta_h = t;
    }
    let split =
        Split::load_dir(&a.data).with_context(|| format!("loading {}", a.data.display()))?;
    let progress = if a.quiet {
        Progress::Hidden
    } else {
        Progress::Bar
    };
    let out = pipeline::run(
        &split,
        &a.data,
        &a.cfg,
        !a.no_baseline,
        a.t_upd_hw,
        progress,
    )?;
    let paths = ModelPaths::from_weights(&a.out);
    let max_len = split
        .test
        .length_range()
        .1
        .max(split.train.length_range().1);
    save_model(&paths, &out.fine.params, &out.meta, max_len)?;
    if let Some(b) = &out.baseline {
        let dense = a
            .out
            .with_file_name(format!("{}-dense.safetensors", paths.stem()));
        write_atomic(&dense, &spartus_train::export::to_safetensors(&b.params)?)?;
    }
    eprintln!(
        "wrote {}, {}, {}",
        paths.weights.display(),
        paths.config.display(),
        paths.meta.display()
    );
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

/// Load an exported model and the data with the recorded input scaling.
fn load_for_eval(
    model: &Path,
    data_dir: &Path,
) -> Result<(Split, Params, ModelMeta, TrainConfig, Prepared)> {
    let split =
        Split::load_dir(data_dir).with_context(|| format!("loading {}", data_dir.display()))?;
    let paths = ModelPaths::from_weights(model);
    let (params, meta) =
        load_model(&paths).with_context(|| format!("loading {}", model.display()))?;
    let hashes = dataset_hashes(data_dir)?;
    if hashes != meta.dataset_sha256 {
        bail!(
            "dataset files differ from the ones the model was trained on: {hashes:?} vs {:?}",
            meta.dataset_sha256
        );
    }
    let cfg: TrainConfig = serde_json::from_value(meta.train.clone()).context("meta.train")?;
    // Use the recorded scaling (what the host applies); it must match a re-fit up to JSON
    // float round-off.
    let refit = Prepared::new(&split, meta.input_scaling.scale).scaling;
    let close = |a: &[f64], b: &[f64]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0))
    };
    if !close(&refit.mean, &meta.input_scaling.mean) || !close(&refit.std, &meta.input_scaling.std)
    {
        bail!("the recorded input scaling does not match the training set");
    }
    let data = Prepared::with_scaling(&split, meta.input_scaling.clone());
    Ok((split, params, meta, cfg, data))
}

fn eval(a: EvalArgs) -> Result<()> {
    let t0 = Instant::now();
    let (split, params, meta, cfg, data) = load_for_eval(&a.model, &a.data)?;
    let i = params.input_size;
    let r = cfg.rows_per_pe();
    let mut rows = Vec::new();
    if let Some(d) = &a.dense {
        let dp = spartus_train::export::from_safetensors(
            &std::fs::read(d).with_context(|| d.display().to_string())?,
        )?;
        rows.push(eval_row(
            "dense",
            &dp,
            &accel(&cfg, i, r, r, 0.0, 0.0),
            &data.test,
            meta.pool,
        )?);
    }
    let pct = |k: usize| 100.0 * (1.0 - k as f64 / r as f64);
    let label = format!("CBTD {:.2}/{:.2}%", pct(meta.k_x), pct(meta.k_h));
    rows.push(eval_row(
        &label,
        &params,
        &accel(&cfg, i, meta.k_x, meta.k_h, 0.0, 0.0),
        &data.test,
        meta.pool,
    )?);
    rows.push(eval_row(
        &format!("{label} + Δ"),
        &params,
        &meta.accel(i),
        &data.test,
        meta.pool,
    )?);
    let report = EvalReport {
        dataset: meta.dataset.clone(),
        train_cases: split.train.series.len(),
        test_cases: split.test.series.len(),
        input_size: i,
        hidden_size: meta.hidden_size,
        pe_count: meta.pe_count,
        rows_per_pe: r,
        t_upd: reference_t_upd_for(&meta.accel(i))?,
        t_upd_hw: a
            .t_upd_hw
            .unwrap_or_else(|| default_hw_t_upd(meta.hidden_size)),
        pool: meta.pool,
        rows,
        train_seconds: 0.0,
        eval_seconds: t0.elapsed().as_secs_f64(),
        rtl: None,
    };
    let mut report = report;
    let model_sha = format!(
        "{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(
            std::fs::read(&a.model).with_context(|| a.model.display().to_string())?
        )
    );
    if let Some(path) = &a.rtl_h {
        let r = gen_config("eval", &meta.accel(i), 1)?.resolve()?;
        let (_, golden) = golden_eval(&params, &data.test, &r, meta.pool)?;
        let h = read_h_hex(path, &data.test, params.hidden_size)?;
        let (st, mismatched) = accuracy_from_h(&params, &data.test, &h, &golden, meta.pool)
            .map_err(anyhow::Error::msg)?;
        let sim = match &a.rtl_sim {
            Some(p) => Some(read_rtl_sim(p, &model_sha, st.cases)?),
            None => None,
        };
        report.rtl = Some(RtlResult {
            h: path.display().to_string(),
            stats: st,
            cases_differing: mismatched,
            sim,
        });
    }
    let mut extra = serde_json::json!({ "model": a.model, "model_sha256": model_sha });
    if let Some(prefix) = &a.add_to {
        // Keep the training run's report (rows, timing, log) and add the RTL result.
        let path = prefix.with_extension("json");
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let json: serde_json::Value =
            serde_json::from_str(&text).with_context(|| path.display().to_string())?;
        if json.get("model_sha256").and_then(|v| v.as_str()) != Some(model_sha.as_str()) {
            bail!(
                "{}: model_sha256 is not the one of {} (the report belongs to another model)",
                path.display(),
                a.model.display()
            );
        }
        let mut old: EvalReport =
            serde_json::from_value(json.clone()).with_context(|| path.display().to_string())?;
        old.rtl = report.rtl.take();
        report = old;
        extra = json;
        if let Some(obj) = extra.as_object_mut() {
            obj.remove("rtl");
        }
    }
    print!("{}", report.markdown());
    if let Some(rtl) = &report.rtl {
        if rtl.cases_differing != 0 {
            bail!(
                "the RTL h differs from the golden model in {} case(s): (c) and (d) must be identical; no report written",
                rtl.cases_differing
            );
        }
        if let Some(m) = &rtl.sim {
            if m.step_cycle_mismatches != 0 || m.case_counter_mismatches != 0 {
                bail!(
                    "the RTL counters differ from the cycle model ({} step(s), {} case(s)); no report written",
                    m.step_cycle_mismatches,
                    m.case_counter_mismatches
                );
            }
        }
    }
    if let Some(prefix) = a.report.as_ref().or(a.add_to.as_ref()) {
        write_report(prefix, &report, extra)?;
    }
    Ok(())
}

/// Read `gen testset --report` JSON and check that it is about this model and test set.
fn read_rtl_sim(path: &Path, model_sha: &str, cases: usize) -> Result<RtlSim> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let sim: RtlSim = serde_json::from_str(&text).with_context(|| path.display().to_string())?;
    if sim.weights_sha256 != model_sha {
        bail!(
            "{}: weights_sha256 {} is not the model's {model_sha} (RTL generated from other weights)",
            path.display(),
            sim.weights_sha256
        );
    }
    if sim.cases != cases {
        bail!(
            "{}: {} cases simulated, the test set has {cases} (run gen testset without --max-cases)",
            path.display(),
            sim.cases
        );
    }
    Ok(sim)
}

/// Read `h[case][t][k]` written in the `vectors` layout (4 hex digits per line, all cases).
fn read_h_hex(path: &Path, ds: &TsDataset, h: usize) -> Result<Vec<Vec<Vec<i16>>>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let vals = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, l)| {
            u16::from_str_radix(l.trim(), 16)
                .map(|v| v as i16)
                .with_context(|| format!("{}:{}", path.display(), n + 1))
        })
        .collect::<Result<Vec<i16>>>()?;
    let want: usize = ds.series.iter().map(|s| s.len() * h).sum();
    if vals.len() != want {
        bail!(
            "{}: {} values, expected {want} (Σ T·H over the test set)",
            path.display(),
            vals.len()
        );
    }
    let mut it = vals.chunks(h).map(<[i16]>::to_vec);
    Ok(ds
        .series
        .iter()
        .map(|s| (0..s.len()).map(|_| it.next().expect("counted")).collect())
        .collect())
}

fn vectors(a: VectorsArgs) -> Result<()> {
    let (_, params, meta, _, data) = load_for_eval(&a.model, &a.data)?;
    let i = params.input_size;
    let r = gen_config("eval", &meta.accel(i), 1)?.resolve()?;
    let (st, golden) = golden_eval(&params, &data.test, &r, meta.pool)?;
    let x_q = data
        .test
        .series
        .iter()
        .map(|s| quantize_inputs("input", &s.frames))
        .collect::<Result<Vec<_>, _>>()?;
    let golden_pred: Vec<usize> = golden.iter().map(|c| c.pred).collect();
    let h_q: Vec<Vec<Vec<i16>>> = golden.into_iter().map(|c| c.h).collect();
    let labels: Vec<usize> = data.test.series.iter().map(|s| s.label).collect();
    write_test_vectors(&a.out, &x_q, &h_q, &labels, i, params.hidden_size)?;
    for &c in &a.npy_cases {
        let case = data
            .test
            .series
            .get(c)
            .with_context(|| format!("--npy-cases: no test case {c}"))?;
        let flat: Vec<f64> = case.frames.iter().flatten().copied().collect();
        let npy = spartus_model::npy::write_f64(&[case.len(), i], &flat);
        write_atomic(&a.out.join(format!("case_{c}.npy")), &npy)?;
        println!(
            "case {c}: label {}, golden prediction {}, T = {}",
            case.label,
            golden_pred[c],
            case.len()
        );
    }
    eprintln!(
        "wrote {} ({} cases, {} steps; golden accuracy {:.2}%)",
        a.out.display(),
        st.cases,
        st.steps,
        100.0 * st.accuracy()
    );
    Ok(())
}

fn sweep(a: SweepArgs) -> Result<()> {
    let s: Sweep = if a.render_only {
        let path = a.out.with_extension("json");
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        serde_json::from_str(&text).with_context(|| path.display().to_string())?
    } else {
        let split =
            Split::load_dir(&a.data).with_context(|| format!("loading {}", a.data.display()))?;
        let s = run_sweep(&split, &a.cfg, &a.gammas, &a.thetas, &a.seeds, |line| {
            eprintln!("{line}")
        })?;
        write_atomic(
            &a.out.with_extension("json"),
            serde_json::to_string_pretty(&s)?.as_bytes(),
        )?;
        s
    };
    let md = s.markdown();
    print!("{md}");
    write_atomic(&a.out.with_extension("md"), md.as_bytes())?;
    let svg = a.out.with_extension("svg");
    if let Some(dir) = svg.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    s.plot_svg(&svg).map_err(|e| anyhow::anyhow!("plot: {e}"))?;
    eprintln!(
        "wrote {}.{{json,md,svg}}; sweep training took {:.0} s",
        a.out.display(),
        s.seconds
    );
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        None => fit(cli.fit),
        Some(Cmd::Eval(a)) => eval(a),
        Some(Cmd::Sweep(a)) => sweep(a),
        Some(Cmd::Vectors(a)) => vectors(a),
    }
}
