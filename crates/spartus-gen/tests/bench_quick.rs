//! The quick benchmark (`bench --quick`) end to end: it runs, writes its reports, covers the
//! requested points, and for every point the cycles measured in Verilator equal the cycle
//! model (every step, the total and the delta count) and the replay is bit-exact.
//!
//! Performance figures are the bench's output, not something a test asserts: there is no
//! wall-time assertion here. Needs Verilator (`bash scripts/install-tools.sh`); takes about
//! three minutes on the 2-core machine (four small matrix builds, one scaling build, three schedule builds).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

#[test]
fn quick_bench_reports_cover_the_points_and_cycles_equal_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let publish = tmp.path().join("reports");
    let run = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("--quick")
        .arg("--quiet")
        .arg("--out-dir")
        .arg(&out)
        .arg("--publish")
        .arg("--publish-dir")
        .arg(&publish)
        .arg("--gen")
        .arg(env!("CARGO_BIN_EXE_gen"))
        .output()
        .expect("run the bench binary");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "bench --quick failed ({}):\n{stdout}\n{stderr}",
        run.status
    );

    // The files, in the bench folder and published.
    let dir = out.join("bench");
    let names = [
        "bench.json",
        "bench.md",
        "bench_speedup.svg",
        "bench_utilization.svg",
        "bench_cycles.svg",
        "bench_scaling.svg",
        "bench_schedule.svg",
    ];
    for n in names {
        for d in [&dir, &publish] {
            let p = d.join(n);
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            if n.ends_with(".svg") {
                assert!(text.contains("<svg"), "{} is not an SVG", p.display());
                assert!(
                    text.trim_end().ends_with("</svg>"),
                    "{} is cut",
                    p.display()
                );
            }
        }
    }
    assert_eq!(
        std::fs::read(dir.join("bench.json")).unwrap(),
        std::fs::read(publish.join("bench.json")).unwrap()
    );

    let j: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).unwrap())
        .expect("bench.json parses");
    assert_eq!(j["schema"], "spartus-gen-bench/1");
    assert_eq!(j["mode"], "quick");
    assert!(
        j["problems"].as_array().unwrap().is_empty(),
        "{}",
        j["problems"]
    );
    let machine = &j["machine"];
    assert!(u(&machine["cores"]) >= 1);
    assert!(machine["verilator"]
        .as_str()
        .unwrap()
        .starts_with("Verilator"));

    // The matrix: 0 % and 93.75 % weight sparsity x 100 % and 10 % target density.
    let m = &j["matrix"];
    let r = u(&m["rows_per_pe"]);
    assert_eq!(r, 32, "the bench's base shape has R = 32");
    let t_upd = u(&m["t_upd"]);
    let points = m["points"].as_array().unwrap();
    let mut covered: Vec<(u64, u64)> = points
        .iter()
        .filter(|p| p["in_matrix"].as_bool().unwrap())
        .map(|p| (u(&p["k"]), (100.0 * f(&p["target_density"])).round() as u64))
        .collect();
    covered.sort();
    assert_eq!(covered, vec![(2, 10), (2, 100), (32, 10), (32, 100)]);
    let baselines: Vec<&Value> = points
        .iter()
        .filter(|p| p["is_baseline"].as_bool().unwrap())
        .collect();
    assert_eq!(baselines.len(), 1);
    let base = baselines[0];
    assert_eq!(u(&base["k"]), r);
    assert_eq!((u(&base["theta_x_q"]), u(&base["theta_h_q"])), (0, 0));
    assert_eq!(f(&base["speedup_vs_dense"]), 1.0);
    for p in points {
        let id = p["id"].as_str().unwrap();
        let t = u(&p["timesteps"]);
        assert!(p["bit_exact"].as_bool().unwrap(), "{id}: not bit-exact");
        assert!(p["cycles_match"].as_bool().unwrap(), "{id}: cycles differ");
        // Measured = model, every step and in total.
        let meas: Vec<u64> = p["step_cycles"].as_array().unwrap().iter().map(u).collect();
        let model: Vec<u64> = p["model_step_cycles"]
            .as_array()
            .unwrap()
            .iter()
            .map(u)
            .collect();
        assert_eq!(meas.len() as u64, t, "{id}: one record per step");
        assert_eq!(meas, model, "{id}: stat_step_cycles vs cycle model");
        assert_eq!(u(&p["stat_cycles"]), u(&p["model_total_cycles"]), "{id}");
        assert_eq!(u(&p["stat_cycles"]), meas.iter().sum::<u64>(), "{id}");
        assert_eq!(u(&p["stat_deltas"]), u(&p["model_deltas"]), "{id}");
        assert_eq!(u(&p["stat_steps"]), t, "{id}");
        // Every step costs at least T_upd; the figures are consistent with the raw counts.
        assert!(meas.iter().all(|&c| c >= t_upd), "{id}");
        let cps = f(&p["cycles_per_step"]);
        assert!((cps - u(&p["stat_cycles"]) as f64 / t as f64).abs() < 1e-9);
        let util = f(&p["mac_utilization"]);
        assert!(util > 0.0 && util <= 1.0, "{id}: utilization {util}");
        let d = f(&p["density"]);
        assert!(d > 0.0 && d <= 1.0, "{id}: density {d}");
        assert!(f(&p["speedup_vs_dense"]) > 0.0);
        assert!(f(&p["speedup_ideal"]) > 0.0);
    }
    // Sparser weights and sparser deltas are faster than the baseline.
    let sparse = points.iter().find(|p| p["id"] == "k2_d10").unwrap();
    assert!(f(&sparse["speedup_vs_dense"]) > 1.0);

    // Scaling: A·N = 8 (built and replayed) and 32 (generated only).
    let s = j["scaling"]["points"].as_array().unwrap();
    let macs: Vec<u64> = s.iter().map(|p| u(&p["macs"])).collect();
    assert_eq!(macs, vec![8, 32]);
    for p in s {
        assert!(p["error"].is_null(), "{}", p["error"]);
        assert!(u(&p["verilog_bytes"]) > 0 && u(&p["verilog_modules"]) > 0);
        assert_eq!(p["gen_method"], "child");
        assert!(u(&p["peak_rss_kib"]) > 0);
    }
    assert_eq!(s[0]["bit_exact"], true);
    assert_eq!(s[0]["cycles_match"], true);
    assert!(s[1]["build_skipped"].is_string());
    assert!(
        u(&s[1]["verilog_modules"]) > u(&s[0]["verilog_modules"]),
        "more PEs, more modules"
    );

    // Schedule: G = 1, G = 4, G = 4 + overlap on one shape, each built and replayed
    // bit-exact with every step's cycles equal to the model; on the same vectors more lanes
    // and then the overlap take fewer cycles (the point of both).
    let sch = &j["schedule"];
    let meas = sch["measured"].as_array().unwrap();
    let variants: Vec<(u64, bool)> = meas
        .iter()
        .map(|p| {
            (
                u(&p["point"]["lanes"]),
                p["point"]["overlap"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(variants, vec![(1, false), (4, false), (4, true)]);
    let mut cps = Vec::new();
    for p in meas {
        assert!(p["error"].is_null(), "{}", p["error"]);
        assert_eq!(p["bit_exact"], true);
        assert_eq!(p["cycles_match"], true);
        let c = f(&p["measured_cycles_per_step"]);
        assert_eq!(c, f(&p["model_cycles_per_step"]), "measured = model");
        let util = f(&p["measured_mac_utilization"]);
        assert!(util > 0.0 && util <= 1.0);
        cps.push(c);
    }
    assert_eq!(
        meas[0]["density_h"], meas[2]["density_h"],
        "same vectors for every variant"
    );
    assert!(cps[2] < cps[1] && cps[1] < cps[0], "cycles/step {cps:?}");
    let curves = sch["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 3);
    for c in curves {
        let pts = c["points"].as_array().unwrap();
        assert_eq!(pts.len(), 10);
        // denser deltas: more cycles per step and a higher utilization
        for w in pts.windows(2) {
            assert!(f(&w[1]["cycles_per_step"]) >= f(&w[0]["cycles_per_step"]));
            assert!(f(&w[1]["mac_utilization"]) > f(&w[0]["mac_utilization"]));
        }
    }
    assert!(
        j["targets"].is_null(),
        "the quick bench does not synthesize"
    );

    // The Markdown carries the tables.
    let md = std::fs::read_to_string(dir.join("bench.md")).unwrap();
    for needle in [
        "## Sparsity × density matrix",
        "| weight sparsity | K |",
        "## Generator scaling",
        "Why utilization is far from 0.9",
        "## Gate lanes and the overlapped schedule",
        "Gain of the overlap",
    ] {
        assert!(md.contains(needle), "bench.md lacks {needle:?}");
    }
    assert!(Path::new(&dir.join("matrix/configs/k32_d100.toml")).is_file());
}
