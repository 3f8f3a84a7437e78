//! The classifier: one `nn.LSTM` layer (PyTorch layout, gate order i, f, g, o) and a linear
//! head on a pooled h. [`Params`] holds the plain f32 parameters (what is exported and
//! evaluated); [`TrainNet`] holds them as candle variables and runs the differentiable
//! DeltaLSTM forward pass used for training.
//!
//! Training forward pass for a padded batch (time-major `[T][B][I]`, per-sequence lengths):
//! - the weights used are `W ⊙ mask` (targeted dropout or the fixed CBTD mask), optionally
//!   fake-quantized to int8 with `wfrac` fraction bits (straight-through estimator, STE);
//! - the input delta memory x̂ (docs/arithmetic.md §3 step 1) depends on the data only, so it is computed on
//!   the host before the batch is built ([`delta_memory`]); the input projection of all steps
//!   is one matmul;
//! - the hidden delta memory ĥ (step 2) is updated where `|h_{t-1} - ĥ| >= Θh`, and the
//!   recurrent product uses `h + stopgrad(ĥ - h)` (STE: the forward value is ĥ, the gradient
//!   flows as if ĥ were h);
//! - with fake quantization, gate outputs, c and h are rounded to the Q8.8 grid (STE);
//! - steps past a sequence's end leave h and c unchanged, so the final state is the state at
//!   the last valid step ([`Pool::Last`]); [`Pool::Mean`] averages h over the valid steps.

use crate::data::Series;
use candle_core::{DType, Device, Tensor, Var, D};
use spartus_model::rng::Lcg;
use spartus_model::weights::{FloatLayer, FloatNet};

/// How the head sees the h sequence.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
    Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// h of the last time step.
    #[default]
    Last,
    /// Mean of h over all time steps.
    Mean,
}

/// Plain classifier parameters, PyTorch layout, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// I.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// Number of classes C.
    pub num_classes: usize,
    /// `weight_ih_l0` `[4H][I]`.
    pub weight_ih: Vec<f32>,
    /// `weight_hh_l0` `[4H][H]`.
    pub weight_hh: Vec<f32>,
    /// `bias_ih_l0` `[4H]`.
    pub bias_ih: Vec<f32>,
    /// `bias_hh_l0` `[4H]`.
    pub bias_hh: Vec<f32>,
    /// `fc.weight` `[C][H]`.
    pub fc_weight: Vec<f32>,
    /// `fc.bias` `[C]`.
    pub fc_bias: Vec<f32>,
}

impl Params {
    /// PyTorch's default initialization, drawn from the project LCG in a fixed order:
    /// LSTM tensors U(-1/√H, 1/√H) (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`), then the
    /// head U(-1/√H, 1/√H) (`nn.Linear`'s bound for fan-in H).
    pub fn init(input_size: usize, hidden_size: usize, num_classes: usize, seed: u64) -> Self {
        let mut g = Lcg::stream(seed, 0x11);
        let a = 1.0 / (hidden_size as f64).sqrt();
        let mut draw =
            |n: usize| -> Vec<f32> { (0..n).map(|_| g.uniform_range(-a, a) as f32).collect() };
        let (i, h, c) = (input_size, hidden_size, num_classes);
        Self {
            input_size,
            hidden_size,
            num_classes,
            weight_ih: draw(4 * h * i),
            weight_hh: draw(4 * h * h),
            bias_ih: draw(4 * h),
            bias_hh: draw(4 * h),
            fc_weight: draw(c * h),
            fc_bias: draw(c),
        }
    }

    /// The LSTM part as a spartus-model [`FloatNet`] (f64).
    pub fn to_float_net(&self) -> FloatNet {
        let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        FloatNet {
            layers: vec![FloatLayer {
                input_size: self.input_size,
                hidden_size: self.hidden_size,
                weight_ih: f(&self.weight_ih),
                weight_hh: f(&self.weight_hh),
                bias_ih: f(&self.bias_ih),
                bias_hh: f(&self.bias_hh),
            }],
        }
    }

    /// Zero the W_x / W_h entries whose mask is false.
    pub fn apply_masks(&mut self, keep_x: &[bool], keep_h: &[bool]) {
        for (w, &k) in self.weight_ih.iter_mut().zip(keep_x) {
            if !k {
                *w = 0.0;
            }
        }
        for (w, &k) in self.weight_hh.iter_mut().zip(keep_h) {
            if !k {
                *w = 0.0;
            }
        }
    }

    /// Head logits for a pooled hidden vector (f64).
    pub fn head(&self, h: &[f64]) -> Vec<f64> {
        (0..self.num_classes)
            .map(|c| {
                self.fc_bias[c] as f64
                    + self.fc_weight[c * self.hidden_size..(c + 1) * self.hidden_size]
                        .iter()
                        .zip(h)
                        .map(|(&w, &v)| w as f64 * v)
                        .sum::<f64>()
            })
            .collect()
    }
}

/// Index of the largest value (first one on ties).
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// The input delta memory x̂ of one sequence (docs/arithmetic.md §3 step 1 in real units): x̂ starts at 0,
/// and element j follows x_t[j] whenever `|x_t[j] - x̂[j]| >= theta` (with theta = 0, x̂ = x).
/// Also returns the number of nonzero deltas.
pub fn delta_memory(frames: &[Vec<f64>], theta: f64) -> (Vec<Vec<f64>>, usize) {
    let d = frames.first().map_or(0, Vec::len);
    let mut hat = vec![0.0; d];
    let mut nnz = 0;
    let out = frames
        .iter()
        .map(|f| {
            for j in 0..d {
                let r = f[j] - hat[j];
                if r != 0.0 && r.abs() >= theta {
                    hat[j] = f[j];
                    nnz += 1;
                }
            }
            hat.clone()
        })
        .collect();
    (out, nnz)
}

/// A padded, time-major training batch on a device.
#[derive(Debug)]
pub struct Batch {
    /// x̂ (or x) `[T][B][I]`, f32.
    pub x: Tensor,
    /// 1.0 where step t < length of sequence b, else 0.0: `[T][B][1]`.
    pub valid: Tensor,
    /// Sequence lengths.
    pub lens: Vec<usize>,
    /// Labels `[B]`, u32.
    pub labels: Tensor,
}

impl Batch {
    /// Build a batch; the input delta memory with `theta_x` is applied on the host.
    pub fn new(series: &[&Series], theta_x: f64, dev: &Device) -> candle_core::Result<Self> {
        let b = series.len();
        let i = series[0].frames[0].len();
        let t_max = series.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut x = vec![0f32; t_max * b * i];
        let mut valid = vec![0f32; t_max * b];
        for (bi, s) in series.iter().enumerate() {
            let (hat, _) = delta_memory(&s.frames, theta_x);
            for (t, f) in hat.iter().enumerate() {
                for (j, &v) in f.iter().enumerate() {
                    x[(t * b + bi) * i + j] = v as f32;
                }
                valid[t * b + bi] = 1.0;
            }
        }
        let labels: Vec<u32> = series.iter().map(|s| s.label as u32).collect();
        Ok(Self {
            x: Tensor::from_vec(x, (t_max, b, i), dev)?,
            valid: Tensor::from_vec(valid, (t_max, b, 1), dev)?,
            lens: series.iter().map(|s| s.len()).collect(),
            labels: Tensor::from_vec(labels, b, dev)?,
        })
    }
}

/// Options of the training forward pass.
#[derive(Debug, Clone, Default)]
pub struct ForwardOpts {
    /// Multiplicative mask for W_x `[4H][I]` (targeted dropout or fixed CBTD mask).
    pub mask_x: Option<Tensor>,
    /// Multiplicative mask for W_h `[4H][H]`.
    pub mask_h: Option<Tensor>,
    /// Θh in real units (0 = every change propagates).
    pub theta_h: f64,
    /// Fake-quantize weights to int8 with this many fraction bits and activations to Q8.8.
    pub fake_quant: Option<u32>,
    /// Pooling of h for the head.
    pub pool: Pool,
}

/// Round to a grid of `2^-frac` with saturation to `[lo, hi]`, straight-through gradient.
fn fake_quant(t: &Tensor, frac: u32, lo: f64, hi: f64) -> candle_core::Result<Tensor> {
    let s = (1u64 << frac) as f64;
    let q = t
        .affine(s, 0.0)?
        .round()?
        .clamp(lo * s, hi * s)?
        .affine(1.0 / s, 0.0)?;
    t + (q - t)?.detach()
}

/// Fake-quantize an activation to Q8.8 (int16).
fn fq_act(t: &Tensor) -> candle_core::Result<Tensor> {
    fake_quant(t, 8, -128.0, 32767.0 / 256.0)
}

/// The classifier as trainable candle variables.
pub struct TrainNet {
    /// I.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// C.
    pub num_classes: usize,
    /// `weight_ih_l0`.
    pub w_ih: Var,
    /// `weight_hh_l0`.
    pub w_hh: Var,
    /// `bias_ih_l0`.
    pub b_ih: Var,
    /// `bias_hh_l0`.
    pub b_hh: Var,
    /// `fc.weight`.
    pub fc_w: Var,
    /// `fc.bias`.
    pub fc_b: Var,
}

impl TrainNet {
    /// Variables initialized from plain parameters.
    pub fn from_params(p: &Params, dev: &Device) -> candle_core::Result<Self> {
        let (i, h, c) = (p.input_size, p.hidden_size, p.num_classes);
        let v = |data: &[f32], shape: &[usize]| {
            Var::from_tensor(&Tensor::from_slice(data, shape, dev)?)
        };
        Ok(Self {
            input_size: i,
            hidden_size: h,
            num_classes: c,
            w_ih: v(&p.weight_ih, &[4 * h, i])?,
            w_hh: v(&p.weight_hh, &[4 * h, h])?,
            b_ih: v(&p.bias_ih, &[4 * h])?,
            b_hh: v(&p.bias_hh, &[4 * h])?,
            fc_w: v(&p.fc_weight, &[c, h])?,
            fc_b: v(&p.fc_bias, &[c])?,
        })
    }

    /// All variables (for the optimizer).
    pub fn vars(&self) -> Vec<Var> {
        vec![
            self.w_ih.clone(),
            self.w_hh.clone(),
            self.b_ih.clone(),
            self.b_hh.clone(),
            self.fc_w.clone(),
            self.fc_b.clone(),
        ]
    }

    /// Copy the current values out.
    pub fn to_params(&self) -> candle_core::Result<Params> {
        let f = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        Ok(Params {
            input_size: self.input_size,
            hidden_size: self.hidden_size,
            num_classes: self.num_classes,
            weight_ih: f(&self.w_ih)?,
            weight_hh: f(&self.w_hh)?,
            bias_ih: f(&self.b_ih)?,
            bias_hh: f(&self.b_hh)?,
            fc_weight: f(&self.fc_w)?,
            fc_bias: f(&self.fc_b)?,
        })
    }

    /// Logits `[B][C]` of a batch.
    pub fn forward(&self, batch: &Batch, opts: &ForwardOpts) -> candle_core::Result<Tensor> {
        let h_size = self.hidden_size;
        let (t_max, b, i) = batch.x.dims3()?;
        let mut wx = self.w_ih.as_tensor().clone();
        let mut wh = self.w_hh.as_tensor().clone();
        if let Some(m) = &opts.mask_x {
            wx = wx.mul(m)?;
        }
        if let Some(m) = &opts.mask_h {
            wh = wh.mul(m)?;
        }
        let mut bias = (self.b_ih.as_tensor() + self.b_hh.as_tensor())?;
        if let Some(wfrac) = opts.fake_quant {
            let s = (1u64 << wfrac) as f64;
            wx = fake_quant(&wx, wfrac, -128.0 / s, 127.0 / s)?;
            wh = fake_quant(&wh, wfrac, -128.0 / s, 127.0 / s)?;
            // The accumulator holds the bias with 8 + wfrac fraction bits.
            bias = fake_quant(&bias, 8 + wfrac, -(2f64.powi(31)), 2f64.powi(31) - 1.0)?;
        }
        // Input projection of every step at once: [T·B, I] x [I, 4H] + b.
        let xproj = batch
            .x
            .reshape((t_max * b, i))?
            .matmul(&wx.t()?)?
            .broadcast_add(&bias)?
            .reshape((t_max, b, 4 * h_size))?;
        let wh_t = wh.t()?;
        let dev = batch.x.device();
        let mut h = Tensor::zeros((b, h_size), DType::F32, dev)?;
        let mut c = Tensor::zeros((b, h_size), DType::F32, dev)?;
        let mut h_hat = Tensor::zeros((b, h_size), DType::F32, dev)?;
        let mut h_sum = Tensor::zeros((b, h_size), DType::F32, dev)?;
        let quant = opts.fake_quant.is_some();
        let q = |t: Tensor| if quant { fq_act(&t) } else { Ok(t) };
        for t in 0..t_max {
            let h_in = if opts.theta_h > 0.0 {
                let hd = h.detach();
                let upd = (&hd - &h_hat)?.abs()?.ge(opts.theta_h)?;
                h_hat = upd.where_cond(&hd, &h_hat)?;
                (&h + (&h_hat - &h)?.detach())?
            } else {
                h.clone()
            };
            let pre = (xproj.get(t)? + h_in.matmul(&wh_t)?)?;
            let pre = q(pre)?;
            let gi = q(candle_nn::ops::sigmoid(&pre.narrow(1, 0, h_size)?)?)?;
            let gf = q(candle_nn::ops::sigmoid(&pre.narrow(1, h_size, h_size)?)?)?;
            let gg = q(pre.narrow(1, 2 * h_size, h_size)?.tanh()?)?;
            let go = q(candle_nn::ops::sigmoid(&pre.narrow(
                1,
                3 * h_size,
                h_size,
            )?)?)?;
            let c_new = q(((gf * &c)? + (gi * gg)?)?)?;
            let h_new = q((go * q(c_new.tanh()?)?)?)?;
            let v = batch.valid.get(t)?; // [B, 1]
            c = (&c + (c_new - &c)?.broadcast_mul(&v)?)?;
            h = (&h + (&h_new - &h)?.broadcast_mul(&v)?)?;
            if opts.pool == Pool::Mean {
                h_sum = (h_sum + h_new.broadcast_mul(&v)?)?;
            }
        }
        let pooled = match opts.pool {
            Pool::Last => h,
            Pool::Mean => {
                let inv: Vec<f32> = batch.lens.iter().map(|&l| 1.0 / l as f32).collect();
                h_sum.broadcast_mul(&Tensor::from_vec(inv, (b, 1), dev)?)?
            }
        };
        pooled
            .matmul(&self.fc_w.as_tensor().t()?)?
            .broadcast_add(self.fc_b.as_tensor())
    }

    /// Mean cross-entropy loss and number of correct predictions of a batch.
    pub fn loss(&self, batch: &Batch, opts: &ForwardOpts) -> candle_core::Result<(Tensor, usize)> {
        let logits = self.forward(batch, opts)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &batch.labels)?;
        let pred = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
        let labels = batch.labels.to_vec1::<u32>()?;
        let correct = pred.iter().zip(&labels).filter(|(a, b)| a == b).count();
        Ok((loss, correct))
    }
}
