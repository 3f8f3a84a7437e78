//! Cycle model (SPEC §6) and the report figures of DESIGN.md.
//!
//! Per step t of one layer: `work_a(t) = K_x·nnz_x(a,t) + K_h·nnz_h(a,t)` for MAC array a,
//! `cycles(t) = max_a work_a(t) + T_upd`. The layers of a network run one after the other, so
//! the network's cycles per step are the sum over layers.
//!
//! `T_upd` (per-step gate/state update overhead) is a plain field of [`CycleParams`]. The
//! SPEC's reference value is [`reference_t_upd`] = `4H/N`; the generator replaces it with the
//! generated hardware's real overhead (`hw_t_upd` in the gen crate) so that the model predicts
//! the Verilator cycle count.

use crate::config::LayerDims;
use crate::golden::LayerTrace;
use serde::Serialize;

/// Cycle-model parameters of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CycleParams {
    /// Cycles per nonzero input delta column (kept W_x entries per column per PE).
    pub k_x: u64,
    /// Cycles per nonzero hidden delta column.
    pub k_h: u64,
    /// Fixed per-step overhead (gate/state update). **The hardware's real value goes here.**
    pub t_upd: u64,
}

/// SPEC §6 reference `T_upd = 4H/N` (each PE streams its R accumulators through a pipelined
/// gate unit, one per cycle). The generated hardware's value is [`hw_t_upd`].
pub fn reference_t_upd(dims: &LayerDims) -> u64 {
    dims.rows_per_pe as u64
}

/// MAC-phase overhead of the generated hardware per step: first pop (1) + PE pipeline drain
/// (3). `spartus-hw` checks at compile time that its pipeline matches.
pub const HW_MAC_OVERHEAD: u64 = 4;
/// Gate-phase latency of the generated hardware after the last unit is issued: M read (1) +
/// gate pipeline (10) + hidden delta encoder (2). Checked at compile time by `spartus-hw`.
pub const HW_GATE_LATENCY: u64 = 13;

/// The generated hardware's per-step overhead with one gate lane (`hardware.gate_lanes = 1`,
/// the default): `H + 17`. Same as [`hw_t_upd_lanes`]`(hidden, 1)`.
pub fn hw_t_upd(hidden: usize) -> u64 {
    hw_t_upd_lanes(hidden, 1)
}

/// The generated hardware's per-step overhead with G gate lanes:
/// `T_upd = HW_MAC_OVERHEAD + H/G + HW_GATE_LATENCY` = H/G + 17 (G gate units each stream H/G
/// units, one per cycle, in parallel; G divides H because G divides N). Verilator measures
/// exactly this; kept here (not only in spartus-hw) so that rust-hdl-free code can predict the
/// hardware's cycles.
pub fn hw_t_upd_lanes(hidden: usize, lanes: usize) -> u64 {
    assert!(
        lanes > 0 && hidden.is_multiple_of(lanes),
        "gate lanes {lanes} must divide H = {hidden}"
    );
    HW_MAC_OVERHEAD + (hidden / lanes) as u64 + HW_GATE_LATENCY
}

impl CycleParams {
    /// K_x, K_h from the layer and the given `t_upd`.
    pub fn new(dims: &LayerDims, t_upd: u64) -> Self {
        Self {
            k_x: dims.k_x as u64,
            k_h: dims.k_h as u64,
            t_upd,
        }
    }

    /// K_x, K_h from the layer and the SPEC's reference `T_upd = 4H/N`.
    pub fn reference(dims: &LayerDims) -> Self {
        Self::new(dims, reference_t_upd(dims))
    }

    /// Cycles of one step from the per-array nonzero delta counts.
    pub fn step_cycles(&self, nnz_x_arr: &[u32], nnz_h_arr: &[u32]) -> u64 {
        let arrays = nnz_x_arr.len().max(nnz_h_arr.len());
        let work = (0..arrays)
            .map(|a| {
                let nx = nnz_x_arr.get(a).copied().unwrap_or(0) as u64;
                let nh = nnz_h_arr.get(a).copied().unwrap_or(0) as u64;
                self.k_x * nx + self.k_h * nh
            })
            .max()
            .unwrap_or(0);
        work + self.t_upd
    }

    /// Cycles of every step of a layer trace.
    pub fn trace_cycles(&self, trace: &LayerTrace) -> Vec<u64> {
        trace
            .nnz_x_arr
            .iter()
            .zip(&trace.nnz_h_arr)
            .map(|(x, h)| self.step_cycles(x, h))
            .collect()
    }

    /// Expected cycles of one step when a fraction `density` of the deltas is nonzero, using
    /// expected counts `density·(columns of array a)` (a smooth estimate; the max over arrays
    /// of random counts is somewhat larger).
    pub fn expected_step_cycles(
        &self,
        input_size: usize,
        hidden_size: usize,
        arrays: usize,
        density: f64,
    ) -> f64 {
        let cols_of = |n: usize, a: usize| if a < n { (n - a).div_ceil(arrays) } else { 0 } as f64;
        (0..arrays)
            .map(|a| {
                density
                    * (self.k_x as f64 * cols_of(input_size, a)
                        + self.k_h as f64 * cols_of(hidden_size, a))
            })
            .fold(0.0, f64::max)
            + self.t_upd as f64
    }
}

/// Useful MACs of one step: every PE of an array performs K MACs per nonzero delta column,
/// `N·(K_x·nnz_x + K_h·nnz_h)`.
pub fn useful_macs(n: usize, p: &CycleParams, nnz_x: u64, nnz_h: u64) -> u64 {
    n as u64 * (p.k_x * nnz_x + p.k_h * nnz_h)
}

/// The figures every report carries (DESIGN.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Time steps.
    pub steps: u64,
    /// Dense-equivalent ops per step, `Σ_layers 2·4H·(I+H)`.
    pub ops_dense_per_step: u64,
    /// Total cycles.
    pub total_cycles: u64,
    /// Mean cycles per step.
    pub cycles_per_step: f64,
    /// Clock in Hz.
    pub clock_hz: f64,
    /// Latency per step in seconds.
    pub latency_per_step_s: f64,
    /// Peak throughput `2·A·N·f_clk` (op/s).
    pub peak_ops_per_s: f64,
    /// Effective throughput `T·ops_dense·f_clk / total_cycles` (op/s).
    pub eff_ops_per_s: f64,
    /// Effective / peak ("speedup over theoretical hardware performance").
    pub speedup_over_peak: f64,
    /// Useful MACs (`N·(K_x·nnz_x + K_h·nnz_h)` summed over steps and layers).
    pub useful_macs: f64,
    /// Useful MACs / (A·N·total_cycles).
    pub mac_utilization: f64,
}

/// Compute the report figures. `macs` = A·N; `useful_macs` may be fractional (expected).
pub fn figures(
    ops_dense_per_step: u64,
    macs: u64,
    clock_hz: f64,
    steps: u64,
    total_cycles: f64,
    useful_macs: f64,
) -> Figures {
    let cycles_per_step = if steps == 0 {
        0.0
    } else {
        total_cycles / steps as f64
    };
    let peak = 2.0 * macs as f64 * clock_hz;
    let eff = if total_cycles > 0.0 {
        steps as f64 * ops_dense_per_step as f64 * clock_hz / total_cycles
    } else {
        0.0
    };
    Figures {
        steps,
        ops_dense_per_step,
        total_cycles: total_cycles.round() as u64,
        cycles_per_step,
        clock_hz,
        latency_per_step_s: cycles_per_step / clock_hz,
        peak_ops_per_s: peak,
        eff_ops_per_s: eff,
        speedup_over_peak: if peak > 0.0 { eff / peak } else { 0.0 },
        useful_macs,
        mac_utilization: if total_cycles > 0.0 {
            useful_macs / (macs as f64 * total_cycles)
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_cycles_max_over_arrays() {
        let p = CycleParams {
            k_x: 4,
            k_h: 2,
            t_upd: 16,
        };
        // SPEC §9 step 0.
        assert_eq!(p.step_cycles(&[16], &[0]), 80);
        // Array 0: 4·3 + 2·4 = 20; array 1: 4·5 + 2·1 = 22 (the worst array counts).
        assert_eq!(p.step_cycles(&[3, 5], &[4, 1]), 16 + 22);
        assert_eq!(p.step_cycles(&[6, 5], &[4, 1]), 16 + 32);
        assert_eq!(p.step_cycles(&[0, 0], &[0, 0]), 16);
    }

    #[test]
    fn hw_t_upd_with_lanes() {
        assert_eq!(hw_t_upd(1024), 1024 + 17);
        assert_eq!(hw_t_upd_lanes(1024, 1), hw_t_upd(1024));
        assert_eq!(hw_t_upd_lanes(1024, 8), 128 + 17);
        assert_eq!(hw_t_upd_lanes(12, 3), 4 + 17);
    }

    #[test]
    fn expected_cycles_dense() {
        let p = CycleParams {
            k_x: 4,
            k_h: 4,
            t_upd: 64,
        };
        // I=40, H=1024, A=8: 5 x columns and 128 h columns per array.
        assert_eq!(
            p.expected_step_cycles(40, 1024, 8, 1.0),
            4.0 * 5.0 + 4.0 * 128.0 + 64.0
        );
        // A does not divide I: array 0 gets ceil.
        assert_eq!(
            p.expected_step_cycles(5, 4, 2, 1.0),
            4.0 * 3.0 + 4.0 * 2.0 + 64.0
        );
    }

    #[test]
    fn figures_definitions() {
        let f = figures(1000, 8, 1e8, 10, 500.0, 3000.0);
        assert_eq!(f.cycles_per_step, 50.0);
        assert_eq!(f.peak_ops_per_s, 1.6e9);
        assert_eq!(f.eff_ops_per_s, 10.0 * 1000.0 * 1e8 / 500.0);
        assert!((f.speedup_over_peak - 2e9 / 1.6e9).abs() < 1e-12);
        assert_eq!(f.mac_utilization, 3000.0 / 4000.0);
    }
}
