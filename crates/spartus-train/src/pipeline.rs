//! The whole `train` run: dense baseline, CBTD training + fine-tuning, export metadata and the
//! evaluation report.

use crate::data::Split;
use crate::export::{AccelSpec, ModelMeta};
use crate::report::{
    default_hw_t_upd, eval_row, reference_t_upd_for, AccRow, EvalReport, ReportError,
};
use crate::train::{
    fine_tune, hard_masks, train_dense, DenseOutcome, FineTuneOutcome, Prepared, Progress,
    TrainConfig, TrainError,
};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Instant;

/// Pipeline errors.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Evaluation failed.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A dataset file could not be hashed.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// SHA-256 (hex) of `<dir>/<Name>_TRAIN.ts` and `_TEST.ts`.
pub fn dataset_hashes(dir: &Path) -> Result<Vec<(String, String)>, PipelineError> {
    let name = dir.file_name().and_then(|s| s.to_str()).unwrap_or("");
    ["TRAIN", "TEST"]
        .iter()
        .map(|part| {
            let file = format!("{name}_{part}.ts");
            let path = dir.join(&file);
            let bytes = std::fs::read(&path).map_err(|source| PipelineError::Io {
                path: path.display().to_string(),
                source,
            })?;
            Ok((file, format!("{:x}", Sha256::digest(&bytes))))
        })
        .collect()
}

/// Everything a `train` run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Dense baseline (γ = 0, phase 1 only, no targeted dropout), if trained.
    pub baseline: Option<DenseOutcome>,
    /// Phase 1 with targeted dropout.
    pub dense_td: DenseOutcome,
    /// Phase 2 (the exported model).
    pub fine: FineTuneOutcome,
    /// Metadata for export.
    pub meta: ModelMeta,
    /// The evaluation report.
    pub report: EvalReport,
}

/// The accelerator point of a config with given K and Θ.
pub fn accel(
    cfg: &TrainConfig,
    input_size: usize,
    k_x: usize,
    k_h: usize,
    theta_x: f64,
    theta_h: f64,
) -> AccelSpec {
    AccelSpec {
        input_size,
        hidden_size: cfg.hidden,
        pe_count: cfg.pe_count,
        k_x,
        k_h,
        theta_x,
        theta_h,
        wfrac: cfg.wfrac,
    }
}

/// Metadata of a fine-tuned model.
pub fn model_meta(
    split: &Split,
    data: &Prepared,
    cfg: &TrainConfig,
    fine: &FineTuneOutcome,
    hashes: Vec<(String, String)>,
) -> ModelMeta {
    ModelMeta {
        format: ModelMeta::FORMAT.to_string(),
        dataset: split.train.problem_name.clone(),
        dataset_sha256: hashes,
        class_labels: split.train.class_labels.clone(),
        input_scaling: data.scaling.clone(),
        pool: cfg.pool,
        hidden_size: cfg.hidden,
        pe_count: cfg.pe_count,
        gamma_x: cfg.gamma_x,
        gamma_h: cfg.gamma_h,
        k_x: fine.k_x,
        k_h: fine.k_h,
        theta_x: TrainConfig::theta_q(cfg.theta_x),
        theta_h: TrainConfig::theta_q(cfg.theta_h),
        wfrac: cfg.wfrac,
        train: serde_json::to_value(cfg).expect("config serializes"),
    }
}

/// Evaluate the rows of the report for a fine-tuned model (and optional dense baseline and
/// phase-1 parameters).
pub fn report_rows(
    data: &Prepared,
    cfg: &TrainConfig,
    baseline: Option<&DenseOutcome>,
    dense_td: Option<&DenseOutcome>,
    fine: &FineTuneOutcome,
) -> Result<Vec<AccRow>, PipelineError> {
    let i = data.test.dims;
    let r = cfg.rows_per_pe();
    let (th_x, th_h) = (
        TrainConfig::theta_q(cfg.theta_x),
        TrainConfig::theta_q(cfg.theta_h),
    );
    let (kx, kh) = (fine.k_x, fine.k_h);
    let pct = |k: usize| 100.0 * (1.0 - k as f64 / r as f64);
    let mut rows = Vec::new();
    if let Some(b) = baseline {
        rows.push(eval_row(
            "dense",
            &b.params,
            &accel(cfg, i, r, r, 0.0, 0.0),
            &data.test,
            cfg.pool,
        )?);
    }
    if let Some(d) = dense_td {
        let (keep_x, keep_h, _, _) = hard_masks(&d.params, cfg)?;
        let mut p = d.params.clone();
        p.apply_masks(&keep_x, &keep_h);
        let label = format!("CBTD {:.2}/{:.2}%, no fine-tune", pct(kx), pct(kh));
        rows.push(eval_row(
            &label,
            &p,
            &accel(cfg, i, kx, kh, 0.0, 0.0),
            &data.test,
            cfg.pool,
        )?);
    }
    let label = format!("CBTD {:.2}/{:.2}%", pct(kx), pct(kh));
    rows.push(eval_row(
        &label,
        &fine.params,
        &accel(cfg, i, kx, kh, 0.0, 0.0),
        &data.test,
        cfg.pool,
    )?);
    let label = format!("CBTD {:.2}/{:.2}% + Δ", pct(kx), pct(kh));
    rows.push(eval_row(
        &label,
        &fine.params,
        &accel(cfg, i, kx, kh, th_x, th_h),
        &data.test,
        cfg.pool,
    )?);
    Ok(rows)
}

/// Train (baseline if `baseline`, then CBTD + fine-tune) and evaluate. `data_dir` is hashed
/// into the metadata; `t_upd_hw` is the hardware's per-step overhead for the report (None:
/// [`default_hw_t_upd`]).
pub fn run(
    split: &Split,
    data_dir: &Path,
    cfg: &TrainConfig,
    baseline: bool,
    t_upd_hw: Option<u64>,
    progress: Progress,
) -> Result<RunOutput, PipelineError> {
    cfg.check()?;
    let data = Prepared::new(split, cfg.input_scale);
    let base = if baseline {
        let bcfg = TrainConfig {
            gamma_x: 0.0,
            gamma_h: 0.0,
            ..cfg.clone()
        };
        Some(train_dense(&data, &bcfg, progress)?)
    } else {
        None
    };
    let dense_td = train_dense(&data, cfg, progress)?;
    let fine = fine_tune(&data, &dense_td.params, cfg, progress)?;
    let meta = model_meta(split, &data, cfg, &fine, dataset_hashes(data_dir)?);
    let t0 = Instant::now();
    let rows = report_rows(&data, cfg, base.as_ref(), Some(&dense_td), &fine)?;
    let i = data.test.dims;
    let report = EvalReport {
        dataset: split.train.problem_name.clone(),
        train_cases: split.train.series.len(),
        test_cases: split.test.series.len(),
        input_size: i,
        hidden_size: cfg.hidden,
        pe_count: cfg.pe_count,
        rows_per_pe: cfg.rows_per_pe(),
        t_upd: reference_t_upd_for(&accel(cfg, i, fine.k_x, fine.k_h, 0.0, 0.0))?,
        t_upd_hw: t_upd_hw.unwrap_or_else(|| default_hw_t_upd(i, cfg.hidden)),
        pool: cfg.pool,
        rows,
        train_seconds: base.as_ref().map_or(0.0, |b| b.seconds) + dense_td.seconds + fine.seconds,
        eval_seconds: t0.elapsed().as_secs_f64(),
        rtl: None,
    };
    Ok(RunOutput {
        baseline: base,
        dense_td,
        fine,
        meta,
        report,
    })
}
