//! `gen`: generate, check and verify spatio-temporally sparse LSTM accelerators.
//!
//! Thin argument parsing; the logic lives in the `spartus_gen` library.

use anyhow::Result;
use clap::{Parser, Subcommand};
use spartus_gen::{board, check, emit, synth, testset, vectors, verify};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gen",
    version,
    about = "Sparse DeltaLSTM accelerator generator (Spartus-style)"
)]
#[command(args_conflicts_with_subcommands = true)]
#[command(
    after_help = "With no arguments, `gen` emits the embedded default config (configs/small.toml) \
with seeded random weights into hdl_out/small/. `gen <config>` is `gen emit <config>`."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Config file (TOML): same as `gen emit <config>`.
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// The benchmark (same as the `bench` binary / scripts/bench.sh): Fmax and resources per
    /// target (Yosys + nextpnr), gate lanes / overlap on the 1024-unit shape, the sparsity ×
    /// delta-density matrix and generator scaling, all through Verilator; writes
    /// <out-dir>/bench/bench.{json,md} and SVG plots. Exits 1 when a point disagrees with
    /// the model or is not bit-exact.
    Bench(spartus_gen::bench::cli::BenchArgs),
    /// Print the resolved config and derived figures (memory depths, predicted cycles,
    /// throughput, utilization) without generating anything.
    Check {
        /// Config file (TOML).
        config: PathBuf,
    },
    /// Generate the accelerator: RTL, memory images, golden vectors, manifest and reports in
    /// <out-dir>/<name>/ (written atomically).
    Emit {
        /// Config file (TOML).
        config: PathBuf,
        /// Trained weights (.safetensors or .npz, PyTorch nn.LSTM names); default: seeded random.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Input sequence (.npy, shape [T, I], real units); default: the config's stimulus.
        #[arg(long)]
        inputs: Option<PathBuf>,
        /// Parent folder of the output.
        #[arg(long, default_value = "hdl_out")]
        out_dir: PathBuf,
    },
    /// Regenerate <out-dir>/<name>/ and prove the Verilog bit-exact in Verilator (random
    /// stalls), comparing the hardware's cycle counters with the cycle model.
    Verify {
        /// Config file (TOML).
        config: PathBuf,
        /// Check the existing folder as it is (refused when it does not match its manifest).
        #[arg(long)]
        no_regen: bool,
        /// Trained weights (.safetensors or .npz); default: seeded random.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Input sequence (.npy, [T, I]); default: the config's stimulus.
        #[arg(long)]
        inputs: Option<PathBuf>,
        /// Parent folder of the output.
        #[arg(long, default_value = "hdl_out")]
        out_dir: PathBuf,
        /// Testbench PRNG seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Probability per cycle that the testbench withholds an input, [0, 1).
        #[arg(long, default_value_t = 0.2)]
        in_gap: f64,
        /// Probability per cycle that the testbench stalls the output, [0, 1).
        #[arg(long, default_value_t = 0.3)]
        out_stall: f64,
        /// Skip the Verilator lint.
        #[arg(long)]
        no_lint: bool,
    },
    /// Synthesize with Yosys + nextpnr (iCE40 / ECP5): writes reports/synth.json and
    /// reports/synth.md (LUT/FF/DSP/BRAM used and available, Fmax, critical path).
    Synth {
        /// Config file (TOML).
        config: PathBuf,
        /// ice40-up5k, ice40-hx8k, ecp5-85k or ecp5-25k; default: the config's target.fpga.
        #[arg(long)]
        target: Option<String>,
        /// Clock constraint in MHz; default: the config's target.clock_mhz.
        #[arg(long)]
        freq: Option<f64>,
        /// Use the existing folder (refused when it does not match its manifest).
        #[arg(long)]
        no_regen: bool,
        /// Synthesize the bare top (default: inside a 5-pin serial wrapper, because the top
        /// has more I/O bits than small packages have pins).
        #[arg(long)]
        no_wrap: bool,
        /// Synthesize the UART board top with the board's pins instead (icebreaker: target
        /// ice40-up5k at 12 MHz; ulx3s: ecp5-85k at 25 MHz) and write its bitstream; see
        /// docs/board.md.
        #[arg(long)]
        board: Option<String>,
        /// UART baud rate of the board top (with --board).
        #[arg(long, default_value_t = board::DEFAULT_BAUD)]
        baud: u32,
        /// Parent folder of the output.
        #[arg(long, default_value = "hdl_out")]
        out_dir: PathBuf,
    },
    /// Run a whole test set (many sequences, e.g. from `train vectors`) through the emitted
    /// Verilog in Verilator: start_sequence between cases, every output bit-exact, counters
    /// against the cycle model; writes the RTL's h for `train eval --rtl-h`.
    Testset {
        /// Config file (TOML).
        config: PathBuf,
        /// Trained weights (.safetensors or .npz) the test set's golden h was computed for.
        #[arg(long)]
        weights: PathBuf,
        /// Test-set folder: params.txt, seq_lens.txt, x_q.hex, h_q.hex (`train vectors --out`).
        #[arg(long)]
        vectors: PathBuf,
        /// Only the first N cases.
        #[arg(long)]
        max_cases: Option<usize>,
        /// Parent folder of the output.
        #[arg(long, default_value = "hdl_out")]
        out_dir: PathBuf,
        /// Testbench PRNG seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Probability per cycle that the testbench withholds an input, [0, 1).
        #[arg(long, default_value_t = 0.2)]
        in_gap: f64,
        /// Probability per cycle that the testbench stalls the output, [0, 1).
        #[arg(long, default_value_t = 0.3)]
        out_stall: f64,
        /// Random gap of 0..=N cycles before each start_sequence pulse.
        #[arg(long, default_value_t = 3)]
        case_gap: u64,
        /// Copy the RTL's h (all cases, 4 hex digits per line) here.
        #[arg(long)]
        h_out: Option<PathBuf>,
        /// Write the measured figures as JSON here (read by `train eval --rtl-sim`).
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Regenerate <out-dir>/<name>/, add the UART board top (rtl/board_*.v, constraints/) and
    /// prove it end to end in Verilator: the golden x_t go in bit-serially on the rx pin, every
    /// h_t coming out of the tx pin must match bit-exact (docs/board.md).
    Board {
        /// Config file (TOML).
        config: PathBuf,
        /// Use the existing folder (refused when it does not match its manifest).
        #[arg(long)]
        no_regen: bool,
        /// Parent folder of the output.
        #[arg(long, default_value = "hdl_out")]
        out_dir: PathBuf,
        /// UART baud rate of the board pin tops.
        #[arg(long, default_value_t = board::DEFAULT_BAUD)]
        baud: u32,
        /// Clock cycles per bit in the simulation (a small divisor keeps it fast), >= 4.
        #[arg(long, default_value_t = 16)]
        div: u32,
        /// Testbench PRNG seed (byte gaps).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Random idle after each host byte, up to this many bit times.
        #[arg(long, default_value_t = 2.0)]
        gap: f64,
        /// Host baud error in the simulation (bit period div*(1+skew)), |skew| < 0.5.
        #[arg(long, default_value_t = 0.02)]
        skew: f64,
        /// After the check, serve the simulated bridge's UART on 127.0.0.1:PORT (0: any free
        /// port) for one session of a host program, e.g. `python3 scripts/spartus_uart.py
        /// --port tcp:127.0.0.1:PORT --vectors <dir>/vectors`.
        #[arg(long)]
        tcp: Option<u16>,
    },
    /// Write golden test vectors, memory images and predicted cycles to <out-dir>/<name>/.
    Vectors {
        /// Config file (TOML).
        config: PathBuf,
        /// Trained weights (.safetensors or .npz, PyTorch nn.LSTM names); default: seeded random.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Input sequence (.npy, shape [T, I], real units); default: the config's stimulus.
        #[arg(long)]
        inputs: Option<PathBuf>,
        /// Parent folder of the output.
        #[arg(long, default_value = "hdl_out")]
        out_dir: PathBuf,
    },
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            let (config, note) = match cli.config {
                Some(c) => (c, ""),
                None => (
                    PathBuf::from(spartus_gen::EMBEDDED_DEFAULT),
                    "(embedded default config; `gen --help` lists the subcommands)\n",
                ),
            };
            let opts = vectors::VectorsOptions {
                config,
                weights: None,
                inputs: None,
                out_dir: PathBuf::from("hdl_out"),
            };
            let (design, dest, stats) = emit::write(&opts)?;
            print!("{}{}", note, emit::summary_line(&design, &dest, &stats));
        }
        Some(Command::Emit {
            config,
            weights,
            inputs,
            out_dir,
        }) => {
            let opts = vectors::VectorsOptions {
                config,
                weights,
                inputs,
                out_dir,
            };
            let (design, dest, stats) = emit::write(&opts)?;
            print!("{}", emit::summary_line(&design, &dest, &stats));
        }
        Some(Command::Synth {
            config,
            target,
            freq,
            no_regen,
            no_wrap,
            board: board_name,
            baud,
            out_dir,
        }) => {
            let resolved = spartus_gen::load_config(&config)?;
            let board: Option<board::Board> = board_name.as_deref().map(str::parse).transpose()?;
            if let (Some(b), Some(t)) = (board, target.as_deref()) {
                if t != b.target().name() {
                    anyhow::bail!(
                        "--board {b} needs --target {} (or no --target), not {t}",
                        b.target()
                    );
                }
            }
            if board.is_some() {
                board::check_baud(baud)?;
            }
            if board.is_some() && no_wrap {
                anyhow::bail!(
                    "--no-wrap does not apply to --board (the board top has its own pins)"
                );
            }
            let target_name = match (target, board) {
                (Some(t), _) => t,
                (None, Some(b)) => b.target().name().to_string(),
                (None, None) => match resolved.config.target.fpga {
                    spartus_model::config::Fpga::None => anyhow::bail!(
                        "target.fpga = \"none\" in {}: give --target ice40-up5k|ice40-hx8k|ecp5-85k|ecp5-25k",
                        config.display()
                    ),
                    f => f.as_str().to_string(),
                },
            };
            let target: synth::Target = target_name.parse()?;
            let dir = out_dir.join(&resolved.config.name);
            if no_regen {
                verify::check_folder(&dir, &resolved.config.to_toml())?;
            } else {
                let opts = vectors::VectorsOptions {
                    config,
                    weights: None,
                    inputs: None,
                    out_dir,
                };
                emit::write(&opts)?;
            }
            if let Some(b) = board {
                board::write_board(&dir, &resolved.top_name, baud)?;
                let report = board::board_synth(&dir, &resolved.top_name, b, freq, 1)?;
                let all = synth::update_reports(&dir, &report)?;
                print!("{}", synth::render_markdown(&all));
                println!(
                    "bitstream: {}",
                    dir.join(board::bitstream_path(b)).display()
                );
                return Ok(());
            }
            let mut opts =
                synth::SynthOptions::new(freq.unwrap_or(resolved.config.target.clock_mhz));
            opts.wrap = !no_wrap;
            let report = synth::synth(&dir, &resolved.top_name, target, &opts)?;
            let all = synth::update_reports(&dir, &report)?;
            print!("{}", synth::render_markdown(&all));
        }
        Some(Command::Verify {
            config,
            no_regen,
            weights,
            inputs,
            out_dir,
            seed,
            in_gap,
            out_stall,
            no_lint,
        }) => {
            let mut opts = verify::VerifyOptions::new(config);
            opts.vectors.weights = weights;
            opts.vectors.inputs = inputs;
            opts.vectors.out_dir = out_dir;
            opts.no_regen = no_regen;
            opts.seed = seed;
            opts.in_gap = in_gap;
            opts.out_stall = out_stall;
            opts.lint = !no_lint;
            let report = verify::verify(&opts)?;
            print!("{}", report.summary());
            if !report.passed() {
                anyhow::bail!(
                    "verification failed ({} problem(s)); details in {}/sim/",
                    report.problems.len(),
                    report.dir.display()
                );
            }
        }
        Some(Command::Bench(args)) => {
            if !spartus_gen::bench::cli::run_cli(args)? {
                anyhow::bail!("the bench found problems (listed in bench.md)");
            }
        }
        Some(Command::Testset {
            config,
            weights,
            vectors,
            max_cases,
            out_dir,
            seed,
            in_gap,
            out_stall,
            case_gap,
            h_out,
            report,
        }) => {
            let mut opts = testset::TestsetOptions::new(config, weights, vectors);
            opts.vectors.out_dir = out_dir;
            opts.max_cases = max_cases;
            opts.seed = seed;
            opts.in_gap = in_gap;
            opts.out_stall = out_stall;
            opts.case_gap = case_gap;
            opts.h_out = h_out;
            opts.report = report;
            let rep = testset::run(&opts)?;
            print!("{}", rep.summary());
            if !rep.passed() {
                anyhow::bail!(
                    "test set failed ({} problem(s)); details in {}/sim/",
                    rep.problems.len(),
                    rep.dir.display()
                );
            }
        }
        Some(Command::Board {
            config,
            no_regen,
            out_dir,
            baud,
            div,
            seed,
            gap,
            skew,
            tcp,
        }) => {
            let resolved = spartus_gen::load_config(&config)?;
            board::check_baud(baud)?;
            board::check_sim_options(div, gap, skew)?;
            let dir = out_dir.join(&resolved.config.name);
            if no_regen {
                verify::check_folder(&dir, &resolved.config.to_toml())?;
            } else {
                let opts = vectors::VectorsOptions {
                    config,
                    weights: None,
                    inputs: None,
                    out_dir,
                };
                emit::write(&opts)?;
            }
            let files = board::write_board(&dir, &resolved.top_name, baud)?;
            println!("wrote {} board files in {}", files.len(), dir.display());
            let build = board::build_uart_tb(&dir, &resolved.top_name, div, 1)?;
            let mut opts = board::UartRunOptions::new(div);
            opts.seed = seed;
            opts.gap = gap;
            opts.skew = skew;
            let r = board::run_uart_tb(&dir, &build.exe, &opts)?;
            println!(
                "{} (build {:.1} s, run {:.1} s)",
                r.summary(),
                build.seconds,
                r.seconds
            );
            for m in r.messages.iter().take(20) {
                println!("{m}");
            }
            if !r.passed() {
                anyhow::bail!(
                    "the UART board top failed in Verilator; details in {}",
                    dir.join("sim/uart_result.log").display()
                );
            }
            if let Some(port) = tcp {
                let (mut child, port) = board::serve_tcp(&dir, &build.exe, div, port, 30.0)?;
                println!(
                    "simulated bridge listening on 127.0.0.1:{port} (one session), e.g.\n  python3 scripts/spartus_uart.py --port tcp:127.0.0.1:{port} --vectors {}",
                    dir.join("vectors").display()
                );
                let status = child.wait()?;
                println!(
                    "session ended ({status}); result in {}",
                    dir.join("sim/uart_tcp.txt").display()
                );
            }
        }
        Some(Command::Check { config }) => {
            let r = spartus_gen::load_config(&config)?;
            print!("{}", check::report(&r));
        }
        Some(Command::Vectors {
            config,
            weights,
            inputs,
            out_dir,
        }) => {
            let opts = vectors::VectorsOptions {
                config,
                weights,
                inputs,
                out_dir,
            };
            let (design, dest) = vectors::write_vectors(&opts)?;
            print!("{}", vectors::summary(&design, &dest));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
