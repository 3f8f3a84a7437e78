//! The bit-exact golden DeltaLSTM model (docs/arithmetic.md §2, §3, §7). The RTL is judged against this.
//!
//! Per layer the state is `x̂[I]`, `ĥ[H]`, `h[H]` (h_{t-1}), `c[H]` (all int16 Q8.8) and the
//! accumulator `M[4H]` (int32, frac 8+wfrac), initialised with the bias and never cleared.
//! One time step with input `x_t` (docs/arithmetic.md §3, order is normative):
//!
//! 1. input delta encoder: `r = x_t[j] - x̂[j]`; if `|r| >= Θx` then `dx = sat16(r)`,
//!    `x̂ += dx`, else `dx = 0`;
//! 2. hidden delta encoder: the same on `h_{t-1}` with `ĥ`, `Θh`;
//! 3. `M[r] = wrap32(M[r] + Σ_j Wx[r,j]·dx[j] + Σ_k Wh[r,k]·dh[k])`;
//! 4. `pre[r] = sat16(RQ(M[r], wfrac))`;
//! 5. `i = SIG(pre_i)`, `f = SIG(pre_f)`, `g = TANH(pre_g)`, `o = SIG(pre_o)`;
//! 6. `c = sat16(RQ(f·c + i·g, 8))`;
//! 7. `h = sat16(RQ(o·TANH(c), 8))`, the step's output;
//! 8. `nnz_x`, `nnz_h` count the nonzero deltas (per MAC array a: columns with `j mod A = a`).
//!
//! Layer l>0 takes layer l-1's h sequence as its input. Every layer uses the same Θx, Θh.

use crate::config::Rounding;
use crate::fixed::{rq, sat16, wrap32};
use crate::lut::Lut;
use crate::prune::PrunedLayer;

/// One quantized layer (dense storage; pruned entries are simply 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QLayer {
    /// I.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// W_x, `[4H][I]` row-major, int8 with `wfrac` fraction bits. Rows in gate order i,f,g,o.
    pub wx: Vec<i8>,
    /// W_h, `[4H][H]` row-major.
    pub wh: Vec<i8>,
    /// `bq [4H]`, int32 with 8+wfrac fraction bits.
    pub bias: Vec<i32>,
}

impl QLayer {
    /// The dense form of a CBTD-pruned layer.
    pub fn from_pruned(p: &PrunedLayer) -> Self {
        Self {
            input_size: p.input_size(),
            hidden_size: p.hidden_size(),
            wx: p.wx.values.clone(),
            wh: p.wh.values.clone(),
            bias: p.bias.clone(),
        }
    }

    /// Panics with a clear message if the vector lengths do not match the sizes.
    pub fn assert_shapes(&self) {
        let (i, h) = (self.input_size, self.hidden_size);
        assert_eq!(self.wx.len(), 4 * h * i, "QLayer.wx must be [4H][I]");
        assert_eq!(self.wh.len(), 4 * h * h, "QLayer.wh must be [4H][H]");
        assert_eq!(self.bias.len(), 4 * h, "QLayer.bias must be [4H]");
    }
}

/// A stack of quantized layers; layer l>0 must have `input_size` = previous `hidden_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QNet {
    /// Layers, input first.
    pub layers: Vec<QLayer>,
}

/// Arithmetic parameters of the golden model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldenParams {
    /// Θx in Q8.8 (input delta threshold, every layer).
    pub theta_x: i32,
    /// Θh in Q8.8 (hidden delta threshold, every layer).
    pub theta_h: i32,
    /// Weight fraction bits (7 by default).
    pub wfrac: u32,
    /// Requantization rounding of every RQ.
    pub rounding: Rounding,
    /// Activation tables.
    pub lut: Lut,
    /// A, MAC arrays: column j is counted in array `j mod A` in the per-array statistics.
    pub arrays: usize,
}

impl GoldenParams {
    /// Parameters from a resolved config.
    pub fn from_resolved(r: &crate::config::Resolved) -> Self {
        let hw = &r.config.hardware;
        Self {
            theta_x: r.theta_x_q,
            theta_h: r.theta_h_q,
            wfrac: hw.wfrac,
            rounding: hw.rounding,
            lut: Lut::new(hw.lut_shift, hw.lut_frac),
            arrays: r.a(),
        }
    }
}

/// Everything one layer produced over a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerTrace {
    /// `h[t][k]`, Q8.8.
    pub h: Vec<Vec<i16>>,
    /// Nonzero input deltas per step.
    pub nnz_x: Vec<u32>,
    /// Nonzero hidden deltas per step.
    pub nnz_h: Vec<u32>,
    /// `nnz_x_arr[t][a]`: nonzero input deltas of columns `j mod A = a`.
    pub nnz_x_arr: Vec<Vec<u32>>,
    /// `nnz_h_arr[t][a]`: nonzero hidden deltas of columns `k mod A = a`.
    pub nnz_h_arr: Vec<Vec<u32>>,
    /// M after the last step.
    pub final_m: Vec<i32>,
    /// c after the last step.
    pub final_c: Vec<i16>,
}

/// The state of one layer (docs/arithmetic.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerState {
    /// x̂ [I].
    pub x_hat: Vec<i16>,
    /// ĥ [H].
    pub h_hat: Vec<i16>,
    /// h [H]: the previous step's output (h_{-1} = 0).
    pub h: Vec<i16>,
    /// c [H].
    pub c: Vec<i16>,
    /// M [4H], wrapping int32 accumulators.
    pub m: Vec<i32>,
}

impl LayerState {
    /// The reset state: zeros and `M = bias`.
    pub fn reset(layer: &QLayer) -> Self {
        Self {
            x_hat: vec![0; layer.input_size],
            h_hat: vec![0; layer.hidden_size],
            h: vec![0; layer.hidden_size],
            c: vec![0; layer.hidden_size],
            m: layer.bias.clone(),
        }
    }
}

/// What one layer produced in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOut {
    /// The new h (Q8.8).
    pub h: Vec<i16>,
    /// Input deltas (0 where suppressed).
    pub dx: Vec<i16>,
    /// Hidden deltas (0 where suppressed).
    pub dh: Vec<i16>,
    /// Nonzero input deltas per array.
    pub nnz_x_arr: Vec<u32>,
    /// Nonzero hidden deltas per array.
    pub nnz_h_arr: Vec<u32>,
}

impl StepOut {
    /// Total nonzero input deltas.
    pub fn nnz_x(&self) -> u32 {
        self.nnz_x_arr.iter().sum()
    }
    /// Total nonzero hidden deltas.
    pub fn nnz_h(&self) -> u32 {
        self.nnz_h_arr.iter().sum()
    }
}

/// Delta encoder (docs/arithmetic.md §3 steps 1–2): returns the delta vector and updates `hat` in place.
pub fn delta_encode(value: &[i16], hat: &mut [i16], theta: i32) -> Vec<i16> {
    value
        .iter()
        .zip(hat.iter_mut())
        .map(|(&v, hat)| {
            let r = v as i64 - *hat as i64;
            if r.abs() >= theta as i64 {
                let d = sat16(r);
                *hat = (*hat as i64 + d as i64) as i16; // stays between hat and v: no overflow
                d
            } else {
                0
            }
        })
        .collect()
}

/// Count nonzero entries per array (`index mod arrays`).
fn nnz_per_array(d: &[i16], arrays: usize) -> Vec<u32> {
    let mut out = vec![0u32; arrays];
    for (j, &v) in d.iter().enumerate() {
        if v != 0 {
            out[j % arrays] += 1;
        }
    }
    out
}

/// One time step of one layer (docs/arithmetic.md §3). `x` is this step's input (length I).
pub fn step_layer(
    layer: &QLayer,
    params: &GoldenParams,
    st: &mut LayerState,
    x: &[i16],
) -> StepOut {
    let (i_size, h_size) = (layer.input_size, layer.hidden_size);
    assert_eq!(
        x.len(),
        i_size,
        "input length must equal the layer's input_size"
    );

    // 1–2. Delta encoders. dh uses h_{t-1}, i.e. the state before this step's update.
    let dx = delta_encode(x, &mut st.x_hat, params.theta_x);
    let dh = delta_encode(&st.h, &mut st.h_hat, params.theta_h);

    // 3. Accumulate into M: only nonzero delta columns contribute. Sums are exact in i64 and
    //    wrapped once at the end, which equals wrapping after every addition.
    let mut acc: Vec<i64> = st.m.iter().map(|&m| m as i64).collect();
    for (weights, cols, deltas) in [(&layer.wx, i_size, &dx), (&layer.wh, h_size, &dh)] {
        for (j, &d) in deltas.iter().enumerate().filter(|(_, &d)| d != 0) {
            for (r, a) in acc.iter_mut().enumerate() {
                *a += weights[r * cols + j] as i64 * d as i64;
            }
        }
    }
    for (m, a) in st.m.iter_mut().zip(acc) {
        *m = wrap32(a);
    }

    // 4–7. Pre-activations, gates, cell, hidden.
    let pre = |r: usize| sat16(rq(st.m[r] as i64, params.wfrac, params.rounding));
    let lut = &params.lut;
    let h_new: Vec<i16> = (0..h_size)
        .map(|u| {
            let gi = lut.lookup_sig(pre(u)) as i64;
            let gf = lut.lookup_sig(pre(h_size + u)) as i64;
            let gg = lut.lookup_tanh(pre(2 * h_size + u)) as i64;
            let go = lut.lookup_sig(pre(3 * h_size + u)) as i64;
            let c = sat16(rq(gf * st.c[u] as i64 + gi * gg, 8, params.rounding));
            st.c[u] = c;
            sat16(rq(go * lut.lookup_tanh(c) as i64, 8, params.rounding))
        })
        .collect();
    st.h.clone_from(&h_new);

    // 8. Statistics.
    StepOut {
        h: h_new,
        nnz_x_arr: nnz_per_array(&dx, params.arrays),
        nnz_h_arr: nnz_per_array(&dh, params.arrays),
        dx,
        dh,
    }
}

/// Streaming golden model of a whole network: reset, then step one input frame at a time.
#[derive(Debug, Clone)]
pub struct GoldenState<'a> {
    net: &'a QNet,
    params: &'a GoldenParams,
    /// Per-layer state.
    pub layers: Vec<LayerState>,
}

impl<'a> GoldenState<'a> {
    /// A network in its reset state. Panics if layer shapes are inconsistent.
    pub fn new(net: &'a QNet, params: &'a GoldenParams) -> Self {
        assert!(params.arrays >= 1, "arrays must be >= 1");
        for (l, layer) in net.layers.iter().enumerate() {
            layer.assert_shapes();
            if l > 0 {
                assert_eq!(
                    layer.input_size,
                    net.layers[l - 1].hidden_size,
                    "layer {l} input_size must equal layer {} hidden_size",
                    l - 1
                );
            }
        }
        let layers = net.layers.iter().map(LayerState::reset).collect();
        Self {
            net,
            params,
            layers,
        }
    }

    /// Back to the reset state (x̂ = ĥ = h = c = 0, M = bias): a new sequence.
    pub fn reset(&mut self) {
        self.layers = self.net.layers.iter().map(LayerState::reset).collect();
    }

    /// One time step through all layers; returns each layer's step output (last = net output).
    pub fn step(&mut self, x: &[i16]) -> Vec<StepOut> {
        let mut outs: Vec<StepOut> = Vec::with_capacity(self.layers.len());
        for (l, (layer, st)) in self
            .net
            .layers
            .iter()
            .zip(self.layers.iter_mut())
            .enumerate()
        {
            let input: &[i16] = if l == 0 { x } else { &outs[l - 1].h };
            let out = step_layer(layer, self.params, st, input);
            outs.push(out);
        }
        outs
    }
}

/// Run a whole sequence `x [T][I]` from the reset state; one trace per layer.
pub fn run(net: &QNet, params: &GoldenParams, x: &[Vec<i16>]) -> Vec<LayerTrace> {
    let mut state = GoldenState::new(net, params);
    let mut traces: Vec<LayerTrace> = net
        .layers
        .iter()
        .map(|_| LayerTrace {
            h: Vec::with_capacity(x.len()),
            nnz_x: Vec::with_capacity(x.len()),
            nnz_h: Vec::with_capacity(x.len()),
            nnz_x_arr: Vec::with_capacity(x.len()),
            nnz_h_arr: Vec::with_capacity(x.len()),
            final_m: Vec::new(),
            final_c: Vec::new(),
        })
        .collect();
    for xt in x {
        for (tr, out) in traces.iter_mut().zip(state.step(xt)) {
            tr.nnz_x.push(out.nnz_x());
            tr.nnz_h.push(out.nnz_h());
            tr.h.push(out.h);
            tr.nnz_x_arr.push(out.nnz_x_arr);
            tr.nnz_h_arr.push(out.nnz_h_arr);
        }
    }
    for (tr, st) in traces.iter_mut().zip(&state.layers) {
        tr.final_m = st.m.clone();
        tr.final_c = st.c.clone();
    }
    traces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_encoder_threshold_and_saturation() {
        let mut hat = vec![0i16, 10, -32768, 32767];
        let d = delta_encode(&[5, 20, 32767, -32768], &mut hat, 6);
        assert_eq!(d, vec![0, 10, 32767, -32768]);
        assert_eq!(hat, vec![0, 20, -1, -1]);
        // theta = 0 with r = 0 gives a zero delta (never counted).
        let mut hat = vec![7i16];
        assert_eq!(delta_encode(&[7], &mut hat, 0), vec![0]);
    }

    #[test]
    fn zero_weights_give_bias_driven_output() {
        // H=1, I=1, all weights 0, bias 0: pre = 0 → i=f=o=128, g=0 → c=0, h=0.
        let layer = QLayer {
            input_size: 1,
            hidden_size: 1,
            wx: vec![0; 4],
            wh: vec![0; 4],
            bias: vec![0; 4],
        };
        let net = QNet {
            layers: vec![layer],
        };
        let p = GoldenParams {
            theta_x: 0,
            theta_h: 0,
            wfrac: 7,
            rounding: Rounding::Rne,
            lut: Lut::new(0, 8),
            arrays: 1,
        };
        let tr = run(&net, &p, &[vec![100], vec![100]]);
        assert_eq!(tr[0].h, vec![vec![0], vec![0]]);
        assert_eq!(tr[0].nnz_x, vec![1, 0]);
        assert_eq!(tr[0].nnz_h, vec![0, 0]);
        assert_eq!(tr[0].final_m, vec![0; 4]);
    }
}
