//! `bench`: the performance benchmark of the generated hardware and of the generator.
//!
//! Performance lives here, never in timed tests. Four parts, in the order of `bench.md`:
//!
//! - **Targets** ([`targets`]): the named configs through Yosys + nextpnr (Fmax against the
//!   goal, LUT/FF/BRAM/DSP/SPRAM used and available, critical path; a design that does not
//!   fit is a row with the tool's error). Full bench only (CI synthesizes in its own tests).
//! - **Schedule** ([`schedule`]): G = 1 / G = 8 / G = 8 + overlap on the `spartus-1024` shape
//!   built and replayed in Verilator (cycles per step, MAC utilization, gain), plus the
//!   cycle-model curves of the same variants over delta density.
//!
//! and the two below.
//!
//! 1. **Sparsity × density matrix through Verilator.** One base shape (default I = 16,
//!    H = 64, N = 8, A = 1 ⇒ R = 4H/N = 32 rows per PE) at five weight sparsities
//!    (K = R, R/4, R/8, R/16, R/32 ⇒ 0, 75, 87.5, 93.75, 96.875 %) and four delta densities
//!    (100, 50, 30, 10 %). The input density comes from the stimulus (`hold_prob = 1 − d`,
//!    Θx = 0); the hidden density from Θh, calibrated per point with the golden model to land
//!    near the target. Every point is generated with the normal machinery
//!    ([`crate::emit::write`], its own folder), replayed through the **emitted Verilog** in
//!    Verilator (bit-exact check included), and its measured cycles (`stat_step_cycles` of
//!    every step, `stat_cycles`, `stat_deltas`) are compared with the cycle model: they must be
//!    equal, and any difference is reported as a problem (the binary then exits non-zero).
//!    From the measured numbers: cycles per step, dense-equivalent ops per step, effective
//!    throughput at the config clock, speedup over the dense baseline (same shape, K = R,
//!    Θ = 0, `hold_prob` = 0, measured in the same run) next to the ideal `1/((1−s_w)·d)`
//!    (d = measured combined delta density), and MAC utilization
//!    `N·(K_x·nnz_x + K_h·nnz_h) / (A·N·cycles)`.
//!
//!    The thresholds are constants in the RTL (the delta encoders compare against a literal),
//!    so the Verilog depends on (weights, Θx, Θh), not on the weights alone. The bench builds
//!    once per *distinct* RTL (SHA-256 of the Verilog with the top name normalized, plus every
//!    memory image) and replays every vector set whose RTL is identical through that build with
//!    `+vectors=<dir>`.
//!
//! 2. **Generator scaling.** For A·N = 8, 32, 128, 512 (H = 1024, I = 40, K = 4): generation
//!    time and peak RSS of a `gen emit` child process (`wait4` rusage), Verilog size (bytes,
//!    lines, modules), and the Verilator build time (skipped above `max_build_macs`), plus a
//!    short replay that checks the build bit-exact and its cycles against the model.
//!
//! Outputs go to `<out_dir>/bench/`: `bench.json` (every raw number and the machine
//! description), `bench.md` (tables), the plots [`PLOTS`], and the design folders
//! (`synth/`, `schedule/`, `matrix/`, `scaling/`).
//! With [`BenchOptions::publish`] the tables and plots are also copied to that folder
//! (the repository's `reports/`).

use crate::artifacts::{sha256_hex, TOOL_VERSION};
use crate::vectors::VectorsOptions;
use crate::verilator::{self, BuildOptions, RunOptions, SimResult, TbBuild};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use spartus_model::design::Design;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub mod cli;
mod plots;
pub mod schedule;
pub mod targets;

/// Schema tag of `bench.json`.
pub const SCHEMA: &str = "spartus-gen-bench/1";

/// The bench builds every design with `-O0` C++ (simulations are short, so compile time
/// dominates): the same arguments `gen verify` uses for big designs.
pub use crate::verify::FAST_BUILD_ARGS;

/// Weight-sparsity points of the full matrix, as divisors of R: K = R / divisor.
pub const FULL_DIVISORS: &[usize] = &[1, 4, 8, 16, 32];
/// Delta-density targets of the full matrix.
pub const FULL_DENSITIES: &[f64] = &[1.0, 0.5, 0.3, 0.1];
/// Weight-sparsity points of `--quick` (0 % and 93.75 %).
pub const QUICK_DIVISORS: &[usize] = &[1, 16];
/// Density targets of `--quick`.
pub const QUICK_DENSITIES: &[f64] = &[1.0, 0.1];

/// The base shape of the sparsity × density matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixShape {
    /// I.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// N.
    pub pe_count: usize,
    /// A.
    pub arrays: usize,
    /// T of every vector set.
    pub timesteps: usize,
    /// Seed of weights and stimulus (the same for every point).
    pub seed: u64,
    /// Clock for the throughput figures (MHz).
    pub clock_mhz: f64,
}

impl Default for MatrixShape {
    /// I = 16, H = 64, N = 8, A = 1 (R = 32), T = 200, seed 1, 50 MHz.
    fn default() -> Self {
        Self {
            input_size: 16,
            hidden_size: 64,
            pe_count: 8,
            arrays: 1,
            timesteps: 200,
            seed: 1,
            clock_mhz: 50.0,
        }
    }
}

impl MatrixShape {
    /// R = 4H/N.
    pub fn rows_per_pe(&self) -> usize {
        4 * self.hidden_size / self.pe_count.max(1)
    }
}

/// One generator-scaling point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    /// I.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// N.
    pub pe_count: usize,
    /// A.
    pub arrays: usize,
    /// K_x = K_h.
    pub k: usize,
    /// G: gate lanes (`hardware.gate_lanes`).
    #[serde(default = "one")]
    pub lanes: usize,
    /// `hardware.overlap`.
    #[serde(default)]
    pub overlap: bool,
}

fn one() -> usize {
    1
}

impl ScalePoint {
    /// A·N.
    pub fn macs(&self) -> usize {
        self.arrays * self.pe_count
    }
}

/// The default scaling sweep: H = 1024, I = 40, K = 4, (N, A) = (8, 1), (32, 1), (64, 2),
/// (64, 8), i.e. A·N = 8, 32, 128, 512 (the last is the `spartus-1024` shape).
pub fn default_scaling() -> Vec<ScalePoint> {
    [(8, 1), (32, 1), (64, 2), (64, 8)]
        .into_iter()
        .map(|(pe_count, arrays)| ScalePoint {
            input_size: 40,
            hidden_size: 1024,
            pe_count,
            arrays,
            k: 4,
            lanes: 1,
            overlap: false,
        })
        .collect()
}

/// The `spartus-1024` shape (H = 1024, I = 40, A = 8, N = 64, K = 4) with G = 1, G = 8 and
/// G = 8 + overlap: the schedule variants of the full bench.
pub fn default_schedule() -> Vec<ScalePoint> {
    [(1, false), (8, false), (8, true)]
        .into_iter()
        .map(|(lanes, overlap)| ScalePoint {
            input_size: 40,
            hidden_size: 1024,
            pe_count: 64,
            arrays: 8,
            k: 4,
            lanes,
            overlap,
        })
        .collect()
}

/// The quick (CI) schedule variants: H = 64, I = 16, A = 4, N = 8, K = 2 of R = 32 with
/// G = 1, G = 4 and G = 4 + overlap (small builds).
pub fn quick_schedule() -> Vec<ScalePoint> {
    [(1, false), (4, false), (4, true)]
        .into_iter()
        .map(|(lanes, overlap)| ScalePoint {
            input_size: 16,
            hidden_size: 64,
            pe_count: 8,
            arrays: 4,
            k: 2,
            lanes,
            overlap,
        })
        .collect()
}

/// Everything the bench does.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Parent folder; results go to `<out_dir>/bench/`.
    pub out_dir: PathBuf,
    /// `"full"` or `"quick"` (recorded in the report).
    pub mode: String,
    /// Matrix base shape.
    pub shape: MatrixShape,
    /// Weight sparsities as divisors of R (K = R / divisor); each must divide R.
    pub divisors: Vec<usize>,
    /// Delta-density targets in (0, 1].
    pub densities: Vec<f64>,
    /// Scaling points.
    pub scaling: Vec<ScalePoint>,
    /// T of the scaling designs (kept short: the replay only checks the build).
    pub scaling_timesteps: usize,
    /// Generations per scaling point (the report gives the fastest, and every sample).
    pub gen_repeats: usize,
    /// Skip the matrix.
    pub skip_matrix: bool,
    /// Skip the scaling sweep.
    pub skip_scaling: bool,
    /// Schedule variants (gate lanes / overlap), measured in Verilator and modelled over
    /// density.
    pub schedule: Vec<ScalePoint>,
    /// Skip the schedule part.
    pub skip_schedule: bool,
    /// Synthesis runs (config, target, goal): the Fmax / resources per target table.
    pub synth: Vec<targets::SynthJob>,
    /// Skip the Verilator build (and replay) of scaling points with A·N above this.
    pub max_build_macs: usize,
    /// Extra Verilator arguments of every build (default [`FAST_BUILD_ARGS`]).
    pub verilator_args: Vec<String>,
    /// `-j` of the C++ builds.
    pub jobs: u32,
    /// The `gen` executable used for the scaling measurements (`gen emit` in a child process,
    /// so that peak RSS is the generator's own). None ⇒ generate in-process (no RSS figure).
    pub gen_exe: Option<PathBuf>,
    /// Also copy `bench.json`, `bench.md` and the plots to this folder.
    pub publish: Option<PathBuf>,
    /// Print progress lines to stderr.
    pub progress: bool,
}

impl BenchOptions {
    /// The full bench: 5 sparsities × 4 densities, the four scaling points, every build.
    pub fn full(out_dir: PathBuf) -> Self {
        Self {
            out_dir,
            mode: "full".into(),
            shape: MatrixShape::default(),
            divisors: FULL_DIVISORS.to_vec(),
            densities: FULL_DENSITIES.to_vec(),
            scaling: default_scaling(),
            scaling_timesteps: 20,
            gen_repeats: 3,
            skip_matrix: false,
            skip_scaling: false,
            schedule: default_schedule(),
            skip_schedule: false,
            synth: targets::default_jobs(),
            max_build_macs: 512,
            verilator_args: FAST_BUILD_ARGS.iter().map(|s| s.to_string()).collect(),
            jobs: 2,
            gen_exe: None,
            publish: None,
            progress: true,
        }
    }

    /// The CI subset (a few minutes): 2 sparsities × 2 densities (plus the dense baseline,
    /// which is one of them), scaling A·N = 8 and 32 with only the A·N = 8 build.
    pub fn quick(out_dir: PathBuf) -> Self {
        Self {
            mode: "quick".into(),
            divisors: QUICK_DIVISORS.to_vec(),
            densities: QUICK_DENSITIES.to_vec(),
            scaling: default_scaling().into_iter().take(2).collect(),
            max_build_macs: 8,
            gen_repeats: 1,
            schedule: quick_schedule(),
            synth: Vec::new(),
            ..Self::full(out_dir)
        }
    }

    /// `<out_dir>/bench`.
    pub fn bench_dir(&self) -> PathBuf {
        self.out_dir.join("bench")
    }
}

// ------------------------------------------------------------------------------------------
// Report types (bench.json)

/// The machine the bench ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical cores available to the process.
    pub cores: usize,
    /// `model name` of /proc/cpuinfo.
    pub cpu_model: Option<String>,
    /// MemTotal of /proc/meminfo (KiB).
    pub mem_total_kib: Option<u64>,
    /// PRETTY_NAME of /etc/os-release.
    pub os: Option<String>,
    /// Kernel release.
    pub kernel: Option<String>,
    /// 1/5/15-minute load average when the bench started (the machine is shared).
    pub load_avg_start: Option<[f64; 3]>,
    /// ... and when it ended.
    pub load_avg_end: Option<[f64; 3]>,
    /// `verilator --version`.
    pub verilator: Option<String>,
    /// `g++ --version` (first line).
    pub cxx: Option<String>,
    /// `make --version` (first line).
    pub make: Option<String>,
    /// `rustc --version` on PATH.
    pub rustc: Option<String>,
}

/// One Verilator build of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// Folder the build lives in (`<dir>/sim/obj/tb`).
    pub dir: PathBuf,
    /// SHA-256 of the Verilog (top name normalized) and every memory image.
    pub rtl_key: String,
    /// K_x = K_h.
    pub k: usize,
    /// Θx in Q8.8.
    pub theta_x_q: i32,
    /// Θh in Q8.8.
    pub theta_h_q: i32,
    /// Wall-clock seconds of the build.
    pub seconds: f64,
    /// Points replayed through it.
    pub points: Vec<String>,
}

/// One Θh probe of the calibration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Θh in Q8.8 LSBs.
    pub theta_h_q: i32,
    /// Hidden delta density the golden model gives with it.
    pub density_h: f64,
}

/// One point of the sparsity × density matrix, every number measured unless named `model`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixPoint {
    /// `k<K>_d<percent>`.
    pub id: String,
    /// Its design folder.
    pub dir: PathBuf,
    /// The dense baseline (K = R, Θ = 0, hold 0).
    pub is_baseline: bool,
    /// Part of the requested matrix (false only for a baseline added on its own).
    pub in_matrix: bool,
    /// K_x = K_h.
    pub k: usize,
    /// R.
    pub rows_per_pe: usize,
    /// 1 − K/R.
    pub weight_sparsity: f64,
    /// Fraction of zero entries in the pruned W_x, W_h (≥ 1 − K/R: kept entries may be 0).
    pub weight_zeros: [f64; 2],
    /// The density asked for (nominal: never used in a figure).
    pub target_density: f64,
    /// Stimulus hold probability (1 − target).
    pub hold_prob: f64,
    /// Θx (Q8.8).
    pub theta_x_q: i32,
    /// Θh (Q8.8), from the calibration.
    pub theta_h_q: i32,
    /// Calibration probes (Θh → golden hidden density).
    pub calibration: Vec<Probe>,
    /// T.
    pub timesteps: u64,
    /// Σ nnz_x / (T·I) of the vector set.
    pub density_x: f64,
    /// Σ nnz_h / (T·H) of the vector set.
    pub density_h: f64,
    /// `stat_deltas / (T·(I+H))`: the hardware's count of consumed deltas.
    pub density: f64,
    /// Build folder used (shared with other points when the RTL is identical).
    pub build_dir: PathBuf,
    /// This point's vector set was replayed through a build made for another point.
    pub build_reused: bool,
    /// Testbench verdict: every h bit-exact, all outputs, no protocol error.
    pub bit_exact: bool,
    /// Wall-clock seconds of the replay.
    pub sim_seconds: f64,
    /// Cycles of the whole run (I/O included, no stalls).
    pub wall_cycles: u64,
    /// `stat_cycles` (compute cycles, all steps).
    pub stat_cycles: u64,
    /// `stat_deltas`.
    pub stat_deltas: u64,
    /// `stat_steps`.
    pub stat_steps: u64,
    /// `stat_step_cycles` of every step.
    pub step_cycles: Vec<u64>,
    /// Cycle model of every step.
    pub model_step_cycles: Vec<u64>,
    /// Cycle model total.
    pub model_total_cycles: u64,
    /// Golden Σ (nnz_x + nnz_h).
    pub model_deltas: u64,
    /// Every step, `stat_cycles` and `stat_deltas` equal the model.
    pub cycles_match: bool,
    /// Measured compute cycles per step (`stat_cycles / T`).
    pub cycles_per_step: f64,
    /// Model cycles per step.
    pub model_cycles_per_step: f64,
    /// `T_upd` of the hardware (`spartus_hw::layer::t_upd(I, H)`).
    pub t_upd: u64,
    /// Dense-equivalent ops per step `2·4H·(I+H)`.
    pub ops_dense_per_step: u64,
    /// Effective throughput at the config clock (op/s).
    pub eff_ops_per_s: f64,
    /// Effective / peak (`2·A·N·f`).
    pub speedup_over_peak: f64,
    /// Baseline cycles per step / this point's.
    pub speedup_vs_dense: f64,
    /// `1 / ((1 − s_w)·d)` with d = [`MatrixPoint::density`].
    pub speedup_ideal: f64,
    /// The most any point of this shape can reach: baseline cycles per step / T_upd.
    pub speedup_ceiling_t_upd: f64,
    /// `N·(K_x·Σnnz_x + K_h·Σnnz_h)`.
    pub useful_macs: u64,
    /// `useful_macs / (A·N·stat_cycles)`.
    pub mac_utilization: f64,
    /// `T·T_upd / stat_cycles`: share of the compute cycles spent outside the MAC arrays.
    pub t_upd_share: f64,
}

/// The matrix part of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixReport {
    /// Base shape.
    pub shape: MatrixShape,
    /// R.
    pub rows_per_pe: usize,
    /// T_upd of the hardware.
    pub t_upd: u64,
    /// `2·4H·(I+H)`.
    pub ops_dense_per_step: u64,
    /// `2·A·N·f` (op/s).
    pub peak_ops_per_s: f64,
    /// Id of the dense baseline point.
    pub baseline: String,
    /// Its measured cycles per step.
    pub baseline_cycles_per_step: f64,
    /// The Verilator builds.
    pub builds: Vec<BuildRecord>,
    /// The points (baseline first).
    pub points: Vec<MatrixPoint>,
}

/// One generator-scaling measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPoint {
    /// The point.
    pub point: ScalePoint,
    /// A·N.
    pub macs: usize,
    /// R.
    pub rows_per_pe: usize,
    /// Design folder.
    pub dir: PathBuf,
    /// How generation was measured: `"child"` (`gen emit` process, wait4 rusage) or
    /// `"in-process"`.
    pub gen_method: String,
    /// Wall-clock seconds of the whole generation (config → written folder), fastest sample.
    pub gen_seconds: f64,
    /// Every sample of `gen_seconds`.
    #[serde(default)]
    pub gen_seconds_samples: Vec<f64>,
    /// Seconds of the rust-hdl build + Verilog emission alone (from gen's summary), fastest
    /// sample.
    pub rtl_seconds: Option<f64>,
    /// Peak RSS of the generator (KiB), largest sample.
    pub peak_rss_kib: Option<u64>,
    /// Bytes of Verilog.
    pub verilog_bytes: u64,
    /// Lines of Verilog.
    pub verilog_lines: u64,
    /// `module` declarations.
    pub verilog_modules: u64,
    /// Memory images.
    pub mem_files: u64,
    /// Their bytes.
    pub mem_bytes: u64,
    /// Model cycles per step of the design's vectors.
    pub model_cycles_per_step: Option<f64>,
    /// Model MAC utilization of the design's vectors.
    pub model_mac_utilization: Option<f64>,
    /// Verilator build seconds (None: skipped or failed).
    pub build_seconds: Option<f64>,
    /// Why the build was skipped.
    pub build_skipped: Option<String>,
    /// Replay seconds.
    pub sim_seconds: Option<f64>,
    /// Replay bit-exact.
    pub bit_exact: Option<bool>,
    /// Replay cycles (every step, total, deltas) equal to the model.
    pub cycles_match: Option<bool>,
    /// Fraction of nonzero Δx in the replayed vectors (golden model).
    #[serde(default)]
    pub density_x: Option<f64>,
    /// Fraction of nonzero Δh.
    #[serde(default)]
    pub density_h: Option<f64>,
    /// Cycles per step measured by the hardware (`stat_cycles / T`).
    #[serde(default)]
    pub measured_cycles_per_step: Option<f64>,
    /// Useful MACs / (A·N·measured cycles).
    #[serde(default)]
    pub measured_mac_utilization: Option<f64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// The scaling part of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingReport {
    /// T of the designs.
    pub timesteps: usize,
    /// Builds above this A·N were skipped.
    pub max_build_macs: usize,
    /// The points.
    pub points: Vec<ScalingPoint>,
}

/// `bench.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// [`SCHEMA`].
    pub schema: String,
    /// Generator version.
    pub tool: String,
    /// `full` / `quick`.
    pub mode: String,
    /// Start time (Unix seconds).
    pub started_unix: u64,
    /// Wall-clock seconds of the whole bench.
    pub wall_seconds: f64,
    /// Where it ran.
    pub machine: Machine,
    /// Extra Verilator arguments of every build.
    pub verilator_args: Vec<String>,
    /// Matrix (None: skipped).
    pub matrix: Option<MatrixReport>,
    /// Scaling (None: skipped).
    pub scaling: Option<ScalingReport>,
    /// Gate lanes / overlap (None: skipped).
    #[serde(default)]
    pub schedule: Option<schedule::ScheduleReport>,
    /// Synthesis per target (None: skipped or no jobs).
    #[serde(default)]
    pub targets: Option<targets::TargetsReport>,
    /// Every disagreement (cycles ≠ model, not bit-exact, failed builds). Empty ⇒ all good.
    pub problems: Vec<String>,
}

/// What [`run`] wrote.
#[derive(Debug, Clone)]
pub struct BenchOutput {
    /// The report.
    pub report: BenchReport,
    /// `<out_dir>/bench`.
    pub dir: PathBuf,
    /// Files written to `dir` (and copied to the publish folder).
    pub files: Vec<PathBuf>,
}

// ------------------------------------------------------------------------------------------
// Progress

struct Progress {
    on: bool,
    t0: Instant,
}

impl Progress {
    fn line(&self, msg: impl AsRef<str>) {
        if self.on {
            eprintln!(
                "[bench {:>7.1} s] {}",
                self.t0.elapsed().as_secs_f64(),
                msg.as_ref()
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// The whole bench

/// Run the bench and write its outputs (see the module doc). Returns `Err` only when the
/// bench itself cannot run (tools missing, bad options, a failed matrix build); cycle or
/// bit-exactness disagreements are listed in [`BenchReport::problems`].
pub fn run(opts: &BenchOptions) -> Result<BenchOutput> {
    validate(opts)?;
    let t0 = Instant::now();
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let progress = Progress {
        on: opts.progress,
        t0,
    };
    let dir = opts.bench_dir();
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut machine = machine_info();
    progress.line(format!(
        "{} bench in {} ({} cores, load {:?}, {})",
        opts.mode,
        dir.display(),
        machine.cores,
        machine.load_avg_start.unwrap_or_default(),
        machine.verilator.as_deref().unwrap_or("verilator ?")
    ));
    let mut problems = Vec::new();
    let matrix = if opts.skip_matrix {
        None
    } else {
        Some(run_matrix(
            opts,
            &dir.join("matrix"),
            &progress,
            &mut problems,
        )?)
    };
    let scaling = if opts.skip_scaling {
        None
    } else {
        Some(run_scaling(
            opts,
            &dir.join("scaling"),
            &progress,
            &mut problems,
        )?)
    };
    let schedule = if opts.skip_schedule || opts.schedule.is_empty() {
        None
    } else {
        let measured = measure_points(
            opts,
            &opts.schedule,
            &dir.join("schedule"),
            "schedule",
            usize::MAX,
            &progress,
            &mut problems,
        )?;
        progress.line("schedule: model curves over delta density");
        Some(schedule::ScheduleReport {
            timesteps: opts.scaling_timesteps,
            measured,
            curves: opts
                .schedule
                .iter()
                .map(|p| schedule::model_curve(p, schedule::CURVE_SEED))
                .collect(),
            curve_seed: schedule::CURVE_SEED,
        })
    };
    let targets = if opts.synth.is_empty() {
        None
    } else {
        let t = targets::run(&opts.synth, &dir.join("synth"), &progress)?;
        for e in &t.entries {
            if let Some(err) = &e.error {
                problems.push(format!(
                    "synth {}: {}",
                    e.job.label,
                    err.lines().next().unwrap_or("")
                ));
            }
        }
        Some(t)
    };
    machine.load_avg_end = load_avg();
    let report = BenchReport {
        schema: SCHEMA.into(),
        tool: TOOL_VERSION.into(),
        mode: opts.mode.clone(),
        started_unix,
        wall_seconds: t0.elapsed().as_secs_f64(),
        machine,
        verilator_args: opts.verilator_args.clone(),
        matrix,
        scaling,
        schedule,
        targets,
        problems,
    };
    let files = write_outputs(&report, &dir)?;
    if let Some(p) = &opts.publish {
        publish(&files, p)?;
        progress.line(format!("published to {}", p.display()));
    }
    progress.line(format!(
        "done in {:.1} s: {}",
        report.wall_seconds,
        if report.problems.is_empty() {
            "no problems".to_string()
        } else {
            format!("{} problem(s)", report.problems.len())
        }
    ));
    Ok(BenchOutput { report, dir, files })
}

fn validate(opts: &BenchOptions) -> Result<()> {
    let s = &opts.shape;
    if s.pe_count == 0 || !s.hidden_size.is_multiple_of(s.pe_count) {
        bail!(
            "bench shape: pe_count = {} must divide hidden_size = {}",
            s.pe_count,
            s.hidden_size
        );
    }
    let r = s.rows_per_pe();
    for &d in &opts.divisors {
        if d == 0 || !r.is_multiple_of(d) {
            bail!("sparsity divisor {d} must divide R = 4H/N = {r} (K = R/{d} must be a whole number ≥ 1)");
        }
    }
    for &d in &opts.densities {
        if !(d > 0.0 && d <= 1.0) {
            bail!("density {d} must be in (0, 1]");
        }
    }
    if opts.scaling_timesteps == 0 {
        bail!("scaling timesteps must be ≥ 1");
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Matrix

/// Config text of one matrix point.
fn matrix_config(name: &str, s: &MatrixShape, k: usize, hold: f64, theta_h_q: i32) -> String {
    format!(
        "# written by the spartus-gen bench\n\
         name = \"{name}\"\nseed = {}\n\n[model]\ninput_size = {}\nhidden_size = {}\n\n\
         [sparsity]\nk_x = {k}\nk_h = {k}\ntheta_x = 0.0\ntheta_h = {:?}\n\n\
         [hardware]\npe_count = {}\narrays = {}\n\n[target]\nclock_mhz = {:?}\n\n\
         [stimulus]\ntimesteps = {}\nhold_prob = {:?}\n",
        s.seed,
        s.input_size,
        s.hidden_size,
        theta_h_q as f64 / 256.0,
        s.pe_count,
        s.arrays,
        s.clock_mhz,
        s.timesteps,
        hold
    )
}

fn prepare_point(s: &MatrixShape, k: usize, hold: f64, theta_h_q: i32) -> Result<Design> {
    let text = matrix_config("bench_probe", s, k, hold, theta_h_q);
    let resolved =
        spartus_model::config::load_str(&text).context("bench: invalid generated config")?;
    crate::prepare_design(&resolved, None, None)
}

fn hidden_density(d: &Design) -> f64 {
    1.0 - d.delta_sparsity(0).1
}

/// Θh (Q8.8) whose golden hidden density is closest to `target` (bisection over 0..=1024
/// LSB on the, in practice, non-increasing density; every probe is recorded).
fn calibrate(s: &MatrixShape, k: usize, hold: f64, target: f64) -> Result<(i32, Vec<Probe>)> {
    let mut probes: Vec<Probe> = Vec::new();
    let mut eval = |q: i32| -> Result<f64> {
        if let Some(p) = probes.iter().find(|p| p.theta_h_q == q) {
            return Ok(p.density_h);
        }
        let d = hidden_density(&prepare_point(s, k, hold, q)?);
        probes.push(Probe {
            theta_h_q: q,
            density_h: d,
        });
        Ok(d)
    };
    if target >= 1.0 || eval(0)? <= target {
        eval(0)?;
        return Ok((0, probes));
    }
    let (mut lo, mut hi) = (0i32, 1024i32);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if eval(mid)? > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let best = probes
        .iter()
        .min_by(|a, b| {
            (a.density_h - target)
                .abs()
                .total_cmp(&(b.density_h - target).abs())
                .then(a.theta_h_q.cmp(&b.theta_h_q))
        })
        .expect("probes")
        .theta_h_q;
    probes.sort_by_key(|p| p.theta_h_q);
    Ok((best, probes))
}

/// SHA-256 over the Verilog (top name and config name normalized) and every memory image.
fn rtl_key(dir: &Path, top: &str, name: &str) -> Result<String> {
    let rtl = fs::read_to_string(dir.join("rtl").join(format!("{top}.v")))
        .with_context(|| format!("cannot read the RTL of {}", dir.display()))?;
    let mut bytes = rtl.replace(top, "TOP").replace(name, "NAME").into_bytes();
    let mut mems: Vec<PathBuf> = fs::read_dir(dir.join("mem"))
        .with_context(|| format!("cannot list {}/mem", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    mems.sort();
    for m in mems {
        bytes.extend_from_slice(m.file_name().unwrap_or_default().as_encoded_bytes());
        bytes.push(0);
        bytes.extend(fs::read(&m).with_context(|| format!("cannot read {}", m.display()))?);
        bytes.push(0);
    }
    Ok(sha256_hex(&bytes))
}

struct Cell {
    id: String,
    k: usize,
    target: f64,
    is_baseline: bool,
    in_matrix: bool,
}

/// `0.875` → `87.5`, `1.0` → `100`, `0.96875` → `96.88`.
fn pct(x: f64) -> String {
    let s = format!("{:.2}", 100.0 * x);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn run_matrix(
    opts: &BenchOptions,
    dir: &Path,
    progress: &Progress,
    problems: &mut Vec<String>,
) -> Result<MatrixReport> {
    let s = &opts.shape;
    let r = s.rows_per_pe();
    let cell = |k: usize, target: f64, in_matrix: bool| Cell {
        id: format!("k{k}_d{}", pct(target)),
        k,
        target,
        is_baseline: k == r && target >= 1.0,
        in_matrix,
    };
    let mut cells = vec![cell(r, 1.0, false)];
    for &div in &opts.divisors {
        for &d in &opts.densities {
            let c = cell(r / div, d, true);
            if let Some(existing) = cells.iter_mut().find(|e| e.id == c.id) {
                existing.in_matrix = true;
            } else {
                cells.push(c);
            }
        }
    }
    let configs = dir.join("configs");
    fs::create_dir_all(&configs).with_context(|| format!("cannot create {}", configs.display()))?;
    let t_upd = spartus_hw::layer::t_upd(s.input_size, s.hidden_size);
    let ops_dense = 8 * (s.hidden_size * (s.input_size + s.hidden_size)) as u64;
    let clock_hz = s.clock_mhz * 1e6;
    let macs = (s.arrays * s.pe_count) as u64;
    let peak = 2.0 * macs as f64 * clock_hz;
    let mut builds: Vec<(BuildRecord, TbBuild)> = Vec::new();
    let mut points = Vec::new();
    let n_cells = cells.len();
    for (ci, c) in cells.iter().enumerate() {
        let hold = ((1.0 - c.target) * 1e6).round() / 1e6;
        let (theta_h_q, calibration) = calibrate(s, c.k, hold, c.target)?;
        let name = format!("bench_{}", c.id);
        let cfg_path = configs.join(format!("{}.toml", c.id));
        fs::write(&cfg_path, matrix_config(&name, s, c.k, hold, theta_h_q))
            .with_context(|| format!("cannot write {}", cfg_path.display()))?;
        let vopts = VectorsOptions {
            config: cfg_path,
            weights: None,
            inputs: None,
            out_dir: dir.to_path_buf(),
        };
        let (design, dest, _stats) = crate::emit::write(&vopts)?;
        let dest = dest
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dest.display()))?;
        let top = design.resolved.top_name.clone();
        let key = rtl_key(&dest, &top, &name)?;
        let (bi, reused) = match builds.iter().position(|(b, _)| b.rtl_key == key) {
            Some(i) => (i, true),
            None => {
                progress.line(format!(
                    "matrix {}/{n_cells} {}: K = {} ({} % weight sparsity), Θh = {theta_h_q} LSB: building",
                    ci + 1,
                    c.id,
                    c.k,
                    pct(1.0 - c.k as f64 / r as f64)
                ));
                let b = verilator::build_tb(
                    &dest,
                    &top,
                    &BuildOptions {
                        jobs: opts.jobs,
                        extra_args: opts.verilator_args.clone(),
                        ..Default::default()
                    },
                )
                .with_context(|| format!("Verilator build of {}", dest.display()))?;
                builds.push((
                    BuildRecord {
                        dir: dest.clone(),
                        rtl_key: key.clone(),
                        k: c.k,
                        theta_x_q: design.resolved.theta_x_q,
                        theta_h_q: design.resolved.theta_h_q,
                        seconds: b.seconds,
                        points: Vec::new(),
                    },
                    b,
                ));
                (builds.len() - 1, false)
            }
        };
        builds[bi].0.points.push(c.id.clone());
        let (brec, bexe) = (&builds[bi].0, &builds[bi].1);
        let t_steps = design.timesteps() as u64;
        let model_total = design.total_cycles();
        let run = RunOptions {
            vectors: dest.join("vectors"),
            seed: 1,
            in_gap: 0.0,
            out_stall: 0.0,
            max_cycles: 10
                * (model_total + t_steps * (s.input_size + s.hidden_size) as u64 + t_steps * 64)
                + 10_000,
            result: dest.join("sim").join("bench_result.txt"),
            // The protocol checks are `gen verify`'s job; the bench measures.
            extra_plusargs: vec!["+check_comb=0".into()],
        };
        let sim = verilator::run_tb(&brec.dir, &bexe.exe, &run)
            .with_context(|| format!("testbench run of {}", dest.display()))?;
        let p = matrix_point(c, &design, &dest, brec, reused, &sim, calibration, t_upd);
        for m in point_problems(&p, &sim) {
            problems.push(format!("matrix {}: {m}", p.id));
        }
        progress.line(format!(
            "matrix {}/{n_cells} {}: d = {:.3} (x {:.3}, h {:.3}), {:.1} cycles/step (model {:.1}){}{}",
            ci + 1,
            p.id,
            p.density,
            p.density_x,
            p.density_h,
            p.cycles_per_step,
            p.model_cycles_per_step,
            if p.cycles_match { ", equal" } else { ", DIFFERENT" },
            if reused { ", reused build" } else { "" }
        ));
        points.push(p);
    }
    let base = points
        .iter()
        .find(|p| p.is_baseline)
        .expect("the baseline is the first cell")
        .clone();
    for p in &mut points {
        p.speedup_vs_dense = base.cycles_per_step / p.cycles_per_step;
        p.speedup_ceiling_t_upd = base.cycles_per_step / t_upd as f64;
        p.eff_ops_per_s = ops_dense as f64 * clock_hz / p.cycles_per_step;
        p.speedup_over_peak = p.eff_ops_per_s / peak;
    }
    Ok(MatrixReport {
        shape: s.clone(),
        rows_per_pe: r,
        t_upd,
        ops_dense_per_step: ops_dense,
        peak_ops_per_s: peak,
        baseline: base.id.clone(),
        baseline_cycles_per_step: base.cycles_per_step,
        builds: builds.into_iter().map(|(b, _)| b).collect(),
        points,
    })
}

#[allow(clippy::too_many_arguments)]
fn matrix_point(
    c: &Cell,
    design: &Design,
    dest: &Path,
    build: &BuildRecord,
    reused: bool,
    sim: &SimResult,
    calibration: Vec<Probe>,
    t_upd: u64,
) -> MatrixPoint {
    let r = &design.resolved;
    let dims = &r.layers[0];
    let tr = &design.traces[0];
    let t = design.timesteps() as u64;
    let (i, h) = (dims.input_size as u64, dims.hidden_size as u64);
    let nx: u64 = tr.nnz_x.iter().map(|&v| v as u64).sum();
    let nh: u64 = tr.nnz_h.iter().map(|&v| v as u64).sum();
    let model_steps = design.cycles[0].clone();
    let step_cycles: Vec<u64> = sim
        .steps
        .iter()
        .map(|s| s.compute_cycles.unwrap_or(u64::MAX))
        .collect();
    let model_total = design.total_cycles();
    let cycles_match = step_cycles == model_steps
        && sim.stat_cycles == model_total
        && sim.stat_deltas == nx + nh
        && sim.stat_steps == t;
    let useful = r.n() as u64 * (dims.k_x as u64 * nx + dims.k_h as u64 * nh);
    let cps = sim.stat_cycles as f64 / t as f64;
    let density = sim.stat_deltas as f64 / (t * (i + h)) as f64;
    let ws = 1.0 - dims.k_x as f64 / dims.rows_per_pe as f64;
    let (zx, zh) = design.weight_sparsity(0);
    MatrixPoint {
        id: c.id.clone(),
        dir: dest.to_path_buf(),
        is_baseline: c.is_baseline,
        in_matrix: c.in_matrix,
        k: dims.k_x,
        rows_per_pe: dims.rows_per_pe,
        weight_sparsity: ws,
        weight_zeros: [zx, zh],
        target_density: c.target,
        hold_prob: r.config.stimulus.hold_prob,
        theta_x_q: r.theta_x_q,
        theta_h_q: r.theta_h_q,
        calibration,
        timesteps: t,
        density_x: nx as f64 / (t * i) as f64,
        density_h: nh as f64 / (t * h) as f64,
        density,
        build_dir: build.dir.clone(),
        build_reused: reused,
        bit_exact: sim.passed(),
        sim_seconds: sim.seconds,
        wall_cycles: sim.cycles,
        stat_cycles: sim.stat_cycles,
        stat_deltas: sim.stat_deltas,
        stat_steps: sim.stat_steps,
        step_cycles,
        model_step_cycles: model_steps,
        model_total_cycles: model_total,
        model_deltas: nx + nh,
        cycles_match,
        cycles_per_step: cps,
        model_cycles_per_step: model_total as f64 / t as f64,
        t_upd,
        ops_dense_per_step: dims.ops_dense,
        eff_ops_per_s: 0.0,
        speedup_over_peak: 0.0,
        speedup_vs_dense: 0.0,
        speedup_ideal: if density > 0.0 {
            1.0 / ((1.0 - ws) * density)
        } else {
            f64::INFINITY
        },
        speedup_ceiling_t_upd: 0.0,
        useful_macs: useful,
        mac_utilization: useful as f64 / ((r.a() * r.n()) as f64 * sim.stat_cycles as f64),
        t_upd_share: (t * t_upd) as f64 / sim.stat_cycles as f64,
    }
}

fn point_problems(p: &MatrixPoint, sim: &SimResult) -> Vec<String> {
    let mut v = Vec::new();
    if !p.bit_exact {
        v.push(format!("not bit-exact: {}", sim.summary()));
        v.extend(sim.messages.iter().take(5).cloned());
    }
    if p.stat_steps != p.timesteps {
        v.push(format!(
            "stat_steps = {}, T = {}",
            p.stat_steps, p.timesteps
        ));
    }
    if p.stat_cycles != p.model_total_cycles {
        v.push(format!(
            "stat_cycles = {}, cycle model {}",
            p.stat_cycles, p.model_total_cycles
        ));
    }
    if p.stat_deltas != p.model_deltas {
        v.push(format!(
            "stat_deltas = {}, golden model {}",
            p.stat_deltas, p.model_deltas
        ));
    }
    let diffs: Vec<String> = p
        .step_cycles
        .iter()
        .zip(&p.model_step_cycles)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .take(5)
        .map(|(t, (a, b))| format!("step {t}: {a} cycles, model {b}"))
        .collect();
    v.extend(diffs);
    if p.step_cycles.len() != p.model_step_cycles.len() {
        v.push(format!(
            "{} step records, model has {}",
            p.step_cycles.len(),
            p.model_step_cycles.len()
        ));
    }
    v
}

// ------------------------------------------------------------------------------------------
// Scaling

fn scaling_config(name: &str, p: &ScalePoint, timesteps: usize) -> String {
    format!(
        "# written by the spartus-gen bench (generator scaling)\n\
         name = \"{name}\"\nseed = 1\n\n[model]\ninput_size = {}\nhidden_size = {}\n\n\
         [sparsity]\nk_x = {k}\nk_h = {k}\ntheta_x = 0.1\ntheta_h = 0.1\n\n\
         [hardware]\npe_count = {}\narrays = {}\ngate_lanes = {}\noverlap = {}\n\n\
         [stimulus]\ntimesteps = {timesteps}\n",
        p.input_size,
        p.hidden_size,
        p.pe_count,
        p.arrays,
        p.lanes,
        p.overlap,
        k = p.k
    )
}

/// Wall seconds, peak RSS (KiB) and success of a child process, from `wait4`.
#[cfg(unix)]
fn run_measured(cmd: &mut Command) -> Result<(f64, Option<u64>, bool)> {
    let t0 = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unwaited child; status and ru are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(anyhow!("wait4 on {pid}: {e}"));
        }
    }
    drop(child); // already reaped; dropping a Child neither waits nor kills
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // ru_maxrss is in KiB on Linux.
    Ok((t0.elapsed().as_secs_f64(), Some(ru.ru_maxrss as u64), ok))
}

#[cfg(not(unix))]
fn run_measured(cmd: &mut Command) -> Result<(f64, Option<u64>, bool)> {
    let t0 = Instant::now();
    let st = cmd.status()?;
    Ok((t0.elapsed().as_secs_f64(), None, st.success()))
}

/// `... lines of Verilog in 1.15 s ...` in gen's summary line.
fn parse_rtl_seconds(text: &str) -> Option<f64> {
    let i = text.find("lines of Verilog in ")? + "lines of Verilog in ".len();
    text[i..].split_whitespace().next()?.parse().ok()
}

fn run_scaling(
    opts: &BenchOptions,
    dir: &Path,
    progress: &Progress,
    problems: &mut Vec<String>,
) -> Result<ScalingReport> {
    Ok(ScalingReport {
        timesteps: opts.scaling_timesteps,
        max_build_macs: opts.max_build_macs,
        points: measure_points(
            opts,
            &opts.scaling,
            dir,
            "scaling",
            opts.max_build_macs,
            progress,
            problems,
        )?,
    })
}

/// Folder / design name of a scaling or schedule point: `scale_an512`, `scale_an512_g8_ov`.
pub fn point_name(p: &ScalePoint) -> String {
    let mut n = format!("scale_an{}", p.macs());
    if p.lanes != 1 {
        n.push_str(&format!("_g{}", p.lanes));
    }
    if p.overlap {
        n.push_str("_ov");
    }
    n
}

/// Generate, measure, build and replay every point (see [`scaling_point`]); failures are
/// recorded in the point and in `problems`.
fn measure_points(
    opts: &BenchOptions,
    list: &[ScalePoint],
    dir: &Path,
    what: &str,
    max_build_macs: usize,
    progress: &Progress,
    problems: &mut Vec<String>,
) -> Result<Vec<ScalingPoint>> {
    let configs = dir.join("configs");
    let logs = dir.join("logs");
    for d in [&configs, &logs] {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut points = Vec::new();
    for (pi, sp) in list.iter().enumerate() {
        let macs = sp.macs();
        let name = point_name(sp);
        let label = format!("{what} {name}");
        let cfg_path = configs.join(format!("{name}.toml"));
        fs::write(&cfg_path, scaling_config(&name, sp, opts.scaling_timesteps))
            .with_context(|| format!("cannot write {}", cfg_path.display()))?;
        progress.line(format!(
            "{what} {}/{}: A·N = {macs} (H = {}, I = {}, N = {}, A = {}, K = {}, G = {}{}): generating",
            pi + 1,
            list.len(),
            sp.hidden_size,
            sp.input_size,
            sp.pe_count,
            sp.arrays,
            sp.k,
            sp.lanes,
            if sp.overlap { ", overlap" } else { "" }
        ));
        let mut pt = ScalingPoint {
            point: *sp,
            macs,
            rows_per_pe: 4 * sp.hidden_size / sp.pe_count.max(1),
            dir: dir.join(&name),
            gen_method: String::new(),
            gen_seconds: 0.0,
            gen_seconds_samples: Vec::new(),
            rtl_seconds: None,
            peak_rss_kib: None,
            verilog_bytes: 0,
            verilog_lines: 0,
            verilog_modules: 0,
            mem_files: 0,
            mem_bytes: 0,
            model_cycles_per_step: None,
            model_mac_utilization: None,
            build_seconds: None,
            build_skipped: None,
            sim_seconds: None,
            bit_exact: None,
            cycles_match: None,
            density_x: None,
            density_h: None,
            measured_cycles_per_step: None,
            measured_mac_utilization: None,
            error: None,
        };
        let job = PointJob {
            cfg_path: &cfg_path,
            dir,
            logs: &logs,
            name: &name,
            label: &label,
            max_build_macs,
        };
        if let Err(e) = scaling_point(opts, &job, &mut pt, progress) {
            let msg = format!("{e:#}");
            problems.push(format!("{label}: {msg}"));
            pt.error = Some(msg);
        }
        if pt.bit_exact == Some(false) {
            problems.push(format!("{label}: replay not bit-exact"));
        }
        if pt.cycles_match == Some(false) {
            problems.push(format!("{label}: measured cycles differ from the model"));
        }
        points.push(pt);
    }
    Ok(points)
}

/// Where and how one scaling / schedule point is measured.
struct PointJob<'a> {
    cfg_path: &'a Path,
    dir: &'a Path,
    logs: &'a Path,
    name: &'a str,
    /// Progress label, e.g. `schedule scale_an512_g8_ov`.
    label: &'a str,
    /// Build (and replay) only at or below this A·N.
    max_build_macs: usize,
}

fn scaling_point(
    opts: &BenchOptions,
    job: &PointJob,
    pt: &mut ScalingPoint,
    progress: &Progress,
) -> Result<()> {
    let PointJob {
        cfg_path,
        dir,
        logs,
        name,
        label,
        max_build_macs,
    } = *job;
    let dest = dir.join(name);
    let fmin = |a: Option<f64>, b: f64| Some(a.map_or(b, |a| a.min(b)));
    for rep in 0..opts.gen_repeats.max(1) {
        if let Some(gen) = &opts.gen_exe {
            let log = logs.join(format!("gen_{name}_{rep}.log"));
            let f = fs::File::create(&log)
                .with_context(|| format!("cannot create {}", log.display()))?;
            let f2 = f.try_clone()?;
            let mut cmd = Command::new(gen);
            cmd.arg("emit")
                .arg(cfg_path)
                .arg("--out-dir")
                .arg(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::from(f))
                .stderr(Stdio::from(f2));
            let (secs, rss, ok) = run_measured(&mut cmd)?;
            let text = fs::read_to_string(&log).unwrap_or_default();
            if !ok {
                bail!(
                    "{cmd:?} failed (log {}):\n{}",
                    log.display(),
                    text.lines().rev().take(10).collect::<Vec<_>>().join("\n")
                );
            }
            pt.gen_method = "child".into();
            pt.peak_rss_kib = rss.max(pt.peak_rss_kib);
            if let Some(r) = parse_rtl_seconds(&text) {
                pt.rtl_seconds = fmin(pt.rtl_seconds, r);
            }
            pt.gen_seconds_samples.push(secs);
        } else {
            let t0 = Instant::now();
            let (_, _, stats) = crate::emit::write(&VectorsOptions {
                config: cfg_path.to_path_buf(),
                weights: None,
                inputs: None,
                out_dir: dir.to_path_buf(),
            })?;
            pt.gen_method = "in-process".into();
            pt.gen_seconds_samples.push(t0.elapsed().as_secs_f64());
            pt.rtl_seconds = fmin(pt.rtl_seconds, stats.generate_seconds);
        }
    }
    pt.gen_seconds = pt
        .gen_seconds_samples
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let resolved = crate::load_config(cfg_path)?;
    let top = resolved.top_name.clone();
    let rtl_path = dest.join("rtl").join(format!("{top}.v"));
    let rtl = fs::read_to_string(&rtl_path)
        .with_context(|| format!("cannot read {}", rtl_path.display()))?;
    pt.verilog_bytes = rtl.len() as u64;
    pt.verilog_lines = rtl.lines().count() as u64;
    pt.verilog_modules = rtl.lines().filter(|l| l.starts_with("module ")).count() as u64;
    drop(rtl);
    for e in fs::read_dir(dest.join("mem"))?.flatten() {
        pt.mem_files += 1;
        pt.mem_bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
    }
    let cj: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dest.join("reports/cycles.json"))
            .context("cannot read reports/cycles.json")?,
    )
    .context("reports/cycles.json is malformed")?;
    pt.model_cycles_per_step = cj["figures"]["cycles_per_step"].as_f64();
    pt.model_mac_utilization = cj["figures"]["mac_utilization"].as_f64();
    progress.line(format!(
        "{label}: generated in {:.2} s (peak RSS {}), {:.1} MB of Verilog, {} modules",
        pt.gen_seconds,
        pt.peak_rss_kib
            .map(|k| format!("{:.0} MiB", k as f64 / 1024.0))
            .unwrap_or_else(|| "not measured".into()),
        pt.verilog_bytes as f64 / 1e6,
        pt.verilog_modules
    ));
    if pt.macs > max_build_macs {
        pt.build_skipped = Some(format!(
            "A·N = {} > --max-build-macs {}",
            pt.macs, max_build_macs
        ));
        progress.line(format!("{label}: Verilator build skipped"));
        return Ok(());
    }
    progress.line(format!("{label}: Verilator build (may take minutes)"));
    let build = verilator::build_tb(
        &dest,
        &top,
        &BuildOptions {
            jobs: opts.jobs,
            extra_args: opts.verilator_args.clone(),
            ..Default::default()
        },
    )?;
    pt.build_seconds = Some(build.seconds);
    let model_steps: Vec<u64> = cj["layers"]
        .as_array()
        .and_then(|l| l.last())
        .and_then(|l| l["cycles"].as_array())
        .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default();
    let model_total = cj["total_cycles"].as_u64().unwrap_or(0);
    let model_deltas: u64 = cj["layers"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .flat_map(|l| {
                    ["nnz_x", "nnz_h"].into_iter().flat_map(move |k| {
                        l[k].as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_u64())
                    })
                })
                .sum()
        })
        .unwrap_or(0);
    let t = model_steps.len() as u64;
    let sim = verilator::run_tb(
        &dest,
        &build.exe,
        &RunOptions {
            max_cycles: 10 * (model_total + t * (resolved.i() + resolved.h() + 64) as u64) + 10_000,
            result: PathBuf::from("sim/bench_result.txt"),
            extra_plusargs: vec!["+check_comb=0".into()],
            ..Default::default()
        },
    )?;
    let measured: Vec<u64> = sim
        .steps
        .iter()
        .map(|s| s.compute_cycles.unwrap_or(u64::MAX))
        .collect();
    pt.sim_seconds = Some(sim.seconds);
    pt.bit_exact = Some(sim.passed());
    // densities and utilization from the golden deltas and the hardware's cycle counter
    let sum_of = |key: &str| -> u64 {
        cj["layers"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .flat_map(|l| l[key].as_array().into_iter().flatten())
                    .filter_map(|v| v.as_u64())
                    .sum()
            })
            .unwrap_or(0)
    };
    let (nx, nh) = (sum_of("nnz_x"), sum_of("nnz_h"));
    if t > 0 && sim.stat_cycles > 0 {
        let p = &pt.point;
        pt.density_x = Some(nx as f64 / (t * p.input_size as u64) as f64);
        pt.density_h = Some(nh as f64 / (t * p.hidden_size as u64) as f64);
        pt.measured_cycles_per_step = Some(sim.stat_cycles as f64 / t as f64);
        pt.measured_mac_utilization = Some(
            (p.pe_count * p.k) as f64 * (nx + nh) as f64
                / (p.macs() as f64 * sim.stat_cycles as f64),
        );
    }
    pt.cycles_match = Some(
        measured == model_steps
            && sim.stat_cycles == model_total
            && sim.stat_deltas == model_deltas,
    );
    progress.line(format!(
        "{label}: built in {:.1} s, replay {:.1} s, {}, cycles {}",
        build.seconds,
        sim.seconds,
        if sim.passed() {
            "bit-exact"
        } else {
            "NOT bit-exact"
        },
        if pt.cycles_match == Some(true) {
            "equal the model"
        } else {
            "DIFFER from the model"
        }
    ));
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Machine description

fn read_trim(p: &str) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

fn load_avg() -> Option<[f64; 3]> {
    let s = read_trim("/proc/loadavg")?;
    let v: Vec<f64> = s
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    (v.len() == 3).then(|| [v[0], v[1], v[2]])
}

/// Describe this machine (cores, CPU, memory, OS, load, tool versions).
pub fn machine_info() -> Machine {
    let cpu_model = read_trim("/proc/cpuinfo").and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    let mem_total_kib = read_trim("/proc/meminfo").and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    });
    let os = read_trim("/etc/os-release").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
    });
    let ver = |tool: &str| verilator::tool_version(tool, &["--version"]).ok();
    Machine {
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu_model,
        mem_total_kib,
        os,
        kernel: read_trim("/proc/sys/kernel/osrelease"),
        load_avg_start: load_avg(),
        load_avg_end: None,
        verilator: ver("verilator"),
        cxx: ver("g++"),
        make: ver("make"),
        rustc: ver("rustc"),
    }
}

// ------------------------------------------------------------------------------------------
// Outputs

/// Names of the plots, in the order written.
pub const PLOTS: &[&str] = &[
    "bench_speedup.svg",
    "bench_utilization.svg",
    "bench_cycles.svg",
    "bench_scaling.svg",
    "bench_schedule.svg",
    "bench_targets.svg",
];

fn write_outputs(report: &BenchReport, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let json = dir.join("bench.json");
    let mut j = serde_json::to_string_pretty(report)?;
    j.push('\n');
    fs::write(&json, j).with_context(|| format!("cannot write {}", json.display()))?;
    files.push(json);
    let md = dir.join("bench.md");
    fs::write(&md, render_markdown(report))
        .with_context(|| format!("cannot write {}", md.display()))?;
    files.push(md);
    if let Some(m) = &report.matrix {
        let p = dir.join(PLOTS[0]);
        plot_speedup(&p, m)?;
        files.push(p);
        let p = dir.join(PLOTS[1]);
        plot_utilization(&p, m)?;
        files.push(p);
        let p = dir.join(PLOTS[2]);
        plot_cycles(&p, m)?;
        files.push(p);
    }
    if let Some(s) = &report.scaling {
        let p = dir.join(PLOTS[3]);
        plot_scaling(&p, s)?;
        files.push(p);
    }
    if let Some(s) = &report.schedule {
        let p = dir.join(PLOTS[4]);
        plots::schedule(&p, s)?;
        files.push(p);
    }
    if let Some(t) = &report.targets {
        let p = dir.join(PLOTS[5]);
        plots::targets(&p, t)?;
        files.push(p);
    }
    Ok(files)
}

/// Re-render `bench.md`, `bench.json` and the plots into `dir` from an existing `bench.json`
/// (for presentation changes without re-running the measurements).
pub fn render_from_json(json: &Path, dir: &Path) -> Result<(BenchReport, Vec<PathBuf>)> {
    let text =
        fs::read_to_string(json).with_context(|| format!("cannot read {}", json.display()))?;
    let report: BenchReport = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a {SCHEMA} report", json.display()))?;
    if report.schema != SCHEMA {
        bail!(
            "{}: schema {:?}, expected {SCHEMA:?}",
            json.display(),
            report.schema
        );
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let files = write_outputs(&report, dir)?;
    Ok((report, files))
}

/// Copy `files` into `to` (the `--publish` step).
pub fn publish(files: &[PathBuf], to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for f in files {
        let name = f.file_name().context("file without a name")?;
        fs::copy(f, to.join(name))
            .with_context(|| format!("cannot copy {} to {}", f.display(), to.display()))?;
    }
    Ok(())
}

/// Matrix points grouped by density target, each sorted by weight sparsity.
fn rows_by_density(m: &MatrixReport) -> Vec<(f64, Vec<&MatrixPoint>)> {
    let mut rows: Vec<(f64, Vec<&MatrixPoint>)> = Vec::new();
    for p in m.points.iter().filter(|p| p.in_matrix) {
        match rows
            .iter_mut()
            .find(|(d, _)| (*d - p.target_density).abs() < 1e-12)
        {
            Some((_, v)) => v.push(p),
            None => rows.push((p.target_density, vec![p])),
        }
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, v) in &mut rows {
        v.sort_by(|a, b| a.weight_sparsity.total_cmp(&b.weight_sparsity));
    }
    rows
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**NO**"
    }
}

fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

/// `bench.md`.
pub fn render_markdown(r: &BenchReport) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "# spartus-gen benchmark ({})\n", r.mode);
    let _ = writeln!(
        s,
        "{}; {:.0} s wall clock. Machine: {} cores ({}), {:.1} GiB, {}; load average {} at the start, {} at the end (shared machine).  \n\
         Tools: {}; {}; {}. Verilator builds with `{}`.\n",
        r.tool,
        r.wall_seconds,
        m.cores,
        m.cpu_model.as_deref().unwrap_or("?"),
        m.mem_total_kib.unwrap_or(0) as f64 / 1048576.0,
        m.os.as_deref().unwrap_or("?"),
        fmt_load(m.load_avg_start),
        fmt_load(m.load_avg_end),
        m.verilator.as_deref().unwrap_or("verilator ?"),
        m.cxx.as_deref().unwrap_or("g++ ?"),
        m.rustc.as_deref().unwrap_or("rustc ?"),
        if r.verilator_args.is_empty() {
            "default flags".to_string()
        } else {
            r.verilator_args.join(" ")
        }
    );
    if r.problems.is_empty() {
        let _ = writeln!(
            s,
            "**Every point is bit-exact and its measured cycles equal the cycle model** \
             (every step's `stat_step_cycles`, `stat_cycles`, `stat_deltas`).\n"
        );
    } else {
        let _ = writeln!(s, "**Problems ({}):**\n", r.problems.len());
        for p in &r.problems {
            let _ = writeln!(s, "- {p}");
        }
        s.push('\n');
    }
    if let Some(t) = &r.targets {
        targets::markdown(&mut s, t);
    }
    if let Some(sc) = &r.schedule {
        schedule::markdown(&mut s, sc);
    }
    if let Some(mx) = &r.matrix {
        matrix_markdown(&mut s, mx);
    }
    if let Some(sc) = &r.scaling {
        scaling_markdown(&mut s, sc);
    }
    s
}

fn fmt_load(l: Option<[f64; 3]>) -> String {
    l.map(|l| format!("{:.2}/{:.2}/{:.2}", l[0], l[1], l[2]))
        .unwrap_or_else(|| "?".into())
}

fn matrix_markdown(s: &mut String, m: &MatrixReport) {
    let sh = &m.shape;
    let _ = writeln!(
        s,
        "## Sparsity × density matrix (Verilator)\n\n\
         Shape I = {}, H = {}, N = {}, A = {} (R = {} rows per PE), T = {} steps, seed {}, {} MHz. \
         K_x = K_h = K; Θx = 0 and `hold_prob = 1 − target` set the input density, Θh (calibrated \
         with the golden model) the hidden density. **All densities below are measured** \
         (x, h: from the vector set; all: the hardware's `stat_deltas / (T·(I+H))`); the target is \
         only the point's name. Dense-equivalent ops per step `2·4H·(I+H)` = {}; peak `2·A·N·f` = \
         {:.2} GOp/s; T_upd = {} cycles per step (hardware: `spartus_hw::layer::t_upd(I, H)`). Dense baseline `{}` (K = R, Θ = 0, \
         hold 0): {:.1} cycles per step, measured in this run.\n",
        sh.input_size,
        sh.hidden_size,
        sh.pe_count,
        sh.arrays,
        m.rows_per_pe,
        sh.timesteps,
        sh.seed,
        sh.clock_mhz,
        m.ops_dense_per_step,
        m.peak_ops_per_s / 1e9,
        m.t_upd,
        m.baseline,
        m.baseline_cycles_per_step
    );
    let _ = writeln!(
        s,
        "| weight sparsity | K | target d | Θh (LSB) | density x / h / all | cycles/step measured | model | equal | bit-exact | eff. GOp/s | speedup vs dense | ideal 1/((1−s)·d) | ideal d_b/((1−s)·d) | MAC util. | T_upd share |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let d_base = m
        .points
        .iter()
        .find(|p| p.is_baseline)
        .map_or(1.0, |p| p.density);
    let mut pts: Vec<&MatrixPoint> = m.points.iter().filter(|p| p.in_matrix).collect();
    pts.sort_by(|a, b| {
        a.weight_sparsity
            .total_cmp(&b.weight_sparsity)
            .then(b.target_density.total_cmp(&a.target_density))
    });
    for p in &pts {
        let _ = writeln!(
            s,
            "| {} % | {} | {} % | {} | {:.3} / {:.3} / {:.3} | {:.2} | {:.2} | {} | {} | {:.3} | {:.2}x | {:.2}x | {:.2}x | {:.3} | {:.2} |",
            pct(p.weight_sparsity),
            p.k,
            pct(p.target_density),
            p.theta_h_q,
            p.density_x,
            p.density_h,
            p.density,
            p.cycles_per_step,
            p.model_cycles_per_step,
            yes(p.cycles_match),
            yes(p.bit_exact),
            p.eff_ops_per_s / 1e9,
            p.speedup_vs_dense,
            p.speedup_ideal,
            p.speedup_ideal * d_base,
            p.mac_utilization,
            p.t_upd_share
        );
    }
    if let Some(b) = m.points.iter().find(|p| p.is_baseline && !p.in_matrix) {
        let _ = writeln!(
            s,
            "\nBaseline `{}` (not in the requested matrix): density {:.3}, {:.2} cycles per step (model {:.2}), {}.",
            b.id,
            b.density,
            b.cycles_per_step,
            b.model_cycles_per_step,
            if b.cycles_match { "equal" } else { "DIFFERENT" }
        );
    }
    let _ = writeln!(
        s,
        "\nThe baseline is itself a delta network with Θ = 0: zero deltas (held inputs, h units \
         whose Q8.8 value does not change, e.g. saturated ones) cost nothing, so its measured \
         density is d_b = {d_base:.3}, not 1. `ideal 1/((1−s)·d)` is the formula against a fully \
         dense machine; `ideal d_b/((1−s)·d)` is the same ideal against the baseline actually \
         measured, i.e. the number the measured speedup should be compared with."
    );
    let best = pts
        .iter()
        .max_by(|a, b| a.mac_utilization.total_cmp(&b.mac_utilization));
    let worst = pts
        .iter()
        .min_by(|a, b| a.mac_utilization.total_cmp(&b.mac_utilization));
    let ceiling = m.baseline_cycles_per_step / m.t_upd as f64;
    let need = 9 * m.t_upd;
    let fixed = m
        .t_upd
        .saturating_sub((sh.input_size + sh.hidden_size) as u64);
    let mac_ovh = spartus_hw::layer::MAC_OVERHEAD;
    let flush = spartus_hw::layer::FLUSH_LEN;
    let _ = writeln!(
        s,
        "\n### Why utilization is far from 0.9\n\n\
         Per step the hardware spends I + {flush} cycles taking in x_t, `max_a(K·nnz_a) + \
         {mac_ovh}` cycles in the MAC arrays and then H + {gate} in the single gate unit, one \
         after the other: `cycles = W + T_upd` with W = max_a K·nnz_a and T_upd = I + H + \
         {fixed} = {t}. Useful MACs are N·W per array, so with \
         A = 1 utilization = W / (W + T_upd): the MAC array is never idle while it has work, and \
         every lost cycle is T_upd (column \"T_upd share\"). Utilization ≥ 0.9 needs \
         W ≥ 9·T_upd = {need} MAC cycles per step; at this shape W ≤ K·(I + H) = {}·K, so only \
         K ≥ {} can get there, and only near full density. Range measured: {} to {}. The same \
         term caps the speedup over dense at (dense cycles)/T_upd = {ceiling:.1}x whatever the \
         sparsity, which is why the measured speedup falls away from the ideal as sparsity and \
         delta density grow. This matrix shape has one array, so one gate lane (G ≤ A); what \
         G gate lanes (T_upd = I + H/G + {fixed}) and the overlapped schedule do about this term \
         is measured in \"Gate lanes and the overlapped schedule\" above.\n",
        sh.input_size + sh.hidden_size,
        need.div_ceil((sh.input_size + sh.hidden_size) as u64),
        best.map(|p| format!("{:.3} ({})", p.mac_utilization, p.id))
            .unwrap_or_default(),
        worst
            .map(|p| format!("{:.3} ({})", p.mac_utilization, p.id))
            .unwrap_or_default(),
        t = m.t_upd,
        gate = spartus_hw::layer::GATE_LATENCY,
    );
    let _ = writeln!(
        s,
        "Plots: [speedup](bench_speedup.svg), [utilization](bench_utilization.svg), \
         [measured vs model cycles](bench_cycles.svg).\n\n\
         Verilator builds: {} (one per distinct RTL: Θ is a constant in the Verilog), {:.1} s in total.\n\n\
         | build folder | K | Θh (LSB) | seconds | points replayed |\n|---|---|---|---|---|",
        m.builds.len(),
        m.builds.iter().map(|b| b.seconds).sum::<f64>()
    );
    for b in &m.builds {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.1} | {} |",
            b.dir.file_name().unwrap_or_default().to_string_lossy(),
            b.k,
            b.theta_h_q,
            b.seconds,
            b.points.join(", ")
        );
    }
    s.push('\n');
}

fn scaling_markdown(s: &mut String, sc: &ScalingReport) {
    let _ = writeln!(
        s,
        "## Generator scaling\n\n\
         `gen emit` in a child process (wall clock, peak RSS from `wait4`; fastest of {} \
         run(s), every sample in bench.json), T = {} steps of vectors; Verilator builds above \
         A·N = {} skipped. \"rust-hdl\" is the part of the generation that builds the rust-hdl \
         design and writes the Verilog.\n\n\
         | A·N | N | A | H | I | K | R | gen s | rust-hdl s | peak RSS MiB | Verilog MB | lines | modules | mem files | Verilator build s | replay s | bit-exact | cycles = model | model cycles/step | model util. |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        sc.points
            .iter()
            .map(|p| p.gen_seconds_samples.len())
            .max()
            .unwrap_or(1)
            .max(1),
        sc.timesteps,
        sc.max_build_macs
    );
    for p in &sc.points {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.macs,
            p.point.pe_count,
            p.point.arrays,
            p.point.hidden_size,
            p.point.input_size,
            p.point.k,
            p.rows_per_pe,
            p.gen_seconds,
            opt_f(p.rtl_seconds, 2),
            p.peak_rss_kib
                .map(|k| format!("{:.0}", k as f64 / 1024.0))
                .unwrap_or_else(|| "–".into()),
            p.verilog_bytes as f64 / 1e6,
            p.verilog_lines,
            p.verilog_modules,
            p.mem_files,
            match (&p.build_seconds, &p.build_skipped) {
                (Some(b), _) => format!("{b:.1}"),
                (None, Some(_)) => "skipped".into(),
                _ => "failed".into(),
            },
            opt_f(p.sim_seconds, 1),
            p.bit_exact.map(yes).unwrap_or("–"),
            p.cycles_match.map(yes).unwrap_or("–"),
            opt_f(p.model_cycles_per_step, 1),
            opt_f(p.model_mac_utilization, 3)
        );
    }
    for p in sc.points.iter().filter(|p| p.error.is_some()) {
        let _ = writeln!(
            s,
            "\nA·N = {} failed: {}",
            p.macs,
            p.error.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(s, "\nPlot: [scaling](bench_scaling.svg).");
}

// ------------------------------------------------------------------------------------------
// Plots (plotters, SVG backend only)

use plotters::prelude::*;

fn pe<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plot: {e}")
}

/// Tick label with at most 3 decimals and no trailing zeros (log axes otherwise print
/// `0.7000000000000001`).
fn tick(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// x position of a point on the sparsity axis: log2(R/K) (0 = dense, 5 = R/32).
fn sparsity_x(p: &MatrixPoint) -> f64 {
    (p.rows_per_pe as f64 / p.k as f64).log2()
}

/// Label of a log2 axis at integer positions: `2^v`.
fn pow2_tick(v: &f64) -> String {
    if (v - v.round()).abs() > 1e-6 || *v < -1e-6 {
        return String::new();
    }
    format!("{}", 1u64 << (v.round() as u32).min(62))
}

/// Label of the sparsity axis at integer positions: `75 % (R/4)`.
fn sparsity_tick(v: &f64) -> String {
    if (v - v.round()).abs() > 1e-6 || *v < -1e-6 {
        return String::new();
    }
    let k = v.round() as i32;
    let s = 100.0 * (1.0 - 0.5f64.powi(k));
    let s = tick(&((s * 100.0).round() / 100.0));
    if k == 0 {
        "0 % (K = R)".into()
    } else {
        format!("{s} % (R/{})", 1u64 << k)
    }
}

const LIGHT: RGBColor = RGBColor(244, 244, 244);

fn color(i: usize) -> RGBColor {
    const C: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    C[i % C.len()]
}

fn plot_speedup(path: &Path, m: &MatrixReport) -> Result<()> {
    let rows = rows_by_density(m);
    let ymax = m
        .points
        .iter()
        .flat_map(|p| [p.speedup_vs_dense, p.speedup_ideal])
        .filter(|v| v.is_finite())
        .fold(2.0f64, f64::max)
        * 1.6;
    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Speedup over dense (K = R, Θ = 0), I = {}, H = {}, N = {}: measured (solid) vs ideal 1/((1−s)·d) (dashed)",
                m.shape.input_size, m.shape.hidden_size, m.shape.pe_count
            ),
            ("sans-serif", 17),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.3f64..5.3f64, (0.8f64..ymax).log_scale())
        .map_err(pe)?;
    chart
        .configure_mesh()
        .light_line_style(LIGHT)
        .x_labels(12)
        .x_label_formatter(&sparsity_tick)
        .y_label_formatter(&tick)
        .x_desc("weight sparsity 1 − K/R (log scale of R/K)")
        .y_desc("speedup over dense (×)")
        .draw()
        .map_err(pe)?;
    for (i, (d, pts)) in rows.iter().enumerate() {
        let c = color(i);
        let meas: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (sparsity_x(p), p.speedup_vs_dense))
            .collect();
        let ideal: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (sparsity_x(p), p.speedup_ideal))
            .collect();
        let dm = pts.iter().map(|p| p.density).sum::<f64>() / pts.len().max(1) as f64;
        chart
            .draw_series(LineSeries::new(meas.clone(), c.stroke_width(2)))
            .map_err(pe)?
            .label(format!(
                "target d = {} % (measured d ≈ {:.0} %)",
                pct(*d),
                100.0 * dm
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(meas.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(pe)?;
        chart
            .draw_series(DashedLineSeries::new(ideal, 6, 4, c.stroke_width(1)))
            .map_err(pe)?;
    }
    let ceiling = m.baseline_cycles_per_step / m.t_upd as f64;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(-0.3, ceiling), (5.3, ceiling)],
            3,
            3,
            BLACK.stroke_width(1),
        ))
        .map_err(pe)?
        .label(format!(
            "ceiling (dense cycles)/T_upd = {ceiling:.1}x (T_upd = {})",
            m.t_upd
        ))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(1)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(pe)?;
    root.present().map_err(pe)?;
    Ok(())
}

fn plot_utilization(path: &Path, m: &MatrixReport) -> Result<()> {
    let rows = rows_by_density(m);
    let root = SVGBackend::new(path, (960, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "MAC utilization = useful MACs / (A·N·cycles), measured; T_upd = {} cycles/step",
                m.t_upd
            ),
            ("sans-serif", 17),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.3f64..5.3f64, 0f64..1.05f64)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .light_line_style(LIGHT)
        .x_labels(12)
        .x_label_formatter(&sparsity_tick)
        .y_label_formatter(&tick)
        .x_desc("weight sparsity 1 − K/R (log scale of R/K)")
        .y_desc("MAC utilization")
        .draw()
        .map_err(pe)?;
    for (i, (d, pts)) in rows.iter().enumerate() {
        let c = color(i);
        let v: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (sparsity_x(p), p.mac_utilization))
            .collect();
        chart
            .draw_series(LineSeries::new(v.clone(), c.stroke_width(2)))
            .map_err(pe)?
            .label(format!("target d = {} %", pct(*d)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(v.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(pe)?;
    }
    chart
        .draw_series(DashedLineSeries::new(
            vec![(-0.3, 0.9), (5.3, 0.9)],
            6,
            4,
            BLACK.stroke_width(1),
        ))
        .map_err(pe)?
        .label("goal 0.9 (docs/architecture.md §9)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(1)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(pe)?;
    root.present().map_err(pe)?;
    Ok(())
}

fn plot_cycles(path: &Path, m: &MatrixReport) -> Result<()> {
    // Every distinct (model, measured) pair of every step of every point, and the per-point
    // means; all must lie on the diagonal.
    let mut pairs: BTreeMap<(u64, u64), ()> = BTreeMap::new();
    for p in &m.points {
        for (&a, &b) in p.model_step_cycles.iter().zip(&p.step_cycles) {
            pairs.insert((a, b), ());
        }
    }
    let hi = pairs
        .keys()
        .flat_map(|&(a, b)| [a, b])
        .filter(|&v| v != u64::MAX)
        .max()
        .unwrap_or(10) as f64
        * 1.3;
    let lo = (m.t_upd as f64 * 0.8).max(1.0);
    let root = SVGBackend::new(path, (760, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Compute cycles per step: Verilator (stat_step_cycles) vs cycle model",
            ("sans-serif", 17),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())
        .map_err(pe)?;
    chart
        .configure_mesh()
        .light_line_style(LIGHT)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .x_desc("cycle model (cycles per step)")
        .y_desc("measured in Verilator")
        .draw()
        .map_err(pe)?;
    chart
        .draw_series(LineSeries::new(
            vec![(lo, lo), (hi, hi)],
            BLACK.stroke_width(1),
        ))
        .map_err(pe)?
        .label("measured = model")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(1)));
    let steps: Vec<(f64, f64)> = pairs
        .keys()
        .filter(|&&(_, b)| b != u64::MAX)
        .map(|&(a, b)| (a as f64, b as f64))
        .collect();
    let n_steps: usize = m.points.iter().map(|p| p.step_cycles.len()).sum();
    let c0 = color(0);
    chart
        .draw_series(
            steps
                .iter()
                .map(|&p| Circle::new(p, 2, c0.mix(0.5).filled())),
        )
        .map_err(pe)?
        .label(format!(
            "single steps ({n_steps} steps, {} distinct values)",
            steps.len()
        ))
        .legend(move |(x, y)| Circle::new((x + 9, y), 3, c0.filled()));
    let c1 = color(3);
    chart
        .draw_series(m.points.iter().map(|p| {
            Cross::new(
                (p.model_cycles_per_step, p.cycles_per_step),
                6,
                c1.stroke_width(2),
            )
        }))
        .map_err(pe)?
        .label(format!("per-point means ({} points)", m.points.len()))
        .legend(move |(x, y)| Cross::new((x + 9, y), 5, c1.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(pe)?;
    root.present().map_err(pe)?;
    Ok(())
}

fn plot_scaling(path: &Path, sc: &ScalingReport) -> Result<()> {
    let root = SVGBackend::new(path, (1100, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(pe)?;
    let (left, right) = root.split_horizontally(550);
    let xs: Vec<f64> = sc
        .points
        .iter()
        .map(|p| (p.macs.max(1) as f64).log2())
        .collect();
    let xmin = xs.iter().copied().fold(f64::INFINITY, f64::min).min(1e6) - 0.5;
    let xmax = xs.iter().copied().fold(0.0, f64::max) + 0.5;
    // left: seconds
    let times: Vec<f64> = sc
        .points
        .iter()
        .flat_map(|p| [Some(p.gen_seconds), p.rtl_seconds, p.build_seconds])
        .flatten()
        .filter(|v| *v > 0.0)
        .collect();
    let tmax = times.iter().copied().fold(1.0, f64::max) * 2.0;
    let tmin = times.iter().copied().fold(f64::INFINITY, f64::min).min(0.5) / 2.0;
    let mut chart = ChartBuilder::on(&left)
        .caption("Generation and Verilator build time", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(xmin..xmax, (tmin..tmax).log_scale())
        .map_err(pe)?;
    chart
        .configure_mesh()
        .light_line_style(LIGHT)
        .x_labels(40)
        .x_label_formatter(&pow2_tick)
        .y_label_formatter(&tick)
        .x_desc("A·N (MACs, log scale)")
        .y_desc("seconds")
        .draw()
        .map_err(pe)?;
    type Getter = fn(&ScalingPoint) -> Option<f64>;
    let series: [(&str, Getter); 3] = [
        ("gen emit (wall)", |p| Some(p.gen_seconds)),
        ("rust-hdl + Verilog", |p| p.rtl_seconds),
        ("Verilator build", |p| p.build_seconds),
    ];
    for (i, (label, get)) in series.iter().enumerate() {
        let c = color(i);
        let v: Vec<(f64, f64)> = sc
            .points
            .iter()
            .filter_map(|p| {
                get(p)
                    .filter(|t| *t > 0.0)
                    .map(|t| ((p.macs.max(1) as f64).log2(), t))
            })
            .collect();
        if v.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(v.clone(), c.stroke_width(2)))
            .map_err(pe)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(v.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(pe)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(pe)?;
    // right: sizes
    let sizes: [(&str, Getter); 3] = [
        ("Verilog (MB)", |p| Some(p.verilog_bytes as f64 / 1e6)),
        ("modules (×1000)", |p| Some(p.verilog_modules as f64 / 1e3)),
        ("peak RSS of gen (×100 MiB)", |p| {
            p.peak_rss_kib.map(|k| k as f64 / 1024.0 / 100.0)
        }),
    ];
    let vals: Vec<f64> = sc
        .points
        .iter()
        .flat_map(|p| sizes.iter().filter_map(move |(_, g)| g(p)))
        .filter(|v| *v > 0.0)
        .collect();
    let vmax = vals.iter().copied().fold(1.0, f64::max) * 2.0;
    let vmin = vals.iter().copied().fold(f64::INFINITY, f64::min).min(0.1) / 2.0;
    let mut chart = ChartBuilder::on(&right)
        .caption("Size of the generated design", ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(xmin..xmax, (vmin..vmax).log_scale())
        .map_err(pe)?;
    chart
        .configure_mesh()
        .light_line_style(LIGHT)
        .x_labels(40)
        .x_label_formatter(&pow2_tick)
        .y_label_formatter(&tick)
        .x_desc("A·N (MACs, log scale)")
        .y_desc("amount")
        .draw()
        .map_err(pe)?;
    for (i, (label, get)) in sizes.iter().enumerate() {
        let c = color(i + 3);
        let v: Vec<(f64, f64)> = sc
            .points
            .iter()
            .filter_map(|p| {
                get(p)
                    .filter(|t| *t > 0.0)
                    .map(|t| ((p.macs.max(1) as f64).log2(), t))
            })
            .collect();
        if v.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(v.clone(), c.stroke_width(2)))
            .map_err(pe)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(v.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(pe)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(pe)?;
    root.present().map_err(pe)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gen_summary() {
        let s = "wrote x (top spartus_x, 10292 lines of Verilog in 0.12 s, 200 steps of vectors)\n";
        assert_eq!(parse_rtl_seconds(s), Some(0.12));
        assert_eq!(parse_rtl_seconds("nothing"), None);
    }

    #[test]
    fn percent_labels() {
        assert_eq!(pct(1.0), "100");
        assert_eq!(pct(0.9375), "93.75");
        assert_eq!(pct(1.0 - 1.0 / 32.0), "96.88");
    }

    #[test]
    fn matrix_config_resolves_to_the_point() {
        let s = MatrixShape::default();
        let r = spartus_model::config::load_str(&matrix_config("p", &s, 4, 0.7, 12)).unwrap();
        assert_eq!(r.layers[0].rows_per_pe, 32);
        assert_eq!((r.layers[0].k_x, r.layers[0].k_h), (4, 4));
        assert_eq!((r.theta_x_q, r.theta_h_q), (0, 12));
        assert_eq!(r.config.stimulus.hold_prob, 0.7);
        let sp = default_scaling();
        assert_eq!(
            sp.iter().map(ScalePoint::macs).collect::<Vec<_>>(),
            vec![8, 32, 128, 512]
        );
        for p in sp {
            spartus_model::config::load_str(&scaling_config("s", &p, 20)).unwrap();
        }
    }

    #[test]
    fn calibration_lands_near_the_target() {
        let s = MatrixShape {
            timesteps: 60,
            ..MatrixShape::default()
        };
        let (q, probes) = calibrate(&s, 8, 0.7, 0.3).unwrap();
        let got = probes.iter().find(|p| p.theta_h_q == q).unwrap().density_h;
        // The best probe is at least as close as any other probe.
        assert!(probes
            .iter()
            .all(|p| (p.density_h - 0.3).abs() >= (got - 0.3).abs()));
        assert!(q > 0, "30 % hidden density needs a threshold");
        let (q1, _) = calibrate(&s, 8, 0.0, 1.0).unwrap();
        assert_eq!(q1, 0);
    }
}
