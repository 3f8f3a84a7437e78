//! A prepared design: everything the emitter, the vector writer and the reports need, derived
//! from a resolved config, optional float weights and optional float inputs.
//!
//! [`Design::prepare`]: float weights (given, or [`random_float_net`]) → quantize (docs/arithmetic.md §1) →
//! CBTD prune (docs/arithmetic.md §5, K from the config) → golden run on the quantized stimulus (given
//! inputs, or [`crate::stimulus::random_walk`]) → predicted cycles per step per layer
//! (docs/arithmetic.md §6, `T_upd` = the reference value until [`Design::set_t_upd`] supplies the
//! hardware's, docs/architecture.md §5).

use crate::config::{LayerDims, Resolved, MAX_TIMESTEPS};
use crate::cycles::{
    figures, h_fire_units, schedule_cycles, useful_macs, CycleParams, Figures, OverlapShape,
};
use crate::fixed::{quantize_biases, quantize_inputs, quantize_weights, QuantError};
use crate::golden::{run, GoldenParams, LayerTrace, QLayer, QNet};
use crate::pack::pack_net;
use crate::prune::{cbtd, PruneError, PrunedLayer};
use crate::rng::Lcg;
use crate::stimulus::random_walk;
use crate::weights::{FloatLayer, FloatNet};

/// Why a design could not be prepared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DesignError {
    /// The weight file has a different number of layers than the config.
    #[error("weights have {got} LSTM layers, the config (model.layers) has {expected}")]
    LayerCount {
        /// Layers in the config.
        expected: usize,
        /// Layers in the weights.
        got: usize,
    },
    /// A tensor's shape differs from what the config implies.
    #[error("{tensor}: shape {got:?} does not match the config's {expected:?}")]
    Shape {
        /// Tensor name in PyTorch naming, e.g. `weight_ih_l0`.
        tensor: String,
        /// Shape the config implies.
        expected: Vec<usize>,
        /// Shape found.
        got: Vec<usize>,
    },
    /// The input sequence is empty, too long, or a frame has the wrong length.
    #[error("inputs: {0}")]
    Inputs(String),
    /// NaN/Inf in weights or inputs.
    #[error(transparent)]
    Quant(#[from] QuantError),
    /// Internal pruning error (config and shapes are validated first, so a bug).
    #[error(transparent)]
    Prune(#[from] PruneError),
}

/// Where the float weights came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightSource {
    /// Seeded random (`random_float_net`).
    Random,
    /// Given by the caller (a weight file).
    Given,
}

/// Where the inputs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputSource {
    /// Seeded random walk (`[stimulus]` of the config).
    Random,
    /// Given by the caller (an input file).
    Given,
}

/// Everything derived from one config + weights + inputs.
#[derive(Debug, Clone)]
pub struct Design {
    /// The resolved config.
    pub resolved: Resolved,
    /// Float weights (given or random).
    pub float_net: FloatNet,
    /// Where `float_net` came from.
    pub weight_source: WeightSource,
    /// Float inputs `[T][I]`.
    pub x_float: Vec<Vec<f64>>,
    /// Where the inputs came from.
    pub input_source: InputSource,
    /// Q8.8 inputs `[T][I]`.
    pub x_q: Vec<Vec<i16>>,
    /// Quantized, CBTD-pruned layers with kept positions (what the memories hold).
    pub pruned: Vec<PrunedLayer>,
    /// The same as dense matrices (what the golden model runs).
    pub qnet: QNet,
    /// Golden-model parameters.
    pub params: GoldenParams,
    /// Golden traces per layer.
    pub traces: Vec<LayerTrace>,
    /// Cycle-model parameters per layer.
    pub cycle_params: Vec<CycleParams>,
    /// Predicted cycles `[layer][t]`.
    pub cycles: Vec<Vec<u64>>,
    /// The overlapped schedule's shape, when the cycles come from
    /// [`crate::cycles::schedule_cycles`] (see [`Design::set_overlap`]); `None`: closed form.
    pub overlap: Option<OverlapShape>,
}

/// Seeded random float weights (docs/arithmetic.md §9.4): every weight U(-1, 1), every `bias_ih`,
/// `bias_hh` U(-0.5, 0.5), drawn from `Lcg::new(config.seed)` in the order: per layer
/// `weight_ih` (row-major), `weight_hh`, `bias_ih`, `bias_hh`.
pub fn random_float_net(resolved: &Resolved) -> FloatNet {
    let mut g = Lcg::new(resolved.config.seed);
    let layers = resolved
        .layers
        .iter()
        .map(|d| {
            let (i, h) = (d.input_size, d.hidden_size);
            let mut draw =
                |n: usize, a: f64| -> Vec<f64> { (0..n).map(|_| g.uniform_range(-a, a)).collect() };
            FloatLayer {
                input_size: i,
                hidden_size: h,
                weight_ih: draw(4 * h * i, 1.0),
                weight_hh: draw(4 * h * h, 1.0),
                bias_ih: draw(4 * h, 0.5),
                bias_hh: draw(4 * h, 0.5),
            }
        })
        .collect();
    FloatNet { layers }
}

/// Check a float net against the config: layer count, and every tensor's shape (by its
/// declared sizes and by its data length), naming the tensor and both shapes.
pub fn check_float_net(resolved: &Resolved, net: &FloatNet) -> Result<(), DesignError> {
    if net.layers.len() != resolved.layers.len() {
        return Err(DesignError::LayerCount {
            expected: resolved.layers.len(),
            got: net.layers.len(),
        });
    }
    for (l, (d, fl)) in resolved.layers.iter().zip(&net.layers).enumerate() {
        let (i, h) = (d.input_size, d.hidden_size);
        let declared_i = fl.input_size;
        let declared_h = fl.hidden_size;
        let tensors: [(&str, Vec<usize>, Vec<usize>, usize); 4] = [
            (
                "weight_ih",
                vec![4 * h, i],
                vec![4 * declared_h, declared_i],
                fl.weight_ih.len(),
            ),
            (
                "weight_hh",
                vec![4 * h, h],
                vec![4 * declared_h, declared_h],
                fl.weight_hh.len(),
            ),
            (
                "bias_ih",
                vec![4 * h],
                vec![4 * declared_h],
                fl.bias_ih.len(),
            ),
            (
                "bias_hh",
                vec![4 * h],
                vec![4 * declared_h],
                fl.bias_hh.len(),
            ),
        ];
        for (name, expected, declared, len) in tensors {
            let tensor = format!("{name}_l{l}");
            if declared != expected {
                return Err(DesignError::Shape {
                    tensor,
                    expected,
                    got: declared,
                });
            }
            if len != expected.iter().product::<usize>() {
                return Err(DesignError::Shape {
                    tensor,
                    expected,
                    got: vec![len],
                });
            }
        }
    }
    Ok(())
}

/// Quantize and CBTD-prune one float layer (docs/arithmetic.md §1, §5).
pub fn quantize_and_prune(
    l: usize,
    fl: &FloatLayer,
    d: &LayerDims,
    n: usize,
    r: &Resolved,
) -> Result<PrunedLayer, DesignError> {
    let hw = &r.config.hardware;
    let wx = quantize_weights(&format!("weight_ih_l{l}"), &fl.weight_ih, hw.wfrac)?;
    let wh = quantize_weights(&format!("weight_hh_l{l}"), &fl.weight_hh, hw.wfrac)?;
    let bias = quantize_biases(
        &format!("bias_ih_l{l}"),
        &fl.bias_ih,
        &format!("bias_hh_l{l}"),
        &fl.bias_hh,
        hw.wfrac,
        hw.bias_mode,
    )?;
    let rows = 4 * d.hidden_size;
    Ok(PrunedLayer {
        wx: cbtd(&wx, rows, d.input_size, n, d.k_x)?,
        wh: cbtd(&wh, rows, d.hidden_size, n, d.k_h)?,
        bias,
    })
}

impl Design {
    /// Prepare a design. `float`: weights (None ⇒ [`random_float_net`]); `inputs`: float
    /// frames `[T][I]` (None ⇒ the config's random-walk stimulus). Predicted cycles use the
    /// docs/arithmetic.md §6 reference `T_upd = 4H/N` until [`Design::set_t_upd`] is called.
    pub fn prepare(
        resolved: &Resolved,
        float: Option<FloatNet>,
        inputs: Option<Vec<Vec<f64>>>,
    ) -> Result<Design, DesignError> {
        let (float_net, weight_source) = match float {
            Some(net) => {
                check_float_net(resolved, &net)?;
                (net, WeightSource::Given)
            }
            None => (random_float_net(resolved), WeightSource::Random),
        };
        let i0 = resolved.i();
        let (x_float, input_source) = match inputs {
            Some(x) => {
                if x.is_empty() || x.len() > MAX_TIMESTEPS {
                    return Err(DesignError::Inputs(format!(
                        "{} time steps; must be in 1..={MAX_TIMESTEPS}",
                        x.len()
                    )));
                }
                if let Some((t, row)) = x.iter().enumerate().find(|(_, r)| r.len() != i0) {
                    return Err(DesignError::Inputs(format!(
                        "frame {t} has {} elements, model.input_size is {i0}",
                        row.len()
                    )));
                }
                (x, InputSource::Given)
            }
            None => (
                random_walk(&resolved.config.stimulus, i0, resolved.config.seed).x,
                InputSource::Random,
            ),
        };
        let x_q = quantize_inputs("inputs", &x_float)?;

        let n = resolved.n();
        let pruned = float_net
            .layers
            .iter()
            .zip(&resolved.layers)
            .enumerate()
            .map(|(l, (fl, d))| quantize_and_prune(l, fl, d, n, resolved))
            .collect::<Result<Vec<_>, _>>()?;
        let qnet = QNet {
            layers: pruned.iter().map(QLayer::from_pruned).collect(),
        };
        let params = GoldenParams::from_resolved(resolved);
        let traces = run(&qnet, &params, &x_q);
        let cycle_params: Vec<CycleParams> =
            resolved.layers.iter().map(CycleParams::reference).collect();
        let mut d = Design {
            resolved: resolved.clone(),
            float_net,
            weight_source,
            x_float,
            input_source,
            x_q,
            pruned,
            qnet,
            params,
            traces,
            cycle_params,
            cycles: Vec::new(),
            overlap: None,
        };
        d.recompute_cycles();
        Ok(d)
    }

    fn recompute_cycles(&mut self) {
        let theta_h = self.resolved.theta_h_q;
        let overlap = self.overlap;
        self.cycles = self
            .cycle_params
            .iter()
            .zip(&self.traces)
            .zip(&self.resolved.layers)
            .map(|((p, t), d)| match overlap {
                None => p.trace_cycles(t),
                Some(shape) => schedule_cycles(
                    p,
                    shape,
                    true,
                    d.input_size,
                    &t.nnz_x_arr,
                    &h_fire_units(t, theta_h),
                ),
            })
            .collect();
    }

    /// Predict the cycles of the overlapped schedule (`hardware.overlap`): the MAC arrays keep
    /// working during the gate phase, so a step's cycles depend on where its Δh fall
    /// ([`crate::cycles::schedule_cycles`]), not only on how many there are.
    pub fn set_overlap(&mut self, shape: OverlapShape) {
        self.overlap = Some(shape);
        self.recompute_cycles();
    }

    /// Replace `T_upd` of every layer with `t_upd(layer_index, dims)` (the hardware's real
    /// per-step overhead) and recompute the predicted cycles.
    pub fn set_t_upd(&mut self, t_upd: impl Fn(usize, &LayerDims) -> u64) {
        for (l, (p, d)) in self
            .cycle_params
            .iter_mut()
            .zip(&self.resolved.layers)
            .enumerate()
        {
            p.t_upd = t_upd(l, d);
        }
        self.recompute_cycles();
    }

    /// Time steps T.
    pub fn timesteps(&self) -> usize {
        self.x_q.len()
    }

    /// Expected h of the last layer `[T][H]`.
    pub fn output(&self) -> &[Vec<i16>] {
        &self.traces.last().expect("at least one layer").h
    }

    /// All memory images (names relative to `mem/`).
    pub fn images(&self) -> Vec<(String, String)> {
        pack_net(&self.pruned, self.resolved.a(), &self.params.lut)
    }

    /// Predicted total cycles of one layer.
    pub fn layer_total_cycles(&self, layer: usize) -> u64 {
        self.cycles[layer].iter().sum()
    }

    /// Predicted total cycles (all layers, all steps).
    pub fn total_cycles(&self) -> u64 {
        (0..self.cycles.len())
            .map(|l| self.layer_total_cycles(l))
            .sum()
    }

    /// Predicted cycles per step summed over layers `[t]`.
    pub fn step_cycles(&self) -> Vec<u64> {
        (0..self.timesteps())
            .map(|t| self.cycles.iter().map(|c| c[t]).sum())
            .collect()
    }

    /// Delta sparsity of a layer `(x, h)`: fraction of deltas that were zero.
    pub fn delta_sparsity(&self, layer: usize) -> (f64, f64) {
        let tr = &self.traces[layer];
        let d = &self.resolved.layers[layer];
        let t = self.timesteps() as f64;
        let nx: u64 = tr.nnz_x.iter().map(|&v| v as u64).sum();
        let nh: u64 = tr.nnz_h.iter().map(|&v| v as u64).sum();
        (
            1.0 - nx as f64 / (t * d.input_size as f64),
            1.0 - nh as f64 / (t * d.hidden_size as f64),
        )
    }

    /// Measured weight sparsity of a layer `(x, h)`: fraction of zero entries after pruning
    /// (≥ the CBTD ratio `1 - K/R`, since kept entries may be 0).
    pub fn weight_sparsity(&self, layer: usize) -> (f64, f64) {
        let p = &self.pruned[layer];
        let z = |m: &crate::prune::CbtdMatrix| 1.0 - m.nonzeros() as f64 / m.values.len() as f64;
        (z(&p.wx), z(&p.wh))
    }

    /// The report figures (docs/architecture.md §9) over the whole sequence and all layers.
    pub fn figures(&self) -> Figures {
        let r = &self.resolved;
        let ops: u64 = r.layers.iter().map(|d| d.ops_dense).sum();
        let mut useful = 0u64;
        for (p, tr) in self.cycle_params.iter().zip(&self.traces) {
            for (&nx, &nh) in tr.nnz_x.iter().zip(&tr.nnz_h) {
                useful += useful_macs(r.n(), p, nx as u64, nh as u64);
            }
        }
        figures(
            ops,
            (r.a() * r.n()) as u64,
            r.config.target.clock_mhz * 1e6,
            self.timesteps() as u64,
            self.total_cycles() as f64,
            useful as f64,
        )
    }
}
