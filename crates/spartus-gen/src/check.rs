//! `gen check <config>`: print the resolved config and the figures derived from it, without
//! weights or simulation.
//!
//! Predicted cycles per step at a delta density d use the expected nonzero counts
//! `d·(columns of array a)` for x and h (docs/arithmetic.md §6 with `T_upd` from [`crate::hw_t_upd`]);
//! all layers run one after the other, so their cycles add up. With `hardware.overlap` the
//! cycles depend on where the Δh fall, so the rows come from the cycle-by-cycle schedule
//! ([`spartus_model::cycles::expected_schedule_cycles`]) with evenly spread deltas, and a
//! second column shows the same pattern without overlap.

use crate::hw_t_upd;
use spartus_model::config::Resolved;
use spartus_model::cycles::{expected_schedule_cycles, figures, CycleParams, Figures};
use spartus_model::pack::{
    bias_depth, index_bits, lut_depth, weight_depth, word_bits, word_hex_digits,
};
use std::fmt::Write;

/// Delta densities shown by `gen check`.
pub const DENSITIES: [f64; 4] = [1.0, 0.5, 0.3, 0.1];

/// Expected figures of the whole network at one delta density.
#[derive(Debug, Clone, PartialEq)]
pub struct DensityRow {
    /// Fraction of nonzero deltas (x and h).
    pub density: f64,
    /// Expected cycles per step, summed over layers.
    pub cycles_per_step: f64,
    /// With `hardware.overlap`: the same delta pattern without overlap.
    pub cycles_without_overlap: Option<f64>,
    /// Figures for one step at that cycle count.
    pub figures: Figures,
}

/// Cycle-model parameters of every layer, with the hardware's `T_upd`.
pub fn cycle_params(r: &Resolved) -> Vec<CycleParams> {
    r.layers
        .iter()
        .enumerate()
        .map(|(l, d)| CycleParams::new(d, hw_t_upd(r, l, d)))
        .collect()
}

/// Expected figures at a delta density.
pub fn density_row(r: &Resolved, density: f64) -> DensityRow {
    let params = cycle_params(r);
    let overlap = r.config.hardware.overlap;
    let (mut cycles, mut without, mut useful, mut ops) = (0.0, 0.0, 0.0, 0u64);
    for (d, p) in r.layers.iter().zip(&params) {
        if overlap {
            // the pattern's own counts (≈ density·I, density·H) for the useful MACs
            let shape = crate::overlap_shape(r);
            let (c, nx, nh) = expected_schedule_cycles(p, shape, true, d.input_size, density);
            cycles += c as f64;
            without += expected_schedule_cycles(p, shape, false, d.input_size, density).0 as f64;
            useful += (r.n() as u64 * (p.k_x * nx + p.k_h * nh)) as f64;
            ops += d.ops_dense;
            continue;
        }
        cycles += p.expected_step_cycles(d.input_size, d.hidden_size, r.a(), density);
        useful += r.n() as f64
            * density
            * (p.k_x as f64 * d.input_size as f64 + p.k_h as f64 * d.hidden_size as f64);
        ops += d.ops_dense;
    }
    let f = figures(
        ops,
        (r.a() * r.n()) as u64,
        r.config.target.clock_mhz * 1e6,
        1,
        cycles,
        useful,
    );
    DensityRow {
        density,
        cycles_per_step: cycles,
        cycles_without_overlap: overlap.then_some(without),
        figures: f,
    }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

/// The full `gen check` text.
pub fn report(r: &Resolved) -> String {
    let c = &r.config;
    let hw = &c.hardware;
    let mut s = String::new();
    let _ = writeln!(s, "# resolved config: {}", c.name);
    s.push_str(&c.to_toml());
    let _ = writeln!(s);
    let _ = writeln!(s, "# derived");
    let _ = writeln!(s, "top module            {}", r.top_name);
    let _ = writeln!(
        s,
        "MAC arrays x PEs      A = {} x N = {} = {} MACs",
        r.a(),
        r.n(),
        r.a() * r.n()
    );
    let _ = writeln!(
        s,
        "thresholds (Q8.8)     theta_x = {} LSB, theta_h = {} LSB",
        r.theta_x_q, r.theta_h_q
    );
    let _ = writeln!(
        s,
        "activation LUTs       lut_shift = {}, lut_frac = {}: {} entries x 16 bit per function",
        hw.lut_shift,
        hw.lut_frac,
        lut_depth(hw.lut_shift)
    );
    let params = cycle_params(r);
    for (l, (d, p)) in r.layers.iter().zip(&params).enumerate() {
        let ib = index_bits(d.rows_per_pe);
        debug_assert_eq!(ib, d.index_bits);
        let depth = weight_depth(d.input_size, d.hidden_size, r.a(), d.k_x, d.k_h);
        let _ = writeln!(s, "layer {l}: I = {}, H = {}", d.input_size, d.hidden_size);
        let _ = writeln!(s, "  rows per PE R       {}", d.rows_per_pe);
        let _ = writeln!(s, "  K_x / K_h           {} / {}", d.k_x, d.k_h);
        let _ = writeln!(
            s,
            "  weight sparsity     W_x {}, W_h {}",
            pct(d.sparsity_x),
            pct(d.sparsity_h)
        );
        let _ = writeln!(
            s,
            "  index bits IB       {} (weight word {} bits, {} hex digits)",
            ib,
            word_bits(ib),
            word_hex_digits(ib)
        );
        let _ = writeln!(
            s,
            "  weight memory / PE  {depth} words (ceil(I/A)·K_x + ceil(H/A)·K_h), {} PE memories",
            r.a() * r.n()
        );
        let _ = writeln!(
            s,
            "  bias memory / PE    4 banks x {} int32",
            bias_depth(d.hidden_size, r.n())
        );
        let _ = writeln!(s, "  ops_dense / step    {} (2·4H·(I+H))", d.ops_dense);
        let _ = writeln!(s, "  T_upd               {} cycles/step", p.t_upd);
    }
    let clk = c.target.clock_mhz;
    let peak = 2.0 * (r.a() * r.n()) as f64 * clk * 1e6;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "# predicted per step at {clk} MHz, all layers (expected nnz = density·I, density·H)"
    );
    let _ = writeln!(
        s,
        "peak throughput       {:.3} GOp/s (2·A·N·f_clk)",
        peak / 1e9
    );
    if hw.overlap {
        let _ = writeln!(
            s,
            "overlap: Δh MACs run during the gate phase and the next input phase; deltas spread \
             evenly; last column: cycles/step of the same pattern without overlap"
        );
    }
    let _ = writeln!(
        s,
        "{:>8} {:>12} {:>13} {:>14} {:>13} {:>9}{}",
        "density",
        "cycles/step",
        "latency [us]",
        "eff. [GOp/s]",
        "speedup/peak",
        "MAC util",
        if hw.overlap { "  w/o overlap" } else { "" }
    );
    for d in DENSITIES {
        let row = density_row(r, d);
        let f = &row.figures;
        let _ = writeln!(
            s,
            "{:>7.0}% {:>12.1} {:>13.3} {:>14.3} {:>13.3} {:>9.3}{}",
            100.0 * d,
            row.cycles_per_step,
            f.latency_per_step_s * 1e6,
            f.eff_ops_per_s / 1e9,
            f.speedup_over_peak,
            f.mac_utilization,
            row.cycles_without_overlap
                .map(|c| format!(" {c:>13.1}"))
                .unwrap_or_default()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use spartus_model::config::load_str;

    fn spartus_1024() -> Resolved {
        load_str(include_str!("../../../configs/spartus-1024.toml")).unwrap()
    }

    #[test]
    fn dense_row_of_spartus_1024() {
        let mut r = spartus_1024();
        r.config.hardware.overlap = false;
        let row = density_row(&r, 1.0);
        // 5 x columns and 128 h columns per array, K = 4, plus the hardware's T_upd.
        let t_upd = crate::hw_t_upd(&r, 0, &r.layers[0]);
        let cycles = (4 * 5 + 4 * 128 + t_upd) as f64;
        assert_eq!(row.cycles_per_step, cycles);
        let f = &row.figures;
        assert_eq!(f.ops_dense_per_step, 2 * 4 * 1024 * (40 + 1024));
        assert_eq!(f.peak_ops_per_s, 2.0 * 512.0 * 200e6);
        let useful = 64.0 * (4.0 * 40.0 + 4.0 * 1024.0);
        assert!((f.mac_utilization - useful / (512.0 * cycles)).abs() < 1e-12);
    }

    #[test]
    fn every_shipped_config_reports() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs");
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().and_then(|e| e.to_str()) == Some("toml") {
                let r = crate::load_config(&p).unwrap();
                let text = report(&r);
                assert!(text.contains(&r.top_name), "{}", p.display());
                // Denser deltas never take fewer cycles.
                let rows: Vec<f64> = DENSITIES
                    .iter()
                    .map(|&d| density_row(&r, d).cycles_per_step)
                    .collect();
                assert!(
                    rows.windows(2).all(|w| w[0] >= w[1]),
                    "{}: {rows:?}",
                    p.display()
                );
            }
        }
    }

    /// With overlap the rows come from the schedule: never more cycles than without, fewer
    /// when there is Δh work, and without overlap equal to the closed form with the
    /// evenly spread pattern's integer counts.
    #[test]
    fn overlap_rows_of_spartus_1024() {
        let r = spartus_1024();
        assert!(r.config.hardware.overlap);
        for d in DENSITIES {
            let row = density_row(&r, d);
            let w = row.cycles_without_overlap.unwrap();
            assert!(
                row.cycles_per_step < w,
                "{d}: {} vs {w}",
                row.cycles_per_step
            );
        }
        // dense: x work 5·4 + h work 128·4 per array, T_upd = I + 2 + 4 + H/G + 14 =
        // 40 + 2 + 4 + 128 + 14 = 188 (without overlap)
        let row = density_row(&r, 1.0);
        assert_eq!(row.cycles_without_overlap, Some((20 + 512 + 188) as f64));
        assert!(report(&r).contains("w/o overlap"));
    }

    #[test]
    fn report_mentions_the_figures() {
        let text = report(&spartus_1024());
        for needle in [
            "rows per PE R       64",
            "K_x / K_h           4 / 4",
            "93.75 %",
            "532 words",
            "peak throughput",
            "MAC util",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
