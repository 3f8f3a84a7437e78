//! CI random-config sweep: a fixed seed set of 48 random valid configs
//! (`spartus_gen::sweep`, master seed [`SEED`]), each emitted, linted, replayed bit-exact in
//! Verilator with random valid gaps and ready stalls (`gen verify`: every h and the hardware's
//! cycle / delta counters against the model), checked by Yosys (no latches, no undriven or
//! conflicting drivers, no loops), and restarted in the middle of the sequence
//! (`start_sequence` or `reset`) into a second sequence that must be bit-exact from reset.
//!
//! The cases run inside this test process, two at a time (each Verilator build with `-j 2`).
//! The seed set is chosen to cover the config space (asserted below: 1–3 layers, A > I, A ∤ H,
//! K = 1 and K = R, Θ = 0 / one LSB / large / maximum, wfrac 0 and 8, both roundings and bias
//! modes, saturating and constant stimuli, T from 1 to ~200). Any failure prints the case's
//! config seed and TOML: reproduce it with `cargo run --release --bin sweep -- --config-seed X`.
//! Larger sweeps: `scripts/sweep.sh --count N --seed S`.

use spartus_gen::sweep::{run_cases, CaseResult, SweepCase, SweepOptions};
use spartus_model::config::{BiasMode, Config, Pruning, Rounding};

/// Master seed of the CI set (seed 201 covers every feature below with 235 PEs in total).
const SEED: u64 = 201;
/// Configs in the CI set.
const COUNT: usize = 48;

/// A generator bug that was reported and is not fixed yet. A case whose config matches
/// `applies` may show exactly this problem (any other problem still fails the test); the test
/// fails when such a case no longer shows it, so a fix cannot go unnoticed: then delete the
/// entry (and its line in docs/verification.md).
struct KnownBug {
    /// Short name, as in docs/verification.md.
    id: &'static str,
    /// Does the bug concern this config?
    applies: fn(&Config) -> bool,
    /// Text every problem line of the bug contains.
    problem: &'static str,
}

/// Empty: `lint-unsigned-empty-x-array` (an array without x columns compared its queue
/// address against a constant 0 h-column base) was fixed by carrying the column kind in the
/// delta-queue entry; the sweep now lints those configs clean.
const KNOWN_BUGS: &[KnownBug] = &[];

/// Splits a result's problems into known-bug ones and the rest; fails for a known bug that
/// did not show up.
fn unexpected_problems(r: &CaseResult, notes: &mut Vec<String>) -> Vec<String> {
    let mut rest: Vec<String> = Vec::new();
    for p in &r.problems {
        let known = KNOWN_BUGS.iter().find(|b| {
            (b.applies)(&r.case.config) && p.starts_with("lint: ") && {
                let msgs: Vec<&str> = p
                    .lines()
                    .filter(|l| l.trim_start().starts_with('%'))
                    .collect();
                !msgs.is_empty() && msgs.iter().all(|l| l.contains(b.problem))
            }
        });
        match known {
            Some(b) => notes.push(format!("{}: known bug {}", r.case.config.name, b.id)),
            None => rest.push(p.clone()),
        }
    }
    for b in KNOWN_BUGS {
        if (b.applies)(&r.case.config) && !r.problems.iter().any(|p| p.contains(b.problem)) {
            rest.push(format!(
                "known bug {} did not show up for this config: if it is fixed, remove it from \
                 KNOWN_BUGS in tests/sweep.rs and docs/verification.md",
                b.id
            ));
        }
    }
    rest
}

/// A named predicate on configs.
type Feature = (&'static str, fn(&Config) -> bool);

/// The features the CI seed set must cover.
fn coverage(cases: &[SweepCase]) -> Vec<&'static str> {
    let feats: Vec<Feature> = vec![
        ("1 layer", |c| c.model.layers == 1),
        ("2 layers", |c| c.model.layers == 2),
        ("3 layers", |c| c.model.layers == 3),
        ("A > I", |c| c.hardware.arrays > c.model.input_size),
        ("A divides neither I nor H", |c| {
            let a = c.hardware.arrays;
            a > 1 && c.model.input_size % a != 0 && c.model.hidden_size % a != 0
        }),
        ("N = 1", |c| c.hardware.pe_count == 1),
        ("N = H > 1", |c| {
            c.hardware.pe_count == c.model.hidden_size && c.model.hidden_size > 1
        }),
        ("H = 1", |c| c.model.hidden_size == 1),
        ("I = 1", |c| c.model.input_size == 1),
        ("K = 1", |c| {
            let r = c.resolve().unwrap();
            r.layers[0].k_x == 1 || r.layers[0].k_h == 1
        }),
        ("K = R (dense)", |c| {
            let r = c.resolve().unwrap();
            let d = &r.layers[0];
            d.k_x == d.rows_per_pe && d.k_h == d.rows_per_pe
        }),
        ("dual ratio K_x != K_h", |c| {
            let r = c.resolve().unwrap();
            r.layers[0].k_x != r.layers[0].k_h
        }),
        ("pruning = none", |c| c.sparsity.pruning == Pruning::None),
        ("Θ = 0", |c| {
            c.sparsity.theta_x == 0.0 && c.sparsity.theta_h == 0.0
        }),
        ("Θ = 1 LSB", |c| {
            c.sparsity.theta_x == 1.0 / 256.0 || c.sparsity.theta_h == 1.0 / 256.0
        }),
        ("Θ maximum", |c| {
            let r = c.resolve().unwrap();
            r.theta_x_q == 32767 || r.theta_h_q == 32767
        }),
        ("wfrac 0", |c| c.hardware.wfrac == 0),
        ("wfrac 8", |c| c.hardware.wfrac == 8),
        ("lut_shift 8", |c| c.hardware.lut_shift == 8),
        ("lut_shift 0", |c| c.hardware.lut_shift == 0),
        ("lut_frac 1", |c| c.hardware.lut_frac == 1),
        ("lut_frac 8", |c| c.hardware.lut_frac == 8),
        ("rounding floor", |c| c.hardware.rounding == Rounding::Floor),
        ("rounding rne", |c| c.hardware.rounding == Rounding::Rne),
        ("bias q17", |c| c.hardware.bias_mode == BiasMode::Q17),
        ("bias acc", |c| c.hardware.bias_mode == BiasMode::Acc),
        ("saturating inputs", |c| {
            c.stimulus.bound == 128.0 && c.stimulus.step >= 8.0
        }),
        ("hold_prob 1", |c| c.stimulus.hold_prob == 1.0),
        ("hold_prob 0", |c| c.stimulus.hold_prob == 0.0),
        ("T = 1", |c| c.stimulus.timesteps == 1),
        ("T >= 200", |c| c.stimulus.timesteps >= 200),
    ];
    feats
        .into_iter()
        .filter(|(_, f)| !cases.iter().any(|c| f(&c.config)))
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn ci_seed_set_covers_the_config_space() {
    let cases: Vec<SweepCase> = (0..COUNT).map(|i| SweepCase::generate(SEED, i)).collect();
    assert_eq!(coverage(&cases), Vec::<&str>::new(), "features not covered");
    let pes: usize = cases.iter().map(SweepCase::pes).sum();
    assert!(
        pes <= 240,
        "{pes} PEs: the CI budget is ~6-8 min on 2 cores"
    );
}

#[test]
fn random_configs_are_bit_exact_in_verilator() {
    let work = tempfile::tempdir().unwrap();
    let mut opts = SweepOptions::new(work.path().join("sweep"));
    opts.failures_dir = Some(work.path().join("sweep-failures"));
    opts.jobs = 2;
    let cases: Vec<SweepCase> = (0..COUNT).map(|i| SweepCase::generate(SEED, i)).collect();
    let summary = run_cases(&cases, &opts, |r| eprintln!("{}", r.line())).unwrap();
    eprintln!("{}", summary.totals_line());
    let mut notes = Vec::new();
    let mut failures = Vec::new();
    for r in &summary.results {
        let rest = unexpected_problems(r, &mut notes);
        if !rest.is_empty() {
            failures.push(format!(
                "---- case {} FAILED:\n{}\n{}",
                r.case.index,
                rest.join("\n"),
                r.failure_report()
            ));
        }
    }
    for n in &notes {
        eprintln!("{n}");
    }
    assert!(
        failures.is_empty(),
        "{} of {COUNT} configs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(summary.results.len(), COUNT);
    // every case really ran: a replay and a restart run with steps and cycles
    for r in &summary.results {
        assert!(r.cycles > 0 && r.steps >= r.case.config.stimulus.timesteps as u64);
        assert!(r.restart.as_deref().is_some_and(|s| s.ends_with("ok")));
    }
}
