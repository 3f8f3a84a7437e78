//! Float64 LSTM references (docs/arithmetic.md §8), for accuracy checks only.
//!
//! [`lstm`] is a plain PyTorch-equivalent `nn.LSTM` forward pass (h0 = c0 = 0, gate order
//! i, f, g, o) on a [`FloatNet`]. [`dequantize`] turns quantized, pruned parameters back into
//! floats (`Wq/2^wfrac`, `bq/2^(8+wfrac)` as `bias_ih`, `bias_hh = 0`), so that
//! `lstm(&dequantize(q, wfrac), &dequantize_inputs(xq))` is the docs/arithmetic.md §8 comparison model.

use crate::golden::QNet;
use crate::weights::{FloatLayer, FloatNet};

/// Logistic sigmoid.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// State of one float layer.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatState {
    /// h [H].
    pub h: Vec<f64>,
    /// c [H].
    pub c: Vec<f64>,
}

impl FloatState {
    /// h = c = 0.
    pub fn zeros(h: usize) -> Self {
        Self {
            h: vec![0.0; h],
            c: vec![0.0; h],
        }
    }
}

/// One LSTM step of one layer; updates `st` and returns the new h.
pub fn step_layer(layer: &FloatLayer, st: &mut FloatState, x: &[f64]) -> Vec<f64> {
    let (i_size, h_size) = (layer.input_size, layer.hidden_size);
    assert_eq!(x.len(), i_size, "input length must equal input_size");
    let pre: Vec<f64> = (0..4 * h_size)
        .map(|r| {
            let wx = &layer.weight_ih[r * i_size..(r + 1) * i_size];
            let wh = &layer.weight_hh[r * h_size..(r + 1) * h_size];
            layer.bias_ih[r]
                + layer.bias_hh[r]
                + wx.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
                + wh.iter().zip(&st.h).map(|(w, v)| w * v).sum::<f64>()
        })
        .collect();
    for u in 0..h_size {
        let i = sigmoid(pre[u]);
        let f = sigmoid(pre[h_size + u]);
        let g = pre[2 * h_size + u].tanh();
        let o = sigmoid(pre[3 * h_size + u]);
        st.c[u] = f * st.c[u] + i * g;
        st.h[u] = o * st.c[u].tanh();
    }
    st.h.clone()
}

/// Run a float LSTM over `x [T][I]`; returns `h[layer][t][k]`.
pub fn lstm(net: &FloatNet, x: &[Vec<f64>]) -> Vec<Vec<Vec<f64>>> {
    let mut states: Vec<FloatState> = net
        .layers
        .iter()
        .map(|l| FloatState::zeros(l.hidden_size))
        .collect();
    let mut out: Vec<Vec<Vec<f64>>> = vec![Vec::with_capacity(x.len()); net.layers.len()];
    for xt in x {
        let mut input = xt.clone();
        for (l, layer) in net.layers.iter().enumerate() {
            input = step_layer(layer, &mut states[l], &input);
            out[l].push(input.clone());
        }
    }
    out
}

/// Quantized parameters back to floats: `W = Wq/2^wfrac`, `bias_ih = bq/2^(8+wfrac)`,
/// `bias_hh = 0` (all exact in f64).
pub fn dequantize(q: &QNet, wfrac: u32) -> FloatNet {
    let ws = (1u64 << wfrac) as f64;
    let bs = (1u64 << (8 + wfrac)) as f64;
    FloatNet {
        layers: q
            .layers
            .iter()
            .map(|l| FloatLayer {
                input_size: l.input_size,
                hidden_size: l.hidden_size,
                weight_ih: l.wx.iter().map(|&w| w as f64 / ws).collect(),
                weight_hh: l.wh.iter().map(|&w| w as f64 / ws).collect(),
                bias_ih: l.bias.iter().map(|&b| b as f64 / bs).collect(),
                bias_hh: vec![0.0; l.bias.len()],
            })
            .collect(),
    }
}

/// Q8.8 inputs to floats (`xq/256`).
pub fn dequantize_inputs(xq: &[Vec<i16>]) -> Vec<Vec<f64>> {
    xq.iter()
        .map(|r| r.iter().map(|&v| v as f64 / 256.0).collect())
        .collect()
}

/// The docs/arithmetic.md §8 comparison model: float LSTM on the dequantized quantized net and inputs.
pub fn reference_for_quantized(q: &QNet, wfrac: u32, xq: &[Vec<i16>]) -> Vec<Vec<Vec<f64>>> {
    lstm(&dequantize(q, wfrac), &dequantize_inputs(xq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unit_by_hand() {
        // H = 1, I = 1, W = 0, biases make pre = [0, 0, 1, 0].
        let layer = FloatLayer {
            input_size: 1,
            hidden_size: 1,
            weight_ih: vec![0.0; 4],
            weight_hh: vec![0.0; 4],
            bias_ih: vec![0.0, 0.0, 0.5, 0.0],
            bias_hh: vec![0.0, 0.0, 0.5, 0.0],
        };
        let net = FloatNet {
            layers: vec![layer],
        };
        let h = lstm(&net, &[vec![1.0]]);
        let c = 0.5 * 1f64.tanh();
        assert!((h[0][0][0] - 0.5 * c.tanh()).abs() < 1e-15);
    }
}
