//! Accuracy vs weight sparsity and vs delta threshold, as a table and an SVG plot.
//!
//! Weight-sparsity sweep: for each γ (γ_x = γ_h) a full run (phase 1 with targeted dropout,
//! hard prune, phase 2 with the base config's Θ). Threshold sweep: the phase-1 model of the
//! base γ is reused and phase 2 is repeated for each Θ (Θx = Θh). Each point is evaluated at
//! Θ = 0 and at its Θ, float and golden. With several seeds every point is trained per seed.

use crate::data::Split;
use crate::pipeline::accel;
use crate::pipeline::PipelineError;
use crate::report::{default_hw_t_upd, eval_row, AccRow};
use crate::train::{fine_tune, train_dense, Prepared, Progress, TrainConfig};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One trained and evaluated sweep point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// `"gamma"` or `"theta"`.
    pub sweep: String,
    /// γ (both matrices).
    pub gamma: f64,
    /// Θ (both thresholds), on the Q8.8 grid.
    pub theta: f64,
    /// Seed.
    pub seed: u64,
    /// The fine-tuned model at Θ = 0.
    pub at_theta0: AccRow,
    /// The fine-tuned model at its Θ.
    pub at_theta: AccRow,
    /// Training seconds of this point (phase 2, plus phase 1 for the first point of a γ).
    pub seconds: f64,
}

/// A full sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Base training config.
    pub base: TrainConfig,
    /// γ values.
    pub gammas: Vec<f64>,
    /// Θ values.
    pub thetas: Vec<f64>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Input size I of the data (the hardware's T_upd depends on it).
    pub input_size: usize,
    /// All points.
    pub points: Vec<SweepPoint>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Run the sweep. `progress` is called with a one-line status after every point.
pub fn run_sweep(
    split: &Split,
    base: &TrainConfig,
    gammas: &[f64],
    thetas: &[f64],
    seeds: &[u64],
    mut progress: impl FnMut(&str),
) -> Result<Sweep, PipelineError> {
    let start = std::time::Instant::now();
    let data = Prepared::new(split, base.input_scale);
    let i = data.test.dims;
    let mut points = Vec::new();
    for &seed in seeds {
        for &g in gammas {
            let cfg = TrainConfig {
                gamma_x: g,
                gamma_h: g,
                seed,
                ..base.clone()
            };
            let d = train_dense(&data, &cfg, Progress::Hidden)?;
            // Distinct Θ to fine-tune for this γ, each with the sweeps it belongs to.
            let mut todo: Vec<(f64, Vec<&str>)> =
                vec![(TrainConfig::theta_q(base.theta_x), vec!["gamma"])];
            if g == base.gamma_x {
                for &t in thetas {
                    let tq = TrainConfig::theta_q(t);
                    match todo.iter_mut().find(|(x, _)| *x == tq) {
                        Some((_, kinds)) => kinds.push("theta"),
                        None => todo.push((tq, vec!["theta"])),
                    }
                }
            }
            let mut phase1_seconds = d.seconds;
            for (thq, kinds) in todo {
                let c = TrainConfig {
                    theta_x: thq,
                    theta_h: thq,
                    ..cfg.clone()
                };
                let f = fine_tune(&data, &d.params, &c, Progress::Hidden)?;
                let a0 = accel(&c, i, f.k_x, f.k_h, 0.0, 0.0);
                let a1 = accel(&c, i, f.k_x, f.k_h, thq, thq);
                let at_theta0 = eval_row("Θ=0", &f.params, &a0, &data.test, c.pool)?;
                let at_theta = eval_row("Θ", &f.params, &a1, &data.test, c.pool)?;
                let seconds = f.seconds + std::mem::take(&mut phase1_seconds);
                progress(&format!(
                    "{} γ={:.4} Θ={:.4} seed {}: float {:.2}% / golden {:.2}% (Θ=0: {:.2}% / {:.2}%), zero Δ {:.1}%, {:.1} cycles/step, {:.0} s",
                    kinds.join("+"),
                    g,
                    thq,
                    seed,
                    100.0 * at_theta.float.accuracy(),
                    100.0 * at_theta.golden.accuracy(),
                    100.0 * at_theta0.float.accuracy(),
                    100.0 * at_theta0.golden.accuracy(),
                    100.0 * at_theta.golden.sparsity_total(),
                    at_theta.golden.cycles_per_step(),
                    seconds,
                ));
                for kind in kinds {
                    points.push(SweepPoint {
                        sweep: kind.to_string(),
                        gamma: g,
                        theta: thq,
                        seed,
                        at_theta0: at_theta0.clone(),
                        at_theta: at_theta.clone(),
                        seconds,
                    });
                }
            }
        }
    }
    Ok(Sweep {
        base: base.clone(),
        gammas: gammas.to_vec(),
        thetas: thetas.iter().map(|&t| TrainConfig::theta_q(t)).collect(),
        seeds: seeds.to_vec(),
        input_size: i,
        points,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Mean, min and max of a figure over the seeds of one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    /// Mean.
    pub mean: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

fn agg(v: impl Iterator<Item = f64>) -> Agg {
    let v: Vec<f64> = v.collect();
    let n = v.len().max(1) as f64;
    Agg {
        mean: v.iter().sum::<f64>() / n,
        min: v.iter().copied().fold(f64::INFINITY, f64::min),
        max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// One aggregated row of a sweep table.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// γ.
    pub gamma: f64,
    /// Θ.
    pub theta: f64,
    /// K_x (= K_h).
    pub k: usize,
    /// Float accuracy at Θ = 0.
    pub float0: Agg,
    /// Golden accuracy at Θ = 0.
    pub golden0: Agg,
    /// Float accuracy at Θ.
    pub float: Agg,
    /// Golden accuracy at Θ.
    pub golden: Agg,
    /// Golden zero-Δx fraction at Θ.
    pub zero_dx: Agg,
    /// Golden zero-Δh fraction at Θ.
    pub zero_dh: Agg,
    /// Golden predicted cycles per step at Θ.
    pub cycles: Agg,
}

impl Sweep {
    /// Aggregated rows of one sweep (`"gamma"` or `"theta"`), in sweep order.
    pub fn rows(&self, kind: &str) -> Vec<SweepRow> {
        let keys: Vec<(f64, f64)> = match kind {
            "gamma" => self
                .gammas
                .iter()
                .map(|&g| (g, TrainConfig::theta_q(self.base.theta_x)))
                .collect(),
            _ => self
                .thetas
                .iter()
                .map(|&t| (self.base.gamma_x, t))
                .collect(),
        };
        keys.iter()
            .filter_map(|&(g, t)| {
                let pts: Vec<&SweepPoint> = self
                    .points
                    .iter()
                    .filter(|p| p.sweep == kind && p.gamma == g && p.theta == t)
                    .collect();
                let first = pts.first()?;
                Some(SweepRow {
                    gamma: g,
                    theta: t,
                    k: first.at_theta.k_x,
                    float0: agg(pts.iter().map(|p| p.at_theta0.float.accuracy())),
                    golden0: agg(pts.iter().map(|p| p.at_theta0.golden.accuracy())),
                    float: agg(pts.iter().map(|p| p.at_theta.float.accuracy())),
                    golden: agg(pts.iter().map(|p| p.at_theta.golden.accuracy())),
                    zero_dx: agg(pts.iter().map(|p| p.at_theta.golden.sparsity_x())),
                    zero_dh: agg(pts.iter().map(|p| p.at_theta.golden.sparsity_h())),
                    cycles: agg(pts.iter().map(|p| p.at_theta.golden.cycles_per_step())),
                })
            })
            .collect()
    }

    /// Markdown tables of both sweeps.
    pub fn markdown(&self) -> String {
        let pct = |a: Agg| {
            if self.seeds.len() > 1 {
                format!(
                    "{:.2} ({:.2}–{:.2})",
                    100.0 * a.mean,
                    100.0 * a.min,
                    100.0 * a.max
                )
            } else {
                format!("{:.2}", 100.0 * a.mean)
            }
        };
        let mut s = String::new();
        let b = &self.base;
        let _ = writeln!(
            s,
            "# Sweep: accuracy vs weight sparsity and vs delta threshold\n\nH={}, N={}, R={}, pool={:?}, \
             epochs {}+{}, QAT={}, seeds {:?}. Test-set accuracy in %; with several seeds: mean (min–max). \
             Golden = bit-exact integer model (int8 weights, Q8.8). Zero Δ and cycles/step from the \
             golden run at the row's Θ (docs/arithmetic.md §6 model, M_arr = 1), with the docs/arithmetic.md §6 reference \
             T_upd = R = {} and with the generated hardware's T_upd = {} (`spartus_model::cycles::hw_t_upd`, I + H + 19 when written).\n",
            b.hidden,
            b.pe_count,
            b.rows_per_pe(),
            b.pool,
            b.epochs_dense,
            b.epochs_ft,
            b.qat,
            self.seeds,
            b.rows_per_pe(),
            default_hw_t_upd(self.input_size, b.hidden)
        );
        let header = "| γ (W sparsity) | K | Θ | float Θ=0 | golden Θ=0 | float Θ | golden Θ | zero Δx % | zero Δh % | cycles/step (ref) | cycles/step (hw) |\n|---|---|---|---|---|---|---|---|---|---|---|";
        for (kind, title) in [
            ("gamma", "Accuracy vs weight sparsity"),
            ("theta", "Accuracy vs delta threshold Θ (= Θx = Θh)"),
        ] {
            let rows = self.rows(kind);
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(s, "## {title}\n\n{header}");
            for r in rows {
                let _ = writeln!(
                    s,
                    "| {:.2}% | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    100.0 * r.gamma,
                    r.k,
                    r.theta,
                    pct(r.float0),
                    pct(r.golden0),
                    pct(r.float),
                    pct(r.golden),
                    100.0 * r.zero_dx.mean,
                    100.0 * r.zero_dh.mean,
                    r.cycles.mean,
                    r.cycles.mean + default_hw_t_upd(self.input_size, b.hidden) as f64
                        - b.rows_per_pe() as f64
                );
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "Sweep wall time: {:.0} s on this machine.", self.seconds);
        s
    }

    /// Draw both sweeps side by side into an SVG file.
    pub fn plot_svg(&self, path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::new(path, (1100, 440)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(550);
        let series_style = [
            ("float, Θ=0", RGBColor(120, 120, 120)),
            ("float, Θ", BLUE),
            ("golden (int8/Q8.8), Θ", RED),
        ];

        // Left: accuracy vs weight sparsity, x = log2(1/(1-γ)) so 0, 75, 87.5, 93.75, 96.9 % are
        // evenly spaced.
        let g_rows = self.rows("gamma");
        if !g_rows.is_empty() {
            let xs: Vec<f64> = g_rows
                .iter()
                .map(|r| (1.0 / (1.0 - r.gamma)).log2())
                .collect();
            let x_max = xs.iter().copied().fold(0.0, f64::max).max(1.0);
            let y_min = g_rows
                .iter()
                .flat_map(|r| [r.float0.min, r.float.min, r.golden.min])
                .fold(1.0, f64::min);
            let y_lo = ((y_min * 100.0 - 5.0) / 5.0).floor() * 5.0;
            let mut chart = ChartBuilder::on(&left)
                .caption(
                    format!(
                        "Accuracy vs weight sparsity (Θ = {})",
                        TrainConfig::theta_q(self.base.theta_x)
                    ),
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(-0.2..x_max + 0.2, y_lo.max(0.0)..100.0)?;
            let labels: Vec<(f64, f64)> = xs
                .iter()
                .copied()
                .zip(g_rows.iter().map(|r| r.gamma))
                .collect();
            chart
                .configure_mesh()
                .x_desc("weight sparsity γ (log scale)")
                .y_desc("test accuracy %")
                .x_labels(xs.len() + 1)
                .x_label_formatter(&|x| {
                    labels
                        .iter()
                        .find(|(lx, _)| (lx - x).abs() < 0.05)
                        .map(|(_, g)| format!("{:.1}%", 100.0 * g))
                        .unwrap_or_default()
                })
                .draw()?;
            for (idx, (name, color)) in series_style.iter().enumerate() {
                let pts: Vec<(f64, f64)> = g_rows
                    .iter()
                    .zip(&xs)
                    .map(|(r, &x)| (x, 100.0 * [r.float0.mean, r.float.mean, r.golden.mean][idx]))
                    .collect();
                let c = *color;
                chart
                    .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
                    .label(*name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }

        // Right: accuracy and temporal sparsity vs Θ.
        let t_rows = self.rows("theta");
        if !t_rows.is_empty() {
            let x_max = t_rows.iter().map(|r| r.theta).fold(0.0, f64::max).max(0.01);
            let mut chart = ChartBuilder::on(&right)
                .caption(
                    format!(
                        "Accuracy and zero deltas vs Θ (γ = {:.2}%)",
                        100.0 * self.base.gamma_x
                    ),
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(-0.01..x_max * 1.05, 0.0..100.0)?;
            chart
                .configure_mesh()
                .x_desc("delta threshold Θx = Θh")
                .y_desc("%")
                .draw()?;
            let styles = [
                ("float acc, Θ", BLUE),
                ("golden acc, Θ", RED),
                ("zero Δx (golden)", GREEN),
                ("zero Δh (golden)", MAGENTA),
            ];
            for (idx, (name, color)) in styles.iter().enumerate() {
                let pts: Vec<(f64, f64)> = t_rows
                    .iter()
                    .map(|r| {
                        (
                            r.theta,
                            100.0
                                * [r.float.mean, r.golden.mean, r.zero_dx.mean, r.zero_dh.mean]
                                    [idx],
                        )
                    })
                    .collect();
                let c = *color;
                chart
                    .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
                    .label(*name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
        root.present()?;
        Ok(())
    }
}
