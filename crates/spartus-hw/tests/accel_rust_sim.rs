//! The whole accelerator simulated in rust-hdl against the golden model (tiny configs; the
//! emitted Verilog is checked in Verilator by the gen crate's tests).

use spartus_hw::accelerator::Accelerator;
use spartus_hw::layer::t_upd_lanes;
use spartus_hw::sim::run_accelerator;
use spartus_hw::spec::layer_specs;
use spartus_model::config::load_str;
use spartus_model::design::Design;

fn check(toml: &str, stalls: Option<u64>) {
    let resolved = load_str(toml).unwrap();
    let mut design = Design::prepare(&resolved, None, None).unwrap();
    design.set_t_upd(|_, d| t_upd_lanes(d.input_size, d.hidden_size, resolved.g()));
    if resolved.config.hardware.overlap {
        design.set_overlap(spartus_model::cycles::OverlapShape {
            arrays: resolved.a(),
            lanes: resolved.g(),
            hidden: resolved.h(),
        });
    }
    let specs = layer_specs(&resolved, &design.pruned, &design.params.lut);
    let mut uut = Accelerator::new(&specs);
    uut.connect_all();
    let h_out = resolved.h();
    let r = run_accelerator(&mut uut, &design.x_q, h_out, stalls, 2_000_000);
    let golden = design.output();
    for (t, (got, want)) in r.h.iter().zip(golden).enumerate() {
        assert_eq!(got, want, "h mismatch at step {t}");
    }
    let last = design.cycles.len() - 1;
    assert_eq!(
        r.step_cycles, design.cycles[last],
        "per-step compute cycles vs cycle model"
    );
    assert_eq!(r.stat_cycles, design.total_cycles(), "total compute cycles");
    let deltas: u64 = design
        .traces
        .iter()
        .map(|tr| {
            tr.nnz_x
                .iter()
                .chain(&tr.nnz_h)
                .map(|&v| v as u64)
                .sum::<u64>()
        })
        .sum();
    assert_eq!(r.stat_deltas, deltas, "nonzero deltas");
}

use rust_hdl::prelude::Block;

const TINY: &str = r#"
name = "t"
[model]
input_size = 4
hidden_size = 8
[sparsity]
k_x = 2
k_h = 3
theta_x = 0.0625
theta_h = 0.03125
[hardware]
pe_count = 2
[stimulus]
timesteps = 30
"#;

#[test]
fn tiny_matches_golden_without_stalls() {
    check(TINY, None);
}

#[test]
fn tiny_matches_golden_with_stalls() {
    check(TINY, Some(5));
}

#[test]
fn two_arrays_two_layers_match_golden() {
    let t = TINY
        .replace("pe_count = 2", "pe_count = 2\narrays = 2")
        .replace("hidden_size = 8", "hidden_size = 8\nlayers = 2")
        .replace("input_size = 4", "input_size = 5");
    check(&t, Some(9));
}

/// Gate lanes: G = 2 lanes over A = 2 arrays (and G = A = 4 with N = 4), one and two layers,
/// with stalls: h in order, bit-exact, per-step cycles equal the model's `T_upd = I + 2 + 4 + H/G + 14`.
#[test]
fn gate_lanes_match_golden() {
    let t = TINY
        .replace("pe_count = 2", "pe_count = 2\narrays = 2\ngate_lanes = 2")
        .replace("input_size = 4", "input_size = 5");
    check(&t, Some(7));
    let t = TINY
        .replace("pe_count = 2", "pe_count = 4\narrays = 4\ngate_lanes = 4")
        .replace("hidden_size = 8", "hidden_size = 8\nlayers = 2")
        .replace("input_size = 4", "input_size = 3");
    check(&t, Some(5));
}

/// Overlapped schedule (Δh MACs during the gate phase, delta banks folded by the next gate
/// phase), with and without lanes, K_h large enough that Δh work spills into the next step:
/// bit-exact, per-step cycles equal the schedule model, deltas counted per consumed step.
#[test]
fn overlap_matches_golden() {
    let t = TINY
        .replace("pe_count = 2", "pe_count = 2\noverlap = true")
        .replace("k_h = 3", "k_h = 12");
    check(&t, Some(3));
    let t = TINY
        .replace(
            "pe_count = 2",
            "pe_count = 2\narrays = 2\ngate_lanes = 2\noverlap = true",
        )
        .replace("hidden_size = 8", "hidden_size = 8\nlayers = 2")
        .replace("input_size = 4", "input_size = 5");
    check(&t, Some(11));
}
