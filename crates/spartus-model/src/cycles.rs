//! Cycle model (docs/arithmetic.md §6) and the report figures of docs/architecture.md §9.
//!
//! Per step t of one layer: `work_a(t) = K_x·nnz_x(a,t) + K_h·nnz_h(a,t)` for MAC array a,
//! `cycles(t) = max_a work_a(t) + T_upd`. The layers of a network run one after the other, so
//! the network's cycles per step are the sum over layers.
//!
//! `T_upd` (per-step overhead outside the MAC work) is a plain field of [`CycleParams`]. The
//! docs/arithmetic.md §6 reference value is [`reference_t_upd`] = `4H/N`; the generator replaces it with the
//! generated hardware's real overhead ([`hw_t_upd_lanes`] = `I + 2 + 4 + H/G + 14`: input,
//! flush, MAC overhead and gate phase; `hw_t_upd` in the gen crate) so that the model predicts
//! the Verilator cycle count. With `hardware.overlap` the arrays work during the input, flush
//! and gate phases too, and [`schedule_cycles`] simulates the issue engines cycle by cycle.

use crate::config::LayerDims;
use crate::golden::{delta_encode, LayerTrace};
use serde::Serialize;
use std::collections::VecDeque;

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

/// docs/arithmetic.md §6 reference `T_upd = 4H/N` (each PE streams its R accumulators through a pipelined
/// gate unit, one per cycle). The generated hardware's value is [`hw_t_upd`].
pub fn reference_t_upd(dims: &LayerDims) -> u64 {
    dims.rows_per_pe as u64
}

/// MAC-phase overhead of the generated hardware per step: first pop (1) + PE pipeline drain
/// (3). `spartus-hw` checks at compile time that its pipeline matches.
pub const HW_MAC_OVERHEAD: u64 = 4;
/// Gate-phase latency of the generated hardware after the last unit is issued: M read (1) +
/// gate pipeline (11) + hidden delta encoder (2). Checked at compile time by `spartus-hw`.
pub const HW_GATE_LATENCY: u64 = 14;
/// Cycles of the input flush phase after the last x element is accepted (the input delta
/// encoder's latency: the last Δx reach their queues). Checked at compile time by `spartus-hw`.
pub const HW_FLUSH_LEN: u64 = 2;

/// The generated hardware's per-step overhead with one gate lane (`hardware.gate_lanes = 1`,
/// the default): `I + 2 + 4 + H + 14`. Same as [`hw_t_upd_lanes`]`(input, hidden, 1)`.
pub fn hw_t_upd(input: usize, hidden: usize) -> u64 {
    hw_t_upd_lanes(input, hidden, 1)
}

/// The generated hardware's per-step overhead with G gate lanes:
/// `T_upd = I + HW_FLUSH_LEN + HW_MAC_OVERHEAD + H/G + HW_GATE_LATENCY` (docs/architecture.md
/// §5): the I cycles in which the layer accepts the elements of x_t (one per cycle; cycles
/// in which the x stream stalls are not counted), the input flush, the MAC phase's fixed
/// overhead, and the gate phase (G gate units each stream H/G units, one per cycle, in
/// parallel; G divides H because G divides N). Without `hardware.overlap` a step takes
/// `max_a work_a + T_upd` compute cycles; Verilator measures exactly this. Kept here (not only
/// in spartus-hw) so that rust-hdl-free code can predict the hardware's cycles.
pub fn hw_t_upd_lanes(input: usize, hidden: usize, lanes: usize) -> u64 {
    assert!(
        lanes > 0 && hidden.is_multiple_of(lanes),
        "gate lanes {lanes} must divide H = {hidden}"
    );
    input as u64 + HW_FLUSH_LEN + HW_MAC_OVERHEAD + (hidden / lanes) as u64 + HW_GATE_LATENCY
}

/// Shape of a layer for the overlapped-schedule model (`hardware.overlap = true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OverlapShape {
    /// A: MAC arrays (Δh column u goes to array u mod A).
    pub arrays: usize,
    /// G: gate lanes (unit u is read in gate cycle ⌊u/G⌋).
    pub lanes: usize,
    /// H.
    pub hidden: usize,
}

/// The issue engine and queue of one MAC array, cycle by cycle — a mirror of `spartus-hw`'s
/// `MacArray` (pop when running, the queue non-empty and no column in hand or its last weight
/// issuing; a column in hand waits while not running; 2 pipeline stages after the issue).
#[derive(Debug, Clone, Default)]
struct Engine {
    /// K of each queued column.
    queue: VecDeque<u64>,
    /// K of the column popped in the previous cycle.
    popped: Option<u64>,
    /// Weights left of the column in progress (0: none).
    cur_left: u64,
    av1: bool,
    av2: bool,
}

impl Engine {
    fn done(&self) -> bool {
        self.queue.is_empty()
            && self.popped.is_none()
            && self.cur_left == 0
            && !self.av1
            && !self.av2
    }

    fn cycle(&mut self, run: bool, push: Option<u64>) {
        let iv = self.popped.is_some() || self.cur_left > 0;
        let left = self.popped.unwrap_or(self.cur_left);
        let go = iv && run;
        let pop = run && !self.queue.is_empty() && (!iv || left == 1);
        self.av2 = self.av1;
        self.av1 = go;
        self.cur_left = match (go, iv) {
            (true, _) => left - 1,
            (false, true) => left,
            (false, false) => 0,
        };
        self.popped = if pop { self.queue.pop_front() } else { None };
        if let Some(k) = push {
            self.queue.push_back(k);
        }
    }
}

/// Cycles of every step of one layer on the generated hardware, simulated cycle by cycle from
/// the delta pattern (exact; [`CycleParams::step_cycles`] is its closed form without overlap).
///
/// Per step t the counted (compute) cycles are `I + HW_FLUSH_LEN + MAC + GATE`:
/// - IN + FLUSH, `input_size + HW_FLUSH_LEN` cycles (IN counts only the cycles in which an x
///   element is accepted; the hardware pauses its arrays on x-stream stall cycles, so the
///   schedule does not depend on stalls). With `overlap` the arrays run in these cycles but
///   pop only the Δh columns left from step t-1 (the Δx of step t join the queues behind them
///   and wait for MAC, so their arrival times inside IN do not matter); without, they are paused.
/// - MAC: the queues hold the Δh columns of step t-1 not yet multiplied and the Δx columns of
///   step t (`nnz_x_arr[t][a]`, each K_x cycles); it runs until every array is idle and lasts
///   at least `HW_MAC_OVERHEAD` cycles.
/// - GATE, `H/G + HW_GATE_LATENCY` cycles, during which the Δh column of unit u (`h_fire[t]`
///   lists the units whose Δh_t is nonzero) enters array u mod A's queue in gate cycle
///   ⌊u/G⌋ + `HW_GATE_LATENCY`. With `overlap` the arrays keep popping and issuing; without,
///   the Δh only wait.
///
/// Without `overlap` the result equals `max_a work_a + hw_t_upd_lanes(I, H, G)`.
pub fn schedule_cycles(
    p: &CycleParams,
    shape: OverlapShape,
    overlap: bool,
    input_size: usize,
    nnz_x_arr: &[Vec<u32>],
    h_fire: &[Vec<usize>],
) -> Vec<u64> {
    let (a_cnt, g) = (shape.arrays, shape.lanes);
    let gate_len = (shape.hidden / g) as u64 + HW_GATE_LATENCY;
    let in_len = input_size as u64 + HW_FLUSH_LEN;
    let mut eng = vec![Engine::default(); a_cnt];
    let mut out = Vec::with_capacity(nnz_x_arr.len());
    for (t, xs) in nnz_x_arr.iter().enumerate() {
        // IN / FLUSH: with overlap the Δh backlog drains (the queues hold only Δh here)
        for e in eng.iter_mut() {
            for _ in 0..in_len {
                e.cycle(overlap, None);
            }
        }
        // the Δx of step t, behind the backlog (poppable from the first MAC cycle)
        for (a, e) in eng.iter_mut().enumerate() {
            for _ in 0..xs.get(a).copied().unwrap_or(0) {
                e.queue.push_back(p.k_x);
            }
        }
        // MAC: until all arrays are done and at least HW_MAC_OVERHEAD cycles
        let mut mac = 0u64;
        loop {
            let all_done = eng.iter().all(Engine::done);
            for e in eng.iter_mut() {
                e.cycle(true, None);
            }
            mac += 1;
            if all_done && mac >= HW_MAC_OVERHEAD {
                break;
            }
        }
        // GATE: Δh_t arrive (one per lane and cycle, G ≤ A so to distinct arrays)
        let mut arrivals: Vec<Vec<Option<u64>>> = vec![vec![None; gate_len as usize]; a_cnt];
        if let Some(units) = h_fire.get(t) {
            for &u in units {
                let c = (u / g) as u64 + HW_GATE_LATENCY;
                debug_assert!(arrivals[u % a_cnt][c as usize].is_none());
                arrivals[u % a_cnt][c as usize] = Some(p.k_h);
            }
        }
        for (e, arr) in eng.iter_mut().zip(&arrivals) {
            for push in arr {
                e.cycle(overlap, *push);
            }
        }
        out.push(in_len + mac + gate_len);
    }
    out
}

/// Units whose Δh is nonzero after each step of a layer trace (Δh_t from h_t and ĥ, docs/arithmetic.md §3
/// step 2 with threshold `theta_h` in Q8.8): `[t][..]`, ascending.
pub fn h_fire_units(trace: &LayerTrace, theta_h: i32) -> Vec<Vec<usize>> {
    let hidden = trace.h.first().map_or(0, Vec::len);
    let mut hat = vec![0i16; hidden];
    trace
        .h
        .iter()
        .map(|h| {
            delta_encode(h, &mut hat, theta_h)
                .iter()
                .enumerate()
                .filter(|(_, d)| **d != 0)
                .map(|(u, _)| u)
                .collect()
        })
        .collect()
}

/// Columns `0..n` of which a fraction `density` fires, spread evenly over the A arrays and,
/// within array a (columns a, a+A, ...), over its column sequence: the m-th column of array a
/// fires when ⌊(m+1)·d + a/A⌋ > ⌊m·d + a/A⌋ (the phase a/A staggers the arrays).
pub fn spread_fires(n: usize, arrays: usize, density: f64) -> Vec<usize> {
    (0..n)
        .filter(|&j| {
            let (m, a) = ((j / arrays) as f64, (j % arrays) as f64 / arrays as f64);
            ((m + 1.0) * density + a).floor() > (m * density + a).floor()
        })
        .collect()
}

/// Expected cycles per step of the schedule when a fraction `density` of the x and h deltas
/// is nonzero ([`spread_fires`]): the steady-state step of [`schedule_cycles`] (third step of
/// a constant pattern). Returns (cycles, nnz_x, nnz_h) of that step.
pub fn expected_schedule_cycles(
    p: &CycleParams,
    shape: OverlapShape,
    overlap: bool,
    input_size: usize,
    density: f64,
) -> (u64, u64, u64) {
    let mut xs = vec![0u32; shape.arrays];
    let fx = spread_fires(input_size, shape.arrays, density);
    for &j in &fx {
        xs[j % shape.arrays] += 1;
    }
    let h = spread_fires(shape.hidden, shape.arrays, density);
    let nh = h.len() as u64;
    let steps = 3;
    let c = schedule_cycles(
        p,
        shape,
        overlap,
        input_size,
        &vec![xs; steps],
        &vec![h; steps],
    );
    (c[steps - 1], fx.len() as u64, nh)
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

    /// K_x, K_h from the layer and the docs/arithmetic.md §6 reference `T_upd = 4H/N`.
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

/// The figures every report carries (docs/architecture.md §9).
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
        // docs/arithmetic.md §9 step 0.
        assert_eq!(p.step_cycles(&[16], &[0]), 80);
        // Array 0: 4·3 + 2·4 = 20; array 1: 4·5 + 2·1 = 22 (the worst array counts).
        assert_eq!(p.step_cycles(&[3, 5], &[4, 1]), 16 + 22);
        assert_eq!(p.step_cycles(&[6, 5], &[4, 1]), 16 + 32);
        assert_eq!(p.step_cycles(&[0, 0], &[0, 0]), 16);
    }

    #[test]
    fn hw_t_upd_with_lanes() {
        // I + 2 (input, flush) + 4 (MAC overhead) + H/G + 14 (gate phase)
        assert_eq!(hw_t_upd(40, 1024), 40 + 2 + 4 + 1024 + 14);
        assert_eq!(hw_t_upd_lanes(40, 1024, 1), hw_t_upd(40, 1024));
        assert_eq!(hw_t_upd_lanes(40, 1024, 8), 40 + 2 + 4 + 128 + 14);
        assert_eq!(hw_t_upd_lanes(1, 12, 3), 1 + 2 + 4 + 4 + 14);
    }

    /// Without overlap the cycle-by-cycle schedule equals the closed form
    /// `max_a work_a + I + 2 + 4 + H/G + 14` on random patterns (different K_x, K_h; arrays without work).
    #[test]
    fn schedule_without_overlap_is_the_closed_form() {
        let mut s = 12345u64;
        let mut rnd = |n: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) % n
        };
        for (a_cnt, g, i, h, kx, kh) in [
            (1, 1, 1, 8, 2, 3),
            (3, 2, 5, 24, 3, 2),
            (8, 8, 40, 64, 4, 4),
        ] {
            let shape = OverlapShape {
                arrays: a_cnt,
                lanes: g,
                hidden: h,
            };
            let p = CycleParams {
                k_x: kx,
                k_h: kh,
                t_upd: hw_t_upd_lanes(i, h, g),
            };
            let steps = 40;
            let xs: Vec<Vec<u32>> = (0..steps)
                .map(|_| (0..a_cnt).map(|_| rnd(4) as u32).collect())
                .collect();
            let fire: Vec<Vec<usize>> = (0..steps)
                .map(|_| (0..h).filter(|_| rnd(3) == 0).collect())
                .collect();
            let got = schedule_cycles(&p, shape, false, i, &xs, &fire);
            for t in 0..steps {
                let mut nh = vec![0u32; a_cnt];
                if t > 0 {
                    for &u in &fire[t - 1] {
                        nh[u % a_cnt] += 1;
                    }
                }
                assert_eq!(got[t], p.step_cycles(&xs[t], &nh), "A={a_cnt} t={t}");
            }
            // overlap never costs more, and saves when there is Δh work
            let ov = schedule_cycles(&p, shape, true, i, &xs, &fire);
            assert!(ov.iter().zip(&got).all(|(o, n)| o <= n));
            assert!(ov.iter().sum::<u64>() < got.iter().sum::<u64>());
        }
    }

    /// Overlap, hand-computed: A = G = 1, I = 1, H = 4, K_h = 2, every unit fires at step 0.
    /// Step 0: IN + FLUSH 1 + 2, MAC 4 (nothing to do), gate 4 + 14 = 18 cycles (0..17); gate
    /// cycles 14..17 push one column each; the engine pops a column one cycle after it is
    /// visible and issues K_h = 2 cycles: pops at 15, 17 (issue 16-17, 18-...), so at the end
    /// one column is in hand (popped at 16) and two wait in the queue. Step 1: the 3 IN/FLUSH
    /// cycles issue the held column (2) and the first of the next (popped in the held one's
    /// last cycle); MAC issues its second weight, the last column (2) and drains in 3: 6.
    /// Without overlap step 1's MAC issues all 4 columns (8) + 4.
    #[test]
    fn schedule_with_overlap_by_hand() {
        let shape = OverlapShape {
            arrays: 1,
            lanes: 1,
            hidden: 4,
        };
        let p = CycleParams {
            k_x: 1,
            k_h: 2,
            t_upd: 0,
        };
        let xs = [vec![0], vec![0]];
        let fire = [vec![0, 1, 2, 3], vec![]];
        let c = schedule_cycles(&p, shape, true, 1, &xs, &fire);
        assert_eq!(c, vec![3 + 4 + 18, 3 + 6 + 18]);
        let n = schedule_cycles(&p, shape, false, 1, &xs, &fire);
        assert_eq!(n, vec![3 + 4 + 18, 3 + 8 + 4 + 18]);
        // a longer input phase drains the whole backlog before MAC: the 3 columns left (6
        // issue cycles from IN cycle 0: the held column issues at once, each next one is
        // popped in its predecessor's last cycle) and the pipeline (2) fit in I + 2 = 10
        // cycles, so MAC only lasts its 4 overhead cycles
        let c = schedule_cycles(&p, shape, true, 8, &xs, &fire);
        assert_eq!(c, vec![10 + 4 + 18, 10 + 4 + 18]);
    }

    #[test]
    fn spread_fires_balances_arrays() {
        let f = spread_fires(1024, 8, 0.5);
        assert_eq!(f.len(), 512);
        for a in 0..8 {
            assert_eq!(f.iter().filter(|&&u| u % 8 == a).count(), 64, "array {a}");
        }
        assert_eq!(spread_fires(40, 8, 1.0).len(), 40);
        assert!(spread_fires(40, 8, 0.0).is_empty());
        let f = spread_fires(1024, 8, 0.3);
        assert!((f.len() as i64 - 307).abs() <= 8, "{}", f.len());
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
