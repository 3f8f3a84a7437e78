//! Verification at breadth: a seeded generator of random *valid* configs, each emitted and
//! proven bit-exact in Verilator ([`crate::verify::verify`]: random valid gaps and ready
//! stalls, every h compared, the hardware's cycle and delta counters equal to the cycle
//! model), plus a second testbench run per config that restarts the design in the middle of
//! the sequence ([`check_restart`]: `start_sequence` or `reset` at a random point, then a
//! second sequence from a different stimulus seed).
//!
//! - [`SweepCase::generate`]: case `index` of master seed `seed` is a pure function of
//!   `(seed, index)` (through its `config_seed`), so any case can be reproduced alone with
//!   [`SweepCase::from_config_seed`] (`sweep --config-seed X`).
//! - [`random_config`]: covers the whole accepted config space at sizes whose Verilator build
//!   stays around 10–20 s (at most [`MAX_PES`] PEs over all layers and arrays): I, H, 1–3
//!   layers, N | H, A including A ∤ I, A ∤ H and A > I, K_x / K_h (explicit including 1 and R,
//!   as a ratio, or `pruning = "none"`), Θx / Θh including 0, one LSB and the maximum
//!   127.99609375, wfrac 0–8, lut_shift 0–8, lut_frac 1–8, both roundings and bias modes, and
//!   stimuli from tiny steps to saturating ±128 walks, hold probabilities 0 to 1, T = 1 to 300.
//! - [`run_case`] / [`run_sweep`]: run cases (optionally several at once; each also gets the
//!   Yosys structural check: no latches, no undriven or conflicting drivers), collect
//!   [`CaseResult`]s whose [`CaseResult::failure_report`] names the seed, the config TOML and the
//!   commands that reproduce a failure.
//! - [`write_second_sequence`] and [`check_restart`]: the restart machinery, also used by
//!   `tests/robustness.rs`.
//!
//! The sweep binary is `src/bin/sweep.rs` (`scripts/sweep.sh`); CI runs a fixed seed set in
//! `tests/sweep.rs`. Results and figures: `docs/verification.md`.

use crate::verify::{verify, VerifyOptions};
use crate::verilator::{
    self, Restart, RestartKind, RestartRecord, RestartTrigger, RunOptions, SimResult,
};
use anyhow::{bail, Context, Result};
use spartus_model::config::{
    BiasMode, Config, HardwareConfig, ModelConfig, Pruning, Resolved, Rounding, SparsityConfig,
    StimulusConfig, TargetConfig,
};
use spartus_model::design::Design;
use spartus_model::rng::Lcg;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Largest number of PEs (layers · arrays · PEs per array) of a generated config: rust-hdl
/// emits one Verilog module per instance (~25 per PE) and the Verilator build time grows with
/// the module count (16 PEs: ~10 s of CPU; 128 PEs: minutes).
pub const MAX_PES: usize = 16;

/// The largest Θ a config accepts, 32767/256 (Q8.8 `0x7fff`).
pub const THETA_MAX: f64 = 32767.0 / 256.0;

/// Random draws for the sweep (the project's [`Lcg`], so everything stays reproducible).
struct Draw(Lcg);

impl Draw {
    fn new(seed: u64, stream: u64) -> Self {
        Draw(Lcg::stream(seed, stream))
    }
    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        self.0.int_range(lo as i64, hi as i64) as usize
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        self.0.uniform_f64() < p
    }
    /// One element of a non-empty slice.
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.int(0, xs.len() - 1)]
    }
    /// A 62-bit value (two draws).
    fn u62(&mut self) -> u64 {
        ((self.0.next_u32() as u64) << 31) | self.0.next_u32() as u64
    }
    fn unit(&mut self) -> f64 {
        self.0.uniform_f64()
    }
}

/// `splitmix64`: derives a case's config seed from the master seed and the case index.
pub fn config_seed(master_seed: u64, index: u64) -> u64 {
    let mut z = master_seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random valid config drawn from `config_seed` (see the module doc for the space it
/// covers). The config resolves (asserted); its `name` is `name`.
pub fn random_config(config_seed: u64, name: &str) -> Config {
    let mut d = Draw::new(config_seed, 0);
    loop {
        let layers = d.pick(&[1, 1, 1, 1, 1, 2, 2, 2, 3, 3]);
        // H with all its divisors as N; larger H only with few PEs.
        let h: usize = d.pick(&[1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 12, 12, 16, 16, 20, 24, 32]);
        let divisors: Vec<usize> = (1..=h).filter(|n| h.is_multiple_of(*n)).collect();
        let n = d.pick(&divisors);
        let a = d.pick(&[1, 1, 1, 2, 2, 3, 3, 4, 5, 7]);
        if layers * a * n > MAX_PES || (h >= 20 && layers * a * n > 4) {
            continue;
        }
        let i = if d.chance(0.1) { 1 } else { d.int(2, 16) };
        let r = 4 * h / n;
        let mut sp = SparsityConfig::default();
        match d.int(0, 9) {
            0 | 1 => sp.pruning = Pruning::None,
            2..=6 => {
                let k = |d: &mut Draw| match d.int(0, 3) {
                    0 => 1,
                    1 => r,
                    _ => d.int(1, r),
                };
                sp.k_x = Some(k(&mut d));
                sp.k_h = Some(k(&mut d));
            }
            _ => {
                let g = |d: &mut Draw| d.pick(&[0.0, 0.25, 0.5, 0.75, 0.875, 0.9, 0.95, 0.3, 0.6]);
                sp.sparsity_x = Some(g(&mut d));
                // mixed: ratio for one matrix, K for the other
                if d.chance(0.5) {
                    sp.sparsity_h = Some(g(&mut d));
                } else {
                    sp.k_h = Some(d.int(1, r));
                }
            }
        }
        let theta = |d: &mut Draw| -> f64 {
            match d.int(0, 9) {
                0..=2 => 0.0,
                3 => 1.0 / 256.0,
                4 => d.int(2, 64) as f64 / 256.0,
                5 => d.pick(&[0.0625, 0.125, 0.25, 0.5]),
                6 => d.pick(&[1.0, 2.0, 4.0]),
                7 => d.pick(&[16.0, 100.0]),
                8 => THETA_MAX,
                _ => (d.unit() * 128.0 * 256.0).floor() / 256.0,
            }
        };
        sp.theta_x = theta(&mut d);
        sp.theta_h = theta(&mut d);
        let hw = HardwareConfig {
            pe_count: n,
            arrays: a,
            gate_lanes: 1,
            overlap: false,
            precision: Default::default(),
            wfrac: d.int(0, 8) as u32,
            lut_shift: d.int(0, 8) as u32,
            lut_frac: d.int(1, 8) as u32,
            rounding: if d.chance(0.5) {
                Rounding::Rne
            } else {
                Rounding::Floor
            },
            bias_mode: if d.chance(0.5) {
                BiasMode::Acc
            } else {
                BiasMode::Q17
            },
        };
        let stimulus = StimulusConfig {
            timesteps: match d.int(0, 19) {
                0 => 1,
                1 => d.int(2, 5),
                2 => d.int(200, 300),
                _ => d.int(30, 150),
            },
            step: d.pick(&[1.0 / 256.0, 0.05, 0.25, 0.25, 1.0, 8.0, 100.0, 128.0]),
            bound: d.pick(&[0.25, 2.0, 2.0, 16.0, 128.0, 128.0]),
            hold_prob: d.pick(&[0.0, 0.2, 0.5, 0.5, 0.8, 0.95, 0.99, 1.0]),
        };
        let cfg = Config {
            name: name.to_string(),
            seed: d.u62() % 1_000_000_007,
            model: ModelConfig {
                input_size: i,
                hidden_size: h,
                layers,
            },
            sparsity: sp,
            hardware: hw,
            target: TargetConfig::default(),
            stimulus,
        };
        if cfg.resolve().is_ok() {
            break cfg;
        }
    }
}

/// The second sequence and the restart of a case (see [`check_restart`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RestartPlan {
    /// Stimulus of sequence B (same weights, different seed and length).
    pub stimulus: StimulusConfig,
    /// Stimulus seed of sequence B.
    pub seed: u64,
    /// Where and how the testbench restarts (`vectors2` is set by [`check_restart`]).
    pub restart: Restart,
    /// Testbench seed, valid gaps and ready stalls of the restart run.
    pub tb_seed: u64,
    /// Input gap probability of the restart run.
    pub in_gap: f64,
    /// Output stall probability of the restart run.
    pub out_stall: f64,
}

/// One sweep case: a config and how it is exercised.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepCase {
    /// Position in the sweep (0-based).
    pub index: usize,
    /// Everything below is a function of this seed.
    pub config_seed: u64,
    /// The config (valid; named `sw_<config_seed as 16 hex digits>`).
    pub config: Config,
    /// Testbench seed of the verify run.
    pub tb_seed: u64,
    /// Probability of an input valid gap per cycle (verify run).
    pub in_gap: f64,
    /// Probability of an output ready stall per cycle (verify run).
    pub out_stall: f64,
    /// The restart run.
    pub restart: RestartPlan,
}

impl SweepCase {
    /// Case `index` of the sweep with master seed `master_seed`.
    pub fn generate(master_seed: u64, index: usize) -> Self {
        let mut c = Self::from_config_seed(config_seed(master_seed, index as u64));
        c.index = index;
        c
    }

    /// The case of one config seed (index 0): reproduces a case of any sweep alone.
    pub fn from_config_seed(config_seed: u64) -> Self {
        let name = format!("sw_{config_seed:016x}");
        let config = random_config(config_seed, &name);
        let mut d = Draw::new(config_seed, 1);
        let stall = |d: &mut Draw, opts: &[f64]| d.pick(opts);
        let in_gap = stall(&mut d, &[0.0, 0.1, 0.2, 0.3, 0.6]);
        let out_stall = stall(&mut d, &[0.0, 0.2, 0.3, 0.5, 0.8, 0.9]);
        let tb_seed = d.u62();
        let (t, i, h) = (
            config.stimulus.timesteps as u64,
            config.model.input_size as u64,
            config.model.hidden_size as u64,
        );
        let layers = config.model.layers as u64;
        let kind = if d.chance(0.6) {
            RestartKind::Start
        } else {
            RestartKind::Reset
        };
        let (trigger, max_delay) = match d.int(0, 9) {
            0..=5 => (
                RestartTrigger::AfterInputs(d.int(0, (t * i) as usize) as u64),
                (d.int(0, 3) as u64) * (i + h + 16) * layers,
            ),
            6..=8 => (
                RestartTrigger::AfterOutputs(d.int(0, (t * h) as usize) as u64),
                (d.int(0, 2) as u64) * (i + h + 16),
            ),
            // back-to-back: the pulse right after A's last output, B's first input next cycle
            _ => (RestartTrigger::AfterOutputs(t * h), 0),
        };
        let len = if d.chance(0.8) { 1 } else { d.int(2, 3) as u64 };
        let stimulus = StimulusConfig {
            timesteps: d.int(1, config.stimulus.timesteps.clamp(1, 120)),
            hold_prob: d.pick(&[0.0, 0.5, config.stimulus.hold_prob]),
            ..config.stimulus.clone()
        };
        let restart = RestartPlan {
            stimulus,
            seed: d.u62(),
            restart: Restart {
                kind,
                trigger,
                max_delay,
                len,
                vectors2: None,
            },
            tb_seed: d.u62(),
            in_gap: stall(&mut d, &[0.0, 0.2, 0.4]),
            out_stall: stall(&mut d, &[0.0, 0.3, 0.6]),
        };
        Self {
            index: 0,
            config_seed,
            config,
            tb_seed,
            in_gap,
            out_stall,
            restart,
        }
    }

    /// PEs of the design (layers · arrays · PEs per array).
    pub fn pes(&self) -> usize {
        let c = &self.config;
        c.model.layers * c.hardware.arrays * c.hardware.pe_count
    }

    /// A one-line description of the config.
    pub fn describe(&self) -> String {
        describe_config(&self.config)
    }
}

/// A compact one-line description of a config (sizes, K, Θ, arithmetic options, stimulus).
pub fn describe_config(c: &Config) -> String {
    let r = c.resolve().ok();
    let (kx, kh, rr) = r
        .as_ref()
        .map(|r| (r.layers[0].k_x, r.layers[0].k_h, r.layers[0].rows_per_pe))
        .unwrap_or((0, 0, 0));
    let hw = &c.hardware;
    let st = &c.stimulus;
    format!(
        "L{} I{} H{} N{} A{} K{}/{}ofR{}{} Θ{}/{} wf{} lut{}/{} {} {} T{} step{} bnd{} hold{}",
        c.model.layers,
        c.model.input_size,
        c.model.hidden_size,
        hw.pe_count,
        hw.arrays,
        kx,
        kh,
        rr,
        if c.sparsity.pruning == Pruning::None {
            "(none)"
        } else {
            ""
        },
        c.sparsity.theta_x,
        c.sparsity.theta_h,
        hw.wfrac,
        hw.lut_shift,
        hw.lut_frac,
        match hw.rounding {
            Rounding::Rne => "rne",
            Rounding::Floor => "floor",
        },
        match hw.bias_mode {
            BiasMode::Acc => "acc",
            BiasMode::Q17 => "q17",
        },
        st.timesteps,
        st.step,
        st.bound,
        st.hold_prob
    )
}

// ------------------------------------------------------------------------------------------
// The second sequence and the restart check

/// Prepares sequence B of a design folder: the same config and weights (`weights`, or the
/// config's seeded random ones), inputs `inputs` (float `[T][I]`, real units). Writes
/// `x_float.npy`, `params.txt`, `x_q.hex` and `h_q.hex` to `<dir>/<rel>` (use a folder under
/// `sim/`, which is not part of the manifest), checks that B's memory images are the ones in
/// `<dir>/mem/` (same weights), and returns B's design (golden outputs and cycle model with
/// the hardware's T_upd).
pub fn write_second_sequence(
    dir: &Path,
    resolved: &Resolved,
    weights: Option<&Path>,
    inputs: &[Vec<f64>],
    rel: &Path,
) -> Result<Design> {
    let out = dir.join(rel);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let t = inputs.len();
    let flat: Vec<f64> = inputs.iter().flatten().copied().collect();
    let npy = out.join("x_float.npy");
    std::fs::write(
        &npy,
        spartus_model::npy::write_f64(&[t, resolved.i()], &flat),
    )
    .with_context(|| format!("cannot write {}", npy.display()))?;
    let design = crate::prepare_design(resolved, weights, Some(&npy))?;
    let mut od = crate::artifacts::OutputDir::new();
    crate::vectors::add_vectors(&mut od, &design)?;
    for f in ["params.txt", "x_q.hex", "h_q.hex"] {
        let bytes = od
            .get(&format!("vectors/{f}"))
            .with_context(|| format!("vectors/{f} missing"))?;
        std::fs::write(out.join(f), bytes)
            .with_context(|| format!("cannot write {}", out.join(f).display()))?;
    }
    for (name, text) in design.images() {
        let on_disk = std::fs::read_to_string(dir.join("mem").join(&name))
            .with_context(|| format!("{}: no mem/{name}", dir.display()))?;
        if on_disk != text {
            bail!(
                "mem/{name} of {} differs from sequence B's: not the same weights",
                dir.display()
            );
        }
    }
    Ok(design)
}

/// Outcome of one restart run ([`check_restart`]).
#[derive(Debug, Clone)]
pub struct RestartCheck {
    /// The run as seen for sequence B (counters relative to the pulse).
    pub sim: SimResult,
    /// What happened to sequence A.
    pub record: RestartRecord,
    /// Every disagreement (empty ⇒ passed).
    pub problems: Vec<String>,
}

impl RestartCheck {
    /// True when nothing disagreed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// One-line summary.
    pub fn summary(&self) -> String {
        format!(
            "{} at cycle {} after {} inputs / {} outputs of A ({} A steps done); B: {}",
            match self.record.kind {
                RestartKind::Start => "start_sequence",
                RestartKind::Reset => "reset",
            },
            self.record.cycle,
            self.record.inputs,
            self.record.outputs,
            self.record.step_cycles.len(),
            self.sim.summary()
        )
    }
}

/// A generous cycle limit for a run of designs `a` then `b` with stalls.
pub fn max_cycles_for(designs: &[&Design]) -> u64 {
    designs
        .iter()
        .map(|d| {
            let t = d.timesteps() as u64;
            let r = &d.resolved;
            100 * (d.total_cycles()
                + t * (r.h() as u64 + r.i() as u64 + 64) * r.layers.len() as u64)
        })
        .sum::<u64>()
        + 100_000
}

/// Runs the built testbench `exe` in `dir` with a mid-run restart from sequence `a` (the
/// folder's `vectors/`, whose golden design is `a`) to sequence `b` (vectors in
/// `restart.vectors2`, design `b` from [`write_second_sequence`]) and checks everything that
/// is exact:
///
/// - the testbench verdict: A's outputs before the pulse match A's prefix, all of B's outputs
///   match B from reset, no protocol error (incl. counters not cleared by a reset);
/// - B: `stat_steps` increased by T_B, every step's `stat_step_cycles` equals B's cycle model,
///   `stat_cycles` and `stat_deltas` increased by exactly B's totals;
/// - A: the compute cycles of every step A completed equal A's cycle model; after a
///   `start_sequence` the counters at the pulse are at least A's completed steps' totals, and
///   at least (completed steps − 1)·H outputs of A were accepted (the gate phase of a step
///   waits for the previous h to drain).
///
/// `Err` only when the run itself could not be made.
pub fn check_restart(
    dir: &Path,
    exe: &Path,
    a: &Design,
    b: &Design,
    run: &RunOptions,
    restart: &Restart,
) -> Result<RestartCheck> {
    let (sim, record) = verilator::run_tb_restart(dir, exe, run, restart)?;
    let mut problems = Vec::new();
    if !sim.passed() {
        problems.push(format!("testbench: {}", sim.summary()));
        problems.extend(sim.messages.iter().take(10).cloned());
    }
    if record.mismatches != 0 {
        problems.push(format!(
            "{} outputs of sequence A before the restart differ from A's vectors",
            record.mismatches
        ));
    }
    // sequence B, exactly
    let tb = b.timesteps() as u64;
    let last_b = b.cycles.last().context("design B has no layers")?;
    if sim.stat_steps != tb {
        problems.push(format!(
            "B: stat_steps increased by {}, expected T_B = {tb}",
            sim.stat_steps
        ));
    }
    for (rec, want) in sim.steps.iter().zip(last_b) {
        if rec.compute_cycles != Some(*want) && problems.len() < 20 {
            problems.push(format!(
                "B step {}: compute cycles {:?}, cycle model {want}",
                rec.t, rec.compute_cycles
            ));
        }
    }
    if sim.stat_cycles != b.total_cycles() {
        problems.push(format!(
            "B: stat_cycles increased by {}, cycle model {}",
            sim.stat_cycles,
            b.total_cycles()
        ));
    }
    let deltas = |d: &Design, steps: usize| -> u64 {
        d.traces
            .iter()
            .map(|tr| {
                tr.nnz_x.iter().take(steps).map(|&v| v as u64).sum::<u64>()
                    + tr.nnz_h.iter().take(steps).map(|&v| v as u64).sum::<u64>()
            })
            .sum()
    };
    if sim.stat_deltas != deltas(b, b.timesteps()) {
        problems.push(format!(
            "B: stat_deltas increased by {}, golden model {}",
            sim.stat_deltas,
            deltas(b, b.timesteps())
        ));
    }
    // sequence A, as far as it got
    let last_a = a.cycles.last().context("design A has no layers")?;
    let done = record.step_cycles.len();
    if done > a.timesteps() {
        problems.push(format!(
            "A: {done} steps completed, T_A = {}",
            a.timesteps()
        ));
    }
    for (t, (got, want)) in record.step_cycles.iter().zip(last_a).enumerate() {
        if got != want {
            problems.push(format!(
                "A step {t}: compute cycles {got}, cycle model {want}"
            ));
        }
    }
    if restart.kind == RestartKind::Start {
        if record.steps != done as u64 {
            problems.push(format!(
                "A: stat_steps = {} at the restart, but the testbench saw {done} steps complete",
                record.steps
            ));
        }
        let cyc_done: u64 = a.step_cycles().iter().take(done).sum();
        if record.stat_cycles < cyc_done {
            problems.push(format!(
                "A: stat_cycles = {} at the restart < {cyc_done}, the model's cycles of the {done} completed steps",
                record.stat_cycles
            ));
        }
        if record.stat_deltas < deltas(a, done) {
            problems.push(format!(
                "A: stat_deltas = {} at the restart < {}, the deltas of the {done} completed steps",
                record.stat_deltas,
                deltas(a, done)
            ));
        }
    }
    let h = a.resolved.h() as u64;
    if done > 0 && record.outputs < (done as u64 - 1) * h {
        problems.push(format!(
            "A: only {} outputs accepted although {done} steps completed (H = {h})",
            record.outputs
        ));
    }
    Ok(RestartCheck {
        sim,
        record,
        problems,
    })
}

// ------------------------------------------------------------------------------------------
// Running cases

/// How a sweep runs.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Parent of the design folders (`<work_dir>/<name>/`) and of `configs/`.
    pub work_dir: PathBuf,
    /// Where failing configs are written as TOML (None: nowhere).
    pub failures_dir: Option<PathBuf>,
    /// Keep the design folders of passing cases (failing ones are always kept).
    pub keep: bool,
    /// Cases run at the same time (each Verilator build uses `-j 2`).
    pub jobs: usize,
    /// Run the Verilator lint (`-Wall`) on every design.
    pub lint: bool,
    /// Run the Yosys structural check (`hierarchy -check; proc; check`: no latches, no
    /// undriven or multiply driven wires, no logic loops) on every design.
    pub yosys: bool,
    /// Make the restart run.
    pub restart: bool,
}

impl SweepOptions {
    /// Defaults: no failure folder, folders removed after a pass, one job, lint, Yosys check
    /// and restart run on.
    pub fn new(work_dir: PathBuf) -> Self {
        Self {
            work_dir,
            failures_dir: None,
            keep: false,
            jobs: 1,
            lint: true,
            yosys: true,
            restart: true,
        }
    }
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: SweepCase,
    /// Every problem found (empty ⇒ passed).
    pub problems: Vec<String>,
    /// Wall-clock seconds of the whole case.
    pub seconds: f64,
    /// Wall-clock seconds of the Verilator build.
    pub build_seconds: f64,
    /// Clock cycles simulated (verify run + restart run).
    pub cycles: u64,
    /// Time steps checked (verify run: T; restart run: B's steps + A's completed steps).
    pub steps: u64,
    /// Lines of Verilog.
    pub verilog_lines: usize,
    /// The restart run's summary (None: not made).
    pub restart: Option<String>,
    /// The design folder.
    pub dir: PathBuf,
}

impl CaseResult {
    /// True when the case passed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// The line the sweep prints for this case.
    pub fn line(&self) -> String {
        format!(
            "[{:>4}] {} {:<4} {} | {} PEs, {} lines, {:.1} s (build {:.1} s), {} cycles{}",
            self.case.index,
            self.case.config.name,
            if self.passed() { "PASS" } else { "FAIL" },
            self.case.describe(),
            self.case.pes(),
            self.verilog_lines,
            self.seconds,
            self.build_seconds,
            self.cycles,
            self.restart
                .as_ref()
                .map(|r| format!("; restart: {r}"))
                .unwrap_or_default()
        )
    }

    /// Everything needed to reproduce a failure: seeds, problems, commands and the config TOML
    /// (the text is itself a valid config file: the rest is TOML comments).
    pub fn failure_report(&self) -> String {
        let c = &self.case;
        let rs = &c.restart;
        let mut s = format!(
            "# sweep failure: case {} config_seed {} (0x{:016x})\n\
             # reproduce the whole case:  cargo run --release --bin sweep -- --config-seed {}\n\
             # reproduce the verify run:  cargo run --release --bin gen -- verify <this file> --seed {} --in-gap {} --out-stall {}\n\
             # restart run: {:?}, B stimulus seed {}, T_B {}, tb seed {}, in_gap {}, out_stall {}\n",
            c.index,
            c.config_seed,
            c.config_seed,
            c.config_seed,
            c.tb_seed,
            c.in_gap,
            c.out_stall,
            rs.restart,
            rs.seed,
            rs.stimulus.timesteps,
            rs.tb_seed,
            rs.in_gap,
            rs.out_stall
        );
        for p in &self.problems {
            for l in p.lines() {
                s.push_str(&format!("# problem: {l}\n"));
            }
        }
        s.push_str(&c.config.to_toml());
        s
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Runs one case in `opts.work_dir`: writes its config to `configs/<name>.toml`, runs
/// [`verify`] with the case's testbench seed and stall rates and, with `opts.lint`, the
/// Verilator lint that `gen verify` runs (as a separate step, so that a lint finding does not
/// hide a functional failure), with `opts.yosys` the Yosys structural check
/// ([`verilator::yosys_check`]), then (with `opts.restart`) the restart run on the same build. Never panics on a failing design: problems (including
/// tool errors) are in the result.
pub fn run_case(case: &SweepCase, opts: &SweepOptions) -> CaseResult {
    let t0 = Instant::now();
    let name = case.config.name.clone();
    let dir = opts.work_dir.join(&name);
    let mut res = CaseResult {
        case: case.clone(),
        problems: Vec::new(),
        seconds: 0.0,
        build_seconds: 0.0,
        cycles: 0,
        steps: 0,
        verilog_lines: 0,
        restart: None,
        dir: dir.clone(),
    };
    if let Err(e) = run_case_inner(case, opts, &mut res) {
        res.problems.push(format!("error: {e:#}"));
    }
    res.seconds = t0.elapsed().as_secs_f64();
    if res.passed() && !opts.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    res
}

fn run_case_inner(case: &SweepCase, opts: &SweepOptions, res: &mut CaseResult) -> Result<()> {
    let cfg_path = opts
        .work_dir
        .join("configs")
        .join(format!("{}.toml", case.config.name));
    write(&cfg_path, &case.config.to_toml())?;
    let mut vo = VerifyOptions::new(cfg_path.clone());
    vo.vectors.out_dir = opts.work_dir.clone();
    vo.seed = case.tb_seed;
    vo.in_gap = case.in_gap;
    vo.out_stall = case.out_stall;
    // The lint runs separately (below), so that a lint finding does not hide a functional one.
    vo.lint = false;
    let report = verify(&vo)?;
    if opts.lint {
        if let Err(e) = verilator::lint(&report.dir, &report.top) {
            res.problems.push(format!("lint: {e}"));
        }
    }
    if opts.yosys {
        if let Err(e) = verilator::yosys_check(&report.dir, &report.top) {
            res.problems.push(format!("yosys: {e}"));
        }
    }
    res.build_seconds = report.build_seconds;
    res.cycles += report.sim.cycles;
    res.steps += report.predicted_step_cycles.len() as u64;
    res.verilog_lines = std::fs::read_to_string(report.dir.join(format!("rtl/{}.v", report.top)))
        .map(|v| v.lines().count())
        .unwrap_or(0);
    res.problems.extend(report.problems.iter().cloned());
    if !opts.restart {
        return Ok(());
    }
    let resolved = crate::load_config(&cfg_path)?;
    let a = crate::prepare_design(&resolved, None, None)?;
    let rs = &case.restart;
    let xb = spartus_model::stimulus::random_walk(&rs.stimulus, resolved.i(), rs.seed).x;
    let rel = PathBuf::from("sim/vectors_b");
    let b = write_second_sequence(&report.dir, &resolved, None, &xb, &rel)?;
    let restart = Restart {
        vectors2: Some(rel),
        ..rs.restart.clone()
    };
    let run = RunOptions {
        seed: rs.tb_seed,
        in_gap: rs.in_gap,
        out_stall: rs.out_stall,
        max_cycles: max_cycles_for(&[&a, &b]),
        result: PathBuf::from("sim/result_restart.txt"),
        ..Default::default()
    };
    // absolute: the testbench runs with the design folder as its working directory
    let exe = report
        .dir
        .canonicalize()
        .with_context(|| format!("{}", report.dir.display()))?
        .join("sim/obj/tb");
    let rc = check_restart(&report.dir, &exe, &a, &b, &run, &restart)?;
    res.cycles += rc.sim.cycles;
    res.steps += rc.sim.stat_steps + rc.record.step_cycles.len() as u64;
    res.restart = Some(format!(
        "{} at cycle {} after {} in / {} out of A, B T={} {}",
        restart.kind.as_str(),
        rc.record.cycle,
        rc.record.inputs,
        rc.record.outputs,
        b.timesteps(),
        if rc.passed() { "ok" } else { "FAILED" }
    ));
    res.problems
        .extend(rc.problems.iter().map(|p| format!("restart run: {p}")));
    Ok(())
}

/// Totals of a sweep.
#[derive(Debug, Clone)]
pub struct SweepSummary {
    /// One result per case, in case order.
    pub results: Vec<CaseResult>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// CPU seconds of this process and its finished children (Verilator, make, g++), or
    /// None where `/proc/self/stat` is not available.
    pub cpu_seconds: Option<f64>,
}

impl SweepSummary {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// The closing line: `N passed, M failed` plus totals.
    pub fn totals_line(&self) -> String {
        let cycles: u64 = self.results.iter().map(|r| r.cycles).sum();
        let steps: u64 = self.results.iter().map(|r| r.steps).sum();
        let largest = self
            .results
            .iter()
            .max_by_key(|r| (r.verilog_lines, r.case.pes()))
            .map(|r| {
                format!(
                    "; largest {} ({} PEs, {} lines of Verilog)",
                    r.case.describe(),
                    r.case.pes(),
                    r.verilog_lines
                )
            })
            .unwrap_or_default();
        format!(
            "{} passed, {} failed ({} cycles, {} time steps simulated, {:.0} s wall{}{})",
            self.passed(),
            self.failed(),
            cycles,
            steps,
            self.seconds,
            self.cpu_seconds
                .map(|c| format!(", {c:.0} s CPU"))
                .unwrap_or_default(),
            largest
        )
    }
}

/// CPU seconds (user + system) of this process and of its waited-for children, from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s, the fixed `USER_HZ`).
pub fn cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the `(comm)`: state is field 3; utime, stime, cutime, cstime are 14..=17
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f
        .get(11..15)?
        .iter()
        .map(|v| v.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some(ticks as f64 / 100.0)
}

/// Runs `cases` with `opts.jobs` cases at a time; `on_result` sees each result as soon as it
/// is known (in completion order); the summary lists them in case order. If failing configs
/// are to be kept (`opts.failures_dir`), each is written there as `<name>.toml`
/// ([`CaseResult::failure_report`]).
pub fn run_cases(
    cases: &[SweepCase],
    opts: &SweepOptions,
    on_result: impl Fn(&CaseResult) + Sync,
) -> Result<SweepSummary> {
    std::fs::create_dir_all(&opts.work_dir)
        .with_context(|| format!("cannot create {}", opts.work_dir.display()))?;
    let t0 = Instant::now();
    let cpu0 = cpu_seconds();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    let write_err: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1).min(cases.len().max(1)) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(k) else { break };
                let r = run_case(case, opts);
                if !r.passed() {
                    if let Some(fd) = &opts.failures_dir {
                        let p = fd.join(format!("{}.toml", case.config.name));
                        if let Err(e) = write(&p, &r.failure_report()) {
                            *write_err.lock().unwrap() = Some(e);
                        }
                    }
                }
                on_result(&r);
                results.lock().unwrap()[k] = Some(r);
            });
        }
    });
    if let Some(e) = write_err.into_inner().unwrap() {
        return Err(e);
    }
    let results = results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every case ran"))
        .collect();
    Ok(SweepSummary {
        results,
        seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds().zip(cpu0).map(|(b, a)| b - a),
    })
}

/// The sweep: cases `0..count` of master seed `seed` ([`SweepCase::generate`]).
pub fn run_sweep(
    count: usize,
    seed: u64,
    opts: &SweepOptions,
    on_result: impl Fn(&CaseResult) + Sync,
) -> Result<SweepSummary> {
    let cases: Vec<SweepCase> = (0..count).map(|i| SweepCase::generate(seed, i)).collect();
    run_cases(&cases, opts, on_result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_configs_are_valid_small_and_reproducible() {
        let mut seen_layers = [false; 4];
        let (mut a_gt_i, mut a_ndiv_h, mut k1, mut k_r, mut dense, mut th0, mut thmax) =
            (false, false, false, false, false, false, false);
        let (mut sat, mut hold1, mut hold0, mut floor, mut q17) =
            (false, false, false, false, false);
        for i in 0..400 {
            let c = SweepCase::generate(7, i);
            assert_eq!(
                c,
                SweepCase::generate(7, i),
                "pure function of (seed, index)"
            );
            let again = SweepCase::from_config_seed(c.config_seed);
            assert_eq!(again.config, c.config);
            let r = c.config.resolve().expect("valid");
            assert!(c.pes() <= MAX_PES, "{}", c.describe());
            assert_eq!(r.h() % r.n(), 0);
            let m = &c.config.model;
            let hw = &c.config.hardware;
            seen_layers[m.layers] = true;
            a_gt_i |= hw.arrays > m.input_size;
            a_ndiv_h |= !m.hidden_size.is_multiple_of(hw.arrays);
            let d = &r.layers[0];
            k1 |= d.k_x == 1 || d.k_h == 1;
            k_r |= d.k_x == d.rows_per_pe && d.k_h == d.rows_per_pe;
            dense |= c.config.sparsity.pruning == Pruning::None;
            th0 |= r.theta_x_q == 0 && r.theta_h_q == 0;
            thmax |= r.theta_x_q == 32767 || r.theta_h_q == 32767;
            sat |= c.config.stimulus.bound == 128.0 && c.config.stimulus.step >= 8.0;
            hold1 |= c.config.stimulus.hold_prob == 1.0;
            hold0 |= c.config.stimulus.hold_prob == 0.0;
            floor |= hw.rounding == Rounding::Floor;
            q17 |= hw.bias_mode == BiasMode::Q17;
            // the restart trigger lies within sequence A
            match c.restart.restart.trigger {
                RestartTrigger::AfterInputs(k) => {
                    assert!(k <= (m.input_size * c.config.stimulus.timesteps) as u64)
                }
                RestartTrigger::AfterOutputs(k) => {
                    assert!(k <= (m.hidden_size * c.config.stimulus.timesteps) as u64)
                }
            }
            assert!(c.restart.stimulus.timesteps >= 1);
            // TOML round trip: the written file is the config
            let back = Config::from_toml(&c.config.to_toml()).unwrap();
            assert_eq!(back, c.config);
        }
        assert!(seen_layers[1] && seen_layers[2] && seen_layers[3]);
        assert!(a_gt_i && a_ndiv_h && k1 && k_r && dense && th0 && thmax);
        assert!(sat && hold1 && hold0 && floor && q17);
        assert_ne!(SweepCase::generate(1, 0), SweepCase::generate(2, 0));
    }

    #[test]
    fn failure_report_is_a_loadable_config() {
        let case = SweepCase::generate(3, 1);
        let r = CaseResult {
            case: case.clone(),
            problems: vec!["step 3: compute cycles Some(1), cycle model 2\nsecond line".into()],
            seconds: 1.0,
            build_seconds: 0.5,
            cycles: 10,
            steps: 2,
            verilog_lines: 100,
            restart: None,
            dir: PathBuf::from("x"),
        };
        let text = r.failure_report();
        assert!(text.contains(&format!("--config-seed {}", case.config_seed)));
        assert!(text.contains("# problem: second line"));
        let back = spartus_model::config::load_str(&text).unwrap();
        assert_eq!(back.config, case.config);
        assert!(r.line().contains("FAIL"));
    }

    #[test]
    fn cpu_seconds_reads_proc() {
        if Path::new("/proc/self/stat").exists() {
            let a = cpu_seconds().unwrap();
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            assert!(cpu_seconds().unwrap() >= a);
        }
    }
}
