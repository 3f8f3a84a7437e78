//! `Accelerator`: the top level — stacked [`Layer`]s behind flat, clean ports.
//!
//! Ports (docs/interfaces.md): `clock`, `reset` (synchronous: zero the statistics and start a
//! sequence), `start_sequence` (1-cycle pulse: abandon the step in flight, clear x̂, ĥ, c and
//! reload M with the biases), x stream `in_valid/in_ready/in_data`, h stream of the last layer
//! `out_valid/out_ready/out_data`, and statistics `stat_cycles` (compute cycles, summed over
//! layers), `stat_deltas` (nonzero deltas consumed by the MAC arrays, all layers), `stat_steps` and `stat_step_cycles`
//! (last layer). Layer l's h stream is layer l+1's x stream.
//!
//! Latency and throughput per layer: see [`crate::layer`]; compute cycles per step and layer
//! are `max_a(K_x·nnz_x(a) + K_h·nnz_h(a)) + T_upd`, `T_upd = I + 2 + 4 + H/G + 14` without
//! `hardware.overlap` (`layer::t_upd_lanes`; the layer's I input cycles count).

use crate::layer::{Layer, LayerSpec};
use rust_hdl::prelude::*;

/// The accelerator.
#[derive(LogicBlock)]
pub struct Accelerator {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Start a new sequence.
    pub start_sequence: Signal<In, Bit>,
    /// x element valid.
    pub in_valid: Signal<In, Bit>,
    /// Ready for an x element.
    pub in_ready: Signal<Out, Bit>,
    /// x element (Q8.8).
    pub in_data: Signal<In, Signed<16>>,
    /// h element valid.
    pub out_valid: Signal<Out, Bit>,
    /// Consumer ready.
    pub out_ready: Signal<In, Bit>,
    /// h element (Q8.8).
    pub out_data: Signal<Out, Signed<16>>,
    /// Compute cycles since reset, all layers.
    pub stat_cycles: Signal<Out, Bits<32>>,
    /// Nonzero deltas consumed by the MAC arrays since reset, all layers (Σ nnz_x + nnz_h).
    pub stat_deltas: Signal<Out, Bits<32>>,
    /// Steps completed by the last layer.
    pub stat_steps: Signal<Out, Bits<32>>,
    /// Compute cycles of the last layer's last step.
    pub stat_step_cycles: Signal<Out, Bits<32>>,
    layers: Vec<Layer>,
    zero32: Constant<Bits<32>>,
}

impl Accelerator {
    /// Build the accelerator from layer specs (input layer first).
    pub fn new(layers: &[LayerSpec]) -> Self {
        assert!(!layers.is_empty());
        Self {
            clock: Default::default(),
            reset: Default::default(),
            start_sequence: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            in_data: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_data: Default::default(),
            stat_cycles: Default::default(),
            stat_deltas: Default::default(),
            stat_steps: Default::default(),
            stat_step_cycles: Default::default(),
            layers: layers.iter().map(Layer::new).collect(),
            zero32: Constant::new(0u64.into()),
        }
    }

    /// Layers (tests).
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
}

impl Logic for Accelerator {
    #[hdl_gen]
    fn update(&mut self) {
        for l in 0..self.layers.len() {
            self.layers[l].clock.next = self.clock.val();
            self.layers[l].restart.next = self.reset.val() | self.start_sequence.val();
            self.layers[l].reset_stats.next = self.reset.val();
        }
        self.layers[0].in_valid.next = self.in_valid.val();
        self.layers[0].in_data.next = self.in_data.val();
        self.layers[0].cyc_in.next = self.zero32.val();
        self.layers[0].dl_in.next = self.zero32.val();
        for l in 1..self.layers.len() {
            self.layers[l].in_valid.next = self.layers[l - 1].out_valid.val();
            self.layers[l].in_data.next = self.layers[l - 1].out_data.val();
            self.layers[l - 1].out_ready.next = self.layers[l].in_ready.val();
            self.layers[l].cyc_in.next = self.layers[l - 1].cyc_out.val();
            self.layers[l].dl_in.next = self.layers[l - 1].dl_out.val();
        }
        // the last layer drives the outputs (the last assignment wins)
        for l in 0..self.layers.len() {
            self.in_ready.next = self.layers[0].in_ready.val();
            self.out_valid.next = self.layers[l].out_valid.val();
            self.out_data.next = self.layers[l].out_data.val();
            self.layers[l].out_ready.next = self.out_ready.val();
            self.stat_cycles.next = self.layers[l].cyc_out.val();
            self.stat_deltas.next = self.layers[l].dl_out.val();
            self.stat_steps.next = self.layers[l].steps.val();
            self.stat_step_cycles.next = self.layers[l].step_cycles.val();
        }
        for l in 1..self.layers.len() {
            self.layers[l - 1].out_ready.next = self.layers[l].in_ready.val();
        }
    }
}

crate::impl_has_clock!(Accelerator);
