//! Verilator and Yosys checks of a generated design folder `hdl_out/<name>/`.
//!
//! The contract is `docs/interfaces.md`: the folder holds `rtl/<top>.v`, `mem/*.hex` and
//! `vectors/`, and every tool runs *in* that folder so the relative `$readmemh("mem/...")`
//! paths resolve. Everything this module writes goes to `sim/`:
//!
//! | step | function | writes |
//! |---|---|---|
//! | lint (`verilator --lint-only -Wall` + [`LINT_WAIVERS`]) | [`lint`] | `sim/lint.log` |
//! | structural check (`yosys ... hierarchy -check; proc; check`, no latches) | [`yosys_check`] | `sim/yosys_check.log` |
//! | build the generic C++ testbench (embedded [`TB_CPP`]) | [`build_tb`] | `sim/tb.cpp`, `sim/obj/`, `sim/build.log` |
//! | run it with plusargs, parse the result file | [`run_tb`] | `sim/result*.txt`, `sim/result*.log` |
//! | the same with a mid-run `start_sequence`/`reset` and a second sequence ([`Restart`]) | [`run_tb_restart`] | the same |
//! | all of the above for a [`SimPlan`] (several seeds and stall rates) | [`run_plan`] | the above |
//!
//! Tools are looked up on `PATH`; a missing one gives [`HarnessError::ToolMissing`], whose
//! message tells the user to run `bash scripts/install-tools.sh`.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The generic testbench (`testbenches/verilator/tb.cpp`), embedded so that a built `gen`
/// binary works from any directory; [`build_tb`] writes it to `sim/tb.cpp`.
pub const TB_CPP: &str = include_str!("../../../testbenches/verilator/tb.cpp");

/// What the user has to do when a tool is missing.
pub const INSTALL_HINT: &str = "install the FPGA tools with `bash scripts/install-tools.sh`";

/// Errors of the external-tool harness (Verilator, Yosys, nextpnr and the scripts).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A command is not on `PATH`.
    #[error("`{tool}` not found on PATH; {INSTALL_HINT}")]
    ToolMissing {
        /// The command that was looked for.
        tool: String,
    },
    /// A tool ran but failed (or crashed).
    #[error("{0}")]
    ToolFailed(Box<ToolFailure>),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A tool's output file did not have the expected format.
    #[error("{path}: {msg}")]
    Parse {
        /// The file that was parsed.
        path: PathBuf,
        /// What was wrong.
        msg: String,
    },
    /// The design folder lacks an input.
    #[error("{0}")]
    MissingInput(String),
    /// A caller passed an invalid option.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Verilator lint found warnings that are not waived, or errors.
    #[error("verilator lint: {} problem(s) not covered by the waiver list (full log: {}):\n{}",
            .messages.len(), .log.display(), join_messages(.messages))]
    Lint {
        /// Log file.
        log: PathBuf,
        /// The unwaived warnings and the errors.
        messages: Vec<LintMessage>,
    },
    /// Yosys inferred latches.
    #[error("yosys: {top} infers latches (full log: {}):\n  {}", .log.display(), .signals.join("\n  "))]
    Latches {
        /// Top module.
        top: String,
        /// Yosys' "Latch inferred for signal ..." lines.
        signals: Vec<String>,
        /// Log file.
        log: PathBuf,
    },
    /// Yosys `check` reported problems (undriven wires, multiple drivers, logic loops).
    #[error("yosys check: {top} has {} problem(s) (full log: {}):\n  {}", .problems.len(), .log.display(), .problems.join("\n  "))]
    YosysProblems {
        /// Top module.
        top: String,
        /// The warning lines of the `check` pass.
        problems: Vec<String>,
        /// Log file.
        log: PathBuf,
    },
}

/// Details of [`HarnessError::ToolFailed`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} failed ({status}); command `{cmd}` in {}; full log: {}\n{tail}", .dir.display(), .log.display())]
pub struct ToolFailure {
    /// What was being done, e.g. "verilator build".
    pub what: String,
    /// The command line, for reproducing by hand.
    pub cmd: String,
    /// The working directory.
    pub dir: PathBuf,
    /// Exit status as text ("exit code 2", "signal: 6 (SIGABRT)").
    pub status: String,
    /// Log file with the complete stdout and stderr.
    pub log: PathBuf,
    /// The most relevant lines of the log: error lines first, then its last lines.
    pub tail: String,
}

fn join_messages(m: &[LintMessage]) -> String {
    m.iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Result alias of this module.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> HarnessError + '_ {
    move |source| HarnessError::Io {
        path: path.to_path_buf(),
        source,
    }
}

// ------------------------------------------------------------------------------------------
// Running tools

/// Finds an executable `tool` on `PATH` (or checks a path that contains a `/`).
pub fn find_tool(tool: &str) -> Result<PathBuf> {
    let missing = || HarnessError::ToolMissing {
        tool: tool.to_string(),
    };
    if tool.contains('/') {
        let p = PathBuf::from(tool);
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(missing())
        };
    }
    let path = std::env::var_os("PATH").ok_or_else(missing)?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| is_executable(p))
        .ok_or_else(missing)
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Output of [`run_logged`].
pub(crate) struct Ran {
    pub status: ExitStatus,
    pub log_text: String,
    pub seconds: f64,
}

/// Renders a command line for messages.
pub(crate) fn command_line(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "\"'$;&|".contains(c)) {
            s.push_str(&format!(" '{}'", a.replace('\'', r"'\''")));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Runs `cmd` in `dir` with stdout and stderr (interleaved) written to `log`.
/// A spawn failure because the program does not exist becomes [`HarnessError::ToolMissing`].
pub(crate) fn run_logged(cmd: &mut Command, dir: &Path, log: &Path) -> Result<Ran> {
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let file = fs::File::create(log).map_err(io_err(log))?;
    let file2 = file.try_clone().map_err(io_err(log))?;
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(file2));
    let start = Instant::now();
    let status = cmd.status().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            HarnessError::ToolMissing {
                tool: cmd.get_program().to_string_lossy().into_owned(),
            }
        } else {
            HarnessError::Io {
                path: PathBuf::from(cmd.get_program()),
                source: e,
            }
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let bytes = fs::read(log).map_err(io_err(log))?;
    let log_text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Ran {
        status,
        log_text,
        seconds,
    })
}

/// Builds the [`HarnessError::ToolFailed`] for a finished command: the first `ERROR`/`%Error`
/// lines of the log (where the tools put the cause) and its last lines.
pub(crate) fn tool_failed(
    what: &str,
    cmd: &Command,
    dir: &Path,
    log: &Path,
    ran: &Ran,
) -> HarnessError {
    let lines: Vec<&str> = ran.log_text.lines().collect();
    let mut tail: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            l.starts_with("ERROR")
                || l.starts_with("%Error")
                || l.contains(" error:")
                || l.starts_with("tb: error")
        })
        .take(10)
        .collect();
    let start = lines.len().saturating_sub(15);
    for l in &lines[start..] {
        if !tail.contains(l) {
            tail.push(l);
        }
    }
    HarnessError::ToolFailed(Box::new(ToolFailure {
        what: what.to_string(),
        cmd: command_line(cmd),
        dir: dir.to_path_buf(),
        status: match ran.status.code() {
            Some(c) => format!("exit code {c}"),
            None => format!("{}", ran.status),
        },
        log: log.to_path_buf(),
        tail: tail.join("\n"),
    }))
}

/// Canonical absolute path of the design folder, checking that `rtl/<top>.v` exists.
fn design_dir(dir: &Path, top: &str) -> Result<PathBuf> {
    if top.is_empty() || !top.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(HarnessError::InvalidOption(format!(
            "top module name `{top}` is not a plain Verilog identifier"
        )));
    }
    let abs = dir.canonicalize().map_err(io_err(dir))?;
    let rtl = abs.join("rtl").join(format!("{top}.v"));
    if !rtl.is_file() {
        return Err(HarnessError::MissingInput(format!(
            "{} does not exist",
            rtl.display()
        )));
    }
    Ok(abs)
}

/// First line of `tool --version` (or of `args`), for reports.
pub fn tool_version(tool: &str, args: &[&str]) -> Result<String> {
    let exe = find_tool(tool)?;
    let out = Command::new(&exe)
        .args(args)
        .output()
        .map_err(io_err(&exe))?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string())
}

// ------------------------------------------------------------------------------------------
// Lint

/// Verilator warning classes switched off for the whole design, each with its reason.
///
/// Everything else in `-Wall` stays on. WIDTH in particular is *not* waived wholesale: it is
/// how rust-hdl's operator-precedence and context-width traps show up (`c & d == e`,
/// `(a + b) & 32'hffffffff` widening a sum that Rust wraps at 16 bits); only the two
/// spellings of well-defined casts in [`WIDTH_WAIVERS`] pass.
pub const LINT_WAIVERS: &[(&str, &str)] = &[
    (
        "DECLFILENAME",
        "rust-hdl writes the whole hierarchy into one file (rtl/<top>.v), so every module but the \
         top has a name that differs from the file name",
    ),
    (
        "UNUSEDSIGNAL",
        "rust-hdl declares every port of every block even where it is not read (e.g. `clock` of a \
         combinational block, the other bits of a signal of which only `get_bits` is used); a \
         signal nobody reads cannot change the outputs that the bit-exact replay checks",
    ),
];

/// A WIDTH warning pattern that is waived because it is how rust-hdl spells a cast whose
/// Verilog meaning equals its Rust meaning.
#[derive(Debug, Clone, Copy)]
pub struct WidthWaiver {
    /// The operator in Verilator's message ("Operator AND expects ...").
    pub operators: &'static [&'static str],
    /// The kind of the narrower/wider operand in the message ("LHS's UNSIGNED generates").
    pub operand: &'static str,
    /// Text that the source line must contain.
    pub source_contains: &'static str,
    /// Whether the operand must be narrower than expected (zero-extension only).
    pub only_widening: bool,
    /// Why this is safe.
    pub reason: &'static str,
}

/// The WIDTH spellings that are waived; see [`LINT_WAIVERS`] for the policy.
pub const WIDTH_WAIVERS: &[WidthWaiver] = &[
    WidthWaiver {
        operators: &["AND"],
        operand: "UNSIGNED",
        source_contains: "$unsigned(",
        only_widening: true,
        reason: "rust-hdl `bit_cast` widening, emitted as `($unsigned(x)) & N'hff..`: Verilog \
                 zero-extends the unsigned operand, which is exactly bit_cast",
    },
    WidthWaiver {
        operators: &["ASSIGN", "ASSIGNW"],
        operand: "SIGNED",
        source_contains: "$signed(",
        only_widening: false,
        reason: "rust-hdl `signed_bit_cast`, emitted as `y = $signed(x)`: the assignment \
                 truncates or sign-extends to the target width, which is exactly signed_bit_cast",
    },
];

/// Severity of a Verilator message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    /// `%Warning-...`
    Warning,
    /// `%Error...`
    Error,
}

/// One Verilator lint message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintMessage {
    /// Warning or error.
    pub severity: Severity,
    /// Warning class (`WIDTH`, ...); empty for plain `%Error:`.
    pub code: String,
    /// `file:line:col`, when given.
    pub location: String,
    /// The message text.
    pub message: String,
    /// The quoted source line, when given.
    pub source: String,
}

impl fmt::Display for LintMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "%Warning",
            Severity::Error => "%Error",
        };
        let code = if self.code.is_empty() {
            String::new()
        } else {
            format!("-{}", self.code)
        };
        let loc = if self.location.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.location)
        };
        write!(f, "  {sev}{code}: {loc}{}", self.message)?;
        if !self.source.is_empty() {
            write!(f, "\n      {}", self.source.trim())?;
        }
        Ok(())
    }
}

/// Outcome of a clean [`lint`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LintReport {
    /// Messages that matched a [`WIDTH_WAIVERS`] pattern, with the reason.
    pub waived: Vec<(LintMessage, String)>,
    /// The full log.
    pub log: PathBuf,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Parses Verilator's stderr into messages (continuation lines give the source line).
pub fn parse_verilator_messages(text: &str) -> Vec<LintMessage> {
    let mut out: Vec<LintMessage> = Vec::new();
    for line in text.lines() {
        let (severity, rest) = if let Some(r) = line.strip_prefix("%Warning") {
            (Severity::Warning, r)
        } else if let Some(r) = line.strip_prefix("%Error") {
            (Severity::Error, r)
        } else {
            // Continuation: the first `NN | code` line is the source line.
            if let Some(last) = out.last_mut() {
                if last.source.is_empty() {
                    if let Some((num, code)) = line.split_once(" | ") {
                        if !num.trim().is_empty() && num.trim().chars().all(|c| c.is_ascii_digit())
                        {
                            last.source = code.to_string();
                        }
                    }
                }
            }
            continue;
        };
        let (code, body) = match rest.strip_prefix('-') {
            Some(r) => match r.split_once(": ") {
                Some((c, b)) => (c.to_string(), b),
                None => (r.trim_end_matches(':').to_string(), ""),
            },
            None => (String::new(), rest.trim_start_matches(':').trim_start()),
        };
        if severity == Severity::Error && code.is_empty() && body.starts_with("Exiting due to") {
            continue;
        }
        // body = "file:line:col: message" or "message"
        let mut location = String::new();
        let mut message = body.to_string();
        let parts: Vec<&str> = body.splitn(4, ':').collect();
        if parts.len() == 4
            && parts[1].chars().all(|c| c.is_ascii_digit())
            && !parts[1].is_empty()
            && parts[2].chars().all(|c| c.is_ascii_digit())
        {
            location = format!("{}:{}:{}", parts[0], parts[1], parts[2]);
            message = parts[3].trim().to_string();
        }
        out.push(LintMessage {
            severity,
            code,
            location,
            message,
            source: String::new(),
        });
    }
    out
}

/// The reason a message is waived, or `None` when it must fail the lint.
pub fn waiver_for(m: &LintMessage) -> Option<&'static str> {
    if m.severity != Severity::Warning {
        return None;
    }
    if let Some((_, reason)) = LINT_WAIVERS.iter().find(|(c, _)| *c == m.code) {
        return Some(reason);
    }
    if m.code != "WIDTH" {
        return None;
    }
    // "Operator AND expects 16 bits on the LHS, but LHS's UNSIGNED generates 8 bits."
    let msg = m.message.as_str();
    let op = msg.strip_prefix("Operator ")?.split_whitespace().next()?;
    let expects = number_after(msg, "expects ")?;
    let generates = number_after(msg, " generates ")?;
    WIDTH_WAIVERS
        .iter()
        .find(|w| {
            w.operators.contains(&op)
                && msg.contains(&format!("'s {} generates", w.operand))
                && m.source.contains(w.source_contains)
                && (!w.only_widening || generates < expects)
        })
        .map(|w| w.reason)
}

fn number_after(s: &str, key: &str) -> Option<u32> {
    let i = s.find(key)? + key.len();
    let digits: String = s[i..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Runs `verilator --lint-only -Wall` (minus [`LINT_WAIVERS`]) on `rtl/<top>.v` in `dir`.
///
/// Fails with [`HarnessError::Lint`] listing every warning that is not waived and every error.
pub fn lint(dir: &Path, top: &str) -> Result<LintReport> {
    let dir = design_dir(dir, top)?;
    let exe = find_tool("verilator")?;
    let log = dir.join("sim").join("lint.log");
    let mut cmd = Command::new(exe);
    cmd.args(["--lint-only", "-Wall", "-Wno-fatal"]);
    for (code, _) in LINT_WAIVERS {
        cmd.arg(format!("-Wno-{code}"));
    }
    cmd.arg(format!("rtl/{top}.v")).args(["--top-module", top]);
    let ran = run_logged(&mut cmd, &dir, &log)?;
    let messages = parse_verilator_messages(&ran.log_text);
    let mut waived = Vec::new();
    let mut failing = Vec::new();
    for m in messages {
        match waiver_for(&m) {
            Some(r) => waived.push((m, r.to_string())),
            None => failing.push(m),
        }
    }
    if !failing.is_empty() {
        return Err(HarnessError::Lint {
            log,
            messages: failing,
        });
    }
    if !ran.status.success() {
        return Err(tool_failed("verilator lint", &cmd, &dir, &log, &ran));
    }
    Ok(LintReport {
        waived,
        log,
        seconds: ran.seconds,
    })
}

// ------------------------------------------------------------------------------------------
// Yosys structural check

/// Outcome of a clean [`yosys_check`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct YosysCheck {
    /// Other `Warning:` lines of the run (not failures).
    pub warnings: Vec<String>,
    /// The full log.
    pub log: PathBuf,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs Yosys on `rtl/<top>.v` in `dir`: `read_verilog; hierarchy -check -top <top>; proc;
/// check`, and fails on inferred latches ([`HarnessError::Latches`]) and on problems found by
/// `check` ([`HarnessError::YosysProblems`]: undriven wires, conflicting drivers, loops).
///
/// Runs in `dir` so `$readmemh("mem/...")` resolves (read_verilog loads the images).
/// `proc` on very large case-statement ROMs is slow (tens of seconds).
pub fn yosys_check(dir: &Path, top: &str) -> Result<YosysCheck> {
    let dir = design_dir(dir, top)?;
    let exe = find_tool("yosys")?;
    let log = dir.join("sim").join("yosys_check.log");
    let script = format!("read_verilog rtl/{top}.v; hierarchy -check -top {top}; proc; check");
    let mut cmd = Command::new(exe);
    cmd.args(["-p", &script]);
    let ran = run_logged(&mut cmd, &dir, &log)?;
    if !ran.status.success() {
        return Err(tool_failed("yosys check", &cmd, &dir, &log, &ran));
    }
    let (latches, problems, warnings) = parse_yosys_check_log(&ran.log_text);
    if !latches.is_empty() {
        return Err(HarnessError::Latches {
            top: top.to_string(),
            signals: latches,
            log,
        });
    }
    if !problems.is_empty() {
        return Err(HarnessError::YosysProblems {
            top: top.to_string(),
            problems,
            log,
        });
    }
    Ok(YosysCheck {
        warnings,
        log,
        seconds: ran.seconds,
    })
}

/// Splits a Yosys log into (latch lines, `check` problems, other warnings).
pub fn parse_yosys_check_log(text: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut latches = Vec::new();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut in_check = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("Latch inferred for signal") {
            latches.push(l.to_string());
        } else if l.contains("Executing CHECK pass") {
            in_check = true;
        } else if l.starts_with("Found and reported") {
            in_check = false;
        } else if let Some(w) = l.strip_prefix("Warning: ") {
            if in_check {
                problems.push(w.to_string());
            } else if !warnings.iter().any(|x: &String| x == w) {
                warnings.push(w.to_string());
            }
        }
    }
    (latches, problems, warnings)
}

// ------------------------------------------------------------------------------------------
// Testbench build

/// Where [`build_tb`] takes the testbench source from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TbSource {
    /// [`TB_CPP`], written to `sim/tb.cpp` (works for an installed binary).
    #[default]
    Embedded,
    /// A file, e.g. `testbenches/verilator/tb.cpp` of a source checkout while editing it.
    File(PathBuf),
}

/// Options of [`build_tb`].
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// `-j` for the C++ build.
    pub jobs: u32,
    /// Build with `--trace` so `+trace=file.vcd` works.
    pub trace: bool,
    /// Testbench source.
    pub tb: TbSource,
    /// Extra Verilator arguments (e.g. `-CFLAGS`, `-D...`).
    pub extra_args: Vec<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            jobs: 2,
            trace: false,
            tb: TbSource::Embedded,
            extra_args: Vec::new(),
        }
    }
}

/// The path of the testbench source in a source checkout (next to this crate).
pub fn tb_source_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testbenches/verilator/tb.cpp")
}

/// A built testbench.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TbBuild {
    /// Absolute path of the executable (`sim/obj/tb`).
    pub exe: PathBuf,
    /// Build log.
    pub log: PathBuf,
    /// Wall-clock seconds of the build.
    pub seconds: f64,
}

/// Verilates `rtl/<top>.v` with the generic testbench into `sim/obj/tb`, run in `dir`:
/// `verilator --cc rtl/<top>.v --top-module <top> --exe <abs>/sim/tb.cpp --build -j 2 -O3
/// --prefix Vtop -Mdir sim/obj -o tb -Wno-fatal` (lint is [`lint`]'s job, so warnings do not
/// stop the build). Rebuilding is incremental (make); `sim/tb.cpp` is only rewritten when it
/// changed.
pub fn build_tb(dir: &Path, top: &str, opts: &BuildOptions) -> Result<TbBuild> {
    let dir = design_dir(dir, top)?;
    let exe = find_tool("verilator")?;
    // Verilator's --build needs make and a C++ compiler; say so before it fails obscurely.
    find_tool("make")?;
    if find_tool("g++").is_err() && find_tool("c++").is_err() {
        return Err(HarnessError::ToolMissing { tool: "g++".into() });
    }
    let sim = dir.join("sim");
    fs::create_dir_all(&sim).map_err(io_err(&sim))?;
    let src = match &opts.tb {
        TbSource::Embedded => TB_CPP.to_string(),
        TbSource::File(p) => fs::read_to_string(p).map_err(io_err(p))?,
    };
    let tb = sim.join("tb.cpp");
    if fs::read_to_string(&tb).ok().as_deref() != Some(src.as_str()) {
        fs::write(&tb, &src).map_err(io_err(&tb))?;
    }
    let log = sim.join("build.log");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--cc",
        &format!("rtl/{top}.v"),
        "--top-module",
        top,
        "--exe",
    ])
    .arg(&tb)
    .args([
        "--build",
        "-j",
        &opts.jobs.max(1).to_string(),
        "-O3",
        "--prefix",
        "Vtop",
    ])
    .args(["-Mdir", "sim/obj", "-o", "tb", "-Wno-fatal"]);
    if opts.trace {
        cmd.arg("--trace");
    }
    cmd.args(&opts.extra_args);
    let ran = run_logged(&mut cmd, &dir, &log)?;
    let bin = sim.join("obj").join("tb");
    if !ran.status.success() || !bin.is_file() {
        return Err(tool_failed("verilator build", &cmd, &dir, &log, &ran));
    }
    Ok(TbBuild {
        exe: bin,
        log,
        seconds: ran.seconds,
    })
}

// ------------------------------------------------------------------------------------------
// Testbench run

/// Plusargs of one testbench run (see the header of `tb.cpp`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Vector folder, relative to the design folder.
    pub vectors: PathBuf,
    /// PRNG seed.
    pub seed: u64,
    /// Probability in [0, 1) that in_valid stays low in a cycle with an input to offer.
    pub in_gap: f64,
    /// Probability in [0, 1) that out_ready is low in a cycle.
    pub out_stall: f64,
    /// All outputs must have arrived within this many cycles.
    pub max_cycles: u64,
    /// Result file, relative to the design folder; its log is the same path with `.log`.
    pub result: PathBuf,
    /// Further plusargs, e.g. `+check_comb=0`, `+trace=sim/wave.vcd`.
    pub extra_plusargs: Vec<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            vectors: PathBuf::from("vectors"),
            seed: 1,
            in_gap: 0.0,
            out_stall: 0.0,
            max_cycles: 10_000_000,
            result: PathBuf::from("sim/result.txt"),
            extra_plusargs: Vec::new(),
        }
    }
}

/// Compute cycles and end cycle of one time step, from the result file's `step` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Time step.
    pub t: u64,
    /// `stat_step_cycles` when `stat_steps` became t+1 (None: never happened).
    pub compute_cycles: Option<u64>,
    /// Cycle of the handshake of the step's last output (None: never arrived).
    pub end_cycle: Option<u64>,
}

/// The parsed result file of one testbench run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimResult {
    /// The TB's own verdict (`pass`).
    pub pass: bool,
    /// Exit code of the testbench (0 = pass, 1 = DUT failed).
    pub exit_code: i32,
    /// Outputs that differed from h_q.hex.
    pub mismatches: u64,
    /// Outputs received (at most T·H).
    pub outputs: u64,
    /// T·H.
    pub expected_outputs: u64,
    /// Outputs beyond T·H (a protocol error).
    pub extra_outputs: u64,
    /// Inputs accepted.
    pub inputs: u64,
    /// Cycle of the last output's handshake (cycles simulated when it timed out).
    pub cycles: u64,
    /// `stat_cycles` at the end of the run.
    pub stat_cycles: u64,
    /// `stat_deltas` at the end of the run.
    pub stat_deltas: u64,
    /// `stat_steps` at the end of the run.
    pub stat_steps: u64,
    /// Stream-protocol violations by the DUT.
    pub protocol_errors: u64,
    /// Not all outputs arrived within max_cycles.
    pub timeout: bool,
    /// Seed of the run.
    pub seed: u64,
    /// in_gap of the run.
    pub in_gap: f64,
    /// out_stall of the run.
    pub out_stall: f64,
    /// One record per time step.
    pub steps: Vec<StepRecord>,
    /// The TB's MISMATCH / PROTOCOL lines (at most `+max_report` of each).
    pub messages: Vec<String>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl SimResult {
    /// True when the run passed: every output matched, all arrived in time, no protocol error.
    pub fn passed(&self) -> bool {
        self.exit_code == 0
            && self.pass
            && self.mismatches == 0
            && self.protocol_errors == 0
            && !self.timeout
            && self.outputs == self.expected_outputs
    }

    /// One-line summary.
    pub fn summary(&self) -> String {
        format!(
            "{}: {}/{} outputs, {} mismatches, {} protocol errors, {} cycles{} (seed {}, in_gap {}, out_stall {})",
            if self.passed() { "PASS" } else { "FAIL" },
            self.outputs,
            self.expected_outputs,
            self.mismatches,
            self.protocol_errors,
            self.cycles,
            if self.timeout { ", TIMEOUT" } else { "" },
            self.seed,
            self.in_gap,
            self.out_stall
        )
    }
}

/// Parses a result file (`key value` lines and `step t compute_cycles end_cycle` lines;
/// unknown keys are ignored). `exit_code`, `messages` and `seconds` are left at 0 / empty.
pub fn parse_result(text: &str, path: &Path) -> Result<SimResult> {
    let perr = |msg: String| HarnessError::Parse {
        path: path.to_path_buf(),
        msg,
    };
    let mut kv = std::collections::BTreeMap::new();
    let mut steps = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            [] => {}
            // per-case lines of the multi-case mode: [`parse_cases`]
            ["case", ..] => {}
            ["step", t, c, e] => {
                let num = |s: &str| -> Result<i64> {
                    s.parse::<i64>()
                        .map_err(|_| perr(format!("line {}: bad number `{s}` in `{line}`", n + 1)))
                };
                let opt = |v: i64| u64::try_from(v).ok();
                steps.push(StepRecord {
                    t: num(t)? as u64,
                    compute_cycles: opt(num(c)?),
                    end_cycle: opt(num(e)?),
                });
            }
            [k, v] => {
                kv.insert(k.to_string(), v.to_string());
            }
            _ => return Err(perr(format!("line {}: cannot parse `{line}`", n + 1))),
        }
    }
    let get = |k: &str| -> Result<u64> {
        let v = kv
            .get(k)
            .ok_or_else(|| perr(format!("missing key `{k}`")))?;
        v.parse()
            .map_err(|_| perr(format!("`{k} {v}` is not an unsigned integer")))
    };
    let opt_u = |k: &str| -> Result<u64> {
        if kv.contains_key(k) {
            get(k)
        } else {
            Ok(0)
        }
    };
    let opt_f = |k: &str| kv.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let outputs = get("outputs")?;
    let mismatches = get("mismatches")?;
    let protocol_errors = opt_u("protocol_errors")?;
    let timeout = opt_u("timeout")? != 0;
    let expected_outputs = if kv.contains_key("expected_outputs") {
        get("expected_outputs")?
    } else {
        outputs
    };
    let pass = if kv.contains_key("pass") {
        get("pass")? != 0
    } else {
        mismatches == 0 && protocol_errors == 0 && !timeout && outputs == expected_outputs
    };
    Ok(SimResult {
        pass,
        exit_code: 0,
        mismatches,
        outputs,
        expected_outputs,
        extra_outputs: opt_u("extra_outputs")?,
        inputs: opt_u("inputs")?,
        cycles: get("cycles")?,
        stat_cycles: get("stat_cycles")?,
        stat_deltas: get("stat_deltas")?,
        stat_steps: get("steps")?,
        protocol_errors,
        timeout,
        seed: opt_u("seed")?,
        in_gap: opt_f("in_gap"),
        out_stall: opt_f("out_stall"),
        steps,
        messages: Vec::new(),
        seconds: 0.0,
    })
}

/// Runs a built testbench in `dir` and parses its result file.
///
/// A failing DUT is *not* an `Err`: check [`SimResult::passed`]. `Err` means the run itself
/// went wrong (bad plusarg or vector file: exit code 2; a crash; no result file).
pub fn run_tb(dir: &Path, exe: &Path, opts: &RunOptions) -> Result<SimResult> {
    for (name, p) in [("in_gap", opts.in_gap), ("out_stall", opts.out_stall)] {
        if !(0.0..1.0).contains(&p) {
            return Err(HarnessError::InvalidOption(format!(
                "{name} = {p} must be in [0, 1)"
            )));
        }
    }
    let dir = dir.canonicalize().map_err(io_err(dir))?;
    let result = dir.join(&opts.result);
    if let Some(parent) = result.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let _ = fs::remove_file(&result);
    let log = result.with_extension("log");
    let mut cmd = Command::new(exe);
    cmd.arg(format!("+vectors={}", opts.vectors.display()))
        .arg(format!("+seed={}", opts.seed))
        .arg(format!("+in_gap={}", opts.in_gap))
        .arg(format!("+out_stall={}", opts.out_stall))
        .arg(format!("+max_cycles={}", opts.max_cycles))
        .arg(format!("+result={}", opts.result.display()))
        .args(&opts.extra_plusargs);
    let ran = run_logged(&mut cmd, &dir, &log)?;
    let code = ran.status.code();
    if !matches!(code, Some(0) | Some(1)) || !result.is_file() {
        return Err(tool_failed("testbench run", &cmd, &dir, &log, &ran));
    }
    let text = fs::read_to_string(&result).map_err(io_err(&result))?;
    let mut r = parse_result(&text, &result)?;
    r.exit_code = code.unwrap_or(-1);
    r.seconds = ran.seconds;
    r.messages = ran
        .log_text
        .lines()
        .filter(|l| l.starts_with("tb: MISMATCH") || l.starts_with("tb: PROTOCOL"))
        .map(str::to_string)
        .collect();
    if (r.exit_code == 0) != r.pass {
        return Err(HarnessError::Parse {
            path: result,
            msg: format!(
                "exit code {} disagrees with `pass {}`",
                r.exit_code,
                u8::from(r.pass)
            ),
        });
    }
    Ok(r)
}

// ------------------------------------------------------------------------------------------
// Mid-run restart (`+restart_*`, `+vectors2`)

/// Which port a mid-run restart pulses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartKind {
    /// `start_sequence` (the counters keep counting).
    Start,
    /// `reset` (the counters must read 0 right after the pulse).
    Reset,
}

impl RestartKind {
    /// The `+restart_kind=` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            RestartKind::Start => "start",
            RestartKind::Reset => "reset",
        }
    }
}

/// What arms a mid-run restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartTrigger {
    /// Once this many inputs of the first sequence were accepted (`+restart_after=K`).
    AfterInputs(u64),
    /// Once this many outputs of the first sequence were accepted
    /// (`+restart_after_outputs=M`; all of them with `max_delay` 0: back-to-back sequences).
    AfterOutputs(u64),
}

/// A restart in the middle of a testbench run (see the header of `tb.cpp`): the TB streams
/// sequence A (`RunOptions::vectors`), pulses `start_sequence` or `reset` once the trigger is
/// met and a random delay has passed, then streams sequence B (`vectors2`) from its start.
/// A's outputs before the pulse must match a prefix of A, B's outputs all of B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restart {
    /// The port pulsed.
    pub kind: RestartKind,
    /// When the restart is armed.
    pub trigger: RestartTrigger,
    /// After arming, the TB waits d cycles, d uniform in [0, max_delay] (from the run seed).
    pub max_delay: u64,
    /// Pulse length in cycles (at least 1).
    pub len: u64,
    /// Vectors of sequence B relative to the design folder (None: the same as A).
    pub vectors2: Option<PathBuf>,
}

impl Restart {
    /// The plusargs that request this restart.
    pub fn plusargs(&self) -> Vec<String> {
        let mut v = vec![
            match self.trigger {
                RestartTrigger::AfterInputs(k) => format!("+restart_after={k}"),
                RestartTrigger::AfterOutputs(m) => format!("+restart_after_outputs={m}"),
            },
            format!("+restart_delay={}", self.max_delay),
            format!("+restart_kind={}", self.kind.as_str()),
            format!("+restart_len={}", self.len),
        ];
        if let Some(p) = &self.vectors2 {
            v.push(format!("+vectors2={}", p.display()));
        }
        v
    }
}

/// What the testbench recorded about a restart (the `restart_*` keys of the result file).
/// The [`SimResult`] of the same run describes sequence B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartRecord {
    /// The port pulsed.
    pub kind: RestartKind,
    /// Edge number of the first pulse cycle.
    pub cycle: u64,
    /// Inputs of A accepted (up to and including the pulse edges).
    pub inputs: u64,
    /// Outputs of A accepted.
    pub outputs: u64,
    /// Outputs of A that differed from A's vectors.
    pub mismatches: u64,
    /// `stat_cycles` right after the pulse.
    pub stat_cycles: u64,
    /// `stat_deltas` right after the pulse.
    pub stat_deltas: u64,
    /// `stat_steps` right after the pulse.
    pub steps: u64,
    /// `stat_step_cycles` of each step of A completed before the pulse ended.
    pub step_cycles: Vec<u64>,
}

/// Parses the `restart_*` keys of a result file; `Ok(None)` when the run had no restart.
pub fn parse_restart(text: &str, path: &Path) -> Result<Option<RestartRecord>> {
    let perr = |msg: String| HarnessError::Parse {
        path: path.to_path_buf(),
        msg,
    };
    let kv: std::collections::BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            match (f.next(), f.next(), f.next()) {
                (Some(k), Some(v), None) if k.starts_with("restart_") => Some((k, v)),
                _ => None,
            }
        })
        .collect();
    let Some(kind) = kv.get("restart_kind") else {
        return Ok(None);
    };
    let kind = match *kind {
        "start" => RestartKind::Start,
        "reset" => RestartKind::Reset,
        other => return Err(perr(format!("restart_kind `{other}`"))),
    };
    let get = |k: &str| -> Result<u64> {
        let v = kv
            .get(k)
            .ok_or_else(|| perr(format!("missing key `{k}`")))?;
        v.parse()
            .map_err(|_| perr(format!("`{k} {v}` is not an unsigned integer")))
    };
    let sc = kv
        .get("restart_step_cycles")
        .ok_or_else(|| perr("missing key `restart_step_cycles`".into()))?;
    let step_cycles = if *sc == "-" {
        Vec::new()
    } else {
        sc.split(',')
            .map(|v| {
                v.parse()
                    .map_err(|_| perr(format!("restart_step_cycles: bad number `{v}`")))
            })
            .collect::<Result<Vec<u64>>>()?
    };
    Ok(Some(RestartRecord {
        kind,
        cycle: get("restart_cycle")?,
        inputs: get("restart_inputs")?,
        outputs: get("restart_outputs")?,
        mismatches: get("restart_mismatches")?,
        stat_cycles: get("restart_stat_cycles")?,
        stat_deltas: get("restart_stat_deltas")?,
        steps: get("restart_steps")?,
        step_cycles,
    }))
}

/// [`run_tb`] with a mid-run [`Restart`]: the returned [`SimResult`] describes sequence B
/// (its counters are relative to the values right after the pulse), the
/// [`RestartRecord`] what happened to sequence A.
pub fn run_tb_restart(
    dir: &Path,
    exe: &Path,
    opts: &RunOptions,
    restart: &Restart,
) -> Result<(SimResult, RestartRecord)> {
    if restart.len == 0 {
        return Err(HarnessError::InvalidOption(
            "restart pulse length must be at least 1".into(),
        ));
    }
    let mut o = opts.clone();
    o.extra_plusargs.extend(restart.plusargs());
    // The testbench runs in `dir`: a relative executable path would be resolved there.
    let exe = if exe.is_relative() {
        std::env::current_dir()
            .map_err(io_err(Path::new(".")))?
            .join(exe)
    } else {
        exe.to_path_buf()
    };
    let sim = run_tb(dir, &exe, &o)?;
    let result = dir.canonicalize().map_err(io_err(dir))?.join(&o.result);
    let text = fs::read_to_string(&result).map_err(io_err(&result))?;
    let rec = parse_restart(&text, &result)?.ok_or_else(|| HarnessError::Parse {
        path: result.clone(),
        msg: "no restart_* keys although a restart was requested".into(),
    })?;
    Ok((sim, rec))
}

// ------------------------------------------------------------------------------------------
// The whole check

/// What [`run_plan`] does.
#[derive(Debug, Clone)]
pub struct SimPlan {
    /// Run [`lint`] first.
    pub lint: bool,
    /// Run [`yosys_check`] first.
    pub yosys: bool,
    /// Testbench build options.
    pub build: BuildOptions,
    /// The testbench runs; each `result` should be distinct.
    pub runs: Vec<RunOptions>,
}

impl SimPlan {
    /// Lint, Yosys check, and three runs: no stalls (seed 1), moderate stalls on both sides
    /// (seed 2: in_gap 0.3, out_stall 0.3), heavy stalls (seed 3: in_gap 0.5, out_stall
    /// 0.7); results in `sim/result_<seed>.txt`. `max_cycles` bounds each run.
    pub fn standard(max_cycles: u64) -> Self {
        let run = |seed: u64, in_gap: f64, out_stall: f64| RunOptions {
            seed,
            in_gap,
            out_stall,
            max_cycles,
            result: PathBuf::from(format!("sim/result_{seed}.txt")),
            ..RunOptions::default()
        };
        Self {
            lint: true,
            yosys: true,
            build: BuildOptions::default(),
            runs: vec![run(1, 0.0, 0.0), run(2, 0.3, 0.3), run(3, 0.5, 0.7)],
        }
    }
}

/// Everything [`run_plan`] found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanReport {
    /// Lint outcome (None: not run).
    pub lint: Option<LintReport>,
    /// Yosys outcome (None: not run).
    pub yosys: Option<YosysCheck>,
    /// The testbench build.
    pub build: TbBuild,
    /// One result per run, in plan order.
    pub runs: Vec<SimResult>,
}

impl PlanReport {
    /// Every run passed.
    pub fn passed(&self) -> bool {
        !self.runs.is_empty() && self.runs.iter().all(SimResult::passed)
    }

    /// The cycle figures of the run without stalls (the first run with in_gap = out_stall = 0).
    pub fn unstalled(&self) -> Option<&SimResult> {
        self.runs
            .iter()
            .find(|r| r.in_gap == 0.0 && r.out_stall == 0.0)
    }
}

/// Lints, checks, builds and runs the plan in `dir`. Tool problems, lint findings and
/// latches are `Err`; a DUT that fails a run is `Ok` with [`PlanReport::passed`] false (all
/// runs are made, so every failing seed is reported). Writes nothing besides the files of the
/// individual steps; `gen verify` (crate::verify) owns `sim/verify.json`.
pub fn run_plan(dir: &Path, top: &str, plan: &SimPlan) -> Result<PlanReport> {
    let lint = if plan.lint {
        Some(lint(dir, top)?)
    } else {
        None
    };
    let yosys = if plan.yosys {
        Some(yosys_check(dir, top)?)
    } else {
        None
    };
    let build = build_tb(dir, top, &plan.build)?;
    let runs = plan
        .runs
        .iter()
        .map(|r| run_tb(dir, &build.exe, r))
        .collect::<Result<Vec<_>>>()?;
    Ok(PlanReport {
        lint,
        yosys,
        build,
        runs,
    })
}

// ------------------------------------------------------------------------------------------
// Multi-case runs (`+cases`, `+case_gap`, `+h_out`)

/// One case of a multi-case run: a `case c T pass mismatches outputs stat_cycles stat_deltas
/// steps start_cycle end_cycle` line of the result file (see the header of `tb.cpp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// Case index.
    pub case: u64,
    /// Its time steps T_c.
    pub timesteps: u64,
    /// The TB's verdict: all T_c·H outputs matched and `stat_steps` counted T_c steps.
    pub pass: bool,
    /// Outputs that differed from the case's part of h_q.hex.
    pub mismatches: u64,
    /// Outputs received.
    pub outputs: u64,
    /// `stat_cycles` spent on the case.
    pub stat_cycles: u64,
    /// `stat_deltas` counted for the case.
    pub stat_deltas: u64,
    /// `stat_steps` counted for the case.
    pub steps: u64,
    /// First cycle of the case (after the previous case's `start_sequence` pulse).
    pub start_cycle: u64,
    /// Cycle of the case's last output.
    pub end_cycle: u64,
}

/// Parses the `case` lines of a result file (empty when the run was not a multi-case run).
pub fn parse_cases(text: &str, path: &Path) -> Result<Vec<CaseRecord>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() != Some(&"case") {
            continue;
        }
        let bad = || HarnessError::Parse {
            path: path.to_path_buf(),
            msg: format!("line {}: cannot parse `{line}`", n + 1),
        };
        if f.len() != 11 {
            return Err(bad());
        }
        let v = f[1..]
            .iter()
            .map(|s| s.parse::<u64>().map_err(|_| bad()))
            .collect::<Result<Vec<u64>>>()?;
        if v[2] > 1 || v[0] != out.len() as u64 {
            return Err(bad());
        }
        out.push(CaseRecord {
            case: v[0],
            timesteps: v[1],
            pass: v[2] == 1,
            mismatches: v[3],
            outputs: v[4],
            stat_cycles: v[5],
            stat_deltas: v[6],
            steps: v[7],
            start_cycle: v[8],
            end_cycle: v[9],
        });
    }
    Ok(out)
}

/// The result of [`run_tb_cases`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasesRun {
    /// The whole run (totals; `steps` indexed by global step).
    pub sim: SimResult,
    /// One record per case.
    pub cases: Vec<CaseRecord>,
    /// The RTL's h, every accepted output in order (what `+h_out` wrote).
    pub h: Vec<i16>,
}

impl CasesRun {
    /// The run passed and every case passed.
    pub fn passed(&self) -> bool {
        self.sim.passed() && !self.cases.is_empty() && self.cases.iter().all(|c| c.pass)
    }
}

/// [`run_tb`] in multi-case mode: `opts.vectors` holds the cases back to back, `cases_file`
/// (relative to `dir` or absolute) their lengths, one per line; the TB pulses
/// `start_sequence` between cases after a random gap of up to `case_gap` cycles and writes
/// the RTL's h to `h_out` (relative to `dir` or absolute), which is read back into
/// [`CasesRun::h`].
pub fn run_tb_cases(
    dir: &Path,
    exe: &Path,
    opts: &RunOptions,
    cases_file: &Path,
    case_gap: u64,
    h_out: &Path,
) -> Result<CasesRun> {
    let mut o = opts.clone();
    o.extra_plusargs.extend([
        format!("+cases={}", cases_file.display()),
        format!("+case_gap={case_gap}"),
        format!("+h_out={}", h_out.display()),
    ]);
    let canon = dir.canonicalize().map_err(io_err(dir))?;
    let h_path = canon.join(h_out);
    let _ = fs::remove_file(&h_path);
    let sim = run_tb(dir, exe, &o)?;
    let result = canon.join(&o.result);
    let text = fs::read_to_string(&result).map_err(io_err(&result))?;
    let cases = parse_cases(&text, &result)?;
    if cases.is_empty() {
        return Err(HarnessError::Parse {
            path: result,
            msg: "no `case` lines although +cases was given".into(),
        });
    }
    let h_text = fs::read_to_string(&h_path).map_err(io_err(&h_path))?;
    let h = h_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, l)| {
            u16::from_str_radix(l.trim(), 16)
                .map(|v| v as i16)
                .map_err(|_| HarnessError::Parse {
                    path: h_path.clone(),
                    msg: format!("line {}: `{l}` is not a 16-bit hex word", n + 1),
                })
        })
        .collect::<Result<Vec<i16>>>()?;
    Ok(CasesRun { sim, cases, h })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_verilator_messages_and_applies_waivers() {
        let log = "\
%Warning-WIDTH: rtl/top.v:38:39: Operator AND expects 16 bits on the LHS, but LHS's UNSIGNED generates 8 bits.
                             : ... In instance top
   38 |         a16 = $signed((($unsigned(a)) & 16'hffff));
      |                                       ^
%Warning-WIDTH: rtl/top.v:47:22: Operator AND expects 8 bits on the RHS, but RHS's EQ generates 1 bits.
   47 |         o_and_eq = c & d == e;
%Warning-WIDTH: rtl/top.v:51:15: Operator ASSIGN expects 16 bits on the Assign RHS, but Assign RHS's SIGNED generates 32 bits.
   51 |         o_sat = $signed(shifted);
%Warning-WIDTH: rtl/top.v:58:22: Operator ADD expects 32 bits on the LHS, but LHS's VARREF 'ua' generates 16 bits.
   58 |         o_sum = ((ua + ub) & 32'hffffffff);
%Warning-DECLFILENAME: rtl/top.v:3:8: Filename 'top' does not match MODULE name: 'x'
%Error: rtl/top.v:9:1: syntax error
%Error: Exiting due to 1 error(s)
";
        let m = parse_verilator_messages(log);
        assert_eq!(m.len(), 6);
        assert_eq!(m[0].code, "WIDTH");
        assert_eq!(m[0].location, "rtl/top.v:38:39");
        assert!(m[0].source.contains("$unsigned(a)"));
        assert!(waiver_for(&m[0]).is_some(), "bit_cast widening is waived");
        assert!(waiver_for(&m[1]).is_none(), "`c & d == e` must fail");
        assert!(waiver_for(&m[2]).is_some(), "signed_bit_cast is waived");
        assert!(waiver_for(&m[3]).is_none(), "context-widened sum must fail");
        assert!(waiver_for(&m[4]).is_some(), "DECLFILENAME is waived");
        assert_eq!(m[5].severity, Severity::Error);
        assert!(waiver_for(&m[5]).is_none());
    }

    #[test]
    fn parses_result_file() {
        let text = "pass 0\nmismatches 2\noutputs 10\nexpected_outputs 12\ncycles 99\nstat_cycles 50\n\
                    stat_deltas 7\nsteps 2\nprotocol_errors 0\ntimeout 1\nseed 5\nin_gap 0.25\nfuture_key x\n\
                    step 0 9 40\nstep 1 -1 -1\n";
        let r = parse_result(text, Path::new("r.txt")).unwrap();
        assert!(!r.pass && r.timeout);
        assert_eq!(
            (r.mismatches, r.outputs, r.expected_outputs, r.cycles),
            (2, 10, 12, 99)
        );
        assert_eq!(
            (r.stat_cycles, r.stat_deltas, r.stat_steps, r.seed),
            (50, 7, 2, 5)
        );
        assert_eq!(r.in_gap, 0.25);
        assert_eq!(
            r.steps[0],
            StepRecord {
                t: 0,
                compute_cycles: Some(9),
                end_cycle: Some(40)
            }
        );
        assert_eq!(
            r.steps[1],
            StepRecord {
                t: 1,
                compute_cycles: None,
                end_cycle: None
            }
        );
        assert!(parse_result("outputs 1\n", Path::new("r.txt")).is_err());
        assert!(parse_result("a b c\n", Path::new("r.txt")).is_err());
    }

    #[test]
    fn parses_restart_keys() {
        let p = Path::new("r.txt");
        let base =
            "pass 1\nmismatches 0\noutputs 4\ncycles 9\nstat_cycles 5\nstat_deltas 2\nsteps 1\n";
        assert_eq!(parse_restart(base, p).unwrap(), None, "no restart keys");
        let text = format!(
            "{base}restart_kind reset\nrestart_cycle 40\nrestart_inputs 7\nrestart_outputs 3\n\
             restart_mismatches 0\nrestart_stat_cycles 0\nrestart_stat_deltas 0\nrestart_steps 0\n\
             restart_step_cycles 12,13\nstep 0 5 9\n"
        );
        let r = parse_restart(&text, p).unwrap().unwrap();
        assert_eq!(r.kind, RestartKind::Reset);
        assert_eq!((r.cycle, r.inputs, r.outputs), (40, 7, 3));
        assert_eq!(r.step_cycles, vec![12, 13]);
        // the plain parser ignores the new keys
        assert_eq!(parse_result(&text, p).unwrap().steps.len(), 1);
        let none = text.replace("12,13", "-");
        assert!(parse_restart(&none, p)
            .unwrap()
            .unwrap()
            .step_cycles
            .is_empty());
        assert!(parse_restart(&text.replace("reset", "bogus"), p).is_err());
        assert!(parse_restart(&text.replace("restart_cycle 40\n", ""), p).is_err());
        let r = Restart {
            kind: RestartKind::Start,
            trigger: RestartTrigger::AfterOutputs(8),
            max_delay: 3,
            len: 2,
            vectors2: Some(PathBuf::from("sim/b")),
        };
        assert_eq!(
            r.plusargs(),
            [
                "+restart_after_outputs=8",
                "+restart_delay=3",
                "+restart_kind=start",
                "+restart_len=2",
                "+vectors2=sim/b"
            ]
        );
    }

    #[test]
    fn multi_case_result_file() {
        let text = "pass 0\nmismatches 1\noutputs 8\nexpected_outputs 8\ncycles 90\n\
                    stat_cycles 70\nstat_deltas 9\nsteps 2\ncases 2\ncases_passed 1\n\
                    case 0 1 1 0 4 30 4 1 0 40\ncase 1 1 0 1 4 40 5 1 41 90\n\
                    step 0 30 40\nstep 1 40 90\n";
        let p = Path::new("r.txt");
        let sim = parse_result(text, p).unwrap();
        assert_eq!(sim.steps.len(), 2);
        assert!(!sim.pass);
        let cases = parse_cases(text, p).unwrap();
        assert_eq!(cases.len(), 2);
        assert!(cases[0].pass && !cases[1].pass);
        assert_eq!(
            (
                cases[1].mismatches,
                cases[1].stat_cycles,
                cases[1].stat_deltas
            ),
            (1, 40, 5)
        );
        assert_eq!((cases[1].start_cycle, cases[1].end_cycle), (41, 90));
        // out of order, a bad verdict or a short line is an error
        assert!(parse_cases("case 1 1 1 0 4 30 4 1 0 40\n", p).is_err());
        assert!(parse_cases("case 0 1 2 0 4 30 4 1 0 40\n", p).is_err());
        assert!(parse_cases("case 0 1 1 0 4 30 4 1 0\n", p).is_err());
        assert!(parse_cases("pass 1\n", p).unwrap().is_empty());
    }

    #[test]
    fn yosys_log_classification() {
        let log =
            "Latch inferred for signal `\\top.\\q' from process `\\top.$proc$x.v:2$1': $auto$1\n\
                   Warning: Replacing memory \\m with list of registers.\n\
                   4. Executing CHECK pass (checking for obvious problems).\n\
                   Warning: Wire top.\\nd [0] is used but has no driver.\n\
                   Found and reported 1 problems.\n";
        let (l, p, w) = parse_yosys_check_log(log);
        assert_eq!(l.len(), 1);
        assert_eq!(
            p,
            vec!["Wire top.\\nd [0] is used but has no driver.".to_string()]
        );
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn missing_tool_message_names_the_installer() {
        let e = find_tool("definitely-not-a-tool-spartus").unwrap_err();
        assert!(e.to_string().contains("scripts/install-tools.sh"), "{e}");
    }
}
