//! SVG plots of the schedule and targets parts (plotters, SVG backend only).

use super::schedule::{variant, ScheduleReport};
use super::targets::TargetsReport;
use super::{color, pe, tick, LIGHT};
use anyhow::Result;
use plotters::prelude::*;
use std::path::Path;

/// MAC utilization (left) and cycles per step (right) over delta density: model curves per
/// variant, measured points as filled markers, the 0.9 goal as a dashed line.
pub fn schedule(path: &Path, r: &ScheduleReport) -> Result<()> {
    let root = SVGBackend::new(path, (1100, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let (left, right) = root.split_horizontally(550);
    let cmax = r
        .curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.cycles_per_step))
        .chain(r.measured.iter().filter_map(|p| p.measured_cycles_per_step))
        .fold(1.0, f64::max)
        * 1.1;
    for (panel, is_util) in [(&left, true), (&right, false)] {
        let (caption, ymax, desc) = if is_util {
            ("MAC utilization vs delta density", 1.05, "MAC utilization")
        } else {
            ("Cycles per step vs delta density", cmax, "cycles per step")
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.05, 0.0..ymax)
            .map_err(pe)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("nonzero deltas (fraction)")
            .y_desc(desc)
            .draw()
            .map_err(pe)?;
        if is_util {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, 0.9), (1.05, 0.9)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(pe)?
                .label("goal 0.9")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
        }
        for (i, c) in r.curves.iter().enumerate() {
            let col = color(i);
            let v: Vec<(f64, f64)> = c
                .points
                .iter()
                .map(|p| {
                    (
                        p.density,
                        if is_util {
                            p.mac_utilization
                        } else {
                            p.cycles_per_step
                        },
                    )
                })
                .collect();
            chart
                .draw_series(LineSeries::new(v, col.stroke_width(2)))
                .map_err(pe)?
                .label(format!("{} (model)", variant(&c.point)))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2))
                });
            let measured: Vec<(f64, f64)> = r
                .measured
                .iter()
                .filter(|m| m.point == c.point)
                .filter_map(|m| {
                    let (dx, dh) = (m.density_x?, m.density_h?);
                    let (i, h) = (m.point.input_size as f64, m.point.hidden_size as f64);
                    let d = (dx * i + dh * h) / (i + h);
                    let y = if is_util {
                        m.measured_mac_utilization?
                    } else {
                        m.measured_cycles_per_step?
                    };
                    Some((d, y))
                })
                .collect();
            chart
                .draw_series(measured.iter().map(|&p| Circle::new(p, 6, col.filled())))
                .map_err(pe)?;
        }
        chart
            .configure_series_labels()
            .position(if is_util {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperLeft
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(pe)?;
    }
    root.present().map_err(pe)?;
    Ok(())
}

/// Post-route Fmax per synthesis run (bars) against its goal (black tick); failed runs
/// have no bar.
pub fn targets(path: &Path, t: &TargetsReport) -> Result<()> {
    let n = t.entries.len().max(1);
    let root = SVGBackend::new(path, (960, 120 + 70 * n as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let xmax = t
        .entries
        .iter()
        .flat_map(|e| [e.fmax().unwrap_or(0.0), e.job.goal_mhz])
        .fold(10.0, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Post-route Fmax per target (bar) vs goal (black tick)",
            ("sans-serif", 17),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(330)
        .build_cartesian_2d(0.0..xmax, 0.0..n as f64)
        .map_err(pe)?;
    let labels: Vec<String> = t.entries.iter().map(|e| e.job.label.clone()).collect();
    chart
        .configure_mesh()
        .light_line_style(LIGHT)
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y: &f64| {
            let k = (n as f64 - y - 0.5).round();
            if ((n as f64 - y) - (k + 0.5)).abs() < 1e-6 && k >= 0.0 && (k as usize) < n {
                labels[k as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc("MHz")
        .draw()
        .map_err(pe)?;
    for (k, e) in t.entries.iter().enumerate() {
        let y0 = n as f64 - k as f64 - 0.8;
        let y1 = n as f64 - k as f64 - 0.2;
        let met = e.report.as_ref().is_some_and(|r| r.met);
        let col = if met { color(2) } else { color(3) };
        if let Some(f) = e.fmax() {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y0), (f, y1)],
                    col.filled(),
                )))
                .map_err(pe)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{f:.1}"),
                    (f + xmax * 0.01, (y0 + y1) / 2.0 + 0.12),
                    ("sans-serif", 13),
                )))
                .map_err(pe)?;
        } else {
            chart
                .draw_series(std::iter::once(Text::new(
                    "failed (see bench.md)".to_string(),
                    (xmax * 0.01, (y0 + y1) / 2.0 + 0.12),
                    ("sans-serif", 13),
                )))
                .map_err(pe)?;
        }
        let g = e.job.goal_mhz;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(g, y0 - 0.08), (g, y1 + 0.08)],
                BLACK.stroke_width(3),
            )))
            .map_err(pe)?;
    }
    root.present().map_err(pe)?;
    Ok(())
}
