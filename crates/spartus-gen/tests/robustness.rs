//! RTL robustness, bit-exact in Verilator: `start_sequence` and `reset` in the middle of a
//! sequence (after a random number of inputs, at a random cycle, with random stalls),
//! back-to-back sequences with no idle cycles, a restart during the init phase, a long
//! sequence (T = 10 000), constant input (all-zero deltas for many steps), every element
//! changing every step (the worst case), and thresholds 0 and the maximum 127.99609375.
//!
//! The restart runs use the generic testbench's `+restart_*` / `+vectors2` plusargs
//! (`testbenches/verilator/tb.cpp`): outputs accepted up to the pulse must match sequence A's
//! prefix, everything after it must match sequence B (same weights, different stimulus seed)
//! from reset, and the counters must match the cycle model for B exactly and for A's completed
//! steps ([`spartus_gen::sweep::check_restart`]). The testbench's restart mode itself is
//! tested against the fake DUT of `tests/fixtures/harness/` and two broken variants of it.
//!
//! Needs Verilator (`bash scripts/install-tools.sh`).

use spartus_gen::sweep::{check_restart, max_cycles_for, write_second_sequence, RestartCheck};
use spartus_gen::verify::{verify, VerifyOptions, VerifyReport};
use spartus_gen::verilator::{
    self, BuildOptions, HarnessError, Restart, RestartKind, RestartTrigger, RunOptions,
};
use spartus_model::design::Design;
use spartus_model::rng::Lcg;
use spartus_model::stimulus::random_walk;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A design emitted and verified (`gen verify`: lint, build, replay with stalls, counters)
/// in its own temporary folder.
struct Verified {
    _tmp: tempfile::TempDir,
    report: VerifyReport,
    design: Design,
}

impl Verified {
    fn dir(&self) -> &Path {
        &self.report.dir
    }
    fn exe(&self) -> PathBuf {
        self.report.dir.join("sim/obj/tb")
    }
}

/// Emit and verify `toml` (inputs from `inputs` when given), asserting the verify run passed.
fn verified(toml: &str, inputs: Option<&[Vec<f64>]>, seed: u64) -> Verified {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config.toml");
    fs::write(&cfg, toml).unwrap();
    let mut opts = VerifyOptions::new(cfg.clone());
    opts.vectors.out_dir = tmp.path().join("hdl_out");
    opts.seed = seed;
    if let Some(x) = inputs {
        let p = tmp.path().join("x.npy");
        let flat: Vec<f64> = x.iter().flatten().copied().collect();
        fs::write(
            &p,
            spartus_model::npy::write_f64(&[x.len(), x[0].len()], &flat),
        )
        .unwrap();
        opts.vectors.inputs = Some(p);
    }
    let report = verify(&opts).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(report.passed(), "{}", report.summary());
    let resolved = spartus_gen::load_config(&cfg).unwrap();
    let design =
        spartus_gen::prepare_design(&resolved, None, opts.vectors.inputs.as_deref()).unwrap();
    assert_eq!(design.total_cycles(), report.predicted_total_cycles);
    Verified {
        _tmp: tmp,
        report,
        design,
    }
}

// ------------------------------------------------------------------------------------------
// Restarts on a real design: two layers, A = 2 arrays (A divides neither I nor H/N), dual
// ratio, nonzero thresholds.

const RESTART_TOML: &str = r#"
name = "rb_restart"
seed = 21
[model]
input_size = 5
hidden_size = 8
layers = 2
[sparsity]
k_x = 3
k_h = 5
theta_x = 0.0625
theta_h = 0.03125
[hardware]
pe_count = 2
arrays = 2
wfrac = 6
[stimulus]
timesteps = 60
step = 0.5
hold_prob = 0.4
"#;

fn restart_design() -> &'static Verified {
    static V: OnceLock<Verified> = OnceLock::new();
    V.get_or_init(|| verified(RESTART_TOML, None, 3))
}

/// Sequence B for the restart design from stimulus seed `seed` with `t` steps, written to
/// `sim/<rel>`.
fn sequence_b(v: &Verified, seed: u64, t: usize, rel: &str) -> Design {
    let r = &v.design.resolved;
    let stim = spartus_model::config::StimulusConfig {
        timesteps: t,
        ..r.config.stimulus.clone()
    };
    let x = random_walk(&stim, r.i(), seed).x;
    write_second_sequence(v.dir(), r, None, &x, Path::new(rel)).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn restart_run(
    v: &Verified,
    b: &Design,
    rel_b: &str,
    kind: RestartKind,
    trigger: RestartTrigger,
    max_delay: u64,
    len: u64,
    (seed, in_gap, out_stall): (u64, f64, f64),
    result: &str,
) -> RestartCheck {
    let restart = Restart {
        kind,
        trigger,
        max_delay,
        len,
        vectors2: Some(PathBuf::from(rel_b)),
    };
    let run = RunOptions {
        seed,
        in_gap,
        out_stall,
        max_cycles: max_cycles_for(&[&v.design, b]),
        result: PathBuf::from(result),
        ..Default::default()
    };
    let rc = check_restart(v.dir(), &v.exe(), &v.design, b, &run, &restart)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rc.passed(),
        "{kind:?} {trigger:?} delay {max_delay} len {len} seed {seed}: {}\n{}",
        rc.summary(),
        rc.problems.join("\n")
    );
    rc
}

/// `start_sequence` or `reset` after a random number of inputs and a random delay, with
/// random stalls, each to a fresh sequence B; `n` runs.
fn random_restarts(kind: RestartKind, n: u64, tag: &str) -> Vec<RestartCheck> {
    let v = restart_design();
    let r = &v.design.resolved;
    let (t, i, h) = (v.design.timesteps() as u64, r.i() as u64, r.h() as u64);
    let mut g = Lcg::new(0x5eed + kind as u64);
    let mut out = Vec::new();
    for k in 0..n {
        let rel = format!("sim/{tag}_b{k}");
        let tb = g.int_range(1, 40) as usize;
        let b = sequence_b(v, 1000 + k, tb, &rel);
        let after = g.int_range(0, (t * i) as i64) as u64;
        let delay = g.int_range(0, (3 * (i + h + 20)) as i64) as u64;
        let in_gap = [0.0, 0.2, 0.5][g.below(3) as usize];
        let out_stall = [0.0, 0.3, 0.7][g.below(3) as usize];
        let len = if k % 4 == 3 { 2 } else { 1 };
        let rc = restart_run(
            v,
            &b,
            &rel,
            kind,
            RestartTrigger::AfterInputs(after),
            delay,
            len,
            (k + 1, in_gap, out_stall),
            &format!("sim/{tag}_{k}.txt"),
        );
        assert!(rc.record.inputs >= after);
        assert_eq!(rc.sim.stat_steps, b.timesteps() as u64);
        assert_eq!(rc.sim.outputs, b.timesteps() as u64 * h);
        out.push(rc);
    }
    out
}

/// Outputs of A accepted strictly inside the sequence and steps in flight: the restarts
/// really hit the middle of the sequence.
fn assert_mid_sequence(runs: &[RestartCheck], t: u64, h: u64) {
    let mid = runs
        .iter()
        .filter(|r| r.record.outputs > 0 && r.record.outputs < t * h)
        .count();
    let partial_step = runs
        .iter()
        .filter(|r| r.record.outputs % h != 0 && r.record.outputs < t * h)
        .count();
    assert!(mid >= runs.len() / 2, "only {mid} mid-sequence restarts");
    assert!(
        partial_step >= 1,
        "no restart while a step's outputs were half delivered"
    );
}

#[test]
fn start_sequence_in_the_middle_is_bit_exact() {
    let runs = random_restarts(RestartKind::Start, 14, "start");
    let v = restart_design();
    assert_mid_sequence(
        &runs,
        v.design.timesteps() as u64,
        v.design.resolved.h() as u64,
    );
    // the counters keep counting over a start_sequence
    assert!(runs
        .iter()
        .any(|r| r.record.steps > 0 && r.record.stat_cycles > 0));
}

#[test]
fn reset_in_the_middle_is_bit_exact() {
    let runs = random_restarts(RestartKind::Reset, 10, "reset");
    let v = restart_design();
    assert_mid_sequence(
        &runs,
        v.design.timesteps() as u64,
        v.design.resolved.h() as u64,
    );
    // a reset clears the counters (the testbench flags anything else as a protocol error)
    for r in &runs {
        assert_eq!(r.sim.protocol_errors, 0);
    }
}

#[test]
fn back_to_back_sequences_without_idle_cycles() {
    let v = restart_design();
    let r = &v.design.resolved;
    let (t, h) = (v.design.timesteps() as u64, r.h() as u64);
    // A plain run without stalls: the cycle of A's last output.
    let plain = verilator::run_tb(
        v.dir(),
        &v.exe(),
        &RunOptions {
            result: PathBuf::from("sim/b2b_plain.txt"),
            max_cycles: max_cycles_for(&[&v.design]),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(plain.passed(), "{}", plain.summary());
    for (n, kind) in [RestartKind::Start, RestartKind::Reset]
        .into_iter()
        .enumerate()
    {
        let rel = format!("sim/b2b_b{n}");
        let b = sequence_b(v, 77 + n as u64, 30, &rel);
        let rc = restart_run(
            v,
            &b,
            &rel,
            kind,
            RestartTrigger::AfterOutputs(t * h),
            0,
            1,
            (1, 0.0, 0.0),
            &format!("sim/b2b_{n}.txt"),
        );
        assert_eq!(rc.record.outputs, t * h, "all of A was delivered");
        // The last step counts as completed when the gate phase ends, which may be a few
        // cycles after its last h left (the hidden delta encoder still runs): a restart in
        // those cycles abandons it, so A shows T or T - 1 completed steps (each one's cycles
        // equal to the model: checked by check_restart).
        let done = rc.record.step_cycles.len() as u64;
        assert!(
            done == t || done == t - 1,
            "{done} of {t} steps of A counted"
        );
        assert_eq!(
            rc.record.cycle,
            plain.cycles + 1,
            "the pulse follows A's last output with no idle cycle"
        );
        // B's first output comes as early as after a reset: init, then one step.
        assert!(rc.sim.steps[0].end_cycle.unwrap() > rc.record.cycle);
    }
    // B = A: restarting into the same sequence must reproduce it exactly.
    let rc = restart_run(
        v,
        &v.design,
        "vectors",
        RestartKind::Start,
        RestartTrigger::AfterOutputs(t * h),
        0,
        1,
        (2, 0.0, 0.0),
        "sim/b2b_same.txt",
    );
    assert_eq!(rc.sim.stat_cycles, v.design.total_cycles());
    let last = *v.design.step_cycles().last().unwrap();
    let c = rc.record.stat_cycles;
    assert!(
        c <= v.design.total_cycles() && c + last >= v.design.total_cycles(),
        "A's cycles at the restart: {c} of {}",
        v.design.total_cycles()
    );
}

#[test]
fn restart_during_init_and_right_after_the_last_input() {
    let v = restart_design();
    let r = &v.design.resolved;
    let (t, i) = (v.design.timesteps() as u64, r.i() as u64);
    let b = sequence_b(v, 4242, 25, "sim/edge_b");
    for (n, (kind, after, len)) in [
        (RestartKind::Start, 0, 1), // first cycle after reset: still in the init phase
        (RestartKind::Reset, 0, 1), // reset during init
        (RestartKind::Start, 0, 3), // a 3-cycle pulse
        (RestartKind::Start, t * i, 1), // right after A's last input: its last step in flight
        (RestartKind::Reset, t * i, 1),
        (RestartKind::Start, i, 1), // right after the first step's inputs
    ]
    .into_iter()
    .enumerate()
    {
        let rc = restart_run(
            v,
            &b,
            "sim/edge_b",
            kind,
            RestartTrigger::AfterInputs(after),
            0,
            len,
            (n as u64 + 1, 0.0, 0.0),
            &format!("sim/edge_{n}.txt"),
        );
        if after == 0 {
            assert_eq!(rc.record.inputs, 0, "no input accepted during init");
            assert_eq!(rc.record.outputs, 0);
        }
        if after == t * i {
            assert!(
                rc.record.outputs < t * r.h() as u64,
                "A's last step was still in flight"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Long, constant, worst-case and threshold-extreme sequences.

#[test]
fn long_sequence_of_ten_thousand_steps() {
    let toml = r#"
name = "rb_long"
seed = 5
[model]
input_size = 3
hidden_size = 4
[sparsity]
k_x = 2
k_h = 3
theta_x = 0.03125
theta_h = 0.015625
[hardware]
pe_count = 2
arrays = 2
[stimulus]
timesteps = 10000
step = 0.3
hold_prob = 0.3
"#;
    let v = verified(toml, None, 9);
    let rep = &v.report;
    assert_eq!(rep.predicted_step_cycles.len(), 10_000);
    assert_eq!(rep.sim.stat_steps, 10_000);
    assert_eq!(rep.sim.outputs, 40_000);
    assert!(rep.sim.steps.iter().all(|s| s.compute_cycles.is_some()));
    assert_eq!(rep.sim.stat_cycles, rep.predicted_total_cycles);
    // and a reset deep inside it, into another 2 000-step sequence
    let b = sequence_b(&v, 99, 2000, "sim/long_b");
    let rc = restart_run(
        &v,
        &b,
        "sim/long_b",
        RestartKind::Reset,
        RestartTrigger::AfterInputs(3 * 7321 + 1),
        50,
        1,
        (4, 0.1, 0.2),
        "sim/long_restart.txt",
    );
    assert!(rc.record.step_cycles.len() > 7000);
}

#[test]
fn constant_input_gives_all_zero_deltas_for_many_steps() {
    // hold_prob = 1: x never changes after step 0, so Δx = 0 from step 1 on; with Θh > 0 the
    // hidden state settles and Δh becomes 0 too: steps with no delta at all cost exactly T_upd.
    let toml = r#"
name = "rb_const"
seed = 8
[model]
input_size = 6
hidden_size = 8
layers = 2
[sparsity]
sparsity_x = 0.5
sparsity_h = 0.5
theta_x = 0.0
theta_h = 0.0625
[hardware]
pe_count = 4
arrays = 1
[stimulus]
timesteps = 1500
hold_prob = 1.0
bound = 4.0
"#;
    let v = verified(toml, None, 11);
    let d = &v.design;
    let tr0 = &d.traces[0];
    assert!(tr0.nnz_x[0] > 0);
    assert!(
        tr0.nnz_x[1..].iter().all(|&n| n == 0),
        "constant input: no Δx after step 0"
    );
    let last_i = d.resolved.layers.last().unwrap().input_size; // the last layer's I = H
    let t_upd = spartus_hw::layer::t_upd(last_i, d.resolved.h());
    let quiet = (0..d.timesteps())
        .filter(|&t| {
            d.traces
                .iter()
                .all(|tr| tr.nnz_x[t] == 0 && tr.nnz_h[t] == 0)
        })
        .count();
    assert!(quiet >= 1000, "only {quiet} all-zero-delta steps");
    // measured in Verilator: those steps cost exactly T_upd in the last layer
    for (t, s) in v.report.sim.steps.iter().enumerate() {
        let last = d.traces.last().unwrap();
        if last.nnz_x[t] == 0 && last.nnz_h[t] == 0 {
            assert_eq!(s.compute_cycles, Some(t_upd), "step {t}");
        }
    }
}

#[test]
fn every_element_changing_every_step() {
    // Inputs flip sign every step (+-1.5 alternating per element), Θ = 0 and dense weights:
    // every Δx is nonzero in every step, the worst case of the cycle model.
    let toml = r#"
name = "rb_worst"
seed = 4
[model]
input_size = 7
hidden_size = 8
[sparsity]
pruning = "none"
theta_x = 0.0
theta_h = 0.0
[hardware]
pe_count = 4
arrays = 2
"#;
    let (t, i) = (300usize, 7usize);
    let x: Vec<Vec<f64>> = (0..t)
        .map(|s| {
            (0..i)
                .map(|j| {
                    let m = 0.25 + 0.25 * (j as f64);
                    if (s + j) % 2 == 0 {
                        m
                    } else {
                        -m
                    }
                })
                .collect()
        })
        .collect();
    let v = verified(toml, Some(&x), 12);
    let d = &v.design;
    let tr = &d.traces[0];
    assert!(
        tr.nnz_x.iter().all(|&n| n as usize == i),
        "every Δx nonzero"
    );
    let h = d.resolved.h();
    let busy = tr.nnz_h.iter().filter(|&&n| n as usize == h).count();
    assert!(busy >= t / 2, "Δh all nonzero in only {busy} steps");
    // the measured step cycles are the cycle model's, and the maximum is the dense bound
    let dims = &d.resolved.layers[0];
    let bound = (dims.k_x * i.div_ceil(2) + dims.k_h * h.div_ceil(2)) as u64
        + spartus_hw::layer::t_upd(i, h);
    let max = v
        .report
        .predicted_step_cycles
        .iter()
        .max()
        .copied()
        .unwrap();
    assert!(max <= bound);
    assert!(
        v.report
            .predicted_step_cycles
            .iter()
            .filter(|&&c| c == bound)
            .count()
            >= t / 2,
        "the dense bound {bound} is reached"
    );
}

#[test]
fn thresholds_zero_and_maximum_with_saturating_inputs() {
    // Θ = 127.99609375 (Q8.8 0x7fff): only a change of at least 32767 LSB is a delta, i.e.
    // input jumps between the saturated extremes (±128 → 0x7fff / 0x8000); x̂ then wraps
    // through sat16(x - x̂). Hidden deltas (|h| ≤ 1) never reach it.
    let max = r#"
name = "rb_thmax"
seed = 13
[model]
input_size = 4
hidden_size = 4
[sparsity]
k_x = 3
k_h = 4
theta_x = 127.99609375
theta_h = 127.99609375
[hardware]
pe_count = 2
arrays = 3
wfrac = 2
[stimulus]
timesteps = 300
step = 128.0
bound = 128.0
hold_prob = 0.2
"#;
    let v = verified(max, None, 14);
    assert_eq!(
        (v.design.resolved.theta_x_q, v.design.resolved.theta_h_q),
        (32767, 32767)
    );
    let tr = &v.design.traces[0];
    assert!(
        tr.nnz_h.iter().all(|&n| n == 0),
        "no hidden delta reaches Θ"
    );
    let nx: u32 = tr.nnz_x.iter().sum();
    assert!(nx >= 20, "only {nx} input deltas");
    let xq = &v.design.x_q;
    assert!(xq.iter().flatten().any(|&q| q == i16::MAX));
    assert!(xq.iter().flatten().any(|&q| q == i16::MIN));
    // Θ = 0 on the same saturating stimulus: every change is a delta.
    let zero = max
        .replace("rb_thmax", "rb_th0")
        .replace("127.99609375", "0.0");
    let v0 = verified(&zero, None, 15);
    assert_eq!(v0.design.x_q, v.design.x_q, "same stimulus");
    let tr0 = &v0.design.traces[0];
    // The input delta counts of both designs, recomputed here from docs/arithmetic.md §3 step 1.
    for (theta, tr) in [(32767, tr), (0, tr0)] {
        let mut hat = [0i16; 4];
        for (t, row) in xq.iter().enumerate() {
            let mut nnz = 0;
            for (j, &x) in row.iter().enumerate() {
                let r = x as i32 - hat[j] as i32;
                if r.abs() >= theta {
                    let dx = r.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
                    hat[j] += dx;
                    nnz += u32::from(dx != 0);
                }
            }
            assert_eq!(tr.nnz_x[t], nnz, "Θ {theta}, step {t}");
        }
    }
    assert!(tr0.nnz_h.iter().sum::<u32>() > 0);
    // restart the Θ-max design in the middle, into a sequence of the Θ = 0 design's inputs
    let xf = &v0.design.x_float;
    let b = write_second_sequence(
        v.dir(),
        &v.design.resolved,
        None,
        &xf[..120],
        Path::new("sim/thmax_b"),
    )
    .unwrap();
    restart_run(
        &v,
        &b,
        "sim/thmax_b",
        RestartKind::Start,
        RestartTrigger::AfterInputs(517),
        40,
        1,
        (3, 0.2, 0.3),
        "sim/thmax_restart.txt",
    );
}

// ------------------------------------------------------------------------------------------
// The testbench's restart mode against the fake DUT and broken variants of it.

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/harness")
}

fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// The fake DUT with `edit` applied to its Verilog, built in a temp folder.
fn fake(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let v = dir.path().join("rtl/spartus_fake.v");
    let text = fs::read_to_string(&v).unwrap();
    let edited = edit(text.clone());
    fs::write(&v, edited).unwrap();
    let b = verilator::build_tb(dir.path(), "spartus_fake", &BuildOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    (dir, b.exe)
}

/// A restart run on a fake DUT: input gaps 0.3, output stalls `out_stall`.
fn fake_run(
    dir: &Path,
    exe: &Path,
    restart: &Restart,
    seed: u64,
    out_stall: f64,
) -> Result<(verilator::SimResult, verilator::RestartRecord), HarnessError> {
    let run = RunOptions {
        seed,
        in_gap: 0.3,
        out_stall,
        max_cycles: 100_000,
        result: PathBuf::from(format!("sim/fake_{seed}.txt")),
        ..Default::default()
    };
    verilator::run_tb_restart(dir, exe, &run, restart)
}

/// The fake's parameters: T = 24, I = 3, H = 5 (see `harness_verilator.rs`).
const FT: u64 = 24;
const FI: u64 = 3;
const FH: u64 = 5;

#[test]
fn testbench_restart_mode_on_the_fake_dut() {
    let (dir, exe) = fake(|v| v);
    let d = dir.path();
    // B = A: the fake restarts its step counter, so the whole sequence must replay. Without
    // output stalls every step of the fake costs exactly 2 + H + 2 compute cycles.
    for (seed, kind) in [(1, RestartKind::Start), (2, RestartKind::Reset)] {
        for after in [0, 1, 7, FT * FI / 2, FT * FI] {
            let r = Restart {
                kind,
                trigger: RestartTrigger::AfterInputs(after),
                max_delay: 20,
                len: 1 + seed % 2,
                vectors2: None,
            };
            let (sim, rec) = fake_run(d, &exe, &r, seed + after, 0.0).unwrap();
            assert!(
                sim.passed(),
                "{kind:?} after {after}: {} {:?}",
                sim.summary(),
                sim.messages
            );
            assert_eq!(rec.kind, kind);
            assert!(rec.inputs >= after);
            assert_eq!(sim.outputs, FT * FH);
            assert_eq!(sim.inputs, FT * FI);
            assert_eq!(sim.stat_steps, FT, "B's steps, relative to the pulse");
            // The fake: every step costs 2 + H + 2 compute cycles (see harness_verilator.rs).
            assert_eq!(sim.stat_cycles, FT * (2 + FH + 2));
            assert!(sim
                .steps
                .iter()
                .all(|s| s.compute_cycles == Some(2 + FH + 2)));
            assert!(rec.step_cycles.iter().all(|&c| c == 2 + FH + 2));
            if kind == RestartKind::Reset {
                assert_eq!((rec.stat_cycles, rec.steps), (0, 0));
            } else {
                assert_eq!(rec.steps, rec.step_cycles.len() as u64);
            }
        }
    }
    // with output stalls (compute cycles then vary)
    for (seed, kind) in [(3, RestartKind::Start), (4, RestartKind::Reset)] {
        for after in [2, FT * FI / 3, FT * FI - 1] {
            let r = Restart {
                kind,
                trigger: RestartTrigger::AfterInputs(after),
                max_delay: 30,
                len: 1,
                vectors2: None,
            };
            let (sim, _) = fake_run(d, &exe, &r, seed + after, 0.6).unwrap();
            assert!(
                sim.passed(),
                "{kind:?} after {after}: {} {:?}",
                sim.summary(),
                sim.messages
            );
            assert_eq!(sim.stat_steps, FT);
        }
    }
    // back-to-back: the pulse in the cycle after A's last output
    let r = Restart {
        kind: RestartKind::Start,
        trigger: RestartTrigger::AfterOutputs(FT * FH),
        max_delay: 0,
        len: 1,
        vectors2: Some(PathBuf::from("vectors")),
    };
    let (sim, rec) = fake_run(d, &exe, &r, 9, 0.0).unwrap();
    assert!(sim.passed(), "{}", sim.summary());
    assert_eq!(rec.outputs, FT * FH);
    assert_eq!(rec.step_cycles.len() as u64, FT);

    // A corrupted expected value of A before the restart is caught as an A mismatch.
    let bad = d.join("vectors_bad");
    copy_dir(&d.join("vectors"), &bad);
    let hx = bad.join("h_q.hex");
    let mut lines: Vec<String> = fs::read_to_string(&hx)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[2] = format!("{:04x}", u16::from_str_radix(&lines[2], 16).unwrap() ^ 4);
    fs::write(&hx, lines.join("\n") + "\n").unwrap();
    let run = RunOptions {
        vectors: PathBuf::from("vectors_bad"),
        max_cycles: 100_000,
        result: PathBuf::from("sim/fake_bad.txt"),
        ..Default::default()
    };
    let r = Restart {
        kind: RestartKind::Start,
        trigger: RestartTrigger::AfterOutputs(10),
        max_delay: 0,
        len: 1,
        vectors2: Some(PathBuf::from("vectors")),
    };
    let (sim, rec) = verilator::run_tb_restart(d, &exe, &run, &r).unwrap();
    assert!(!sim.passed());
    assert_eq!((rec.mismatches, sim.mismatches), (1, 1));
    assert!(sim.messages[0].contains("sequence A"), "{:?}", sim.messages);
    assert_eq!(sim.outputs, FT * FH, "B itself was fine");

    // Setup errors: exit code 2, an Err, not a result.
    let bad_trigger = Restart {
        trigger: RestartTrigger::AfterInputs(FT * FI + 1),
        ..r.clone()
    };
    assert!(matches!(
        fake_run(d, &exe, &bad_trigger, 1, 0.0),
        Err(HarnessError::ToolFailed(_))
    ));
    let run = RunOptions {
        result: PathBuf::from("sim/x.txt"),
        extra_plusargs: vec!["+vectors2=vectors".into()],
        ..Default::default()
    };
    assert!(
        matches!(
            verilator::run_tb(d, &exe, &run),
            Err(HarnessError::ToolFailed(_))
        ),
        "+vectors2 without a trigger is a setup error"
    );
    let other = d.join("vectors_i4");
    copy_dir(&d.join("vectors"), &other);
    let p = fs::read_to_string(other.join("params.txt"))
        .unwrap()
        .replace("input_size 3", "input_size 4");
    fs::write(other.join("params.txt"), p).unwrap();
    let r4 = Restart {
        vectors2: Some(PathBuf::from("vectors_i4")),
        ..r
    };
    assert!(
        matches!(
            fake_run(d, &exe, &r4, 1, 0.0),
            Err(HarnessError::ToolFailed(_))
        ),
        "a second sequence with another input size is a setup error"
    );
}

#[test]
fn testbench_catches_a_dut_that_does_not_restart_cleanly() {
    // 1. start_sequence forgets to clear the step number t: B's outputs are wrong.
    let (dir, exe) = fake(|v| {
        assert!(v.contains("acc <= 16'd0; t <= 8'd0;\n            cur_cycles"));
        v.replacen(
            "acc <= 16'd0; t <= 8'd0;\n            cur_cycles",
            "acc <= 16'd0;\n            cur_cycles",
            1,
        )
    });
    let r = Restart {
        kind: RestartKind::Start,
        trigger: RestartTrigger::AfterInputs(20),
        max_delay: 10,
        len: 1,
        vectors2: None,
    };
    let (sim, rec) = fake_run(dir.path(), &exe, &r, 3, 0.3).unwrap();
    assert!(!sim.passed());
    assert_eq!(rec.mismatches, 0, "A was fine");
    assert!(sim.mismatches > 0, "{}", sim.summary());
    // ... while a plain run of the same DUT passes (the bug only shows with a restart).
    let plain = verilator::run_tb(
        dir.path(),
        &exe,
        &RunOptions {
            result: PathBuf::from("sim/plain.txt"),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(plain.passed(), "{}", plain.summary());

    // 2. reset forgets to clear the step counter: a protocol error after the pulse.
    let (dir, exe) = fake(|v| {
        assert!(v.contains("n_deltas <= 32'd0; n_steps <= 32'd0;"));
        v.replacen(
            "n_deltas <= 32'd0; n_steps <= 32'd0;",
            "n_deltas <= 32'd0;",
            1,
        )
    });
    let r = Restart {
        kind: RestartKind::Reset,
        ..r
    };
    let (sim, _) = fake_run(dir.path(), &exe, &r, 4, 0.3).unwrap();
    assert!(!sim.passed());
    assert!(
        sim.messages
            .iter()
            .any(|m| m.contains("counters not cleared by reset")),
        "{:?}",
        sim.messages
    );
}
