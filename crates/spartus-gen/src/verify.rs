//! `gen verify <config>`: prove the emitted Verilog bit-exact in Verilator.
//!
//! 1. Regenerate `hdl_out/<name>/` (unless `--no-regen`), then check the folder against its
//!    manifest (every file's SHA-256) and against the config: a stale or edited folder is
//!    refused with a message naming the files.
//! 2. Lint the RTL (`verilator --lint-only -Wall`, short waiver list) — optional.
//! 3. Build the generic testbench and replay `vectors/` with random valid gaps and ready
//!    stalls; every h element must match.
//! 4. Compare the hardware's counters with the cycle model: compute cycles of every step of the
//!    last layer, total compute cycles of all layers, and the nonzero deltas consumed. These
//!    are exact by construction (see `spartus_hw::layer`), so any difference is a failure.
//!
//! Results go to `sim/verify.json` (the `sim/` folder is not part of the manifest).

use crate::artifacts::check_manifest;
use crate::vectors::VectorsOptions;
use crate::verilator::{self, BuildOptions, RunOptions, SimResult, TbSource};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// RTL size above which the testbench C++ is compiled with `-O0` (build time over run time).
pub const BIG_RTL_BYTES: u64 = 2_000_000;

/// Verilator arguments that compile the generated C++ with `-O0` (Verilator's own `-O3`
/// stays): gcc -O0 builds spartus-1024 (512 MACs) in ~4 min instead of > 20 min on 2 cores,
/// and short replays still run in seconds.
pub const FAST_BUILD_ARGS: &[&str] = &["-MAKEFLAGS", "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"];

/// Is the design's RTL (`rtl` relative to `dir`) big enough for [`FAST_BUILD_ARGS`]?
pub fn is_big_rtl(dir: &Path, rtl: &str) -> bool {
    std::fs::metadata(dir.join(rtl))
        .map(|m| m.len() > BIG_RTL_BYTES)
        .unwrap_or(false)
}

/// Extra Verilator build arguments for the design `rtl/<top>.v` in `dir`: [`FAST_BUILD_ARGS`]
/// for big designs, none otherwise.
pub fn build_args_for(dir: &Path, top: &str) -> Vec<String> {
    if is_big_rtl(dir, &format!("rtl/{top}.v")) {
        FAST_BUILD_ARGS.iter().map(|s| s.to_string()).collect()
    } else {
        Vec::new()
    }
}

/// Options of `gen verify`.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Config, weights, inputs, output parent.
    pub vectors: VectorsOptions,
    /// Check the existing folder as it is.
    pub no_regen: bool,
    /// Testbench PRNG seed.
    pub seed: u64,
    /// Probability of an input valid gap per cycle.
    pub in_gap: f64,
    /// Probability of an output ready stall per cycle.
    pub out_stall: f64,
    /// Run the Verilator lint first.
    pub lint: bool,
    /// Testbench source.
    pub tb: TbSource,
}

impl VerifyOptions {
    /// Defaults for a config: regenerate, seed 1, 20 % gaps, 30 % stalls, lint on.
    pub fn new(config: PathBuf) -> Self {
        Self {
            vectors: VectorsOptions {
                config,
                weights: None,
                inputs: None,
                out_dir: PathBuf::from("hdl_out"),
            },
            no_regen: false,
            seed: 1,
            in_gap: 0.2,
            out_stall: 0.3,
            lint: true,
            tb: TbSource::Embedded,
        }
    }
}

/// Outcome of a verification run.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Design folder.
    pub dir: PathBuf,
    /// Top module.
    pub top: String,
    /// Testbench result.
    pub sim: SimResult,
    /// Predicted compute cycles per step of the last layer.
    pub predicted_step_cycles: Vec<u64>,
    /// Predicted compute cycles, all layers.
    pub predicted_total_cycles: u64,
    /// Predicted nonzero deltas consumed (Σ nnz_x + nnz_h over layers and steps).
    pub predicted_deltas: u64,
    /// Lint warnings waived (0 when lint was skipped).
    pub lint_waived: usize,
    /// Seconds of the Verilator build.
    pub build_seconds: f64,
    /// Every disagreement found (empty ⇒ verified).
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// True when everything matched.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// Human-readable summary.
    pub fn summary(&self) -> String {
        let steps = self.predicted_step_cycles.len().max(1) as f64;
        let mut s = format!(
            "{}: {}\ncompute cycles: measured {} / predicted {} ({:.1} per step); deltas {} / {}; \
             wall cycles with stalls {}\n",
            self.dir.display(),
            self.sim.summary(),
            self.sim.stat_cycles,
            self.predicted_total_cycles,
            self.predicted_total_cycles as f64 / steps,
            self.sim.stat_deltas,
            self.predicted_deltas,
            self.sim.cycles
        );
        if self.passed() {
            s.push_str("VERIFIED: bit-exact, cycle counts equal the cycle model\n");
        } else {
            for p in &self.problems {
                s.push_str(&format!("problem: {p}\n"));
            }
        }
        s
    }
}

#[derive(serde::Deserialize)]
struct CyclesJson {
    total_cycles: u64,
    layers: Vec<CyclesLayer>,
}

#[derive(serde::Deserialize)]
struct CyclesLayer {
    cycles: Vec<u64>,
    nnz_x: Vec<u64>,
    nnz_h: Vec<u64>,
}

/// Check that `dir` is an intact output folder of `config_toml` (the resolved config text).
pub fn check_folder(dir: &Path, config_toml: &str) -> Result<()> {
    let problems = check_manifest(dir)?;
    if !problems.is_empty() {
        bail!(
            "{} does not match its manifest (edited or stale files):\n  {}\nregenerate it with `gen emit` (or run verify without --no-regen)",
            dir.display(),
            problems.join("\n  ")
        );
    }
    let on_disk = std::fs::read_to_string(dir.join("config.toml"))
        .with_context(|| format!("{} has no config.toml", dir.display()))?;
    if on_disk != config_toml {
        bail!(
            "{} was generated from a different config than the one given; regenerate it \
             (run verify without --no-regen)",
            dir.display()
        );
    }
    Ok(())
}

/// With `--no-regen`: the folder must have been generated from the weight and input files
/// given now (or from the seeded random ones when none is given), compared by the SHA-256
/// the manifest records under `weights` / `inputs`.
pub fn check_sources(dir: &Path, weights: Option<&Path>, inputs: Option<&Path>) -> Result<()> {
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .with_context(|| format!("{} has no manifest.json", dir.display()))?;
    let manifest: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}/manifest.json is not valid JSON", dir.display()))?;
    for (key, option, given) in [
        ("weights", "--weights", weights),
        ("inputs", "--inputs", inputs),
    ] {
        let recorded = manifest[key]["sha256"].as_str();
        let want = given
            .map(|p| {
                std::fs::read(p)
                    .map(|b| crate::artifacts::sha256_hex(&b))
                    .with_context(|| format!("cannot read {}", p.display()))
            })
            .transpose()?;
        match (recorded, want.as_deref(), given) {
            (None, None, _) => {}
            (Some(r), Some(w), _) if r == w => {}
            (Some(r), None, _) => bail!(
                "{} was generated from a {key} file (sha256 {r}) but no {option} was given;                  pass the same file or regenerate (run verify without --no-regen)",
                dir.display()
            ),
            (None, Some(_), Some(p)) => bail!(
                "{} was generated from the config's seeded random {key}, not from {};                  regenerate it (run verify without --no-regen)",
                dir.display(),
                p.display()
            ),
            (Some(r), Some(w), Some(p)) => bail!(
                "{} was generated from other {key} (manifest sha256 {r}) than {} (sha256 {w});                  regenerate it (run verify without --no-regen)",
                dir.display(),
                p.display()
            ),
            _ => unreachable!("a hash is computed exactly when a file is given"),
        }
    }
    Ok(())
}

/// Run the whole verification.
pub fn verify(opts: &VerifyOptions) -> Result<VerifyReport> {
    let resolved = crate::load_config(&opts.vectors.config)?;
    let dir = opts.vectors.out_dir.join(&resolved.config.name);
    if !opts.no_regen {
        crate::emit::write(&opts.vectors)?;
    } else if !dir.exists() {
        bail!(
            "{} does not exist: run `gen emit {}` first (or verify without --no-regen)",
            dir.display(),
            opts.vectors.config.display()
        );
    }
    check_folder(&dir, &resolved.config.to_toml())?;
    if opts.no_regen {
        check_sources(
            &dir,
            opts.vectors.weights.as_deref(),
            opts.vectors.inputs.as_deref(),
        )?;
    }
    let top = resolved.top_name.clone();
    let lint_waived = if opts.lint {
        verilator::lint(&dir, &top)?.waived.len()
    } else {
        0
    };
    let extra_args = build_args_for(&dir, &top);
    let build = verilator::build_tb(
        &dir,
        &top,
        &BuildOptions {
            tb: opts.tb.clone(),
            extra_args,
            ..Default::default()
        },
    )?;
    let cj: CyclesJson = serde_json::from_str(
        &std::fs::read_to_string(dir.join("reports/cycles.json"))
            .context("cannot read reports/cycles.json")?,
    )
    .context("reports/cycles.json is malformed")?;
    let last = cj
        .layers
        .last()
        .context("reports/cycles.json has no layers")?;
    let t_steps = last.cycles.len() as u64;
    let outputs = t_steps * resolved.h() as u64;
    let run = RunOptions {
        seed: opts.seed,
        in_gap: opts.in_gap,
        out_stall: opts.out_stall,
        // generous: every step costs at most its compute cycles plus the streams, stretched by stalls
        max_cycles: 100 * (cj.total_cycles + outputs + t_steps * (resolved.i() as u64 + 64))
            + 10_000,
        ..Default::default()
    };
    let sim = verilator::run_tb(&dir, &build.exe, &run)?;
    let predicted_deltas: u64 = cj
        .layers
        .iter()
        .map(|l| l.nnz_x.iter().chain(&l.nnz_h).sum::<u64>())
        .sum();
    let mut problems = Vec::new();
    if !sim.passed() {
        problems.push(format!("testbench: {}", sim.summary()));
        problems.extend(sim.messages.iter().take(10).cloned());
    }
    if sim.stat_steps != t_steps {
        problems.push(format!(
            "stat_steps = {}, expected {t_steps}",
            sim.stat_steps
        ));
    }
    for (rec, want) in sim.steps.iter().zip(&last.cycles) {
        if rec.compute_cycles != Some(*want) {
            problems.push(format!(
                "step {}: compute cycles {:?}, cycle model {want}",
                rec.t, rec.compute_cycles
            ));
            if problems.len() > 20 {
                break;
            }
        }
    }
    if sim.stat_cycles != cj.total_cycles {
        problems.push(format!(
            "stat_cycles = {}, cycle model {}",
            sim.stat_cycles, cj.total_cycles
        ));
    }
    if sim.stat_deltas != predicted_deltas {
        problems.push(format!(
            "stat_deltas = {}, golden model {predicted_deltas}",
            sim.stat_deltas
        ));
    }
    let report = VerifyReport {
        dir: dir.clone(),
        top,
        sim,
        predicted_step_cycles: last.cycles.clone(),
        predicted_total_cycles: cj.total_cycles,
        predicted_deltas,
        lint_waived,
        build_seconds: build.seconds,
        problems,
    };
    let mut j = serde_json::to_string_pretty(&report)?;
    j.push('\n');
    std::fs::write(dir.join("sim/verify.json"), j).context("cannot write sim/verify.json")?;
    Ok(report)
}
