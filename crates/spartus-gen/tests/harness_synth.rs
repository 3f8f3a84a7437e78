//! Tests of the synthesis flow (`scripts/synth_*.sh` + `src/synth.rs`) on the fake DUT
//! (ROM via $readmemh -> block RAM, a 16x16 multiply -> DSP) and of the board constraint
//! files in `constraints/` (small designs that use their pin names).
//!
//! Needs yosys, nextpnr-ice40, icepack and (yowasp-)nextpnr-ecp5 + (yowasp-)ecppack on PATH
//! (`bash scripts/install-tools.sh`).

use std::fs;
use std::path::{Path, PathBuf};

use spartus_gen::synth::{self, synth, SynthOptions, SynthReports, Target};
use spartus_gen::verilator::HarnessError;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> PathBuf {
    manifest().join("tests/fixtures/harness")
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

#[test]
fn fake_dut_on_ice40_and_ecp5_with_merged_reports() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let d = dir.path();

    let up5k = synth(
        d,
        "spartus_fake",
        Target::Ice40Up5k,
        &SynthOptions::new(12.0),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("ice40-up5k: {:?} s, fmax {:?}", up5k.seconds, up5k.fmax_mhz);
    assert!(up5k.wrapped && up5k.synth_top == "spartus_synth_wrap");
    assert!(up5k.met, "{:?}", up5k.fmax_mhz);
    assert_eq!(up5k.fmax_mhz.len(), 1);
    assert!(up5k.fmax_mhz.values().all(|f| *f > 12.0));
    assert_eq!(
        up5k.cells.bram, 1,
        "256x16 ROM -> one SB_RAM40_4K: {:?}",
        up5k.cell_types
    );
    assert_eq!(
        up5k.cells.dsp, 1,
        "16x16 multiply -> one SB_MAC16 (-dsp): {:?}",
        up5k.cell_types
    );
    assert!(up5k.cells.lut > 0 && up5k.cells.ff > 0);
    assert_eq!(up5k.utilization["ICESTORM_RAM"].used, 1);
    assert_eq!(up5k.utilization["ICESTORM_DSP"].used, 1);
    assert_eq!(up5k.utilization["ICESTORM_LC"].available, 5280);
    assert_eq!(up5k.utilization["SB_IO"].used, 5, "the wrapper has 5 pins");
    assert!(
        up5k.tool_versions["yosys"].contains("0.")
            && up5k.tool_versions.contains_key("nextpnr-ice40")
    );
    assert!(
        d.join("synth/ice40-up5k/ice40-up5k.bin").is_file(),
        "icepack ran"
    );

    // HX8K has no DSP: the multiply goes to LUTs. 300 MHz cannot be met: still a report.
    let hx = synth(
        d,
        "spartus_fake",
        Target::Ice40Hx8k,
        &SynthOptions::new(300.0),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!hx.met);
    assert_eq!(hx.cells.dsp, 0);
    assert_eq!(hx.cells.bram, 1);
    assert!(hx.cells.lut > up5k.cells.lut, "multiplier in LUTs");

    let ecp5 = synth(
        d,
        "spartus_fake",
        Target::Ecp5_85k,
        &SynthOptions::new(25.0),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("ecp5-85k: {:?} s, fmax {:?}", ecp5.seconds, ecp5.fmax_mhz);
    assert!(ecp5.met);
    assert_eq!(ecp5.cells.bram, 1, "{:?}", ecp5.cell_types);
    assert_eq!(ecp5.cells.dsp, 1, "{:?}", ecp5.cell_types);
    assert_eq!(ecp5.utilization["DP16KD"].used, 1);
    assert_eq!(ecp5.utilization["MULT18X18D"].used, 1);
    assert_eq!(ecp5.utilization["TRELLIS_COMB"].available, 83640);
    assert!(
        d.join("synth/ecp5-85k/ecp5-85k.bit").is_file(),
        "ecppack ran"
    );

    // reports/synth.json holds all three, keyed by target; synth.md flags the miss.
    let json = fs::read_to_string(d.join("reports/synth.json")).unwrap();
    let all: SynthReports = serde_json::from_str(&json).unwrap();
    assert_eq!(
        all.keys().cloned().collect::<Vec<_>>(),
        ["ecp5-85k", "ice40-hx8k", "ice40-up5k"]
    );
    assert_eq!(all["ice40-up5k"], up5k);
    let md = fs::read_to_string(d.join("reports/synth.md")).unwrap();
    assert!(
        md.contains("## ice40-hx8k") && md.contains("**TIMING NOT MET**"),
        "{md}"
    );
    assert!(
        md.contains("## ecp5-85k") && md.contains("| DP16KD | 1 |"),
        "{md}"
    );
}

#[test]
fn board_constraint_files_place_on_their_boards() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture().join("board"), dir.path());
    let d = dir.path();
    let constraints = manifest().join("../../constraints");

    let mut o = SynthOptions::new(12.0);
    o.wrap = false;
    o.constraints = Some(constraints.join("icebreaker.pcf"));
    let ice = synth(d, "board_icebreaker", Target::Ice40Up5k, &o).unwrap_or_else(|e| panic!("{e}"));
    assert!(ice.met && !ice.wrapped);
    assert_eq!(ice.utilization["SB_IO"].used, 14);
    let log = fs::read_to_string(d.join("synth/ice40-up5k/nextpnr.log")).unwrap();
    for (port, bel) in [
        ("CLK", "X12/Y31/io1"),
        ("RX", "X13/Y0/io1"),
        ("TX", "X15/Y0/io0"),
    ] {
        assert!(
            log.contains(&format!("constrained '{port}' to bel '{bel}'")),
            "{port}: {log}"
        );
    }

    let mut o = SynthOptions::new(25.0);
    o.wrap = false;
    o.constraints = Some(constraints.join("ulx3s.lpf"));
    let ecp = synth(d, "board_ulx3s", Target::Ecp5_85k, &o).unwrap_or_else(|e| panic!("{e}"));
    assert!(ecp.met);
    let log = fs::read_to_string(d.join("synth/ecp5-85k/nextpnr.log")).unwrap();
    assert!(
        log.contains("constraining clock net 'clk_25mhz' to 25.00 MHz"),
        "{log}"
    );
    assert_eq!(
        log.matches("$tr_io' constrained to Bel").count(),
        22,
        "every port is placed by the LPF"
    );

    // A constraint file of the wrong family is refused before any tool runs.
    let mut o = SynthOptions::new(25.0);
    o.constraints = Some(constraints.join("icebreaker.pcf"));
    assert!(matches!(
        synth(d, "board_ulx3s", Target::Ecp5_85k, &o),
        Err(HarnessError::InvalidOption(_))
    ));
}

#[test]
fn a_design_that_does_not_fit_is_an_error() {
    // 167 top-level I/O bits do not fit the 39 I/Os of the UP5K-SG48 without the wrapper.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let mut o = SynthOptions::new(12.0);
    o.wrap = false;
    match synth(dir.path(), "spartus_fake", Target::Ice40Up5k, &o) {
        Err(HarnessError::ToolFailed(f)) => {
            assert!(f.what.contains("ice40-up5k"));
            assert!(f.tail.contains("nextpnr-ice40 failed"), "{}", f.tail);
        }
        other => panic!("expected a placement failure, got {other:?}"),
    }
    assert!(
        !dir.path().join("reports/synth.json").exists(),
        "no report for a failed run"
    );
}

#[test]
fn scripts_share_the_same_wrapper() {
    let wrapper = |s: &str| -> String {
        let a = s.find("<<'VERILOG'").expect("wrapper heredoc");
        let b = s[a..].find("\nVERILOG\n").expect("heredoc end");
        s[a..a + b].to_string()
    };
    assert_eq!(
        wrapper(synth::SYNTH_ICE40_SH),
        wrapper(synth::SYNTH_ECP5_SH)
    );
    let on_disk = fs::read_to_string(manifest().join("../../scripts/synth_ecp5.sh")).unwrap();
    assert_eq!(on_disk, synth::SYNTH_ECP5_SH);
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    assert!(matches!(
        synth(
            dir.path(),
            "spartus_fake",
            Target::Ice40Up5k,
            &SynthOptions::new(0.0)
        ),
        Err(HarnessError::InvalidOption(_))
    ));
    assert!(matches!(
        synth(
            dir.path(),
            "no_such_top",
            Target::Ice40Up5k,
            &SynthOptions::new(12.0)
        ),
        Err(HarnessError::MissingInput(_))
    ));
    assert!(matches!(
        synth(
            dir.path(),
            "bad;name",
            Target::Ice40Up5k,
            &SynthOptions::new(12.0)
        ),
        Err(HarnessError::InvalidOption(_))
    ));
}
