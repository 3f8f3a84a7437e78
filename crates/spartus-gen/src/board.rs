//! The UART board top: a bridge that streams x_t in and h_t out over an 8N1 UART around the
//! generated accelerator, its end-to-end Verilator testbench and its synthesis for the
//! iCEBreaker (iCE40UP5K) and the ULX3S (ECP5-85F) with their real pin constraints.
//!
//! Hardware (hand-written Verilog templates in `crates/spartus-gen/hdl/`, one module per
//! file, rendered with the design's top name, I and H): `uart_rx.v`, `uart_tx.v`,
//! `board_fifo.v`, `board_uart.v` (module `<top>_uart`, the bridge and its byte protocol),
//! `board_icebreaker.v` / `board_ulx3s.v` (pin tops `<top>_icebreaker` / `<top>_ulx3s`).
//! [`write_board`] writes them to `<dir>/rtl/` and the constraint files to
//! `<dir>/constraints/` — after the manifest was written, so they are not in it (like `sim/`
//! and `synth/`). Protocol, wiring and programming: `docs/board.md`.
//!
//! | step | function | writes |
//! |---|---|---|
//! | render + write the board RTL and constraints | [`write_board`] | `rtl/*.v`, `constraints/` |
//! | build `testbenches/verilator/tb_uart.cpp` (embedded) for the bridge | [`build_uart_tb`] | `sim/tb_uart.cpp`, `sim/uart_obj/`, `sim/uart_obj.log` |
//! | the same for a board's pin top | [`build_board_tb`] | `sim/uart_<board>_obj/`, `.log` |
//! | run it, parse its result file | [`run_uart_tb`] | `sim/uart_result*.txt` / `.log` |
//! | serve the simulated UART on TCP for a host program | [`serve_tcp`] | `sim/uart_tcp.*` |
//! | synthesize a pin top for a board | [`board_synth`] | `synth/<target>-<board>/` with the bitstream |

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::synth::{self, SynthOptions, SynthReport, Target};
use crate::verilator::{find_tool, run_logged, tool_failed, HarnessError, Result, TbBuild};

/// `hdl/uart_rx.v`, embedded.
pub const UART_RX_V: &str = include_str!("../hdl/uart_rx.v");
/// `hdl/uart_tx.v`, embedded.
pub const UART_TX_V: &str = include_str!("../hdl/uart_tx.v");
/// `hdl/board_fifo.v`, embedded.
pub const BOARD_FIFO_V: &str = include_str!("../hdl/board_fifo.v");
/// `hdl/board_uart.v` (template of `<top>_uart`), embedded.
pub const BOARD_UART_V: &str = include_str!("../hdl/board_uart.v");
/// `hdl/board_icebreaker.v` (template of `<top>_icebreaker`), embedded.
pub const BOARD_ICEBREAKER_V: &str = include_str!("../hdl/board_icebreaker.v");
/// `hdl/board_ulx3s.v` (template of `<top>_ulx3s`), embedded.
pub const BOARD_ULX3S_V: &str = include_str!("../hdl/board_ulx3s.v");
/// `testbenches/verilator/tb_uart.cpp`, embedded.
pub const TB_UART_CPP: &str = include_str!("../../../testbenches/verilator/tb_uart.cpp");
/// `constraints/icebreaker.pcf`, embedded.
pub const ICEBREAKER_PCF: &str = include_str!("../../../constraints/icebreaker.pcf");
/// `constraints/ulx3s.lpf`, embedded.
pub const ULX3S_LPF: &str = include_str!("../../../constraints/ulx3s.lpf");

/// The default baud rate of the board tops.
pub const DEFAULT_BAUD: u32 = 115_200;

/// The bridge's sources (besides `rtl/<top>.v`), relative to the design folder, in
/// dependency order.
pub const BRIDGE_SOURCES: [&str; 4] = [
    "rtl/uart_rx.v",
    "rtl/uart_tx.v",
    "rtl/board_fifo.v",
    "rtl/board_uart.v",
];

/// A supported FPGA board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Board {
    /// 1BitSquared iCEBreaker v1.0: iCE40UP5K-SG48, 12 MHz, FT2232H UART.
    Icebreaker,
    /// Radiona ULX3S: LFE5U-85F CABGA381, 25 MHz, FT231X UART.
    Ulx3s,
}

impl Board {
    /// Every board.
    pub const ALL: [Board; 2] = [Board::Icebreaker, Board::Ulx3s];

    /// `icebreaker` / `ulx3s`.
    pub fn name(self) -> &'static str {
        match self {
            Board::Icebreaker => "icebreaker",
            Board::Ulx3s => "ulx3s",
        }
    }

    /// The FPGA on the board.
    pub fn target(self) -> Target {
        match self {
            Board::Icebreaker => Target::Ice40Up5k,
            Board::Ulx3s => Target::Ecp5_85k,
        }
    }

    /// The on-board oscillator the design runs from (no PLL), Hz.
    pub fn clock_hz(self) -> u64 {
        match self {
            Board::Icebreaker => 12_000_000,
            Board::Ulx3s => 25_000_000,
        }
    }

    /// Constraint file name and text.
    pub fn constraints(self) -> (&'static str, &'static str) {
        match self {
            Board::Icebreaker => ("icebreaker.pcf", ICEBREAKER_PCF),
            Board::Ulx3s => ("ulx3s.lpf", ULX3S_LPF),
        }
    }

    /// Source file of the pin top, relative to the design folder.
    pub fn source(self) -> String {
        format!("rtl/board_{}.v", self.name())
    }

    /// Module name of the pin top of design `top`.
    pub fn top_module(self, top: &str) -> String {
        format!("{top}_{}", self.name())
    }
}

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Board {
    type Err = HarnessError;
    fn from_str(s: &str) -> Result<Self> {
        Board::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                HarnessError::InvalidOption(format!(
                    "unknown board `{s}` (one of: icebreaker, ulx3s)"
                ))
            })
    }
}

/// Module name of the UART bridge of design `top`.
pub fn uart_top(top: &str) -> String {
    format!("{top}_uart")
}

/// Clock cycles per UART bit for `baud` at `clock_hz`: rounded, at least 4, and within 2 %
/// of the exact value (8N1 tolerates about ±4 % between both ends in total).
pub fn clks_per_bit(clock_hz: u64, baud: u32) -> Result<u32> {
    if baud == 0 {
        return Err(HarnessError::InvalidOption(
            "baud = 0 must be positive".into(),
        ));
    }
    let exact = clock_hz as f64 / baud as f64;
    let div = exact.round();
    if div < 4.0 {
        return Err(HarnessError::InvalidOption(format!(
            "baud = {baud} is too fast for a {clock_hz} Hz clock (allowed: at most {} baud, 4 clocks per bit)",
            clock_hz / 4
        )));
    }
    let err = (div - exact).abs() / exact;
    if err > 0.02 {
        return Err(HarnessError::InvalidOption(format!(
            "baud = {baud} at {clock_hz} Hz needs {exact:.2} clocks per bit; {div} is {:.1} % off (allowed: 2 %)",
            err * 100.0
        )));
    }
    Ok(div as u32)
}

/// Checks that `baud` works on every board's clock ([`clks_per_bit`]).
pub fn check_baud(baud: u32) -> Result<()> {
    for b in Board::ALL {
        clks_per_bit(b.clock_hz(), baud)?;
    }
    Ok(())
}

/// Checks the simulation options of [`build_uart_tb`] / [`run_uart_tb`] before any work.
pub fn check_sim_options(div: u32, gap: f64, skew: f64) -> Result<()> {
    if div < 4 {
        return Err(HarnessError::InvalidOption(format!(
            "div = {div} clocks per bit must be at least 4"
        )));
    }
    let skew_ok = skew.is_finite() && skew.abs() < 0.5;
    if !skew_ok || !(0.0..=1000.0).contains(&gap) {
        return Err(HarnessError::InvalidOption(format!(
            "skew = {skew} must be in (-0.5, 0.5) and gap = {gap} in [0, 1000]"
        )));
    }
    Ok(())
}

/// The rendered board files: `(path relative to the design folder, text)`.
///
/// `input_size` is I of layer 0, `output_size` H of the last layer; the x FIFO holds
/// 2^ceil(log2 I) words (at least 2).
pub fn render(
    top: &str,
    input_size: usize,
    output_size: usize,
    baud: u32,
) -> Result<Vec<(String, String)>> {
    if top.is_empty() || !top.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(HarnessError::InvalidOption(format!(
            "top module name `{top}` is not a plain Verilog identifier"
        )));
    }
    for (name, v) in [("input_size", input_size), ("output_size", output_size)] {
        if !(1..=65_535).contains(&v) {
            return Err(HarnessError::InvalidOption(format!(
                "{name} = {v} must be in 1..=65535 for the UART bridge (16-bit field of the 'I' reply)"
            )));
        }
    }
    let ice = clks_per_bit(Board::Icebreaker.clock_hz(), baud)?;
    let ulx = clks_per_bit(Board::Ulx3s.clock_hz(), baud)?;
    let aw = (usize::BITS - (input_size.max(2) - 1).leading_zeros()) as usize; // ceil(log2 I), >= 1
    let ww = (usize::BITS - input_size.leading_zeros()) as usize; // 2^ww > I - 1
    let hw = (usize::BITS - output_size.leading_zeros()) as usize; // 2^hw > H
    let subst = |t: &str| {
        t.replace("@TOP@", top)
            .replace("@AW@", &aw.to_string())
            .replace("@WW@", &ww.to_string())
            .replace("@LAST_WORD@", &format!("{ww}'d{}", input_size - 1))
            .replace("@H_WORDS@", &format!("{hw}'d{output_size}"))
            .replace("@HW@", &hw.to_string())
            .replace("@I@", &input_size.to_string())
            .replace("@H@", &output_size.to_string())
            .replace("@CLKS_ICEBREAKER@", &ice.to_string())
            .replace("@CLKS_ULX3S@", &ulx.to_string())
            .replace("@BAUD@", &baud.to_string())
    };
    let mut files: Vec<(String, String)> = [
        (BRIDGE_SOURCES[0], UART_RX_V),
        (BRIDGE_SOURCES[1], UART_TX_V),
        (BRIDGE_SOURCES[2], BOARD_FIFO_V),
        (BRIDGE_SOURCES[3], BOARD_UART_V),
        ("rtl/board_icebreaker.v", BOARD_ICEBREAKER_V),
        ("rtl/board_ulx3s.v", BOARD_ULX3S_V),
    ]
    .into_iter()
    .map(|(p, t)| (p.to_string(), subst(t)))
    .collect();
    for b in Board::ALL {
        let (name, text) = b.constraints();
        files.push((format!("constraints/{name}"), text.to_string()));
    }
    Ok(files)
}

/// Renders the board files for the design in `dir` (I and H from `vectors/params.txt`) and
/// writes them into it. Returns the paths written, relative to `dir`.
pub fn write_board(dir: &Path, top: &str, baud: u32) -> Result<Vec<String>> {
    let params_path = dir.join("vectors/params.txt");
    let text = fs::read_to_string(&params_path).map_err(|source| HarnessError::Io {
        path: params_path.clone(),
        source,
    })?;
    let get = |k: &str| -> Result<usize> {
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(key, _)| *key == k)
            .and_then(|(_, v)| v.trim().parse().ok())
            .ok_or_else(|| HarnessError::Parse {
                path: params_path.clone(),
                msg: format!("no numeric `{k}`"),
            })
    };
    let files = render(top, get("input_size")?, get("output_size")?, baud)?;
    let mut written = Vec::new();
    for (rel, body) in files {
        let p = dir.join(&rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|source| HarnessError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        if fs::read_to_string(&p).ok().as_deref() != Some(body.as_str()) {
            fs::write(&p, &body).map_err(|source| HarnessError::Io {
                path: p.clone(),
                source,
            })?;
        }
        written.push(rel);
    }
    Ok(written)
}

// ------------------------------------------------------------------------------------------
// Verilator

/// Verilates the bridge `<top>_uart` (the files of [`write_board`] must be there) with
/// `CLKS_PER_BIT = div` and the embedded `tb_uart.cpp` into `sim/uart_obj/tb_uart`, run in
/// `dir` with `-j jobs`. Designs with more than 2 MB of RTL are compiled with `-O0`.
pub fn build_uart_tb(dir: &Path, top: &str, div: u32, jobs: u32) -> Result<TbBuild> {
    build_tb_for(dir, top, None, div, jobs)
}

/// Like [`build_uart_tb`], but for the pin top of `board` (`<top>_icebreaker` /
/// `<top>_ulx3s`, with `CLKS_PER_BIT = div` instead of the board's divisor): the testbench
/// then drives the board's port names, holds its reset button released and reads busy / err
/// from its LEDs. Into `sim/uart_<board>_obj/tb_uart`.
pub fn build_board_tb(dir: &Path, top: &str, board: Board, div: u32, jobs: u32) -> Result<TbBuild> {
    build_tb_for(dir, top, Some(board), div, jobs)
}

fn build_tb_for(
    dir: &Path,
    top: &str,
    board: Option<Board>,
    div: u32,
    jobs: u32,
) -> Result<TbBuild> {
    if div < 4 {
        return Err(HarnessError::InvalidOption(format!(
            "div = {div} clocks per bit must be at least 4"
        )));
    }
    let dir = dir.canonicalize().map_err(|source| HarnessError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let rtl = format!("rtl/{top}.v");
    let mut sources: Vec<String> = std::iter::once(rtl.clone())
        .chain(BRIDGE_SOURCES.iter().map(|s| s.to_string()))
        .collect();
    let (top_module, obj, define) = match board {
        None => (uart_top(top), "sim/uart_obj".to_string(), None),
        Some(b) => {
            sources.push(b.source());
            (
                b.top_module(top),
                format!("sim/uart_{}_obj", b.name()),
                Some(format!("-DTB_BOARD_{}", b.name().to_ascii_uppercase())),
            )
        }
    };
    for f in &sources {
        if !dir.join(f).is_file() {
            return Err(HarnessError::MissingInput(format!(
                "{}/{f} does not exist (run `gen board` or board::write_board first)",
                dir.display()
            )));
        }
    }
    let exe = find_tool("verilator")?;
    find_tool("make")?;
    if find_tool("g++").is_err() && find_tool("c++").is_err() {
        return Err(HarnessError::ToolMissing { tool: "g++".into() });
    }
    let sim = dir.join("sim");
    fs::create_dir_all(&sim).map_err(|source| HarnessError::Io {
        path: sim.clone(),
        source,
    })?;
    let tb = sim.join("tb_uart.cpp");
    if fs::read_to_string(&tb).ok().as_deref() != Some(TB_UART_CPP) {
        fs::write(&tb, TB_UART_CPP).map_err(|source| HarnessError::Io {
            path: tb.clone(),
            source,
        })?;
    }
    let big = crate::verify::is_big_rtl(&dir, &rtl);
    let log = dir.join(&obj).with_extension("log");
    let mut cmd = Command::new(exe);
    cmd.arg("--cc")
        .args(&sources)
        .args(["--top-module", &top_module])
        .arg(format!("-GCLKS_PER_BIT={div}"))
        .arg("--exe")
        .arg(&tb)
        .args(["--build", "-j", &jobs.max(1).to_string(), "-O3"])
        .args(["--prefix", "Vtop", "-Mdir", &obj, "-o", "tb_uart"])
        .args(["-Wno-fatal", "-Wno-lint", "-Wno-style"]);
    if let Some(d) = define {
        cmd.args(["-CFLAGS", &d]);
    }
    if big {
        cmd.args(crate::verify::FAST_BUILD_ARGS);
    }
    let ran = run_logged(&mut cmd, &dir, &log)?;
    let bin = dir.join(&obj).join("tb_uart");
    if !ran.status.success() || !bin.is_file() {
        return Err(tool_failed(
            "verilator build of the UART bridge",
            &cmd,
            &dir,
            &log,
            &ran,
        ));
    }
    Ok(TbBuild {
        exe: bin,
        log,
        seconds: ran.seconds,
    })
}

/// Plusargs of one `tb_uart` run (see the header of `tb_uart.cpp`).
#[derive(Debug, Clone, PartialEq)]
pub struct UartRunOptions {
    /// Clock cycles per bit; must be the `div` the testbench was built with.
    pub div: u32,
    /// Vector folder, relative to the design folder.
    pub vectors: PathBuf,
    /// PRNG seed of the gaps.
    pub seed: u64,
    /// Random idle of 0..gap bit times after each host byte.
    pub gap: f64,
    /// Host baud error: bit period div·(1 + skew).
    pub skew: f64,
    /// Also check the recovery paths (stalled frame, unknown command, 'S', 'R').
    pub restart: bool,
    /// Give up after this many cycles.
    pub max_cycles: u64,
    /// Result file, relative to the design folder; its log is the same path with `.log`.
    pub result: PathBuf,
}

impl UartRunOptions {
    /// Defaults for `div`: golden vectors, seed 1, no gaps, no skew, restart checks on.
    pub fn new(div: u32) -> Self {
        Self {
            div,
            vectors: PathBuf::from("vectors"),
            seed: 1,
            gap: 0.0,
            skew: 0.0,
            restart: true,
            max_cycles: 200_000_000,
            result: PathBuf::from("sim/uart_result.txt"),
        }
    }
}

/// The parsed result file of one `tb_uart` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UartSimResult {
    /// Exit code of the testbench (0 pass, 1 the DUT failed).
    pub exit_code: i32,
    /// The testbench's verdict (`pass`).
    pub pass: bool,
    /// h words that differed from h_q.hex.
    pub mismatches: u64,
    /// h words received.
    pub outputs: u64,
    /// T·H.
    pub expected_outputs: u64,
    /// Failed checks of any kind (mismatches included).
    pub errors: u64,
    /// A reply did not arrive in time.
    pub timeout: bool,
    /// Simulated clock cycles.
    pub cycles: u64,
    /// Bytes the testbench sent on rx.
    pub bytes_sent: u64,
    /// Bytes the testbench decoded from tx.
    pub bytes_received: u64,
    /// `stat_cycles` from the 'Q' reply after the sequence.
    pub stat_cycles: u64,
    /// `stat_deltas` from the 'Q' reply.
    pub stat_deltas: u64,
    /// `stat_steps` from the 'Q' reply.
    pub stat_steps: u64,
    /// `predicted_total_cycles` of params.txt (the cycle model), if present.
    pub predicted_cycles: Option<u64>,
    /// Every `key value` line of the result file.
    pub values: BTreeMap<String, String>,
    /// The testbench's MISMATCH / FAIL / FRAMING lines.
    pub messages: Vec<String>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl UartSimResult {
    /// True when the testbench passed and the figures agree with that.
    pub fn passed(&self) -> bool {
        self.exit_code == 0
            && self.pass
            && self.errors == 0
            && self.mismatches == 0
            && !self.timeout
            && self.outputs == self.expected_outputs
    }

    /// A value of the result file as an integer (`None` when absent or not a number).
    pub fn int(&self, key: &str) -> Option<i64> {
        self.values.get(key).and_then(|v| v.parse().ok())
    }

    /// One-line summary.
    pub fn summary(&self) -> String {
        format!(
            "{}: {}/{} h words over the UART, {} mismatches, {} failed checks, {} cycles, {} bytes sent, {} received, stat_cycles {} (cycle model {}){}",
            if self.passed() { "PASS" } else { "FAIL" },
            self.outputs,
            self.expected_outputs,
            self.mismatches,
            self.errors,
            self.cycles,
            self.bytes_sent,
            self.bytes_received,
            self.stat_cycles,
            self.predicted_cycles
                .map_or_else(|| "-".to_string(), |p| p.to_string()),
            if self.timeout { ", TIMEOUT" } else { "" }
        )
    }
}

/// Parses a `tb_uart` result file.
pub fn parse_uart_result(text: &str, path: &Path) -> Result<UartSimResult> {
    let values: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| l.trim().split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    let get = |k: &str| -> Result<u64> {
        values
            .get(k)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| HarnessError::Parse {
                path: path.to_path_buf(),
                msg: format!("missing or non-numeric `{k}`"),
            })
    };
    let predicted = values
        .get("predicted_cycles")
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|v| u64::try_from(v).ok());
    Ok(UartSimResult {
        exit_code: 0,
        pass: get("pass")? != 0,
        mismatches: get("mismatches")?,
        outputs: get("outputs")?,
        expected_outputs: get("expected_outputs")?,
        errors: get("errors")?,
        timeout: get("timeout")? != 0,
        cycles: get("cycles")?,
        bytes_sent: get("bytes_sent")?,
        bytes_received: get("bytes_received")?,
        stat_cycles: get("stat_cycles")?,
        stat_deltas: get("stat_deltas")?,
        stat_steps: get("stat_steps")?,
        predicted_cycles: predicted,
        values,
        messages: Vec::new(),
        seconds: 0.0,
    })
}

/// Runs a built `tb_uart` in `dir` and parses its result file. A failing DUT is not an
/// `Err` (check [`UartSimResult::passed`]); `Err` means the run itself went wrong.
pub fn run_uart_tb(dir: &Path, exe: &Path, opts: &UartRunOptions) -> Result<UartSimResult> {
    check_sim_options(opts.div, opts.gap, opts.skew)?;
    let dir = dir.canonicalize().map_err(|source| HarnessError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let result = dir.join(&opts.result);
    if let Some(parent) = result.parent() {
        fs::create_dir_all(parent).map_err(|source| HarnessError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let _ = fs::remove_file(&result);
    let log = result.with_extension("log");
    let mut cmd = Command::new(exe);
    cmd.arg(format!("+div={}", opts.div))
        .arg(format!("+vectors={}", opts.vectors.display()))
        .arg(format!("+seed={}", opts.seed))
        .arg(format!("+gap={}", opts.gap))
        .arg(format!("+skew={}", opts.skew))
        .arg(format!("+restart={}", u8::from(opts.restart)))
        .arg(format!("+max_cycles={}", opts.max_cycles))
        .arg(format!("+result={}", opts.result.display()));
    let ran = run_logged(&mut cmd, &dir, &log)?;
    let code = ran.status.code();
    if !matches!(code, Some(0) | Some(1)) || !result.is_file() {
        return Err(tool_failed("UART testbench run", &cmd, &dir, &log, &ran));
    }
    let text = fs::read_to_string(&result).map_err(|source| HarnessError::Io {
        path: result.clone(),
        source,
    })?;
    let mut r = parse_uart_result(&text, &result)?;
    r.exit_code = code.unwrap_or(-1);
    r.seconds = ran.seconds;
    r.messages = ran
        .log_text
        .lines()
        .filter(|l| {
            l.starts_with("tb: MISMATCH")
                || l.starts_with("tb: FAIL ")
                || l.starts_with("tb: FRAMING")
        })
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

/// Starts a built `tb_uart` in `+tcp` mode in `dir`: the simulated bridge's UART is served on
/// 127.0.0.1:`port` (0: any free port) for one client, e.g. `scripts/spartus_uart.py --port
/// tcp:127.0.0.1:<port>`. Waits until it listens (at most `wait_s` seconds) and returns the
/// running process and the port. The process ends when the client disconnects; its result
/// file is `sim/uart_tcp.txt`, its output `sim/uart_tcp.log`.
pub fn serve_tcp(
    dir: &Path,
    exe: &Path,
    div: u32,
    port: u16,
    wait_s: f64,
) -> Result<(std::process::Child, u16)> {
    let dir = dir.canonicalize().map_err(|source| HarnessError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let portfile = dir.join("sim/uart_tcp.port");
    let _ = fs::remove_file(&portfile);
    let log_path = dir.join("sim/uart_tcp.log");
    let log = fs::File::create(&log_path).map_err(|source| HarnessError::Io {
        path: log_path.clone(),
        source,
    })?;
    let log2 = log.try_clone().map_err(|source| HarnessError::Io {
        path: log_path.clone(),
        source,
    })?;
    let mut child = Command::new(exe)
        .current_dir(&dir)
        .arg(format!("+div={div}"))
        .arg(format!("+tcp={port}"))
        .arg("+portfile=sim/uart_tcp.port")
        .arg("+result=sim/uart_tcp.txt")
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|source| HarnessError::Io {
            path: exe.to_path_buf(),
            source,
        })?;
    let start = std::time::Instant::now();
    loop {
        if let Some(p) = fs::read_to_string(&portfile)
            .ok()
            .and_then(|t| t.trim().parse::<u16>().ok())
        {
            return Ok((child, p));
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || start.elapsed().as_secs_f64() > wait_s {
            let _ = child.kill();
            let _ = child.wait();
            let text = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(HarnessError::MissingInput(format!(
                "tb_uart +tcp={port} did not start listening ({}); log {}:\n{text}",
                exited.map_or("still waiting".to_string(), |s| s.to_string()),
                log_path.display()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

// ------------------------------------------------------------------------------------------
// Synthesis

/// Synthesizes the pin top of `board` for the design in `dir` (the files of [`write_board`]
/// must be there) with the board's constraint file, at `freq_mhz` (default: the board
/// clock), into `synth/<target>-<board>/` with the bitstream `<target>-<board>.bin` / `.bit`.
/// The report goes into `reports/synth.json` under the key `<target>-<board>`.
pub fn board_synth(
    dir: &Path,
    top: &str,
    board: Board,
    freq_mhz: Option<f64>,
    seed: u32,
) -> Result<SynthReport> {
    let (cname, _) = board.constraints();
    let constraints = dir.join("constraints").join(cname);
    let source = board.source();
    for p in [constraints.clone(), dir.join(&source)] {
        if !p.is_file() {
            return Err(HarnessError::MissingInput(format!(
                "{} does not exist (run board::write_board first)",
                p.display()
            )));
        }
    }
    let target = board.target();
    let mut opts = SynthOptions::new(freq_mhz.unwrap_or(board.clock_hz() as f64 / 1e6));
    opts.seed = seed;
    opts.wrap = false;
    opts.constraints = Some(constraints);
    opts.extra_sources = BRIDGE_SOURCES.iter().map(|s| s.to_string()).collect();
    opts.extra_sources.push(source);
    opts.synth_top = Some(board.top_module(top));
    opts.name = Some(format!("{}-{}", target.name(), board.name()));
    opts.board = Some(board.name().to_string());
    synth::synth(dir, top, target, &opts)
}

/// Path of the bitstream of a finished [`board_synth`] run, relative to the design folder.
pub fn bitstream_path(board: Board) -> String {
    let name = format!("{}-{}", board.target().name(), board.name());
    let ext = match board {
        Board::Icebreaker => "bin",
        Board::Ulx3s => "bit",
    };
    format!("synth/{name}/{name}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_divisors_of_the_boards() {
        assert_eq!(clks_per_bit(12_000_000, 115_200).unwrap(), 104);
        assert_eq!(clks_per_bit(25_000_000, 115_200).unwrap(), 217);
        assert_eq!(clks_per_bit(12_000_000, 3_000_000).unwrap(), 4);
        assert!(
            clks_per_bit(12_000_000, 4_000_000).is_err(),
            "3 clocks per bit"
        );
        assert!(clks_per_bit(12_000_000, 0).is_err());
        // 12 MHz / 2.5 Mbaud = 4.8 -> 5 is 4.2 % off
        let e = clks_per_bit(12_000_000, 2_500_000).unwrap_err().to_string();
        assert!(e.contains("baud = 2500000") && e.contains("2 %"), "{e}");
    }

    #[test]
    fn render_substitutes_every_placeholder() {
        let files = render("spartus_t", 5, 3, DEFAULT_BAUD).unwrap();
        assert_eq!(files.len(), 8);
        for (p, t) in &files {
            // `@(posedge` and `@*` stay; no `@NAME@` placeholder may survive
            let left = t
                .match_indices('@')
                .any(|(i, _)| t[i + 1..].starts_with(|c: char| c.is_ascii_uppercase()));
            assert!(!left, "{p}");
        }
        let get = |name: &str| &files.iter().find(|(p, _)| p == name).unwrap().1;
        let bridge = get("rtl/board_uart.v");
        assert!(bridge.contains("module spartus_t_uart"));
        assert!(
            bridge.contains("localparam integer AW = 3;"),
            "I = 5 -> 8 words"
        );
        assert!(bridge.contains("LAST_WORD = 3'd4;"));
        assert!(bridge.contains("I16 = 16'd5;") && bridge.contains("H16 = 16'd3;"));
        assert!(bridge.contains("HW = 2;") && bridge.contains("H_WORDS = 2'd3;"));
        assert!(get("rtl/board_icebreaker.v").contains("CLKS_PER_BIT = 104"));
        assert!(get("rtl/board_ulx3s.v").contains("CLKS_PER_BIT = 217"));
        // FIFO depth: I = 1 still gets 2 words; I = 4 exactly 4; I = 1 word counter 1 bit
        let one = render("t", 1, 1, DEFAULT_BAUD).unwrap();
        assert!(one[3].1.contains("AW = 1;") && one[3].1.contains("LAST_WORD = 1'd0;"));
        let four = render("t", 4, 1, DEFAULT_BAUD).unwrap();
        assert!(four[3].1.contains("AW = 2;") && four[3].1.contains("LAST_WORD = 3'd3;"));
        assert!(render("bad name", 4, 4, DEFAULT_BAUD).is_err());
        assert!(render("t", 0, 4, DEFAULT_BAUD).is_err());
        assert!(render("t", 4, 70_000, DEFAULT_BAUD).is_err());
    }

    #[test]
    fn board_names_round_trip() {
        for b in Board::ALL {
            assert_eq!(b.name().parse::<Board>().unwrap(), b);
        }
        assert!("arty".parse::<Board>().is_err());
        assert_eq!(Board::Icebreaker.target(), Target::Ice40Up5k);
        assert_eq!(Board::Ulx3s.target(), Target::Ecp5_85k);
        assert_eq!(
            bitstream_path(Board::Ulx3s),
            "synth/ecp5-85k-ulx3s/ecp5-85k-ulx3s.bit"
        );
    }
}
