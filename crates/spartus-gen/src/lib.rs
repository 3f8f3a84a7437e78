//! The `gen` command's reusable logic (main.rs only parses arguments).
//!
//! - [`check`]: `gen check <config>`: resolved config and derived figures.
//! - [`vectors`]: `gen vectors <config>`: golden vectors, memory images and predicted cycles
//!   written atomically to `hdl_out/<name>/`.
//! - [`bench`]: the performance benchmark (the `bench` binary, `scripts/bench.sh`).
//! - [`artifacts`]: the atomic output folder with its manifest.
//! - [`sweep`]: random valid configs proven in Verilator (the `sweep` binary, `tests/sweep.rs`).
//! - [`testset`]: `gen testset`: a whole test set (many sequences) through the RTL in Verilator.
//! - [`board`]: the UART board top (`gen board`, `gen synth --board`), docs/board.md.

pub mod artifacts;
pub mod bench;
pub mod board;
pub mod check;
pub mod emit;
pub mod sweep;
pub mod synth;
pub mod testset;
pub mod vectors;
pub mod verify;
pub mod verilator;

use anyhow::{Context, Result};
use spartus_model::config::{self, LayerDims, Resolved};
use spartus_model::design::Design;
use std::path::Path;

/// The per-step gate/state update overhead `T_upd` of layer `layer` in the generated
/// hardware (docs/arithmetic.md §6, §11). Every cycle prediction of `gen` goes through here.
///
/// The layer accepts its I input elements (one counted cycle each), flushes the input delta
/// encoder (2), streams the H units through G = `hardware.gate_lanes` gate units in parallel
/// and has fixed pipeline overheads: `T_upd = I + 2 + 4 + H/G + 14`
/// ([`spartus_hw::layer::t_upd_lanes`]); Verilator measures exactly this.
pub fn hw_t_upd(resolved: &Resolved, layer: usize, dims: &LayerDims) -> u64 {
    let _ = layer;
    spartus_hw::layer::t_upd_lanes(dims.input_size, dims.hidden_size, resolved.g())
}

/// The layer shape the overlapped schedule's cycle model needs (A, G, H).
pub fn overlap_shape(resolved: &Resolved) -> spartus_model::cycles::OverlapShape {
    spartus_model::cycles::OverlapShape {
        arrays: resolved.a(),
        lanes: resolved.g(),
        hidden: resolved.h(),
    }
}

/// The config path that stands for the embedded default config (`configs/small.toml`),
/// used when `gen` runs without arguments.
pub const EMBEDDED_DEFAULT: &str = "<embedded:small>";

/// Read and resolve a config file; errors name the file. [`EMBEDDED_DEFAULT`] reads the
/// embedded default config.
pub fn load_config(path: &Path) -> Result<Resolved> {
    if path.as_os_str() == EMBEDDED_DEFAULT {
        return config::load_str(config::DEFAULT_CONFIG_TOML)
            .context("invalid embedded default config");
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    config::load_str(&text).with_context(|| format!("invalid config {}", path.display()))
}

/// Prepare a design (weights from `weights` or seeded random, inputs from an `.npy` file or
/// the config's stimulus) with the hardware's `T_upd` ([`hw_t_upd`]) in the cycle model.
pub fn prepare_design(
    resolved: &Resolved,
    weights: Option<&Path>,
    inputs: Option<&Path>,
) -> Result<Design> {
    let float = match weights {
        Some(p) => {
            let net = spartus_model::weights::load(p)?; // the error names the file and the tensor
            spartus_model::weights::check_against(&net, resolved)
                .with_context(|| format!("weights {} do not fit the config", p.display()))?;
            Some(net)
        }
        None => None,
    };
    let x = match inputs {
        Some(p) => Some(vectors::load_inputs(p)?),
        None => None,
    };
    let mut design = Design::prepare(resolved, float, x).context("cannot prepare the design")?;
    design.set_t_upd(|l, d| hw_t_upd(resolved, l, d));
    if resolved.config.hardware.overlap {
        design.set_overlap(overlap_shape(resolved));
    }
    Ok(design)
}
