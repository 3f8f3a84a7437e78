//! The UART board top (`board_uart.v` around the emitted accelerator, docs/board.md) proven
//! end to end in Verilator: `tb_uart.cpp` sends the golden x_t bit-serially on the rx pin
//! and decodes every h_t from the tx pin, bit-exact against h_q.hex, plus the counters of the
//! 'Q' reply against the cycle model and the recovery commands. Then the checks are shown to
//! bite (a corrupted expected word, a host baud rate far off), and the board pin tops are
//! synthesized with the real constraint files into bitstreams.
//!
//! Needs Verilator (+ make, g++), and for the last test yosys, nextpnr-ice40, icepack and
//! (yowasp-)nextpnr-ecp5 + ecppack (`bash scripts/install-tools.sh`).

use std::fs;
use std::path::{Path, PathBuf};

use spartus_gen::board::{self, Board, UartRunOptions, UartSimResult};
use spartus_gen::vectors::VectorsOptions;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Emits `config` into a temp folder and writes the board files; returns (folder, top).
fn emit(config: &Path, out: &Path) -> (PathBuf, String) {
    let opts = VectorsOptions {
        config: config.to_path_buf(),
        weights: None,
        inputs: None,
        out_dir: out.to_path_buf(),
    };
    let (design, dir, _) =
        spartus_gen::emit::write(&opts).unwrap_or_else(|e| panic!("{}: {e:#}", config.display()));
    let top = design.resolved.top_name.clone();
    let files = board::write_board(&dir, &top, board::DEFAULT_BAUD).unwrap();
    assert!(files.contains(&"rtl/board_uart.v".to_string()));
    (dir, top)
}

/// The cycle model's total, from reports/cycles.json (written by the golden model's side).
fn predicted_total_cycles(dir: &Path) -> u64 {
    let v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("reports/cycles.json")).unwrap())
            .unwrap();
    v["figures"]["total_cycles"].as_u64().unwrap()
}

fn hex_lines(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn assert_passed(r: &UartSimResult, dir: &Path) {
    assert!(r.passed(), "{}\n{}", r.summary(), r.messages.join("\n"));
    let t = r.int("timesteps").unwrap() as u64;
    let h = r.int("output_size").unwrap() as u64;
    assert_eq!(r.outputs, t * h);
    assert_eq!(r.expected_outputs, t * h);
    assert_eq!(
        r.outputs as usize,
        hex_lines(&dir.join("vectors/h_q.hex")).len()
    );
    assert_eq!(r.mismatches, 0);
    assert_eq!(r.stat_steps, t, "stat_steps of the 'Q' reply");
    assert_eq!(r.stat_cycles, predicted_total_cycles(dir), "cycle model");
    assert!(r.stat_deltas > 0);
    // The recovery paths: a stalled frame sets flag 3, an unknown command gets '?', 'S'
    // replays from t = 0, 'R' clears the counters and the flags.
    assert_eq!(r.int("restart_flags").unwrap() & 8, 8);
    assert_eq!(r.int("restart_unknown_reply"), Some(b'?' as i64));
    assert_eq!(r.int("restart_mismatches"), Some(0));
    assert_eq!(r.int("restart_outputs"), Some((8.min(t) * h) as i64));
    for k in [
        "reset_stat_cycles",
        "reset_stat_deltas",
        "reset_stat_steps",
        "reset_flags",
    ] {
        assert_eq!(r.int(k), Some(0), "{k}");
    }
    assert_eq!(r.int("extra_bytes"), Some(0));
    assert_eq!(r.int("framing_errors"), Some(0));
    // Every byte really went over the wire: 'I' 'S' + T * (1 + 2I) + 'Q' + the recovery
    // commands went in; 2H per step + the replies came out.
    let i = r.int("input_size").unwrap() as u64;
    assert!(r.bytes_sent >= 3 + t * (1 + 2 * i));
    assert!(r.bytes_received >= 7 + 1 + t * 2 * h + 16);
}

#[test]
fn tiny_over_the_uart_bit_exact_and_the_checks_bite() {
    let out = tempfile::tempdir().unwrap();
    let (dir, top) = emit(&root().join("configs/tiny.toml"), out.path());
    let div = 16;
    let build = board::build_uart_tb(&dir, &top, div, 1).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("tiny: tb_uart build {:.1} s", build.seconds);

    // Host 2 % fast with random idle gaps between its bytes.
    let mut o = UartRunOptions::new(div);
    o.gap = 2.5;
    o.skew = 0.02;
    o.seed = 3;
    let r = board::run_uart_tb(&dir, &build.exe, &o).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("tiny: {} ({:.2} s)", r.summary(), r.seconds);
    assert_passed(&r, &dir);

    // Host 2 % slow, back to back.
    o.gap = 0.0;
    o.skew = -0.02;
    o.result = PathBuf::from("sim/uart_result_slow.txt");
    let r = board::run_uart_tb(&dir, &build.exe, &o).unwrap();
    assert_passed(&r, &dir);

    // One corrupted expected word (t = 57, k = 5) is caught, and only that one.
    let bad = dir.join("vectors_bad");
    fs::create_dir_all(&bad).unwrap();
    for f in ["params.txt", "x_q.hex", "h_q.hex"] {
        fs::copy(dir.join("vectors").join(f), bad.join(f)).unwrap();
    }
    let h = r.int("output_size").unwrap() as usize;
    let mut lines = hex_lines(&bad.join("h_q.hex"));
    let idx = 57 * h + 5;
    let flipped = u16::from_str_radix(&lines[idx], 16).unwrap() ^ 0x0100;
    lines[idx] = format!("{flipped:04x}");
    fs::write(bad.join("h_q.hex"), lines.join("\n") + "\n").unwrap();
    let mut o = UartRunOptions::new(div);
    o.vectors = PathBuf::from("vectors_bad");
    o.restart = false;
    o.result = PathBuf::from("sim/uart_result_bad.txt");
    let r = board::run_uart_tb(&dir, &build.exe, &o).unwrap();
    assert!(!r.passed());
    assert_eq!(r.exit_code, 1);
    assert_eq!(r.mismatches, 1, "{:?}", r.messages);
    assert_eq!(r.outputs, r.expected_outputs);
    assert!(
        r.messages
            .iter()
            .any(|m| m.contains("MISMATCH t=57 k=5") && m.contains(&format!("want {flipped:04x}"))),
        "{:?}",
        r.messages
    );

    // A host 15 % off the DUT's baud rate breaks the link: the bytes the bridge samples
    // are garbage, so replies are wrong or missing. The testbench must notice.
    let mut o = UartRunOptions::new(div);
    o.skew = 0.15;
    o.restart = false;
    o.max_cycles = 5_000_000;
    o.result = PathBuf::from("sim/uart_result_skew.txt");
    let r = board::run_uart_tb(&dir, &build.exe, &o).unwrap();
    assert!(!r.passed(), "{}", r.summary());
    assert!(r.errors > 0);

    // A divisor below 4 clocks per bit is refused before Verilator runs.
    assert!(board::build_uart_tb(&dir, &top, 3, 1).is_err());
}

#[test]
fn two_layers_odd_input_size_over_the_uart_bit_exact() {
    // I = 5 (x FIFO of 8 words, 3-bit word counter), H = 16, two layers, two arrays.
    let out = tempfile::tempdir().unwrap();
    let (dir, top) = emit(
        &root().join("crates/spartus-gen/tests/configs/two_layer.toml"),
        out.path(),
    );
    let div = 8;
    let build = board::build_uart_tb(&dir, &top, div, 1).unwrap_or_else(|e| panic!("{e}"));
    let mut o = UartRunOptions::new(div);
    o.gap = 1.0;
    o.skew = -0.03;
    o.seed = 11;
    let r = board::run_uart_tb(&dir, &build.exe, &o).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "two_layer: {} (build {:.1} s, run {:.2} s)",
        r.summary(),
        build.seconds,
        r.seconds
    );
    assert_eq!(r.int("input_size"), Some(5));
    assert_eq!(r.int("output_size"), Some(16));
    assert_passed(&r, &dir);
}

#[test]
fn tiny_board_bitstreams_for_icebreaker_and_ulx3s() {
    // The config that is put on the boards: first proven over the UART in Verilator, through
    // each board's own pin top (port names, button and LED polarity)...
    let out = tempfile::tempdir().unwrap();
    let (dir, top) = emit(&root().join("configs/tiny-board.toml"), out.path());
    for b in Board::ALL {
        let build = board::build_board_tb(&dir, &top, b, 8, 1).unwrap_or_else(|e| panic!("{e}"));
        let mut o = UartRunOptions::new(8);
        o.gap = 1.0;
        o.result = PathBuf::from(format!("sim/uart_result_{b}.txt"));
        let r = board::run_uart_tb(&dir, &build.exe, &o).unwrap();
        eprintln!("{b} pin top: {}", r.summary());
        assert_passed(&r, &dir);
    }

    // ...then synthesized with the real pins at the board clocks: it fits, meets timing and
    // yields a bitstream.
    let ice = board::board_synth(&dir, &top, Board::Icebreaker, None, 1)
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "icebreaker: {:?} MHz, {:?}, {:?} s",
        ice.fmax_mhz,
        ice.logic_cells(),
        ice.seconds
    );
    assert_eq!(ice.constraint_mhz, 12.0);
    assert!(ice.met, "{:?}", ice.fmax_mhz);
    assert!(!ice.wrapped);
    assert_eq!(ice.synth_top, format!("{top}_icebreaker"));
    assert_eq!(ice.board.as_deref(), Some("icebreaker"));
    let lc = ice.utilization["ICESTORM_LC"];
    assert!(lc.used <= lc.available && lc.available == 5280);
    assert_eq!(
        ice.utilization["SB_IO"].used, 6,
        "CLK RX TX BTN_N LEDR_N LEDG_N"
    );
    assert!(
        ice.cells.dsp > 0 && ice.cells.bram > 0,
        "{:?}",
        ice.cell_types
    );
    let log = fs::read_to_string(dir.join("synth/ice40-up5k-icebreaker/nextpnr.log")).unwrap();
    for (port, bel) in [
        ("CLK", "X12/Y31/io1"),
        ("RX", "X13/Y0/io1"),
        ("TX", "X15/Y0/io0"),
        ("BTN_N", "X16/Y0/io0"),
    ] {
        assert!(
            log.contains(&format!("constrained '{port}' to bel '{bel}'")),
            "{port}"
        );
    }
    let bin = fs::metadata(dir.join(board::bitstream_path(Board::Icebreaker))).unwrap();
    assert!(bin.len() > 100_000, "UP5K bitstream: {} bytes", bin.len());

    let ecp =
        board::board_synth(&dir, &top, Board::Ulx3s, None, 1).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "ulx3s: {:?} MHz, {:?}, {:?} s",
        ecp.fmax_mhz,
        ecp.logic_cells(),
        ecp.seconds
    );
    assert_eq!(ecp.constraint_mhz, 25.0);
    assert!(ecp.met, "{:?}", ecp.fmax_mhz);
    assert_eq!(ecp.synth_top, format!("{top}_ulx3s"));
    let log = fs::read_to_string(dir.join("synth/ecp5-85k-ulx3s/nextpnr.log")).unwrap();
    assert!(log.contains("constraining clock net 'clk_25mhz' to 25.00 MHz"));
    assert_eq!(
        log.matches("$tr_io' constrained to Bel").count(),
        18,
        "clk_25mhz, ftdi_txd, ftdi_rxd, btn[0..6], led[0..7] placed by the LPF"
    );
    let bit = fs::metadata(dir.join(board::bitstream_path(Board::Ulx3s))).unwrap();
    assert!(
        bit.len() > 1_000_000,
        "ECP5-85F bitstream: {} bytes",
        bit.len()
    );

    // Both runs are in reports/synth.json under their own keys, next to nothing else.
    let all: spartus_gen::synth::SynthReports =
        serde_json::from_str(&fs::read_to_string(dir.join("reports/synth.json")).unwrap()).unwrap();
    assert_eq!(
        all.keys().cloned().collect::<Vec<_>>(),
        ["ecp5-85k-ulx3s", "ice40-up5k-icebreaker"]
    );
    let md = fs::read_to_string(dir.join("reports/synth.md")).unwrap();
    assert!(
        md.contains(&format!("Board top `{top}_icebreaker`")),
        "{md}"
    );
}

#[test]
fn host_script_against_the_simulated_bridge() {
    // scripts/spartus_uart.py (the documented host program) talks to the Verilated bridge
    // over tb_uart's +tcp socket: the same bytes it would send to a board's serial port.
    let out = tempfile::tempdir().unwrap();
    let (dir, top) = emit(&root().join("configs/tiny.toml"), out.path());
    let div = 16;
    let build = board::build_uart_tb(&dir, &top, div, 1).unwrap_or_else(|e| panic!("{e}"));
    let script = root().join("scripts/spartus_uart.py");
    let host = |args: &[&str]| {
        let (mut tb, port) = board::serve_tcp(&dir, &build.exe, div, 0, 60.0).unwrap();
        let o = std::process::Command::new("python3")
            .arg(&script)
            .arg("--port")
            .arg(format!("tcp:127.0.0.1:{port}"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("python3 (installed by scripts/install-tools.sh)");
        let tb_status = tb.wait().unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        let result = fs::read_to_string(dir.join("sim/uart_tcp.txt")).unwrap();
        (o.status.code(), stdout, stderr, tb_status.code(), result)
    };

    let (code, stdout, stderr, tb_code, result) = host(&["--vectors", "vectors", "--quiet"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(tb_code, Some(0), "{result}");
    assert!(
        stdout.contains("bridge: I = 4, H = 8, error flags 0x0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("200 steps, 1600 h words, 0 mismatches"),
        "{stdout}"
    );
    let predicted = predicted_total_cycles(&dir);
    assert!(
        stdout.contains(&format!("counters: stat_cycles {predicted}, stat_deltas "))
            && stdout.contains("stat_steps 200,"),
        "{stdout}"
    );
    assert!(result.contains("framing_errors 0"), "{result}");

    // Expected outputs that differ in one word: the script reports it and exits 1.
    let mut lines = hex_lines(&dir.join("vectors/h_q.hex"));
    let w = u16::from_str_radix(&lines[19], 16).unwrap() ^ 1;
    lines[19] = format!("{w:04x}");
    fs::write(dir.join("h_bad.hex"), lines.join("\n") + "\n").unwrap();
    let (code, stdout, _, _, _) = host(&[
        "--x",
        "vectors/x_q.npy",
        "--expect",
        "h_bad.hex",
        "--steps",
        "5",
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("MISMATCH at k = [3]"), "t=2, k=3: {stdout}");
    assert!(
        stdout.contains("5 steps, 40 h words, 1 mismatches"),
        "{stdout}"
    );
}
