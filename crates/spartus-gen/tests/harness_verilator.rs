//! Tests of the Verilator/Yosys harness (`src/verilator.rs` + `testbenches/verilator/tb.cpp`)
//! against the fake DUT in `tests/fixtures/harness/` (same ports as the real accelerator,
//! trivial function; see the header of `rtl/spartus_fake.v`).
//!
//! Needs verilator, make, g++ and yosys on PATH (`bash scripts/install-tools.sh`).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use spartus_gen::verilator::{
    self, build_tb, lint, run_plan, run_tb, yosys_check, BuildOptions, HarnessError, PlanReport,
    RunOptions, SimPlan, SimResult, TbSource,
};

const TOP: &str = "spartus_fake";
const T: usize = 24;
const I: usize = 3;
const H: usize = 5;

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

fn read_hex(p: &Path) -> Vec<u16> {
    fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| u16::from_str_radix(l.trim(), 16).unwrap())
        .collect()
}

/// The design folder, checked and built once per test binary by [`verilator::run_plan`] with
/// the standard plan. It lives in cargo's per-target temp dir, so a re-run only re-makes what
/// changed.
struct Built {
    dir: PathBuf,
    exe: PathBuf,
    report: PlanReport,
}

fn built() -> &'static Built {
    static B: OnceLock<Built> = OnceLock::new();
    B.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("harness_verilator")
            .join("fake");
        for sub in ["rtl", "mem", "vectors"] {
            let _ = fs::remove_dir_all(dir.join(sub));
        }
        copy_dir(&fixture(), &dir);
        let report =
            run_plan(&dir, TOP, &SimPlan::standard(100_000)).unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "verilator build of the fake DUT: {:.1} s",
            report.build.seconds
        );
        Built {
            exe: report.build.exe.clone(),
            dir,
            report,
        }
    })
}

#[test]
fn standard_plan_passes_lints_and_checks() {
    let b = built();
    let r = &b.report;
    assert!(
        r.passed(),
        "{:?}",
        r.runs.iter().map(SimResult::summary).collect::<Vec<_>>()
    );
    assert_eq!(r.runs.len(), 3);
    assert!(r.lint.as_ref().unwrap().waived.is_empty());
    assert!(r.yosys.is_some());
    assert!(
        b.dir.join("sim/tb.cpp").is_file(),
        "the embedded tb.cpp is written to sim/"
    );
    let unstalled = r.unstalled().unwrap();
    assert_eq!(unstalled.seed, 1);
    assert!(r.runs[1..].iter().all(|x| x.cycles > unstalled.cycles));
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(
        json["runs"].as_array().unwrap().len(),
        3,
        "the report serializes"
    );
}

fn run(opts: RunOptions) -> SimResult {
    let b = built();
    run_tb(&b.dir, &b.exe, &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn opts(seed: u64, in_gap: f64, out_stall: f64, result: &str) -> RunOptions {
    RunOptions {
        seed,
        in_gap,
        out_stall,
        result: PathBuf::from(result),
        ..RunOptions::default()
    }
}

/// Expected outputs recomputed from the fixture's x and ROM with the fake DUT's function.
fn expected() -> (Vec<u16>, Vec<u16>, Vec<u16>) {
    let x = read_hex(&fixture().join("vectors/x_q.hex"));
    let rom = read_hex(&fixture().join("mem/fake_rom.hex"));
    let mut h = Vec::new();
    for t in 0..T {
        let acc = x[t * I..(t + 1) * I]
            .iter()
            .fold(0u16, |a, v| a.wrapping_add(*v));
        for (k, r) in rom.iter().enumerate().take(H) {
            h.push(
                acc.wrapping_mul(*r)
                    .wrapping_add(((t as u16 % 256) << 8) + k as u16),
            );
        }
    }
    (x, rom, h)
}

#[test]
fn fixture_vectors_match_the_fake_function() {
    let (x, rom, h) = expected();
    assert_eq!(x.len(), T * I);
    assert_eq!(rom.len(), 256);
    assert_eq!(read_hex(&fixture().join("vectors/h_q.hex")), h);
    let params = fs::read_to_string(fixture().join("vectors/params.txt")).unwrap();
    assert!(
        params.contains(&format!("timesteps {T}")) && params.contains(&format!("output_size {H}"))
    );
}

#[test]
fn passes_without_stalls_and_records_every_step() {
    let r = run(opts(1, 0.0, 0.0, "sim/plain.txt"));
    assert!(r.passed(), "{}\n{:?}", r.summary(), r.messages);
    assert_eq!(
        (
            r.outputs,
            r.expected_outputs,
            r.mismatches,
            r.protocol_errors
        ),
        ((T * H) as u64, (T * H) as u64, 0, 0)
    );
    assert_eq!(r.inputs, (T * I) as u64);
    assert_eq!(r.stat_steps, T as u64);
    let (x, _, _) = expected();
    assert_eq!(r.stat_deltas, x.iter().filter(|v| **v != 0).count() as u64);
    assert_eq!(r.steps.len(), T);
    // Fake DUT without output stalls: LATENCY (2) + H issue cycles + the last push + the
    // step_done cycle.
    for (t, s) in r.steps.iter().enumerate() {
        assert_eq!(s.t, t as u64);
        assert_eq!(s.compute_cycles, Some(2 + H as u64 + 2), "step {t}");
    }
    assert_eq!(r.stat_cycles, (T * (2 + H + 2)) as u64);
    let ends: Vec<u64> = r.steps.iter().map(|s| s.end_cycle.unwrap()).collect();
    assert!(
        ends.windows(2).all(|w| w[0] < w[1]),
        "end cycles increase: {ends:?}"
    );
    assert_eq!(*ends.last().unwrap(), r.cycles);
}

#[test]
fn passes_with_stalls_on_both_sides_and_is_deterministic() {
    let plain = run(opts(1, 0.0, 0.0, "sim/ref.txt"));
    let mut cycles = Vec::new();
    for seed in [1u64, 2, 3] {
        let r = run(opts(seed, 0.4, 0.5, &format!("sim/stall{seed}.txt")));
        assert!(r.passed(), "{}\n{:?}", r.summary(), r.messages);
        assert!(
            r.cycles > plain.cycles,
            "stalls cost cycles: {} vs {}",
            r.cycles,
            plain.cycles
        );
        assert_eq!(r.stat_steps, T as u64);
        cycles.push(r.cycles);
        let again = run(opts(seed, 0.4, 0.5, &format!("sim/stall{seed}b.txt")));
        assert_eq!(
            SimResult {
                seconds: 0.0,
                ..again
            },
            SimResult { seconds: 0.0, ..r },
            "same seed, same run"
        );
    }
    assert!(
        cycles[0] != cycles[1] || cycles[1] != cycles[2],
        "different seeds, different stalls: {cycles:?}"
    );
    // Output stalls alone make the FIFO fill up, so compute steps take longer.
    let r = run(opts(7, 0.0, 0.8, "sim/outstall.txt"));
    assert!(r.passed(), "{}", r.summary());
    assert!(r
        .steps
        .iter()
        .any(|s| s.compute_cycles.unwrap() > 2 + H as u64 + 2));
}

#[test]
fn a_corrupted_expected_value_fails_the_run() {
    let b = built();
    let bad = b.dir.join("vectors_bad");
    copy_dir(&b.dir.join("vectors"), &bad);
    let mut h = read_hex(&bad.join("h_q.hex"));
    let (t, k) = (3, 2);
    h[t * H + k] ^= 0x0100;
    fs::write(
        bad.join("h_q.hex"),
        h.iter().map(|v| format!("{v:04x}\n")).collect::<String>(),
    )
    .unwrap();
    let r = run(RunOptions {
        vectors: PathBuf::from("vectors_bad"),
        ..opts(5, 0.3, 0.3, "sim/bad.txt")
    });
    assert!(!r.passed());
    assert!(!r.pass);
    assert_eq!(r.exit_code, 1);
    assert_eq!(r.mismatches, 1);
    assert_eq!(
        r.outputs,
        (T * H) as u64,
        "the run still consumes every output"
    );
    assert_eq!(r.messages.len(), 1, "{:?}", r.messages);
    assert!(
        r.messages[0].contains(&format!("t={t} k={k}")),
        "{}",
        r.messages[0]
    );
}

#[test]
fn too_few_cycles_is_a_timeout() {
    let r = run(RunOptions {
        max_cycles: 50,
        ..opts(1, 0.0, 0.0, "sim/timeout.txt")
    });
    assert!(r.timeout && !r.passed());
    assert_eq!(r.exit_code, 1);
    assert!(r.outputs < (T * H) as u64);
    assert_eq!(r.cycles, 50);
    assert_eq!(r.steps.last().unwrap().end_cycle, None);
}

#[test]
fn dut_protocol_violations_are_caught() {
    let cases = [
        (1, "out_valid dropped without a handshake"),
        (2, "out_data changed"),
        (3, "in_ready depends combinationally on in_valid"),
        (4, "out_valid depends combinationally on out_ready"),
    ];
    for (bug, needle) in cases {
        let mut o = opts(5, 0.3, 0.5, &format!("sim/bug{bug}.txt"));
        o.extra_plusargs.push(format!("+dut_bug={bug}"));
        let r = run(o);
        assert!(!r.passed(), "bug {bug} must fail");
        assert_eq!(r.exit_code, 1);
        assert!(r.protocol_errors > 0, "bug {bug}: {}", r.summary());
        assert!(
            r.messages.iter().any(|m| m.contains(needle)),
            "bug {bug}: {:?}",
            r.messages
        );
    }
    // The comb-dependency check can be switched off; bug 3 then passes (data is still right).
    let mut o = opts(5, 0.3, 0.5, "sim/bug3_nocheck.txt");
    o.extra_plusargs
        .extend(["+dut_bug=3".to_string(), "+check_comb=0".to_string()]);
    assert!(run(o).passed());
    // in_ready depending combinationally on out_ready is allowed and must not be flagged.
    let mut o = opts(5, 0.3, 0.5, "sim/bug5.txt");
    o.extra_plusargs.push("+dut_bug=5".to_string());
    let r = run(o);
    assert!(r.passed(), "{} {:?}", r.summary(), r.messages);
}

#[test]
fn setup_errors_are_errors_not_results() {
    let b = built();
    let missing = RunOptions {
        vectors: PathBuf::from("no_such_dir"),
        ..opts(1, 0.0, 0.0, "sim/missing.txt")
    };
    match run_tb(&b.dir, &b.exe, &missing) {
        Err(HarnessError::ToolFailed(f)) => {
            assert_eq!(f.status, "exit code 2");
            assert!(f.tail.contains("no_such_dir/params.txt"), "{}", f.tail);
        }
        other => panic!("expected ToolFailed, got {other:?}"),
    }
    let bad_plusarg = RunOptions {
        extra_plusargs: vec!["+in_gapp=0.1".into()],
        ..opts(1, 0.0, 0.0, "sim/x.txt")
    };
    assert!(matches!(
        run_tb(&b.dir, &b.exe, &bad_plusarg),
        Err(HarnessError::ToolFailed(_))
    ));
    assert!(matches!(
        run_tb(&b.dir, &b.exe, &opts(1, 1.0, 0.0, "sim/x.txt")),
        Err(HarnessError::InvalidOption(_))
    ));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        build_tb(empty.path(), TOP, &BuildOptions::default()),
        Err(HarnessError::MissingInput(_))
    ));
}

#[test]
fn tb_source_path_points_at_the_embedded_testbench() {
    // TbSource::File(tb_source_path()) lets a developer rebuild with an edited tb.cpp
    // without recompiling the crate; it must name the file that TB_CPP embeds.
    let on_disk = fs::read_to_string(verilator::tb_source_path()).unwrap();
    assert_eq!(on_disk, verilator::TB_CPP);
    assert_eq!(verilator::BuildOptions::default().tb, TbSource::Embedded);
}

#[test]
fn lint_and_yosys_accept_the_fake_dut() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let l = lint(dir.path(), TOP).unwrap_or_else(|e| panic!("{e}"));
    assert!(l.waived.is_empty(), "{:?}", l.waived);
    let y = yosys_check(dir.path(), TOP).unwrap_or_else(|e| panic!("{e}"));
    assert!(y.log.is_file());
}

/// A module written the way rust-hdl 0.46 writes Verilog (several modules in one file,
/// bit_cast / signed_bit_cast spellings, an unused clock).
const RUST_HDL_STYLE: &str = r#"
module spartus_lint(clock, a, b, y, z);
    input wire clock;
    input wire [7:0] a;
    input wire signed [31:0] b;
    output reg [15:0] y;
    output reg signed [15:0] z;
    always @(*) begin
        y = (($unsigned(a)) & 16'hffff);
        z = $signed(b);
    end
endmodule

module spartus_lint$inner(x, q);
    input wire [7:0] x;
    output reg q;
    always @(*) q = ^x;
endmodule
"#;

fn design_with(name: &str, verilog: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("rtl")).unwrap();
    fs::write(dir.path().join(format!("rtl/{name}.v")), verilog).unwrap();
    dir
}

#[test]
fn lint_waives_rust_hdl_casts_but_not_precedence_traps() {
    let dir = design_with("spartus_lint", RUST_HDL_STYLE);
    let r = lint(dir.path(), "spartus_lint").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.waived.len(), 2, "{:?}", r.waived);
    assert!(r.waived.iter().all(|(m, _)| m.code == "WIDTH"));

    // `c & d == e` parses as `c & (d == e)` in Verilog: rust-hdl's precedence trap.
    let trap = RUST_HDL_STYLE.replace(
        "z = $signed(b);",
        "z = $signed(b);\n        y[0] = a & b[7:0] == b[15:8];",
    );
    let dir = design_with("spartus_lint", &trap);
    match lint(dir.path(), "spartus_lint") {
        Err(HarnessError::Lint { messages, .. }) => {
            assert!(messages.iter().all(|m| m.code == "WIDTH"), "{messages:?}");
            assert!(
                messages
                    .iter()
                    .any(|m| m.message.contains("EQ generates 1 bits")),
                "{messages:?}"
            );
        }
        other => panic!("expected a lint failure, got {other:?}"),
    }

    let broken = design_with(
        "spartus_lint",
        "module spartus_lint(input wire a) endmodule\n",
    );
    assert!(matches!(
        lint(broken.path(), "spartus_lint"),
        Err(HarnessError::Lint { .. })
    ));
}

#[test]
fn yosys_check_rejects_latches_and_undriven_wires() {
    let latch = "module spartus_l(input wire en, input wire [3:0] d, output reg [3:0] q);\n\
                 always @* if (en) q = d;\nendmodule\n";
    let dir = design_with("spartus_l", latch);
    match yosys_check(dir.path(), "spartus_l") {
        Err(HarnessError::Latches { signals, .. }) => {
            assert!(signals[0].contains("q"), "{signals:?}")
        }
        other => panic!("expected latches, got {other:?}"),
    }
    let undriven =
        "module spartus_u(output wire [3:0] u);\nwire [3:0] nd;\nassign u = nd;\nendmodule\n";
    let dir = design_with("spartus_u", undriven);
    match yosys_check(dir.path(), "spartus_u") {
        Err(HarnessError::YosysProblems { problems, .. }) => {
            assert_eq!(problems.len(), 4, "{problems:?}")
        }
        other => panic!("expected check problems, got {other:?}"),
    }
    let missing_module = "module spartus_m(output wire a);\nfoo f(.a(a));\nendmodule\n";
    let dir = design_with("spartus_m", missing_module);
    match yosys_check(dir.path(), "spartus_m") {
        Err(HarnessError::ToolFailed(f)) => assert!(f.tail.contains("foo"), "{}", f.tail),
        other => panic!("expected a yosys failure, got {other:?}"),
    }
}
