//! The overlapped schedule (`hardware.overlap = true`: the Δh of step t are multiplied during
//! its gate phase into a delta bank that the next gate phase folds into M), proven in
//! Verilator: bit-exact against the golden model with random stalls, per-step compute cycles
//! equal to the cycle-by-cycle schedule model, fewer cycles than the same design and delta
//! pattern without overlap, and `start_sequence` / `reset` in the middle of a sequence (the
//! delta banks, the bank select and the pending delta counter must restart cleanly).
//! Needs Verilator (`bash scripts/install-tools.sh`).

use spartus_gen::sweep::{check_restart, max_cycles_for, write_second_sequence};
use spartus_gen::verify::{verify, VerifyOptions, VerifyReport};
use spartus_gen::verilator::{Restart, RestartKind, RestartTrigger, RunOptions};
use spartus_model::design::Design;
use spartus_model::stimulus::random_walk;
use std::path::{Path, PathBuf};

fn config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/configs/{name}.toml"))
}

/// Verify `name` and return the report, its folder and the design (overlap cycle model).
fn verified(name: &str, seed: u64) -> (VerifyReport, tempfile::TempDir, Design) {
    let out = tempfile::tempdir().unwrap();
    let mut opts = VerifyOptions::new(config(name));
    opts.vectors.out_dir = out.path().to_path_buf();
    opts.seed = seed;
    let report = verify(&opts).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(report.sim.mismatches, 0);
    assert_eq!(report.sim.outputs, report.sim.expected_outputs);
    assert_eq!(report.sim.stat_cycles, report.predicted_total_cycles);
    let resolved = spartus_gen::load_config(&config(name)).unwrap();
    assert!(resolved.config.hardware.overlap);
    let design = spartus_gen::prepare_design(&resolved, None, None).unwrap();
    assert_eq!(design.total_cycles(), report.predicted_total_cycles);
    (report, out, design)
}

/// The same design's cycles without overlap (closed form, docs/arithmetic.md §6 with T_upd = I + 2 + 4 + H/G
/// + 14).
fn cycles_without_overlap(d: &Design) -> u64 {
    d.cycle_params
        .iter()
        .zip(&d.traces)
        .map(|(p, t)| p.trace_cycles(t).iter().sum::<u64>())
        .sum()
}

fn bit_exact_and_faster(name: &str, seed: u64) {
    let (r, _dir, d) = verified(name, seed);
    let without = cycles_without_overlap(&d);
    eprintln!(
        "{name}: measured {} compute cycles with overlap, {without} predicted without ({:.1} %)",
        r.sim.stat_cycles,
        100.0 * (1.0 - r.sim.stat_cycles as f64 / without as f64)
    );
    assert!(r.sim.stat_cycles < without, "{name}: no gain");
}

#[test]
fn overlap_with_two_lanes_over_three_arrays() {
    bit_exact_and_faster("overlap", 31);
}

#[test]
fn overlap_dense_one_array_backlog() {
    // K = 16 per Δh column: most Δh work spills past the gate phase into the next step
    bit_exact_and_faster("overlap_dense", 32);
}

#[test]
fn overlap_two_layers_with_restarts() {
    let (r, _dir, a) = verified("overlap_two_layer", 33);
    let without = cycles_without_overlap(&a);
    assert!(r.sim.stat_cycles < without, "no gain");
    let res = &a.resolved;
    let exe = r.dir.join("sim/obj/tb");
    let (i, h) = (res.i() as u64, res.h() as u64);
    let t = a.timesteps() as u64;
    for (k, (kind, after, delay)) in [
        (RestartKind::Start, 3 * i + 2, 40),
        (RestartKind::Start, 57 * i, 5),
        (RestartKind::Reset, 20 * i + 1, 90),
        (RestartKind::Reset, t * i / 2, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let rel = format!("sim/ovl_b{k}");
        let stim = spartus_model::config::StimulusConfig {
            timesteps: 15 + 7 * k,
            ..res.config.stimulus.clone()
        };
        let x = random_walk(&stim, res.i(), 500 + k as u64).x;
        let b = write_second_sequence(&r.dir, res, None, &x, Path::new(&rel)).unwrap();
        let restart = Restart {
            kind,
            trigger: RestartTrigger::AfterInputs(after),
            max_delay: delay,
            len: 1,
            vectors2: Some(PathBuf::from(&rel)),
        };
        let run = RunOptions {
            seed: 40 + k as u64,
            in_gap: 0.2,
            out_stall: 0.3,
            max_cycles: max_cycles_for(&[&a, &b]),
            result: PathBuf::from(format!("sim/ovl_restart_{k}.txt")),
            ..Default::default()
        };
        let rc = check_restart(&r.dir, &exe, &a, &b, &run, &restart).unwrap();
        assert!(
            rc.passed(),
            "{kind:?} after {after} inputs: {}\n{}",
            rc.summary(),
            rc.problems.join("\n")
        );
        assert_eq!(rc.sim.stat_steps, b.timesteps() as u64);
        assert_eq!(rc.sim.outputs, b.timesteps() as u64 * h);
    }
}

/// Heavy x-stream stalls (each cycle withholds the next input with probability 0.6) on the
/// config whose Δh work spills far past the gate phase (I = 3, 200 steps): the backlog drains
/// only in the IN cycles that accept an element (and in FLUSH), so every step's measured compute
/// cycles still equal the stall-free cycle model. The testbench keeps an offered input valid
/// until it is taken, so the gaps fall between the elements of a step: about 1.5 per gap, two
/// gaps per step; the run must show at least a third of that beyond the compute cycles.
#[test]
fn overlap_backlog_drain_is_independent_of_input_stalls() {
    let out = tempfile::tempdir().unwrap();
    let mut opts = VerifyOptions::new(config("overlap_dense"));
    opts.vectors.out_dir = out.path().to_path_buf();
    opts.seed = 34;
    opts.in_gap = 0.6;
    opts.out_stall = 0.0;
    let r = verify(&opts).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(r.passed(), "{}\n{}", r.summary(), r.problems.join("\n"));
    assert_eq!(r.sim.mismatches, 0);
    assert_eq!(r.sim.steps.len(), r.predicted_step_cycles.len());
    for (s, want) in r.sim.steps.iter().zip(&r.predicted_step_cycles) {
        assert_eq!(s.compute_cycles, Some(*want), "step {}", s.t);
    }
    let t = r.predicted_step_cycles.len() as u64;
    assert!(
        r.sim.cycles > r.sim.stat_cycles + t,
        "hardly stalled: {} wall cycles, {} compute cycles",
        r.sim.cycles,
        r.sim.stat_cycles
    );
}
