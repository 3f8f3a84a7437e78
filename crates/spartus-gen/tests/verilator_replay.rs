//! The proof: the emitted Verilog replayed in Verilator against the golden vectors, bit-exact,
//! with random valid gaps and ready stalls, and the hardware's cycle and delta counters equal
//! to the cycle model. One test per configuration class the hardware issue names: tiny, small
//! (dual ratio K_x ≠ K_h), dense (Θ = 0, K = R), A > 1, two layers, saturating inputs, gate
//! lanes (G > 1, one and two layers).
//! T = 200 steps each. Needs Verilator (`bash scripts/install-tools.sh`).

use spartus_gen::verify::{verify, VerifyOptions, VerifyReport};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(config: &Path, seed: u64) -> (VerifyReport, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let mut opts = VerifyOptions::new(config.to_path_buf());
    opts.vectors.out_dir = out.path().to_path_buf();
    opts.seed = seed;
    let report = verify(&opts).unwrap_or_else(|e| panic!("{}: {e:#}", config.display()));
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(report.sim.mismatches, 0);
    assert_eq!(report.sim.outputs, report.sim.expected_outputs);
    assert!(report.predicted_step_cycles.len() >= 200, "T >= 200 steps");
    assert_eq!(report.sim.stat_cycles, report.predicted_total_cycles);
    (report, out)
}

#[test]
fn tiny_bit_exact() {
    run(&root().join("configs/tiny.toml"), 1);
}

#[test]
fn small_dual_ratio_bit_exact() {
    let (r, _d) = run(&root().join("configs/small.toml"), 2);
    let cfg = std::fs::read_to_string(root().join("configs/small.toml")).unwrap();
    let res = spartus_model::config::load_str(&cfg).unwrap();
    assert_ne!(
        res.layers[0].k_x, res.layers[0].k_h,
        "small is the dual-ratio case"
    );
    assert!(r.sim.stat_deltas > 0);
}

#[test]
fn dense_bit_exact() {
    let p = root().join("crates/spartus-gen/tests/configs/dense.toml");
    let (r, _d) = run(&p, 3);
    // dense: every row kept, every changed input processed
    let cfg = spartus_gen::load_config(&p).unwrap();
    assert_eq!(cfg.layers[0].k_x, cfg.layers[0].rows_per_pe);
    assert_eq!((cfg.theta_x_q, cfg.theta_h_q), (0, 0));
    assert!(r.sim.stat_cycles > 0);
}

#[test]
fn three_arrays_bit_exact() {
    run(
        &root().join("crates/spartus-gen/tests/configs/arrays.toml"),
        4,
    );
}

#[test]
fn two_layers_bit_exact() {
    run(
        &root().join("crates/spartus-gen/tests/configs/two_layer.toml"),
        5,
    );
}

#[test]
fn saturating_inputs_bit_exact() {
    let (r, _d) = run(
        &root().join("crates/spartus-gen/tests/configs/saturate.toml"),
        6,
    );
    // the stimulus really drives the Q8.8 limits
    let x = std::fs::read_to_string(r.dir.join("vectors/x_q.hex")).unwrap();
    assert!(x.lines().any(|l| l == "7fff"), "no +saturated input");
    assert!(x.lines().any(|l| l == "8000"), "no -saturated input");
}

/// Steps whose measured compute cycles are below the one-lane overhead `H + 18`: only
/// possible when the G lanes really shorten the gate phase.
fn steps_below_one_lane_t_upd(r: &VerifyReport, hidden: usize) -> usize {
    let one_lane = spartus_model::cycles::hw_t_upd(hidden);
    r.sim
        .steps
        .iter()
        .filter(|s| s.compute_cycles.is_some_and(|c| c < one_lane))
        .count()
}

#[test]
fn gate_lanes_bit_exact() {
    // G = 2 over A = 3 arrays: the two Δh columns of a cycle wrap around the arrays.
    let p = root().join("crates/spartus-gen/tests/configs/lanes.toml");
    let (r, _d) = run(&p, 8);
    let cfg = spartus_gen::load_config(&p).unwrap();
    assert_eq!((cfg.g(), cfg.a()), (2, 3));
    assert!(steps_below_one_lane_t_upd(&r, cfg.h()) > 0);
}

#[test]
fn gate_lanes_two_layers_bit_exact() {
    // G = A = N = 4; layer 1 consumes layer 0's round-robin h stream.
    let p = root().join("crates/spartus-gen/tests/configs/lanes_two_layer.toml");
    let (r, _d) = run(&p, 9);
    let cfg = spartus_gen::load_config(&p).unwrap();
    assert_eq!(cfg.g(), 4);
    assert_eq!(cfg.layers.len(), 2);
    assert!(steps_below_one_lane_t_upd(&r, cfg.h()) > 0);
}

#[test]
fn a_changed_expected_value_fails_verification() {
    // Generate, then corrupt one expected h and re-seal the manifest (so the folder check
    // passes): the Verilator replay must catch the mismatch.
    let (r, out) = run(&root().join("configs/tiny.toml"), 1);
    let h = r.dir.join("vectors/h_q.hex");
    let text = std::fs::read_to_string(&h).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let v = u16::from_str_radix(&lines[100], 16).unwrap();
    lines[100] = format!("{:04x}", v ^ 1);
    std::fs::write(&h, lines.join("\n") + "\n").unwrap();
    // tampered folder: refused with a clear message
    let mut opts = VerifyOptions::new(root().join("configs/tiny.toml"));
    opts.vectors.out_dir = out.path().to_path_buf();
    opts.no_regen = true;
    let e = verify(&opts).unwrap_err().to_string();
    assert!(
        e.contains("vectors/h_q.hex") && e.contains("manifest"),
        "{e}"
    );
    // re-seal: recompute the manifest hash of the edited file
    let mpath = r.dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&mpath).unwrap()).unwrap();
    let bytes = std::fs::read(&h).unwrap();
    m["files"]["vectors/h_q.hex"]["sha256"] = spartus_gen::artifacts::sha256_hex(&bytes).into();
    std::fs::write(&mpath, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let r2 = verify(&opts).unwrap();
    assert!(!r2.passed());
    assert_eq!(r2.sim.mismatches, 1, "{}", r2.summary());
}

#[test]
fn yosys_finds_no_latches() {
    for cfg in ["configs/tiny.toml", "configs/small.toml"] {
        let out = tempfile::tempdir().unwrap();
        let opts = spartus_gen::vectors::VectorsOptions {
            config: root().join(cfg),
            weights: None,
            inputs: None,
            out_dir: out.path().to_path_buf(),
        };
        let (design, dir, _) = spartus_gen::emit::write(&opts).unwrap();
        spartus_gen::verilator::yosys_check(&dir, &design.resolved.top_name)
            .unwrap_or_else(|e| panic!("{cfg}: {e}"));
    }
}

/// The top module of the tiny design (ports, layer instance, wiring) as a reviewed snapshot:
/// a change to the generated structure or the port list shows up here.
#[test]
fn tiny_top_module_snapshot() {
    let out = tempfile::tempdir().unwrap();
    let opts = spartus_gen::vectors::VectorsOptions {
        config: root().join("configs/tiny.toml"),
        weights: None,
        inputs: None,
        out_dir: out.path().to_path_buf(),
    };
    let (_, dir, _) = spartus_gen::emit::write(&opts).unwrap();
    let v = std::fs::read_to_string(dir.join("rtl/spartus_tiny.v")).unwrap();
    let start = v.find("\nmodule spartus_tiny(").expect("top module");
    let end = start + v[start..].find("endmodule").unwrap() + "endmodule".len();
    insta::assert_snapshot!(&v[start + 1..end]);
}
