//! Real data end to end, bounded for CI: train a TINY JapaneseVowels classifier (H = 8, N = 2,
//! CBTD 75 %, Θ = 0.0625; a few epochs, under a second), export it, write the test set as
//! replay vectors (`train vectors`), emit the Verilog and run ALL 370 test cases back to back
//! through it in Verilator (`gen testset`: `start_sequence` between cases, random gaps and
//! stalls; the tiny design simulates the whole set in about a second, the Verilator build
//! dominates), then check with spartus-train's own golden model that
//!
//! - every case's RTL h equals the golden h (so the RTL accuracy equals the golden accuracy),
//! - the RTL's cycle and delta counters equal the cycle model with the hardware's T_upd,
//! - `train eval --rtl-h --rtl-sim` reports (d) == (c) and 0 differing cases,
//!
//! and that the comparisons can fail: a corrupted RTL h file is rejected by `train eval`, and
//! a corrupted golden word in one case fails exactly that case in the testbench.
//! Needs Verilator (`bash scripts/install-tools.sh`).

use spartus_gen::testset::{self, TestsetOptions};
use spartus_gen::verilator::{self, RunOptions};
use spartus_train::data::Split;
use spartus_train::eval::{accuracy_from_h, golden_eval};
use spartus_train::export::{gen_config, load_model, ModelPaths};
use spartus_train::train::Prepared;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn train(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_train"))
        .args(args)
        .output()
        .expect("run train")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read_hex(path: &Path) -> Vec<i16> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| u16::from_str_radix(l.trim(), 16).unwrap() as i16)
        .collect()
}

#[test]
fn tiny_model_rtl_accuracy_equals_golden_on_whole_test_set() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let data = root().join("data/JapaneseVowels");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let weights = t.join("tiny.safetensors");

    // 1. Tiny training + export (weights, gen config tiny.toml, meta).
    ok(
        train(&[
            "--quiet",
            "--no-baseline",
            "--hidden",
            "8",
            "--pe-count",
            "2",
            "--gamma-x",
            "0.75",
            "--gamma-h",
            "0.75",
            "--epochs-dense",
            "3",
            "--epochs-ft",
            "2",
            "--data",
            &s(&data),
            "--out",
            &s(&weights),
            "--report",
            &s(&t.join("train_report")),
        ]),
        "train",
    );
    // 2. The whole test set as replay vectors.
    let vectors = t.join("vectors");
    ok(
        train(&[
            "vectors",
            "--model",
            &s(&weights),
            "--data",
            &s(&data),
            "--out",
            &s(&vectors),
        ]),
        "train vectors",
    );

    // 3. Emit + Verilator over all cases.
    let mut o = TestsetOptions::new(t.join("tiny.toml"), weights.clone(), vectors.clone());
    o.vectors.out_dir = t.join("hdl");
    o.report = Some(t.join("rtl.json"));
    let rep = testset::run(&o).unwrap_or_else(|e| panic!("gen testset: {e:#}"));
    assert!(rep.passed(), "{}", rep.summary());
    assert_eq!(rep.cases, 370);
    assert_eq!(rep.cases_passed, 370);

    // 4. Independent check with spartus-train's golden model.
    let split = Split::load_dir(&data).unwrap();
    let (params, meta) = load_model(&ModelPaths::from_weights(&weights)).unwrap();
    let prep = Prepared::with_scaling(&split, meta.input_scaling.clone());
    let i = params.input_size;
    let r = gen_config("eval", &meta.accel(i), 1)
        .unwrap()
        .resolve()
        .unwrap();
    let (golden_st, golden) = golden_eval(&params, &prep.test, &r, meta.pool).unwrap();
    let flat = read_hex(&rep.h_rtl);
    let h = params.hidden_size;
    assert_eq!(flat.len(), golden_st.steps * h);
    let mut it = flat.chunks(h).map(<[i16]>::to_vec);
    let rtl_h: Vec<Vec<Vec<i16>>> = prep
        .test
        .series
        .iter()
        .map(|c| (0..c.len()).map(|_| it.next().unwrap()).collect())
        .collect();
    for (c, (got, want)) in rtl_h.iter().zip(&golden).enumerate() {
        assert!(*got == want.h, "case {c}: RTL h differs from the golden h");
    }
    let (rtl_st, differing) =
        accuracy_from_h(&params, &prep.test, &rtl_h, &golden, meta.pool).unwrap();
    assert_eq!(differing, 0);
    assert_eq!(rtl_st.correct, golden_st.correct, "RTL accuracy == golden");
    assert_eq!(rtl_st.cases, 370);
    // Counters: golden_eval's cycles use the docs/arithmetic.md §6 reference T_upd; the hardware's is
    // hw_t_upd(I, H) per step.
    let dims = &r.layers[0];
    let hw = spartus_model::cycles::hw_t_upd(dims.input_size, h);
    let reference = spartus_model::cycles::reference_t_upd(dims);
    let steps = golden_st.steps as u64;
    assert_eq!(rep.steps, steps);
    assert_eq!(
        rep.rtl_cycles,
        golden_st.cycles + steps * hw - steps * reference
    );
    assert_eq!(rep.rtl_deltas, golden_st.nnz_x + golden_st.nnz_h);
    assert_eq!(rep.step_cycle_mismatches, 0);
    assert_eq!(rep.case_counter_mismatches, 0);

    // 5. The CLI table: (d) == (c).
    let eval_prefix = t.join("eval");
    let stdout = ok(
        train(&[
            "eval",
            "--model",
            &s(&weights),
            "--data",
            &s(&data),
            "--rtl-h",
            &s(&rep.h_rtl),
            "--rtl-sim",
            &s(&t.join("rtl.json")),
            "--report",
            &s(&eval_prefix),
        ]),
        "train eval --rtl-h",
    );
    assert!(stdout.contains("| (d) |"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.join("eval.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let golden_correct = &rows.last().unwrap()["golden"]["correct"];
    assert_eq!(golden_correct.as_u64(), Some(golden_st.correct as u64));
    assert_eq!(&json["rtl"]["stats"]["correct"], golden_correct);
    assert_eq!(json["rtl"]["cases_differing"], 0);
    assert_eq!(json["rtl"]["sim"]["rtl_cycles"], rep.rtl_cycles);

    // 6. It can fail: one corrupted RTL word is one differing case, and train eval refuses.
    let mut bad = flat.clone();
    let (case, off) = (5usize, rtl_h[..5].iter().map(Vec::len).sum::<usize>() * h);
    bad[off + 3] ^= 1;
    let bad_path = t.join("h_bad.hex");
    let text: String = bad.iter().map(|v| format!("{:04x}\n", *v as u16)).collect();
    std::fs::write(&bad_path, text).unwrap();
    let mut bad_h = rtl_h.clone();
    bad_h[case][0][3] ^= 1;
    let (_, differing) = accuracy_from_h(&params, &prep.test, &bad_h, &golden, meta.pool).unwrap();
    assert_eq!(differing, 1);
    let out = train(&[
        "eval",
        "--model",
        &s(&weights),
        "--data",
        &s(&data),
        "--rtl-h",
        &s(&bad_path),
        "--report",
        &s(&t.join("eval_bad")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "train eval accepted a corrupted RTL h"
    );
    assert!(
        err.contains("differs from the golden model in 1 case(s)"),
        "{err}"
    );
    assert!(
        !t.join("eval_bad.json").exists(),
        "no report for a failing RTL"
    );

    // 7. ... and the testbench fails exactly the case whose expected h is wrong.
    let design = &rep.dir;
    let bad_dir = design.join("testset_bad");
    std::fs::create_dir_all(&bad_dir).unwrap();
    for f in ["params.txt", "seq_lens.txt", "x_q.hex"] {
        std::fs::copy(design.join("testset").join(f), bad_dir.join(f)).unwrap();
    }
    let mut hq = read_hex(&design.join("testset/h_q.hex"));
    let off2 = rtl_h[..2].iter().map(Vec::len).sum::<usize>() * h;
    hq[off2 + h + 1] = hq[off2 + h + 1].wrapping_add(1); // case 2, step 1, unit 1
    let text: String = hq.iter().map(|v| format!("{:04x}\n", *v as u16)).collect();
    std::fs::write(bad_dir.join("h_q.hex"), text).unwrap();
    let run = verilator::run_tb_cases(
        design,
        &design.join("sim/obj/tb"),
        &RunOptions {
            vectors: PathBuf::from("testset_bad"),
            seed: 7,
            in_gap: 0.3,
            out_stall: 0.3,
            result: PathBuf::from("sim/result_bad.txt"),
            ..Default::default()
        },
        Path::new("testset_bad/seq_lens.txt"),
        5,
        Path::new("testset_bad/h_rtl.hex"),
    )
    .unwrap();
    assert!(!run.passed());
    assert_eq!(run.sim.mismatches, 1);
    let failed: Vec<u64> = run
        .cases
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.case)
        .collect();
    assert_eq!(failed, vec![2]);
    // Another seed, gaps and stalls: the RTL's h is the same.
    assert_eq!(run.h, flat);
}
