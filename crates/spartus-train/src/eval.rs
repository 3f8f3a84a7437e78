//! Accuracy of a trained classifier in three arithmetic worlds:
//!
//! - [`float_eval`]: float64 DeltaLSTM on the float parameters (Θ = 0 gives the plain LSTM);
//! - [`golden_eval`]: the bit-exact integer golden model of spartus-model
//!   (`spartus_model::golden`, docs/arithmetic.md §1–§4) on the int8-quantized, CBTD-pruned weights with
//!   Q8.8 inputs, exactly what the generated accelerator computes; the head is applied in f64
//!   on `h/256` (pooled as in training). Temporal sparsity and predicted cycles come from the
//!   same golden traces and the spartus-model cycle model (docs/arithmetic.md §6).

use crate::data::TsDataset;
use crate::model::{argmax, delta_memory, Params, Pool};
use serde::{Deserialize, Serialize};
use spartus_model::config::Resolved;
use spartus_model::cycles::CycleParams;
use spartus_model::design::{quantize_and_prune, DesignError};
use spartus_model::fixed::quantize_inputs;
use spartus_model::golden::{run, GoldenParams, QLayer, QNet};

/// Counts of a classification run plus delta statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct EvalStats {
    /// Cases.
    pub cases: usize,
    /// Correct predictions.
    pub correct: usize,
    /// Time steps over all cases.
    pub steps: usize,
    /// Nonzero input deltas over all cases.
    pub nnz_x: u64,
    /// Nonzero hidden deltas over all cases.
    pub nnz_h: u64,
    /// Input elements (steps · I).
    pub elems_x: u64,
    /// Hidden elements (steps · H).
    pub elems_h: u64,
    /// Predicted accelerator cycles over all cases (golden only; 0 for float).
    pub cycles: u64,
}

impl EvalStats {
    /// Accuracy in [0, 1].
    pub fn accuracy(&self) -> f64 {
        if self.cases == 0 {
            0.0
        } else {
            self.correct as f64 / self.cases as f64
        }
    }
    /// Fraction of zero Δx.
    pub fn sparsity_x(&self) -> f64 {
        1.0 - self.nnz_x as f64 / self.elems_x.max(1) as f64
    }
    /// Fraction of zero Δh.
    pub fn sparsity_h(&self) -> f64 {
        1.0 - self.nnz_h as f64 / self.elems_h.max(1) as f64
    }
    /// Fraction of zero deltas over x and h together.
    pub fn sparsity_total(&self) -> f64 {
        1.0 - (self.nnz_x + self.nnz_h) as f64 / (self.elems_x + self.elems_h).max(1) as f64
    }
    /// Mean predicted cycles per time step.
    pub fn cycles_per_step(&self) -> f64 {
        self.cycles as f64 / self.steps.max(1) as f64
    }
}

/// Pool an h sequence for the head.
pub fn pool_h(h: &[Vec<f64>], pool: Pool) -> Vec<f64> {
    match pool {
        Pool::Last => h.last().cloned().unwrap_or_default(),
        Pool::Mean => {
            let n = h.len().max(1) as f64;
            let mut s = vec![0.0; h.first().map_or(0, Vec::len)];
            for v in h {
                for (a, b) in s.iter_mut().zip(v) {
                    *a += b;
                }
            }
            s.iter().map(|v| v / n).collect()
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Float64 DeltaLSTM over one sequence: returns h `[T][H]` and the nonzero (Δx, Δh) counts.
/// Deltas follow docs/arithmetic.md §3 in real units: an element propagates when it changed by at least Θ
/// since it last propagated (Θ = 0: every change, i.e. the plain LSTM).
pub fn float_forward(
    p: &Params,
    frames: &[Vec<f64>],
    theta_x: f64,
    theta_h: f64,
) -> (Vec<Vec<f64>>, u64, u64) {
    let (i_size, h_size) = (p.input_size, p.hidden_size);
    let (x_hat, nnz_x) = delta_memory(frames, theta_x);
    let wx: Vec<f64> = p.weight_ih.iter().map(|&v| v as f64).collect();
    let wh: Vec<f64> = p.weight_hh.iter().map(|&v| v as f64).collect();
    let b: Vec<f64> = p
        .bias_ih
        .iter()
        .zip(&p.bias_hh)
        .map(|(&a, &b)| a as f64 + b as f64)
        .collect();
    let mut h = vec![0.0f64; h_size];
    let mut c = vec![0.0; h_size];
    let mut h_hat = vec![0.0; h_size];
    let mut nnz_h = 0u64;
    let mut out = Vec::with_capacity(frames.len());
    let mut pre = vec![0.0; 4 * h_size];
    for xt in &x_hat {
        for k in 0..h_size {
            let r = h[k] - h_hat[k];
            if r != 0.0 && r.abs() >= theta_h {
                h_hat[k] = h[k];
                nnz_h += 1;
            }
        }
        for (r, pr) in pre.iter_mut().enumerate() {
            let rx = &wx[r * i_size..(r + 1) * i_size];
            let rh = &wh[r * h_size..(r + 1) * h_size];
            *pr = b[r]
                + rx.iter().zip(xt).map(|(w, v)| w * v).sum::<f64>()
                + rh.iter().zip(&h_hat).map(|(w, v)| w * v).sum::<f64>();
        }
        for u in 0..h_size {
            let i = sigmoid(pre[u]);
            let f = sigmoid(pre[h_size + u]);
            let g = pre[2 * h_size + u].tanh();
            let o = sigmoid(pre[3 * h_size + u]);
            c[u] = f * c[u] + i * g;
            h[u] = o * c[u].tanh();
        }
        out.push(h.clone());
    }
    (out, nnz_x as u64, nnz_h)
}

/// Accuracy and delta statistics of the float model on a (scaled) dataset.
pub fn float_eval(p: &Params, ds: &TsDataset, theta_x: f64, theta_h: f64, pool: Pool) -> EvalStats {
    let mut st = EvalStats::default();
    for s in &ds.series {
        let (h, nx, nh) = float_forward(p, &s.frames, theta_x, theta_h);
        let pred = argmax(&p.head(&pool_h(&h, pool)));
        st.cases += 1;
        st.correct += (pred == s.label) as usize;
        st.steps += s.len();
        st.nnz_x += nx;
        st.nnz_h += nh;
        st.elems_x += (s.len() * p.input_size) as u64;
        st.elems_h += (s.len() * p.hidden_size) as u64;
    }
    st
}

/// The quantized, CBTD-pruned network the accelerator of config `r` runs for these float
/// parameters (docs/arithmetic.md §1 quantization, §5 pruning with the config's K_x, K_h), plus the golden
/// parameters (thresholds, LUT, rounding) of that config.
pub fn quantized_net(p: &Params, r: &Resolved) -> Result<(QNet, GoldenParams), DesignError> {
    let fnet = p.to_float_net();
    let pruned = quantize_and_prune(0, &fnet.layers[0], &r.layers[0], r.n(), r)?;
    Ok((
        QNet {
            layers: vec![QLayer::from_pruned(&pruned)],
        },
        GoldenParams::from_resolved(r),
    ))
}

/// Per-case golden outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldenCase {
    /// Predicted class.
    pub pred: usize,
    /// h sequence (Q8.8 integers).
    pub h: Vec<Vec<i16>>,
}

/// Run the golden model on every case of a (scaled, float) dataset; inputs are quantized to
/// Q8.8 with docs/arithmetic.md §1 `sat16(RNE(x·256))`. Returns statistics and per-case outputs.
pub fn golden_eval(
    p: &Params,
    ds: &TsDataset,
    r: &Resolved,
    pool: Pool,
) -> Result<(EvalStats, Vec<GoldenCase>), DesignError> {
    let (qnet, gp) = quantized_net(p, r)?;
    let cyc = CycleParams::reference(&r.layers[0]);
    let mut st = EvalStats::default();
    let mut cases = Vec::with_capacity(ds.series.len());
    for s in &ds.series {
        let xq = quantize_inputs("input", &s.frames)?;
        let tr = run(&qnet, &gp, &xq).remove(0);
        let hf: Vec<Vec<f64>> =
            tr.h.iter()
                .map(|v| v.iter().map(|&q| q as f64 / 256.0).collect())
                .collect();
        let pred = argmax(&p.head(&pool_h(&hf, pool)));
        st.cases += 1;
        st.correct += (pred == s.label) as usize;
        st.steps += s.len();
        st.nnz_x += tr.nnz_x.iter().map(|&v| v as u64).sum::<u64>();
        st.nnz_h += tr.nnz_h.iter().map(|&v| v as u64).sum::<u64>();
        st.elems_x += (s.len() * p.input_size) as u64;
        st.elems_h += (s.len() * p.hidden_size) as u64;
        st.cycles += cyc.trace_cycles(&tr).iter().sum::<u64>();
        cases.push(GoldenCase { pred, h: tr.h });
    }
    Ok((st, cases))
}

/// Accuracy of the head on externally produced h sequences `h[case][t][k]` (Q8.8), e.g. the
/// outputs of the generated RTL in Verilator for every test case (the "(d) RTL accuracy" hook).
/// Also counts the cases whose h differs from the golden model's anywhere (`golden` from
/// [`golden_eval`]); the RTL is required to give 0.
pub fn accuracy_from_h(
    p: &Params,
    ds: &TsDataset,
    h: &[Vec<Vec<i16>>],
    golden: &[GoldenCase],
    pool: Pool,
) -> Result<(EvalStats, usize), String> {
    if h.len() != ds.series.len() || golden.len() != ds.series.len() {
        return Err(format!(
            "{} h sequences and {} golden cases for {} cases",
            h.len(),
            golden.len(),
            ds.series.len()
        ));
    }
    let mut st = EvalStats::default();
    let mut mismatched = 0;
    for (idx, ((s, hs), g)) in ds.series.iter().zip(h).zip(golden).enumerate() {
        if hs.len() != s.len() || hs.iter().any(|v| v.len() != p.hidden_size) {
            return Err(format!(
                "case {idx}: h must be [{}][{}]",
                s.len(),
                p.hidden_size
            ));
        }
        let hf: Vec<Vec<f64>> = hs
            .iter()
            .map(|v| v.iter().map(|&q| q as f64 / 256.0).collect())
            .collect();
        let pred = argmax(&p.head(&pool_h(&hf, pool)));
        st.cases += 1;
        st.correct += (pred == s.label) as usize;
        st.steps += s.len();
        mismatched += (hs != &g.h) as usize;
    }
    Ok((st, mismatched))
}
