//! Training: dense phase with column-balanced targeted dropout, hard CBTD pruning, then a
//! fine-tuning phase with the mask fixed, delta thresholds and optional fake quantization.
//!
//! Phase 1 (`epochs_dense`): the full LSTM is trained with Adam on cross-entropy. If γ > 0,
//! every mini-batch draws a targeted-dropout mask per weight matrix ([`crate::cbtd`]): the
//! `R - K` smallest-|w| entries of every (column, PE) group are targeted and dropped with
//! probability α, ramping linearly from 0 to 1 over the first `td_ramp` fraction of the phase.
//!
//! Hard pruning: the keep mask (exactly K per column per PE) is computed on the phase-1
//! weights and applied.
//!
//! Phase 2 (`epochs_ft`): fresh Adam state, the mask fixed (pruned entries stay 0), the DeltaLSTM
//! forward pass with Θx, Θh (straight-through, see [`crate::model`]) and, with `qat`, fake
//! quantization to int8 weights and Q8.8 activations/inputs.
//!
//! Throughout, W_ih and W_hh are clamped after every step to the int8 range of the chosen
//! weight format, `[-128, 127]·2^-wfrac` ([-1, 0.992] for Q1.7), so quantization never
//! saturates a trained weight. Learning rates follow a cosine decay to 10 % within each phase.
//! Randomness (initialization, shuffling, dropout) comes from the seeded project LCG.

use crate::cbtd::{k_for_gamma, keep_mask, targeted_dropout_mask, CbtdError, Layout};
use crate::data::{quantize_dataset, InputScaling, Split, TsDataset};
use crate::model::{Batch, ForwardOpts, Params, Pool, TrainNet};
use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use spartus_model::rng::Lcg;
use std::time::Instant;

/// Training errors.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// candle failed (shape bug or allocation).
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// Bad CBTD parameters.
    #[error(transparent)]
    Cbtd(#[from] CbtdError),
    /// Bad settings.
    #[error("{0}")]
    Invalid(String),
}

/// Every training setting (also the `train` command line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
pub struct TrainConfig {
    /// H, hidden units.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// N, PEs of the target accelerator (must divide H); rows per PE R = 4H/N.
    #[arg(long, default_value_t = 8)]
    pub pe_count: usize,
    /// γ_x, targeted/pruned fraction of W_x per column per PE (K_x = R - floor(R·γ_x)).
    #[arg(long, default_value_t = 0.9375)]
    pub gamma_x: f64,
    /// γ_h, the same for W_h.
    #[arg(long, default_value_t = 0.9375)]
    pub gamma_h: f64,
    /// Θx, input delta threshold in scaled-input units (rounded to the Q8.8 grid).
    #[arg(long, default_value_t = 0.0625)]
    pub theta_x: f64,
    /// Θh, hidden delta threshold (rounded to the Q8.8 grid).
    #[arg(long, default_value_t = 0.0625)]
    pub theta_h: f64,
    /// Pooling of h for the head.
    #[arg(long, value_enum, default_value_t = Pool::Last)]
    pub pool: Pool,
    /// Epochs of phase 1 (dense + targeted dropout).
    #[arg(long, default_value_t = 120)]
    pub epochs_dense: usize,
    /// Epochs of phase 2 (fixed CBTD mask, deltas, fake quantization).
    #[arg(long, default_value_t = 80)]
    pub epochs_ft: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 30)]
    pub batch: usize,
    /// Peak learning rate of phase 1 (Adam).
    #[arg(long, default_value_t = 1e-2)]
    pub lr: f64,
    /// Peak learning rate of phase 2.
    #[arg(long, default_value_t = 3e-3)]
    pub lr_ft: f64,
    /// Fraction of phase 1 over which the dropout probability α ramps from 0 to 1.
    #[arg(long, default_value_t = 0.75)]
    pub td_ramp: f64,
    /// Global gradient-norm clip.
    #[arg(long, default_value_t = 5.0)]
    pub clip: f64,
    /// Fake-quantize (int8 weights, Q8.8 activations) in phase 2.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub qat: bool,
    /// Weight fraction bits of the int8 weights (7 = Q1.7, the default of docs/arithmetic.md).
    #[arg(long, default_value_t = 7)]
    pub wfrac: u32,
    /// Factor applied to the standardized inputs before Q8.8 quantization.
    #[arg(long, default_value_t = 1.0)]
    pub input_scale: f64,
    /// Seed of initialization, shuffling and dropout.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            hidden: 64,
            pe_count: 8,
            gamma_x: 0.9375,
            gamma_h: 0.9375,
            theta_x: 0.0625,
            theta_h: 0.0625,
            pool: Pool::Last,
            epochs_dense: 120,
            epochs_ft: 80,
            batch: 30,
            lr: 1e-2,
            lr_ft: 3e-3,
            td_ramp: 0.75,
            clip: 5.0,
            qat: true,
            wfrac: 7,
            input_scale: 1.0,
            seed: 1,
        }
    }
}

impl TrainConfig {
    /// R = 4H/N.
    pub fn rows_per_pe(&self) -> usize {
        4 * self.hidden / self.pe_count.max(1)
    }
    /// (K_x, K_h).
    pub fn ks(&self) -> Result<(usize, usize), TrainError> {
        self.check()?;
        let r = self.rows_per_pe();
        Ok((k_for_gamma(r, self.gamma_x)?, k_for_gamma(r, self.gamma_h)?))
    }
    /// Θ rounded to the Q8.8 grid, as the hardware applies it.
    pub fn theta_q(th: f64) -> f64 {
        (th * 256.0).round_ties_even() / 256.0
    }
    /// Check the settings.
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        if self.hidden == 0 || self.pe_count == 0 || !self.hidden.is_multiple_of(self.pe_count) {
            return bad(format!(
                "pe_count = {} must divide hidden = {}",
                self.pe_count, self.hidden
            ));
        }
        if self.batch == 0 {
            return bad("batch must be >= 1".into());
        }
        if self.wfrac > 8 {
            return bad(format!("wfrac = {} must be in 0..=8", self.wfrac));
        }
        for (n, v) in [("theta_x", self.theta_x), ("theta_h", self.theta_h)] {
            if !v.is_finite() || !(0.0..128.0).contains(&v) {
                return bad(format!("{n} = {v} must be in [0, 128)"));
            }
        }
        if !(self.input_scale.is_finite() && self.input_scale > 0.0) {
            return bad(format!("input_scale = {} must be > 0", self.input_scale));
        }
        Ok(())
    }
}

/// One epoch's training figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1 (dense + targeted dropout) or 2 (fine-tune).
    pub phase: u8,
    /// Epoch within the phase.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Training accuracy (under dropout / deltas / fake quantization).
    pub train_acc: f64,
    /// Dropout probability of targeted weights (phase 1).
    pub alpha: f64,
}

/// Data prepared for training and evaluation.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Scaled training set (float).
    pub train: TsDataset,
    /// Scaled test set (float).
    pub test: TsDataset,
    /// Scaled training set on the Q8.8 grid (QAT inputs).
    pub train_q: TsDataset,
    /// The input map.
    pub scaling: InputScaling,
}

impl Prepared {
    /// Fit the input scaling on the training set and apply it to both sets.
    pub fn new(split: &Split, input_scale: f64) -> Self {
        Self::with_scaling(split, InputScaling::fit(&split.train, input_scale))
    }

    /// Apply a given (e.g. recorded) input scaling to both sets.
    pub fn with_scaling(split: &Split, scaling: InputScaling) -> Self {
        let train = scaling.apply(&split.train);
        let test = scaling.apply(&split.test);
        let train_q = quantize_dataset(&train);
        Self {
            train,
            test,
            train_q,
            scaling,
        }
    }
}

/// Result of phase 1.
#[derive(Debug, Clone)]
pub struct DenseOutcome {
    /// Parameters after phase 1 (dense).
    pub params: Params,
    /// Per-epoch log.
    pub log: Vec<EpochLog>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Result of phase 2.
#[derive(Debug, Clone)]
pub struct FineTuneOutcome {
    /// Final parameters (pruned entries are 0).
    pub params: Params,
    /// W_x keep mask.
    pub keep_x: Vec<bool>,
    /// W_h keep mask.
    pub keep_h: Vec<bool>,
    /// K_x.
    pub k_x: usize,
    /// K_h.
    pub k_h: usize,
    /// Per-epoch log.
    pub log: Vec<EpochLog>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Show an indicatif bar per phase (stderr).
    Bar,
    /// Nothing.
    Hidden,
}

fn bar(progress: Progress, len: usize, prefix: &str) -> ProgressBar {
    match progress {
        Progress::Hidden => ProgressBar::hidden(),
        Progress::Bar => {
            let pb = ProgressBar::new(len as u64);
            pb.set_style(
                ProgressStyle::with_template(
                    "{prefix:>12} [{bar:30}] {pos}/{len} ep {msg} {elapsed}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            pb.set_prefix(prefix.to_string());
            pb
        }
    }
}

fn cosine_lr(peak: f64, epoch: usize, epochs: usize) -> f64 {
    let t = if epochs <= 1 {
        0.0
    } else {
        epoch as f64 / (epochs - 1) as f64
    };
    peak * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

fn shuffled(n: usize, rng: &mut Lcg) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u32 + 1) as usize;
        idx.swap(i, j);
    }
    idx
}

fn clip_grads(
    grads: &mut candle_core::backprop::GradStore,
    vars: &[Var],
    max_norm: f64,
) -> candle_core::Result<()> {
    let mut sq = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v) {
            sq += g.sqr()?.sum_all()?.to_vec0::<f32>()? as f64;
        }
    }
    let norm = sq.sqrt();
    if norm > max_norm {
        let s = max_norm / norm;
        for v in vars {
            if let Some(g) = grads.remove(v) {
                grads.insert(v, g.affine(s, 0.0)?);
            }
        }
    }
    Ok(())
}

fn adam(vars: Vec<Var>, lr: f64) -> candle_core::Result<AdamW> {
    AdamW::new(
        vars,
        ParamsAdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )
}

fn weight_range(wfrac: u32) -> (f64, f64) {
    let s = (1u64 << wfrac) as f64;
    (-128.0 / s, 127.0 / s)
}

/// Phase 1: dense training with column-balanced targeted dropout (none if γ = 0).
pub fn train_dense(
    data: &Prepared,
    cfg: &TrainConfig,
    progress: Progress,
) -> Result<DenseOutcome, TrainError> {
    let (k_x, k_h) = cfg.ks()?;
    let start = Instant::now();
    let dev = Device::Cpu;
    let (i, h, c) = (data.train.dims, cfg.hidden, data.train.num_classes());
    let net = TrainNet::from_params(&Params::init(i, h, c, cfg.seed), &dev)?;
    let lay_x = Layout::new(4 * h, i, cfg.pe_count)?;
    let lay_h = Layout::new(4 * h, h, cfg.pe_count)?;
    let r = lay_x.rows_per_pe();
    let mut opt = adam(net.vars(), cfg.lr)?;
    let mut rng = Lcg::stream(cfg.seed, 0x22);
    let (lo, hi) = weight_range(cfg.wfrac);
    let pb = bar(progress, cfg.epochs_dense, "dense+TD");
    let mut log = Vec::new();
    let ramp_epochs = (cfg.td_ramp * cfg.epochs_dense as f64).max(1.0);
    for epoch in 0..cfg.epochs_dense {
        opt.set_learning_rate(cosine_lr(cfg.lr, epoch, cfg.epochs_dense));
        let alpha = (epoch as f64 / ramp_epochs).min(1.0);
        let order = shuffled(data.train.series.len(), &mut rng);
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for chunk in order.chunks(cfg.batch) {
            let series: Vec<_> = chunk.iter().map(|&k| &data.train.series[k]).collect();
            let batch = Batch::new(&series, 0.0, &dev)?;
            let mut opts = ForwardOpts {
                pool: cfg.pool,
                ..ForwardOpts::default()
            };
            if k_x < r && alpha > 0.0 {
                let w = net.w_ih.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                let m = targeted_dropout_mask(&w, &lay_x, k_x, alpha, &mut rng);
                opts.mask_x = Some(Tensor::from_vec(m, (4 * h, i), &dev)?);
            }
            if k_h < r && alpha > 0.0 {
                let w = net.w_hh.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                let m = targeted_dropout_mask(&w, &lay_h, k_h, alpha, &mut rng);
                opts.mask_h = Some(Tensor::from_vec(m, (4 * h, h), &dev)?);
            }
            let (loss, ok) = net.loss(&batch, &opts)?;
            loss_sum += loss.to_vec0::<f32>()? as f64 * series.len() as f64;
            correct += ok;
            let mut grads = loss.backward()?;
            clip_grads(&mut grads, &net.vars(), cfg.clip)?;
            opt.step(&grads)?;
            net.w_ih.set(&net.w_ih.as_tensor().clamp(lo, hi)?)?;
            net.w_hh.set(&net.w_hh.as_tensor().clamp(lo, hi)?)?;
        }
        let n = data.train.series.len() as f64;
        let e = EpochLog {
            phase: 1,
            epoch,
            loss: loss_sum / n,
            train_acc: correct as f64 / n,
            alpha,
        };
        pb.set_message(format!(
            "loss {:.3} acc {:.3} α {:.2}",
            e.loss, e.train_acc, alpha
        ));
        pb.inc(1);
        log.push(e);
    }
    pb.finish();
    Ok(DenseOutcome {
        params: net.to_params()?,
        log,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Hard CBTD masks (exactly K per column per PE) for the given parameters.
pub fn hard_masks(
    p: &Params,
    cfg: &TrainConfig,
) -> Result<(Vec<bool>, Vec<bool>, usize, usize), TrainError> {
    let (k_x, k_h) = cfg.ks()?;
    let h = p.hidden_size;
    let lay_x = Layout::new(4 * h, p.input_size, cfg.pe_count)?;
    let lay_h = Layout::new(4 * h, h, cfg.pe_count)?;
    Ok((
        keep_mask(&p.weight_ih, &lay_x, k_x),
        keep_mask(&p.weight_hh, &lay_h, k_h),
        k_x,
        k_h,
    ))
}

/// Hard-prune the phase-1 parameters and fine-tune with the fixed mask, Θx/Θh and (optionally)
/// fake quantization.
pub fn fine_tune(
    data: &Prepared,
    dense: &Params,
    cfg: &TrainConfig,
    progress: Progress,
) -> Result<FineTuneOutcome, TrainError> {
    let start = Instant::now();
    let dev = Device::Cpu;
    let (keep_x, keep_h, k_x, k_h) = hard_masks(dense, cfg)?;
    let mut p0 = dense.clone();
    p0.apply_masks(&keep_x, &keep_h);
    let net = TrainNet::from_params(&p0, &dev)?;
    let (i, h) = (p0.input_size, p0.hidden_size);
    let f = |m: &[bool]| m.iter().map(|&k| k as u8 as f32).collect::<Vec<f32>>();
    let mask_x = Tensor::from_vec(f(&keep_x), (4 * h, i), &dev)?;
    let mask_h = Tensor::from_vec(f(&keep_h), (4 * h, h), &dev)?;
    let mut opt = adam(net.vars(), cfg.lr_ft)?;
    let mut rng = Lcg::stream(cfg.seed, 0x33);
    let (lo, hi) = weight_range(cfg.wfrac);
    let theta_x = TrainConfig::theta_q(cfg.theta_x);
    let theta_h = TrainConfig::theta_q(cfg.theta_h);
    let train = if cfg.qat { &data.train_q } else { &data.train };
    let pb = bar(progress, cfg.epochs_ft, "CBTD+Δ ft");
    let mut log = Vec::new();
    for epoch in 0..cfg.epochs_ft {
        opt.set_learning_rate(cosine_lr(cfg.lr_ft, epoch, cfg.epochs_ft));
        let order = shuffled(train.series.len(), &mut rng);
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for chunk in order.chunks(cfg.batch) {
            let series: Vec<_> = chunk.iter().map(|&k| &train.series[k]).collect();
            let batch = Batch::new(&series, theta_x, &dev)?;
            let opts = ForwardOpts {
                mask_x: Some(mask_x.clone()),
                mask_h: Some(mask_h.clone()),
                theta_h,
                fake_quant: cfg.qat.then_some(cfg.wfrac),
                pool: cfg.pool,
            };
            let (loss, ok) = net.loss(&batch, &opts)?;
            loss_sum += loss.to_vec0::<f32>()? as f64 * series.len() as f64;
            correct += ok;
            let mut grads = loss.backward()?;
            clip_grads(&mut grads, &net.vars(), cfg.clip)?;
            opt.step(&grads)?;
            net.w_ih
                .set(&net.w_ih.as_tensor().mul(&mask_x)?.clamp(lo, hi)?)?;
            net.w_hh
                .set(&net.w_hh.as_tensor().mul(&mask_h)?.clamp(lo, hi)?)?;
        }
        let n = train.series.len() as f64;
        let e = EpochLog {
            phase: 2,
            epoch,
            loss: loss_sum / n,
            train_acc: correct as f64 / n,
            alpha: 1.0,
        };
        pb.set_message(format!("loss {:.3} acc {:.3}", e.loss, e.train_acc));
        pb.inc(1);
        log.push(e);
    }
    pb.finish();
    let mut params = net.to_params()?;
    params.apply_masks(&keep_x, &keep_h); // exact zeros (they already are; -0.0 → 0.0)
    Ok(FineTuneOutcome {
        params,
        keep_x,
        keep_h,
        k_x,
        k_h,
        log,
        seconds: start.elapsed().as_secs_f64(),
    })
}
