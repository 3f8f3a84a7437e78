//! Determinism: the same inputs give a byte-identical `hdl_out/<name>/` — across runs, across
//! processes (rust-hdl's emitter and the std `HashMap` seeds differ per process), across output
//! folders, working directories, relative and absolute paths, config file names, weight and
//! input file locations, and `RAYON_NUM_THREADS` (nothing in the generator is parallel; the
//! variable must not matter should that change). The verification itself is deterministic
//! too: the same testbench seed gives the same result file whatever `-j` Verilator was built
//! with. And `gen verify --no-regen` refuses a folder that is tampered with or stale with a
//! message naming the problem (`verilator_replay.rs` covers an edited `vectors/h_q.hex`, and a
//! corrupted expected value whose manifest was re-sealed; these are the other cases).

use spartus_gen::verify::{verify, VerifyOptions};
use spartus_gen::verilator::{self, BuildOptions, RunOptions};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const GEN: &str = env!("CARGO_BIN_EXE_gen");

/// Every file under `dir` (relative path → bytes), `sim/` excluded.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(p).unwrap() {
            let e = e.unwrap().path();
            let rel = e.strip_prefix(root).unwrap().to_string_lossy().to_string();
            if rel == "sim" {
                continue;
            }
            if e.is_dir() {
                walk(root, &e, out);
            } else {
                out.insert(rel, fs::read(&e).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The first difference between two trees, for the assertion message.
fn first_difference(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    let names_a: Vec<&String> = a.keys().collect();
    let names_b: Vec<&String> = b.keys().collect();
    if names_a != names_b {
        return format!("file lists differ: {names_a:?} vs {names_b:?}");
    }
    for (k, va) in a {
        let vb = &b[k];
        if va != vb {
            let line = va
                .split(|&c| c == b'\n')
                .zip(vb.split(|&c| c == b'\n'))
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            return format!("{k} differs (first at line {})", line + 1);
        }
    }
    "identical".into()
}

/// Run the `gen` binary in `cwd` with `args` and extra environment; assert success.
fn gen(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(GEN)
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gen {args:?} in {}: {}",
        cwd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Run the `gen` binary and expect failure; returns stderr.
fn gen_fails(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new(GEN)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(!out.status.success(), "gen {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// A sweep-style config with 3 layers and A > I and A ∤ H (the hardest shape to emit).
const THREE_LAYER: &str = r#"
name = "det3"
seed = 99
[model]
input_size = 2
hidden_size = 6
layers = 3
[sparsity]
sparsity_x = 0.5
k_h = 5
theta_x = 0.25
theta_h = 127.99609375
[hardware]
pe_count = 1
arrays = 4
wfrac = 5
lut_shift = 3
lut_frac = 6
rounding = "floor"
bias_mode = "q17"
[stimulus]
timesteps = 40
step = 100.0
bound = 128.0
hold_prob = 0.9
"#;

#[test]
fn same_inputs_give_byte_identical_folders_everywhere() {
    let configs: Vec<(String, String)> = vec![
        (
            "tiny".into(),
            fs::read_to_string(root().join("configs/tiny.toml")).unwrap(),
        ),
        (
            "two_layer".into(),
            fs::read_to_string(root().join("crates/spartus-gen/tests/configs/two_layer.toml"))
                .unwrap(),
        ),
        (
            "arrays".into(),
            fs::read_to_string(root().join("crates/spartus-gen/tests/configs/arrays.toml"))
                .unwrap(),
        ),
        ("det3".into(), THREE_LAYER.into()),
    ];
    for (name, text) in &configs {
        let t = tempfile::tempdir().unwrap();
        let base = t.path();
        // 1. in this process, absolute paths
        let cfg = base.join("a/config.toml");
        fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        fs::write(&cfg, text).unwrap();
        let opts = spartus_gen::vectors::VectorsOptions {
            config: cfg.clone(),
            weights: None,
            inputs: None,
            out_dir: base.join("a/hdl_out"),
        };
        let (_, dir1, _) = spartus_gen::emit::write(&opts).unwrap();
        let reference = tree(&dir1);
        assert!(reference.keys().any(|k| k.starts_with("rtl/")));
        // 2. again, in place (overwriting the folder)
        spartus_gen::emit::write(&opts).unwrap();
        assert_eq!(tree(&dir1), reference, "{name}: re-emit in place");
        // 3. another process, relative output folder, RAYON_NUM_THREADS=1
        let b = base.join("b");
        fs::create_dir_all(&b).unwrap();
        gen(
            &b,
            &["emit", cfg.to_str().unwrap(), "--out-dir", "out"],
            &[("RAYON_NUM_THREADS", "1")],
        );
        let t3 = tree(&b.join("out").join(name));
        assert!(
            t3 == reference,
            "{name}: {}",
            first_difference(&reference, &t3)
        );
        // 4. another process, relative config under another file name, `..` in the output
        //    path, RAYON_NUM_THREADS=7
        let c = base.join("c/deep/er");
        fs::create_dir_all(&c).unwrap();
        fs::write(c.join("renamed.toml"), text).unwrap();
        gen(
            &c,
            &["emit", "renamed.toml", "--out-dir", "../../x/./y"],
            &[("RAYON_NUM_THREADS", "7")],
        );
        let t4 = tree(&base.join("c/x/y").join(name));
        assert!(
            t4 == reference,
            "{name}: {}",
            first_difference(&reference, &t4)
        );
        // 5. the default form `gen <config>` into ./hdl_out
        let d = base.join("d");
        fs::create_dir_all(&d).unwrap();
        gen(&d, &[cfg.to_str().unwrap()], &[]);
        let t5 = tree(&d.join("hdl_out").join(name));
        assert!(
            t5 == reference,
            "{name}: {}",
            first_difference(&reference, &t5)
        );
        // no temporary folders left behind
        let left: Vec<String> = fs::read_dir(d.join("hdl_out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(left, vec![name.clone()]);
        // the folder names no machine path: it can be moved (the RTL reads mem/ relatively)
        for (k, v) in &reference {
            let s = String::from_utf8_lossy(v);
            assert!(
                !s.contains(base.to_str().unwrap()),
                "{name}: {k} contains the output path"
            );
        }
    }
}

#[test]
fn given_weights_and_inputs_are_located_by_content_not_path() {
    let t = tempfile::tempdir().unwrap();
    let base = t.path();
    let cfg = root().join("configs/tiny.toml");
    let r = spartus_gen::load_config(&cfg).unwrap();
    // weights: a scaled copy of the seeded random net, written to two places
    let mut net = spartus_model::design::random_float_net(&r);
    for l in &mut net.layers {
        for w in l.weight_ih.iter_mut().chain(l.weight_hh.iter_mut()) {
            *w *= 0.5;
        }
    }
    let bytes = spartus_model::weights::save_safetensors(&net);
    let x: Vec<f64> = (0..50 * 4)
        .map(|k| ((k * 37 % 101) as f64 - 50.0) / 20.0)
        .collect();
    let npy = spartus_model::npy::write_f64(&[50, 4], &x);
    let mut trees = Vec::new();
    for (k, sub) in ["p/q", "r"].iter().enumerate() {
        let d = base.join(sub);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(format!("w{k}.safetensors")), &bytes).unwrap();
        fs::write(d.join(format!("x{k}.npy")), &npy).unwrap();
        gen(
            &d,
            &[
                "emit",
                cfg.to_str().unwrap(),
                "--weights",
                &format!("w{k}.safetensors"),
                "--inputs",
                &format!("x{k}.npy"),
                "--out-dir",
                "o",
            ],
            &[("RAYON_NUM_THREADS", if k == 0 { "2" } else { "5" })],
        );
        trees.push(tree(&d.join("o/tiny")));
    }
    assert!(
        trees[0] == trees[1],
        "{}",
        first_difference(&trees[0], &trees[1])
    );
    // and the weights and inputs did matter
    let random = base.join("random");
    fs::create_dir_all(&random).unwrap();
    gen(
        &random,
        &["emit", cfg.to_str().unwrap(), "--out-dir", "o"],
        &[],
    );
    let tr = tree(&random.join("o/tiny"));
    assert_ne!(tr["mem/l0_a0_p0_w.hex"], trees[0]["mem/l0_a0_p0_w.hex"]);
    assert_ne!(tr["vectors/x_q.hex"], trees[0]["vectors/x_q.hex"]);
    let m: serde_json::Value = serde_json::from_slice(&trees[0]["manifest.json"]).unwrap();
    assert_eq!(m["weights"]["source"], "file");
    assert_eq!(
        m["weights"]["sha256"],
        spartus_gen::artifacts::sha256_hex(&bytes)
    );
}

#[test]
fn verification_is_deterministic_across_build_parallelism() {
    // gen verify regenerates the same folder as gen emit, and the same testbench seed gives
    // the same result file whether Verilator built with -j 1 or -j 2.
    let t = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/tiny.toml");
    let emitted = t.path().join("emitted");
    gen(
        t.path(),
        &["emit", cfg.to_str().unwrap(), "--out-dir", "emitted"],
        &[],
    );
    let mut opts = VerifyOptions::new(cfg.clone());
    opts.vectors.out_dir = t.path().join("verified");
    opts.lint = false;
    let rep = verify(&opts).unwrap();
    assert!(rep.passed(), "{}", rep.summary());
    let a = tree(&emitted.join("tiny"));
    let b = tree(&rep.dir);
    assert!(a == b, "{}", first_difference(&a, &b));
    assert!(spartus_gen::artifacts::check_manifest(&rep.dir)
        .unwrap()
        .is_empty());
    // the same design built again with -j 1 in a copy of the folder
    let copy = t.path().join("copy");
    gen(
        t.path(),
        &["emit", cfg.to_str().unwrap(), "--out-dir", "copy"],
        &[],
    );
    let b1 = verilator::build_tb(
        &copy.join("tiny"),
        "spartus_tiny",
        &BuildOptions {
            jobs: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let run = RunOptions {
        seed: 77,
        in_gap: 0.3,
        out_stall: 0.4,
        result: PathBuf::from("sim/det.txt"),
        ..Default::default()
    };
    let r1 = verilator::run_tb(&copy.join("tiny"), &b1.exe, &run).unwrap();
    let r2 = verilator::run_tb(&rep.dir, &rep.dir.join("sim/obj/tb"), &run).unwrap();
    assert!(r1.passed());
    let f1 = fs::read_to_string(copy.join("tiny/sim/det.txt")).unwrap();
    let f2 = fs::read_to_string(rep.dir.join("sim/det.txt")).unwrap();
    assert_eq!(f1, f2, "same seed, same result file");
    // a different seed gives a different stall pattern but the same counters
    let r3 = verilator::run_tb(
        &rep.dir,
        &rep.dir.join("sim/obj/tb"),
        &RunOptions {
            seed: 78,
            result: PathBuf::from("sim/det78.txt"),
            ..run.clone()
        },
    )
    .unwrap();
    assert!(r3.passed());
    assert_ne!(r3.cycles, r2.cycles);
    assert_eq!(
        (r3.stat_cycles, r3.stat_deltas, &r3.steps.len()),
        (r2.stat_cycles, r2.stat_deltas, &r2.steps.len())
    );
}

/// A fresh tiny folder in a temp dir; returns (tempdir, folder).
fn tiny_folder() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    gen(
        t.path(),
        &[
            "emit",
            root().join("configs/tiny.toml").to_str().unwrap(),
            "--out-dir",
            "hdl_out",
        ],
        &[],
    );
    let dir = t.path().join("hdl_out/tiny");
    (t, dir)
}

fn no_regen_error(cwd: &Path, config: &Path) -> String {
    gen_fails(
        cwd,
        &[
            "verify",
            config.to_str().unwrap(),
            "--no-regen",
            "--out-dir",
            "hdl_out",
        ],
    )
}

#[test]
fn no_regen_refuses_tampered_or_stale_folders() {
    let tiny = root().join("configs/tiny.toml");
    // missing folder
    let t = tempfile::tempdir().unwrap();
    let e = no_regen_error(t.path(), &tiny);
    assert!(
        e.contains("does not exist") && e.contains("gen emit"),
        "{e}"
    );

    // one edited character in the RTL, a memory image, the config copy, the LUT
    for (file, edit) in [
        ("rtl/spartus_tiny.v", "endmodule\n"),
        ("mem/l0_a0_p0_w.hex", "\n"),
        ("mem/sig.hex", "\n"),
        ("config.toml", "\n"),
    ] {
        let (t, dir) = tiny_folder();
        let p = dir.join(file);
        let mut text = fs::read_to_string(&p).unwrap();
        if file.starts_with("rtl/") {
            // flip one bit of the design (a constant), or failing that add a comment
            match text.rfind("1'b0") {
                Some(at) => text.replace_range(at..at + 4, "1'b1"),
                None => text.push_str("// edited\n"),
            }
        } else {
            text.push_str(edit);
        }
        fs::write(&p, text).unwrap();
        let e = no_regen_error(t.path(), &tiny);
        assert!(
            e.contains(file) && e.contains("manifest") && e.contains("regenerate"),
            "{file}: {e}"
        );
    }

    // a deleted file
    let (t, dir) = tiny_folder();
    fs::remove_file(dir.join("mem/tanh.hex")).unwrap();
    let e = no_regen_error(t.path(), &tiny);
    assert!(e.contains("mem/tanh.hex") && e.contains("missing"), "{e}");

    // no manifest / a corrupted manifest
    let (t, dir) = tiny_folder();
    fs::remove_file(dir.join("manifest.json")).unwrap();
    let e = no_regen_error(t.path(), &tiny);
    assert!(e.contains("no manifest.json"), "{e}");
    let (t, dir) = tiny_folder();
    fs::write(dir.join("manifest.json"), "{ not json").unwrap();
    let e = no_regen_error(t.path(), &tiny);
    assert!(e.contains("manifest.json is not valid JSON"), "{e}");

    // stale: generated from another config (Θ changed, same name)
    let (t, _dir) = tiny_folder();
    let changed = t.path().join("tiny_changed.toml");
    let text = fs::read_to_string(&tiny).unwrap();
    let edited = text.replacen("theta_x = 0.0625", "theta_x = 0.125", 1);
    assert_ne!(edited, text, "configs/tiny.toml sets theta_x = 0.0625");
    fs::write(&changed, edited).unwrap();
    let e = no_regen_error(t.path(), &changed);
    assert!(e.contains("generated from a different config"), "{e}");

    // an intact folder is accepted as it is (and only sim/ is added)
    let (t, dir) = tiny_folder();
    let before = tree(&dir);
    let mut opts = VerifyOptions::new(tiny.clone());
    opts.vectors.out_dir = t.path().join("hdl_out");
    opts.no_regen = true;
    opts.lint = false;
    let rep = verify(&opts).unwrap();
    assert!(rep.passed(), "{}", rep.summary());
    assert!(tree(&dir) == before, "verify --no-regen changed the folder");
    assert!(dir.join("sim/verify.json").is_file());
}

/// `gen verify --no-regen --weights W` (or `--inputs X`) checks that the folder was generated
/// from W / X: the manifest records their SHA-256 (bug found by the sweep work: the options were
/// silently ignored and a folder of other weights was reported VERIFIED).
#[test]
fn no_regen_refuses_a_folder_of_other_weights() {
    let (t, _dir) = tiny_folder();
    let tiny = root().join("configs/tiny.toml");
    let r = spartus_gen::load_config(&tiny).unwrap();
    let mut net = spartus_model::design::random_float_net(&r);
    net.layers[0].weight_ih[0] = 0.99;
    let w = t.path().join("w.safetensors");
    fs::write(&w, spartus_model::weights::save_safetensors(&net)).unwrap();
    let gen = |args: &[&str]| {
        let mut all = vec![args[0], tiny.to_str().unwrap()];
        all.extend_from_slice(&args[1..]);
        all.extend_from_slice(&["--out-dir", "hdl_out"]);
        Command::new(GEN)
            .args(&all)
            .current_dir(t.path())
            .output()
            .unwrap()
    };
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let ws = w.to_str().unwrap();
    // folder of seeded random weights, verified "with" W
    let out = gen(&["verify", "--no-regen", "--no-lint", "--weights", ws]);
    assert!(
        !out.status.success(),
        "a folder of random weights was verified as if generated from {ws}:\n{}",
        text(&out)
    );
    assert!(
        text(&out).contains("seeded random weights"),
        "{}",
        text(&out)
    );
    // folder generated from W: accepted with W, refused without it and with other weights
    let out = gen(&["emit", "--weights", ws]);
    assert!(out.status.success(), "{}", text(&out));
    let out = gen(&["verify", "--no-regen", "--no-lint", "--weights", ws]);
    assert!(out.status.success(), "{}", text(&out));
    let out = gen(&["verify", "--no-regen", "--no-lint"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no --weights was given"),
        "{}",
        text(&out)
    );
    net.layers[0].weight_ih[0] = -0.99;
    let w2 = t.path().join("w2.safetensors");
    fs::write(&w2, spartus_model::weights::save_safetensors(&net)).unwrap();
    let out = gen(&[
        "verify",
        "--no-regen",
        "--no-lint",
        "--weights",
        w2.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("other weights"), "{}", text(&out));
}
