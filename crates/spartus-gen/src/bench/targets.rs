//! The targets part of the bench: Fmax and resources per FPGA target, from real Yosys +
//! nextpnr runs of the named configs (`gen synth` machinery, [`crate::synth`]).
//!
//! A run that does not fit or fails is a result too: the entry keeps the tool's error (e.g.
//! "ICESTORM_RAM 53 / 30") instead of a number, and the report says so. A timing miss is
//! reported as measured (the synthesis scripts run nextpnr with `--timing-allow-fail`).

use super::{opt_f, Progress};
use crate::board::{self, Board};
use crate::synth::{self, SynthOptions, SynthReport, Target};
use crate::vectors::VectorsOptions;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One synthesis run of the bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthJob {
    /// Short name for `--synth` (`up5k`, `ecp5-tiny`, `ecp5-85k`, `icebreaker`, `ulx3s`).
    pub key: String,
    /// What the row is called in the report.
    pub label: String,
    /// Config file.
    pub config: PathBuf,
    /// Target name (`ice40-up5k`, `ecp5-85k`, ...).
    pub target: String,
    /// Board top instead of the bare design (`icebreaker`, `ulx3s`).
    pub board: Option<String>,
    /// The Fmax goal (MHz); also the clock constraint given to nextpnr.
    pub goal_mhz: f64,
}

/// The full bench's jobs: the targets plus the loadable board tops. Paths are
/// relative to the working directory (the repository root for `scripts/bench.sh`).
pub fn default_jobs() -> Vec<SynthJob> {
    let job =
        |key: &str, label: &str, config: &str, target: &str, board: Option<&str>, goal: f64| {
            SynthJob {
                key: key.into(),
                label: label.into(),
                config: PathBuf::from(config),
                target: target.into(),
                board: board.map(str::to_string),
                goal_mhz: goal,
            }
        };
    vec![
        job(
            "up5k",
            "ice40-up5k: largest layer that fits",
            "configs/ice40-up5k.toml",
            "ice40-up5k",
            None,
            40.0,
        ),
        job(
            "ecp5-tiny",
            "ecp5-85k: tiny (I = 4, H = 8, N = 2)",
            "configs/tiny.toml",
            "ecp5-85k",
            None,
            125.0,
        ),
        job(
            "ecp5-85k",
            "ecp5-85k: H = 1024, I = 40, A·N = 128",
            "configs/ecp5-85k.toml",
            "ecp5-85k",
            None,
            125.0,
        ),
        job(
            "icebreaker",
            "iCEBreaker UART board top (tiny-board)",
            "configs/tiny-board.toml",
            "ice40-up5k",
            Some("icebreaker"),
            12.0,
        ),
        job(
            "ulx3s",
            "ULX3S UART board top (tiny-board)",
            "configs/tiny-board.toml",
            "ecp5-85k",
            Some("ulx3s"),
            25.0,
        ),
    ]
}

/// The jobs of [`default_jobs`] whose keys are listed (unknown keys are an error naming the
/// known ones).
pub fn select_jobs(keys: &[String]) -> Result<Vec<SynthJob>> {
    let all = default_jobs();
    keys.iter()
        .map(|k| {
            all.iter().find(|j| &j.key == k).cloned().ok_or_else(|| {
                anyhow::anyhow!(
                    "--synth {k:?}: unknown synthesis job; known: {}",
                    all.iter()
                        .map(|j| j.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

/// One row of the targets table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetEntry {
    /// The job.
    pub job: SynthJob,
    /// The synthesis report (None: failed, see `error`).
    pub report: Option<SynthReport>,
    /// Why there is no report (does not fit, tool error, missing config).
    pub error: Option<String>,
    /// Wall-clock seconds of generation + synthesis.
    pub seconds: f64,
}

impl TargetEntry {
    /// Lowest Fmax over the clocks.
    pub fn fmax(&self) -> Option<f64> {
        self.report
            .as_ref()
            .and_then(|r| r.fmax_mhz.values().copied().reduce(f64::min))
    }
}

/// The targets part of `bench.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsReport {
    /// The rows.
    pub entries: Vec<TargetEntry>,
}

fn run_job(job: &SynthJob, dir: &Path) -> Result<SynthReport> {
    let resolved = crate::load_config(&job.config)?;
    let target: Target = job.target.parse()?;
    crate::emit::write(&VectorsOptions {
        config: job.config.clone(),
        weights: None,
        inputs: None,
        out_dir: dir.to_path_buf(),
    })?;
    let design = dir.join(&resolved.config.name);
    match job.board.as_deref() {
        Some(b) => {
            let b: Board = b.parse()?;
            anyhow::ensure!(
                b.target() == target,
                "board {b} is on {}, not {}",
                b.target(),
                job.target
            );
            board::write_board(&design, &resolved.top_name, board::DEFAULT_BAUD)?;
            Ok(board::board_synth(
                &design,
                &resolved.top_name,
                b,
                Some(job.goal_mhz),
                1,
            )?)
        }
        None => Ok(synth::synth(
            &design,
            &resolved.top_name,
            target,
            &SynthOptions::new(job.goal_mhz),
        )?),
    }
}

/// Run every job (each in `<dir>/<config name>/`, a fresh folder per config).
pub(super) fn run(jobs: &[SynthJob], dir: &Path, progress: &Progress) -> Result<TargetsReport> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut entries = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        progress.line(format!(
            "synth {}/{}: {} ({} on {}{}), may take minutes",
            i + 1,
            jobs.len(),
            job.label,
            job.config.display(),
            job.target,
            job.board
                .as_deref()
                .map(|b| format!(", board {b}"))
                .unwrap_or_default()
        ));
        let t0 = Instant::now();
        let (report, error) = match run_job(job, dir) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(failure_summary(&format!("{e:#}"), dir, job))),
        };
        let e = TargetEntry {
            job: job.clone(),
            report,
            error,
            seconds: t0.elapsed().as_secs_f64(),
        };
        progress.line(format!(
            "synth {}/{}: {} in {:.0} s",
            i + 1,
            jobs.len(),
            match (e.fmax(), &e.error) {
                (Some(f), _) => format!("Fmax {f:.1} MHz (goal {:.0})", job.goal_mhz),
                (None, Some(err)) => format!("FAILED: {}", err.lines().next().unwrap_or("")),
                _ => "no Fmax".into(),
            },
            e.seconds
        ));
        entries.push(e);
    }
    Ok(TargetsReport { entries })
}

/// The tool's own words for a failed run: the first `ERROR:` line of the error (or its first
/// line), then every BEL type that nextpnr found over-subscribed ("DP16KD 298/208 (143 %)"),
/// read from the run's `nextpnr.log` when there is one.
fn failure_summary(err: &str, dir: &Path, job: &SynthJob) -> String {
    let first = err
        .lines()
        .find_map(|l| l.find("ERROR:").map(|i| l[i..].trim().to_string()))
        .unwrap_or_else(|| err.lines().next().unwrap_or("failed").to_string());
    let log = crate::load_config(&job.config).ok().map(|r| {
        let run = match &job.board {
            Some(b) => format!("{}-{b}", job.target),
            None => job.target.clone(),
        };
        dir.join(&r.config.name)
            .join("synth")
            .join(run)
            .join("nextpnr.log")
    });
    let over: Vec<String> = log
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|text| over_subscribed(&text))
        .unwrap_or_default();
    if over.is_empty() {
        first
    } else {
        format!("{first} (over: {})", over.join(", "))
    }
}

/// `Info:   DP16KD:  298/  208  143%` lines of a nextpnr log with more than 100 %.
fn over_subscribed(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("Info:")?.trim();
            let (bel, nums) = rest.split_once(':')?;
            let mut it = nums.split_whitespace();
            let used: u64 = it.next()?.trim_end_matches('/').parse().ok()?;
            let avail: u64 = it.next()?.parse().ok()?;
            (avail > 0 && used > avail).then(|| {
                format!(
                    "{} {used}/{avail} ({:.0} %)",
                    bel.trim(),
                    100.0 * used as f64 / avail as f64
                )
            })
        })
        .collect()
}

fn used(r: &SynthReport, bels: &[&str]) -> String {
    bels.iter()
        .find_map(|b| r.utilization.get(*b))
        .map(|u| format!("{} / {}", u.used, u.available))
        .unwrap_or_else(|| "0".into())
}

/// The targets section of `bench.md`.
pub fn markdown(s: &mut String, t: &TargetsReport) {
    let _ = writeln!(
        s,
        "## Fmax and resources per target (Yosys + nextpnr)\n\n\
         The clock constraint given to nextpnr is the goal; \"met\" means the post-route Fmax \
         reaches it. Bare designs are synthesized inside the 5-pin serial wrapper (the top has \
         more I/O bits than the packages have pins); board tops use the board's pins and clock.\n\n\
         | target | config | device | Fmax MHz | goal MHz | met | logic cells | BRAM | DSP | SPRAM | critical path | s |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for e in &t.entries {
        match &e.report {
            Some(r) => {
                let cp = r
                    .critical_paths
                    .first()
                    .map(|c| {
                        let ends = match (c.through.first(), c.through.last()) {
                            (Some(a), Some(b)) if a != b => format!(": `{a}` → `{b}`"),
                            (Some(a), _) => format!(": `{a}`"),
                            _ => String::new(),
                        };
                        format!("{:.2} ns, {} segments{ends}", c.delay_ns, c.segments)
                    })
                    .unwrap_or_else(|| "–".into());
                let _ = writeln!(
                    s,
                    "| {} | `{}` | {} {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {:.0} |",
                    e.job.label,
                    e.job.config.display(),
                    r.target,
                    r.package,
                    opt_f(e.fmax(), 1),
                    e.job.goal_mhz,
                    if r.met { "yes" } else { "**NO**" },
                    used(r, &["ICESTORM_LC", "TRELLIS_COMB"]),
                    used(r, &["ICESTORM_RAM", "DP16KD"]),
                    used(r, &["ICESTORM_DSP", "MULT18X18D"]),
                    used(r, &["ICESTORM_SPRAM"]),
                    cp,
                    e.seconds
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {} | `{}` | {} | – | {:.0} | **NO** | – | – | – | – | {} | {:.0} |",
                    e.job.label,
                    e.job.config.display(),
                    e.job.target,
                    e.job.goal_mhz,
                    e.error
                        .as_deref()
                        .unwrap_or("failed")
                        .lines()
                        .next()
                        .unwrap_or("")
                        .replace('|', "/"),
                    e.seconds
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\nPer-run details (every BEL, Yosys cell types, tool versions) are in bench.json and in \
         each design's `reports/synth.md`. Plot: [targets](bench_targets.svg).\n"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_subscribed_bels_from_a_nextpnr_log() {
        let log = "Info: Device utilisation:\n\
                   Info: \t          TRELLIS_IO:       5/    365     1%\n\
                   Info: \t              DP16KD:     298/    208   143%\n\
                   Info: \t        TRELLIS_COMB:   95340/  83640   113%\n\
                   ERROR: Unable to place cell 'x', no BELs remaining\n";
        assert_eq!(
            over_subscribed(log),
            vec!["DP16KD 298/208 (143 %)", "TRELLIS_COMB 95340/83640 (114 %)"]
        );
        assert!(over_subscribed("Info: DP16KD: 10/ 208 4%").is_empty());
    }

    #[test]
    fn jobs_are_selected_by_key() {
        let j = select_jobs(&["ulx3s".into(), "up5k".into()]).unwrap();
        assert_eq!(j[0].board.as_deref(), Some("ulx3s"));
        assert_eq!(j[1].target, "ice40-up5k");
        let e = select_jobs(&["nope".into()]).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("ecp5-tiny"), "{e}");
    }
}
