//! The schedule part of the bench: what gate lanes and the overlapped schedule buy on a
//! 1024-unit layer.
//!
//! Two kinds of numbers, kept apart in the report:
//! - **measured**: the variants of [`super::BenchOptions::schedule`] (default: the
//!   `spartus-1024` shape with G = 1, G = 8, G = 8 + overlap) are generated, built and replayed
//!   in Verilator like the scaling points (bit-exact; every step's cycles equal to the model);
//!   their cycles per step and MAC utilization come from the hardware's counters.
//! - **model curves**: the same variants over delta densities 10 … 100 %, from the rust-hdl
//!   free cycle model [`spartus_model::cycles::schedule_cycles`] on random delta patterns
//!   (every Δx and Δh independently nonzero with probability d, fixed seed). The measured points
//!   show that model and hardware agree cycle for cycle, so the curves extend the measurement
//!   to densities that would otherwise need one Verilator build each (Θ is a constant in the
//!   RTL).

use super::{opt_f, yes, ScalePoint, ScalingPoint};
use serde::{Deserialize, Serialize};
use spartus_model::cycles::{schedule_cycles, CycleParams, OverlapShape};
use std::fmt::Write as _;

/// Densities of the model curves.
pub const CURVE_DENSITIES: &[f64] = &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Steps of each random pattern (the first, warm-up step is left out of the average).
pub const CURVE_STEPS: usize = 41;
/// Seed of the random patterns of the model curves.
pub const CURVE_SEED: u64 = 2024;

/// One point of a model curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Probability that a delta is nonzero.
    pub density: f64,
    /// Mean cycles per step (steps 1..).
    pub cycles_per_step: f64,
    /// Useful MACs / (A·N·cycles).
    pub mac_utilization: f64,
}

/// The model curve of one hardware variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleCurve {
    /// The variant (shape, G, overlap).
    pub point: ScalePoint,
    /// Per density.
    pub points: Vec<CurvePoint>,
}

/// The schedule part of `bench.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleReport {
    /// T of the measured designs.
    pub timesteps: usize,
    /// Measured variants (Verilator).
    pub measured: Vec<ScalingPoint>,
    /// Model curves of the same variants.
    pub curves: Vec<ScheduleCurve>,
    /// Seed of the random patterns.
    pub curve_seed: u64,
}

/// Small deterministic generator for the random delta patterns (splitmix64).
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A random delta pattern: per step the nonzero Δx columns and Δh units (each nonzero with
/// probability `density`).
pub struct Pattern {
    /// Nonzero input columns j per step (ascending).
    pub x_fire: Vec<Vec<usize>>,
    /// Nonzero hidden units u per step (ascending).
    pub h_fire: Vec<Vec<usize>>,
}

/// Draw a [`Pattern`].
pub fn random_pattern(p: &ScalePoint, density: f64, steps: usize, seed: u64) -> Pattern {
    let mut rng = Rng(seed);
    let mut x_fire = Vec::with_capacity(steps);
    let mut h_fire = Vec::with_capacity(steps);
    for _ in 0..steps {
        x_fire.push((0..p.input_size).filter(|_| rng.unit() < density).collect());
        h_fire.push(
            (0..p.hidden_size)
                .filter(|_| rng.unit() < density)
                .collect(),
        );
    }
    Pattern { x_fire, h_fire }
}

/// Cycles of every step of `pat` on variant `p` (the hardware's exact schedule).
pub fn pattern_cycles(p: &ScalePoint, pat: &Pattern) -> Vec<u64> {
    let params = CycleParams {
        k_x: p.k as u64,
        k_h: p.k as u64,
        t_upd: spartus_model::cycles::hw_t_upd_lanes(p.input_size, p.hidden_size, p.lanes),
    };
    let shape = OverlapShape {
        arrays: p.arrays,
        lanes: p.lanes,
        hidden: p.hidden_size,
    };
    let nnz_x_arr: Vec<Vec<u32>> = pat
        .x_fire
        .iter()
        .map(|xs| {
            let mut v = vec![0u32; p.arrays];
            for &j in xs {
                v[j % p.arrays] += 1;
            }
            v
        })
        .collect();
    schedule_cycles(
        &params,
        shape,
        p.overlap,
        p.input_size,
        &nnz_x_arr,
        &pat.h_fire,
    )
}

/// The model curve of one variant.
pub fn model_curve(p: &ScalePoint, seed: u64) -> ScheduleCurve {
    let points = CURVE_DENSITIES
        .iter()
        .map(|&d| {
            let pat = random_pattern(p, d, CURVE_STEPS, seed);
            let cyc = pattern_cycles(p, &pat);
            let cycles: u64 = cyc[1..].iter().sum();
            let cols: usize = pat.x_fire[1..].iter().map(Vec::len).sum::<usize>()
                + pat.h_fire[1..].iter().map(Vec::len).sum::<usize>();
            // every PE performs K MACs per nonzero column of its array
            let useful = (p.pe_count * p.k * cols) as f64;
            let steps = (cyc.len() - 1) as f64;
            CurvePoint {
                density: d,
                cycles_per_step: cycles as f64 / steps,
                mac_utilization: useful / ((p.macs() as u64 * cycles) as f64),
            }
        })
        .collect();
    ScheduleCurve { point: *p, points }
}

/// Label of a variant: `G = 8 + overlap`.
pub fn variant(p: &ScalePoint) -> String {
    format!(
        "G = {}{}",
        p.lanes,
        if p.overlap { " + overlap" } else { "" }
    )
}

/// Dense-equivalent operations of one step, `2·4H·(I + H)` (docs/architecture.md §9).
pub fn dense_ops(p: &ScalePoint) -> f64 {
    (2 * 4 * p.hidden_size * (p.input_size + p.hidden_size)) as f64
}

/// Utilization at `density` on a curve (exact grid point), if present.
fn at(c: &ScheduleCurve, density: f64) -> Option<&CurvePoint> {
    c.points.iter().find(|q| (q.density - density).abs() < 1e-9)
}

/// The schedule section of `bench.md`.
pub fn markdown(s: &mut String, r: &ScheduleReport) {
    let shape = r
        .measured
        .first()
        .map(|p| p.point)
        .or_else(|| r.curves.first().map(|c| c.point));
    let Some(sh) = shape else {
        return;
    };
    let _ = writeln!(
        s,
        "## Gate lanes and the overlapped schedule (H = {}, I = {}, A = {}, N = {}, K = {} of R = {})\n",
        sh.hidden_size,
        sh.input_size,
        sh.arrays,
        sh.pe_count,
        sh.k,
        4 * sh.hidden_size / sh.pe_count.max(1)
    );
    let _ = writeln!(
        s,
        "**Measured in Verilator** (T = {} steps of the seeded random stimulus, Θx = Θh = 0.1; \
         bit-exact replay; cycles are the hardware's counters and equal the cycle model at \
         every step). MAC utilization = useful MACs N·K·(nnz_x + nnz_h) / (A·N·cycles); cycles \
         per step count every cycle of a step except those spent waiting for the x stream or \
         for the h consumer. Effective throughput = dense-equivalent ops 2·4H·(I + H) per \
         step / step time (Spartus reports ~1 µs per step and 9.4 TOp/s at 200 MHz).\n\n\
         | hardware | Verilog MB | Verilator build s | density x / h | cycles/step | µs/step @ 200 MHz | eff. TOp/s @ 200 MHz | MAC util. | vs G = 1 | bit-exact | cycles = model |\n\
         |---|---|---|---|---|---|---|---|---|---|---|",
        r.timesteps
    );
    let base = r
        .measured
        .iter()
        .find(|p| p.point.lanes == 1 && !p.point.overlap)
        .and_then(|p| p.measured_cycles_per_step);
    for p in &r.measured {
        let cps = p.measured_cycles_per_step;
        let _ = writeln!(
            s,
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            variant(&p.point),
            p.verilog_bytes as f64 / 1e6,
            opt_f(p.build_seconds, 0),
            match (p.density_x, p.density_h) {
                (Some(x), Some(h)) => format!("{:.0} % / {:.0} %", 100.0 * x, 100.0 * h),
                _ => "–".into(),
            },
            opt_f(cps, 1),
            opt_f(cps.map(|c| c / 200.0), 2),
            opt_f(cps.map(|c| dense_ops(&p.point) / (c / 200e6) / 1e12), 2),
            opt_f(p.measured_mac_utilization, 3),
            match (base, cps) {
                (Some(b), Some(c)) if c > 0.0 => format!("{:.2}x", b / c),
                _ => "–".into(),
            },
            p.bit_exact.map(yes).unwrap_or("–"),
            p.cycles_match.map(yes).unwrap_or("–"),
        );
    }
    for p in r.measured.iter().filter(|p| p.error.is_some()) {
        let _ = writeln!(
            s,
            "\n{} failed: {}",
            variant(&p.point),
            p.error.as_deref().unwrap_or("")
        );
    }
    if !r.curves.is_empty() {
        let _ = writeln!(
            s,
            "\n**Model over delta density** (`schedule_cycles`, the cycle-by-cycle model the \
             measured rows agree with; {} steps of random deltas, each nonzero with probability \
             d, seed {}): MAC utilization (cycles/step).\n",
            CURVE_STEPS - 1,
            r.curve_seed
        );
        let mut head = String::from("| hardware |");
        let mut rule = String::from("|---|");
        for d in CURVE_DENSITIES {
            let _ = write!(head, " {:.0} % |", 100.0 * d);
            rule.push_str("---|");
        }
        let _ = writeln!(s, "{head}\n{rule}");
        for c in &r.curves {
            let mut row = format!("| {} |", variant(&c.point));
            for d in CURVE_DENSITIES {
                match at(c, *d) {
                    Some(q) => {
                        let _ = write!(
                            row,
                            " {:.2} ({:.0}) |",
                            q.mac_utilization, q.cycles_per_step
                        );
                    }
                    None => row.push_str(" – |"),
                }
            }
            let _ = writeln!(s, "{row}");
        }
        let with = r.curves.iter().find(|c| c.point.overlap);
        let without = r
            .curves
            .iter()
            .find(|c| !c.point.overlap && with.is_some_and(|w| w.point.lanes == c.point.lanes));
        if let (Some(w), Some(wo)) = (with, without) {
            let gains: Vec<String> = [0.2, 0.3, 0.4]
                .iter()
                .filter_map(|d| {
                    let (a, b) = (at(wo, *d)?, at(w, *d)?);
                    Some(format!(
                        "{:.0} %: {:.0} → {:.0} cycles ({:.2}x)",
                        100.0 * d,
                        a.cycles_per_step,
                        b.cycles_per_step,
                        a.cycles_per_step / b.cycles_per_step
                    ))
                })
                .collect();
            let _ = writeln!(
                s,
                "\nGain of the overlap ({} vs {}): {}.",
                variant(&w.point),
                variant(&wo.point),
                gains.join("; ")
            );
        }
    }
    let _ = writeln!(s, "\nPlot: [schedule](bench_schedule.svg).\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lanes: usize, overlap: bool) -> ScalePoint {
        ScalePoint {
            input_size: 16,
            hidden_size: 64,
            pe_count: 8,
            arrays: 4,
            k: 2,
            lanes,
            overlap,
        }
    }

    #[test]
    fn dense_curve_matches_the_closed_form_without_overlap() {
        // At density 1 every column fires: the closed form max_a work_a + T_upd applies.
        let v = p(2, false);
        let c = model_curve(&v, 3);
        let last = c.points.last().unwrap();
        let work = |n: usize, a: usize| n.div_ceil(a) * v.k;
        let expect = (work(16, 4) + work(64, 4)) as f64
            + spartus_model::cycles::hw_t_upd_lanes(16, 64, 2) as f64;
        assert_eq!(last.cycles_per_step, expect);
        let useful = (v.pe_count * v.k * (16 + 64)) as f64;
        assert!((last.mac_utilization - useful / (32.0 * expect)).abs() < 1e-12);
    }

    #[test]
    fn overlap_never_costs_cycles_and_curves_are_deterministic() {
        for d in [0.1, 0.4, 1.0] {
            let pat = random_pattern(&p(4, false), d, 12, 9);
            let a = pattern_cycles(&p(4, false), &pat);
            let b = pattern_cycles(&p(4, true), &pat);
            for (x, y) in a.iter().zip(&b) {
                assert!(y <= x, "overlap {y} > {x} at d = {d}");
            }
        }
        assert_eq!(model_curve(&p(4, true), 5), model_curve(&p(4, true), 5));
        assert_ne!(
            random_pattern(&p(1, false), 0.5, 3, 1).h_fire,
            random_pattern(&p(1, false), 0.5, 3, 2).h_fire
        );
    }
}
