//! `gen`: generate, check and verify spatio-temporally sparse LSTM accelerators.
//!
//! Thin argument parsing; the logic lives in the `spartus_gen` library.

use anyhow::Result;
use clap::{Parser, Subcommand};
use spartus_gen::{check, vectors};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gen",
    version,
    about = "Sparse DeltaLSTM accelerator generator (Spartus-style)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the resolved config and derived figures (memory depths, predicted cycles,
    /// throughput, utilization) without generating anything.
    Check {
        /// Config file (TOML).
        config: PathBuf,
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
            let r = spartus_model::config::load_str(spartus_model::config::DEFAULT_CONFIG_TOML)?;
            print!("{}", check::report(&r));
            println!("\n(embedded default config; see `gen --help` for the subcommands)");
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
