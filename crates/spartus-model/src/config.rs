//! The one configuration type of spartus-gen: schema, defaults, validation and derived values.
//!
//! A config is a TOML file. Every field is documented here; `gen check <config>` prints the
//! resolved values. Unknown fields are errors (they are usually typos). Validation lives in
//! [`Config::resolve`] and nowhere else: it turns a parsed [`Config`] into a [`Resolved`] config
//! whose derived values (K per layer, index bits, thresholds in Q8.8, ...) every other part of
//! the generator reads.
//!
//! ```toml
//! name = "tiny"                # output folder hdl_out/<name>/, [A-Za-z0-9_-]{1,64}
//! seed = 1                     # seeds random weights and random stimulus
//! [model]
//! input_size = 4               # I
//! hidden_size = 8              # H
//! layers = 1                   # stacked LSTM layers (layer l>0 has I = H)
//! [sparsity]
//! k_x = 2                      # kept W_x entries per column per PE (or sparsity_x = 0.5)
//! k_h = 2                      # kept W_h entries per column per PE (or sparsity_h = 0.5)
//! theta_x = 0.0625             # input delta threshold (real units, quantized to Q8.8)
//! theta_h = 0.0625             # hidden delta threshold
//! [hardware]
//! pe_count = 2                 # N PEs per MAC array, must divide H
//! arrays = 1                   # A MAC arrays (column parallelism)
//! gate_lanes = 1               # G gate units in parallel: divides pe_count, <= arrays
//! overlap = false              # MAC the Δh of step t during its gate phase
//! [target]
//! fpga = "none"                # none | ice40-up5k | ice40-hx8k | ecp5-85k
//! clock_mhz = 50.0
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest accepted `input_size` / `hidden_size`.
pub const MAX_SIZE: usize = 4096;
/// Largest accepted number of stacked layers.
pub const MAX_LAYERS: usize = 8;
/// Largest accepted number of MAC arrays.
pub const MAX_ARRAYS: usize = 64;
/// Largest accepted number of PEs per array.
pub const MAX_PES: usize = 256;
/// Largest accepted per-PE weight memory depth (entries); the hardware uses 16-bit addresses.
pub const MAX_WEIGHT_DEPTH: usize = 1 << 16;
/// Largest accepted stimulus length.
pub const MAX_TIMESTEPS: usize = 1_000_000;

/// A config error: which field, which value, which rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The TOML could not be parsed or does not match the schema (unknown field, wrong type).
    #[error("config parse error: {0}")]
    Parse(String),
    /// A value is outside its allowed range or breaks a rule relating several fields.
    #[error("{field} = {value} {rule}")]
    Invalid {
        /// Dotted field path, e.g. `hardware.pe_count`.
        field: String,
        /// The offending value as written.
        value: String,
        /// The rule it breaks, e.g. `must divide model.hidden_size = 64`.
        rule: String,
    },
}

fn invalid(field: &str, value: impl fmt::Display, rule: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        value: value.to_string(),
        rule: rule.into(),
    }
}

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Design name: names the output folder `hdl_out/<name>/` and the top-level Verilog module
    /// (`spartus_<name>` with `-` replaced by `_`). 1–64 characters from `[A-Za-z0-9_-]`.
    pub name: String,
    /// Seed for random weights (when no weight file is given) and random stimulus. Default 1.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Network shape.
    pub model: ModelConfig,
    /// Weight sparsity (CBTD / dual ratio) and temporal sparsity (delta thresholds).
    #[serde(default)]
    pub sparsity: SparsityConfig,
    /// Accelerator shape and arithmetic options.
    pub hardware: HardwareConfig,
    /// FPGA target and clock for synthesis and the figures in reports.
    #[serde(default)]
    pub target: TargetConfig,
    /// Test stimulus written to `vectors/` when no input file is given.
    #[serde(default)]
    pub stimulus: StimulusConfig,
}

fn default_seed() -> u64 {
    1
}

/// Network shape (PyTorch `nn.LSTM(input_size, hidden_size, num_layers)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// I: features per input frame, 1..=4096.
    pub input_size: usize,
    /// H: hidden units per layer, 1..=4096. Must be a multiple of `hardware.pe_count`.
    pub hidden_size: usize,
    /// Stacked layers, 1..=8. Layer l>0 takes layer l-1's h as input (I = H).
    #[serde(default = "one")]
    pub layers: usize,
}

fn one() -> usize {
    1
}

/// How weights are pruned before packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pruning {
    /// Column-balanced targeted dropout (Spartus): per column and PE keep the K largest |Wq|.
    /// This is what the hardware executes.
    #[default]
    Cbtd,
    /// No pruning: K = rows per PE (dense); `k_x`/`k_h`/`sparsity_*` must not be set.
    None,
}

/// Weight and temporal sparsity. Weight sparsity is given either as K (entries kept per
/// column per PE) or as a ratio γ, resolved as `K = R - floor(R*γ)` with `R = 4H/N` rows per
/// PE (docs/arithmetic.md §5). W_x and W_h may differ (BRDS-style dual ratio). Unset means dense (K = R).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SparsityConfig {
    /// `cbtd` (default) or `none`.
    #[serde(default)]
    pub pruning: Pruning,
    /// K_x: kept W_x entries per column per PE, 1..=R. Exclusive with `sparsity_x`.
    #[serde(default)]
    pub k_x: Option<usize>,
    /// K_h: kept W_h entries per column per PE, 1..=R. Exclusive with `sparsity_h`.
    #[serde(default)]
    pub k_h: Option<usize>,
    /// γ_x in [0, 1): fraction of W_x pruned; resolves to K_x = R - floor(R*γ_x) >= 1.
    #[serde(default)]
    pub sparsity_x: Option<f64>,
    /// γ_h in [0, 1): fraction of W_h pruned; resolves to K_h = R - floor(R*γ_h) >= 1.
    #[serde(default)]
    pub sparsity_h: Option<f64>,
    /// Θx, input delta threshold in real units, 0 ≤ Θ < 128; quantized as RNE(Θ·256) (Q8.8).
    /// Default 0 (every change is processed: exact LSTM up to quantization).
    #[serde(default)]
    pub theta_x: f64,
    /// Θh, hidden delta threshold, same rules as `theta_x`.
    #[serde(default)]
    pub theta_h: f64,
}

impl Default for SparsityConfig {
    fn default() -> Self {
        Self {
            pruning: Pruning::Cbtd,
            k_x: None,
            k_h: None,
            sparsity_x: None,
            sparsity_h: None,
            theta_x: 0.0,
            theta_h: 0.0,
        }
    }
}

/// Requantization rounding (docs/arithmetic.md §0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Round half to even (default; the authors' `torch.round`).
    #[default]
    Rne,
    /// Floor (arithmetic shift right).
    Floor,
}

/// How float biases are quantized (docs/arithmetic.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BiasMode {
    /// `sat32(RNE(b * 2^(8+wfrac)))`: accumulator precision (default).
    #[default]
    Acc,
    /// Authors' variant: `sat8(RNE(b * 2^wfrac)) << 8`.
    Q17,
}

/// Number-format preset. Widths in the RTL are compile-time constants per preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Precision {
    /// Activations int16 Q8.8, weights int8 with `wfrac` fraction bits, accumulators int32.
    #[default]
    #[serde(rename = "q8.8-int8")]
    Q88Int8,
}

/// Accelerator shape and arithmetic options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareConfig {
    /// N: PEs per MAC array, 1..=256, must divide `model.hidden_size` (docs/arithmetic.md §5).
    pub pe_count: usize,
    /// A: MAC arrays, 1..=64. Delta column j is processed by array j mod A (docs/arithmetic.md §6).
    #[serde(default = "one")]
    pub arrays: usize,
    /// G: gate lanes, default 1. The gate phase reads G hidden units per cycle (units
    /// `cG..cG+G-1` in cycle c), each lane with its own PEs (p mod G = lane), gate unit, LUTs,
    /// c and ĥ memories and h buffer, so it lasts H/G + latency cycles instead of H + latency.
    /// Must divide `pe_count` (the G units of a cycle sit in G distinct PEs at one address) and
    /// be at most `arrays` (their G Δh columns go to G distinct arrays' queues).
    #[serde(default = "one")]
    pub gate_lanes: usize,
    /// Overlapped schedule, default false. The MAC arrays keep draining their queues during the
    /// gate phase: the Δh of step t are multiplied as soon as the gate unit produces them, into
    /// a delta bank that the next gate phase folds into M (3× the M memory per PE). The step
    /// then costs the gate phase plus only the Δh work that did not fit under it (cycle model:
    /// `spartus_model::cycles::schedule_cycles`).
    #[serde(default)]
    pub overlap: bool,
    /// Number-format preset; only `"q8.8-int8"` exists.
    #[serde(default)]
    pub precision: Precision,
    /// Fraction bits of the int8 weights, 0..=8 (default 7: Q1.7).
    #[serde(default = "default_wfrac")]
    pub wfrac: u32,
    /// LUT input LSBs dropped, 0..=8 (default 0: 4096-entry tables; 4 ⇒ 256 entries). docs/arithmetic.md §4.
    #[serde(default)]
    pub lut_shift: u32,
    /// LUT output fraction bits, 1..=8 (default 8). docs/arithmetic.md §4.
    #[serde(default = "default_lut_frac")]
    pub lut_frac: u32,
    /// `rne` (default) or `floor`. docs/arithmetic.md §0.
    #[serde(default)]
    pub rounding: Rounding,
    /// `acc` (default) or `q17`. docs/arithmetic.md §1.
    #[serde(default)]
    pub bias_mode: BiasMode,
}

fn default_wfrac() -> u32 {
    7
}
fn default_lut_frac() -> u32 {
    8
}

/// FPGA families with an open flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Fpga {
    /// No synthesis target (simulation only).
    #[default]
    #[serde(rename = "none")]
    None,
    /// Lattice iCE40 UP5K (iCEBreaker): 5280 LC, 8 DSP, 30 EBR, 4 SPRAM.
    #[serde(rename = "ice40-up5k")]
    Ice40Up5k,
    /// Lattice iCE40 HX8K: 7680 LC, 32 EBR, no DSP.
    #[serde(rename = "ice40-hx8k")]
    Ice40Hx8k,
    /// Lattice ECP5 LFE5U-85F: 84K LUT4, 156 MULT18, 208 DP16KD.
    #[serde(rename = "ecp5-85k")]
    Ecp5_85k,
}

impl Fpga {
    /// The name used in configs and on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Fpga::None => "none",
            Fpga::Ice40Up5k => "ice40-up5k",
            Fpga::Ice40Hx8k => "ice40-hx8k",
            Fpga::Ecp5_85k => "ecp5-85k",
        }
    }
}

/// FPGA target and clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `none` (default), `ice40-up5k`, `ice40-hx8k` or `ecp5-85k`.
    #[serde(default)]
    pub fpga: Fpga,
    /// Clock target in MHz, (0, 1000]; used for nextpnr `--freq` and for throughput figures.
    #[serde(default = "default_clock")]
    pub clock_mhz: f64,
}

fn default_clock() -> f64 {
    50.0
}

impl Default for TargetConfig {
    fn default() -> Self {
        Self {
            fpga: Fpga::None,
            clock_mhz: default_clock(),
        }
    }
}

/// Random test stimulus (used when `gen vectors` gets no `--inputs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StimulusConfig {
    /// T: time steps, 1..=1,000,000 (default 200).
    #[serde(default = "default_timesteps")]
    pub timesteps: usize,
    /// Random-walk step size in real units, (0, 128] (default 0.25). Each element moves by
    /// U(-step, step) per time step.
    #[serde(default = "default_step")]
    pub step: f64,
    /// Random-walk bound in real units, (0, 128] (default 2.0): elements are clipped to ±bound.
    /// A bound ≥ 128 drives the Q8.8 input saturation.
    #[serde(default = "default_bound")]
    pub bound: f64,
    /// Probability in [0, 1] that an element holds its previous value exactly (default 0.5):
    /// produces the temporal sparsity a delta network exploits.
    #[serde(default = "default_hold")]
    pub hold_prob: f64,
}

fn default_timesteps() -> usize {
    200
}
fn default_step() -> f64 {
    0.25
}
fn default_bound() -> f64 {
    2.0
}
fn default_hold() -> f64 {
    0.5
}

impl Default for StimulusConfig {
    fn default() -> Self {
        Self {
            timesteps: default_timesteps(),
            step: default_step(),
            bound: default_bound(),
            hold_prob: default_hold(),
        }
    }
}

/// Derived per-layer values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerDims {
    /// Input size of this layer (I for layer 0, H otherwise).
    pub input_size: usize,
    /// Hidden size H.
    pub hidden_size: usize,
    /// Rows per PE, R = 4H/N.
    pub rows_per_pe: usize,
    /// Kept W_x entries per column per PE.
    pub k_x: usize,
    /// Kept W_h entries per column per PE.
    pub k_h: usize,
    /// Bits of the local-row field in a packed weight word, IB = max(1, ceil(log2 R)).
    pub index_bits: u32,
    /// W_x weight sparsity 1 - K_x/R.
    pub sparsity_x: f64,
    /// W_h weight sparsity 1 - K_h/R.
    pub sparsity_h: f64,
    /// Dense-equivalent ops per time step, 2·4H·(I+H).
    pub ops_dense: u64,
}

/// A validated config with its derived values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// The config as written (with defaults filled in).
    pub config: Config,
    /// Θx in Q8.8.
    pub theta_x_q: i32,
    /// Θh in Q8.8.
    pub theta_h_q: i32,
    /// Per-layer derived values.
    pub layers: Vec<LayerDims>,
    /// Verilog top-module name.
    pub top_name: String,
}

impl Resolved {
    /// Shortcut to the config.
    pub fn cfg(&self) -> &Config {
        &self.config
    }
    /// N.
    pub fn n(&self) -> usize {
        self.config.hardware.pe_count
    }
    /// A.
    pub fn a(&self) -> usize {
        self.config.hardware.arrays
    }
    /// G (gate lanes).
    pub fn g(&self) -> usize {
        self.config.hardware.gate_lanes
    }
    /// H.
    pub fn h(&self) -> usize {
        self.config.model.hidden_size
    }
    /// I (layer 0).
    pub fn i(&self) -> usize {
        self.config.model.input_size
    }
}

/// Quantize a threshold in real units to Q8.8: `sat(RNE(th*256), 0, 32767)` (docs/arithmetic.md §1).
pub fn quantize_theta(field: &str, th: f64) -> Result<i32, ConfigError> {
    if !th.is_finite() || !(0.0..128.0).contains(&th) {
        return Err(invalid(field, th, "must be a finite number in [0, 128)"));
    }
    Ok(((th * 256.0).round_ties_even() as i64).clamp(0, 32767) as i32)
}

fn resolve_k(
    field_k: &str,
    k: Option<usize>,
    field_s: &str,
    s: Option<f64>,
    r: usize,
    pruning: Pruning,
) -> Result<usize, ConfigError> {
    if pruning == Pruning::None {
        if let Some(k) = k {
            return Err(invalid(
                field_k,
                k,
                "must not be set when sparsity.pruning = \"none\"",
            ));
        }
        if let Some(s) = s {
            return Err(invalid(
                field_s,
                s,
                "must not be set when sparsity.pruning = \"none\"",
            ));
        }
        return Ok(r);
    }
    match (k, s) {
        (Some(k), Some(_)) => Err(invalid(
            field_k,
            k,
            format!("and {field_s} are both set; give one of them"),
        )),
        (Some(k), None) => {
            if k == 0 || k > r {
                Err(invalid(
                    field_k,
                    k,
                    format!("must be in 1..={r} (rows per PE R = 4·hidden_size/pe_count)"),
                ))
            } else {
                Ok(k)
            }
        }
        (None, Some(g)) => {
            if !g.is_finite() || !(0.0..1.0).contains(&g) {
                return Err(invalid(field_s, g, "must be a number in [0, 1)"));
            }
            // floor(R·γ) with a 1e-9 tolerance: γ is written in decimal, and e.g. 100·0.29 is
            // 28.999999999999996 in f64, which must count as 29 (docs/arithmetic.md §5, §12.1).
            let k = r - (r as f64 * g + 1e-9).floor() as usize;
            if k == 0 {
                Err(invalid(
                    field_s,
                    g,
                    format!("leaves K = 0 of R = {r} rows per PE"),
                ))
            } else {
                Ok(k)
            }
        }
        (None, None) => Ok(r),
    }
}

impl Config {
    /// Parse TOML text (unknown fields are errors naming the field).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string().trim().to_string()))
    }

    /// Serialize back to TOML (the resolved config written to `hdl_out/<name>/config.toml`).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config serializes")
    }

    /// Validate and derive. The only place where config rules live.
    pub fn resolve(&self) -> Result<Resolved, ConfigError> {
        let c = self;
        if c.name.is_empty()
            || c.name.len() > 64
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            return Err(invalid(
                "name",
                format!("{:?}", c.name),
                "must be 1-64 characters from [A-Za-z0-9_-] (it names a folder under hdl_out/)",
            ));
        }
        let m = &c.model;
        if m.input_size == 0 || m.input_size > MAX_SIZE {
            return Err(invalid(
                "model.input_size",
                m.input_size,
                format!("must be in 1..={MAX_SIZE}"),
            ));
        }
        if m.hidden_size == 0 || m.hidden_size > MAX_SIZE {
            return Err(invalid(
                "model.hidden_size",
                m.hidden_size,
                format!("must be in 1..={MAX_SIZE}"),
            ));
        }
        if m.layers == 0 || m.layers > MAX_LAYERS {
            return Err(invalid(
                "model.layers",
                m.layers,
                format!("must be in 1..={MAX_LAYERS}"),
            ));
        }
        let hw = &c.hardware;
        if hw.pe_count == 0 || hw.pe_count > MAX_PES {
            return Err(invalid(
                "hardware.pe_count",
                hw.pe_count,
                format!("must be in 1..={MAX_PES}"),
            ));
        }
        if !m.hidden_size.is_multiple_of(hw.pe_count) {
            return Err(invalid(
                "hardware.pe_count",
                hw.pe_count,
                format!("must divide model.hidden_size = {}", m.hidden_size),
            ));
        }
        if hw.arrays == 0 || hw.arrays > MAX_ARRAYS {
            return Err(invalid(
                "hardware.arrays",
                hw.arrays,
                format!("must be in 1..={MAX_ARRAYS}"),
            ));
        }
        if hw.gate_lanes == 0 || !hw.pe_count.is_multiple_of(hw.gate_lanes) {
            return Err(invalid(
                "hardware.gate_lanes",
                hw.gate_lanes,
                format!(
                    "must be at least 1 and divide hardware.pe_count = {}",
                    hw.pe_count
                ),
            ));
        }
        if hw.gate_lanes > hw.arrays {
            return Err(invalid(
                "hardware.gate_lanes",
                hw.gate_lanes,
                format!(
                    "must be at most hardware.arrays = {} (the Δh columns of the G units read \
                     in one cycle must go to G distinct arrays)",
                    hw.arrays
                ),
            ));
        }
        if hw.wfrac > 8 {
            return Err(invalid("hardware.wfrac", hw.wfrac, "must be in 0..=8"));
        }
        if hw.lut_shift > 8 {
            return Err(invalid(
                "hardware.lut_shift",
                hw.lut_shift,
                "must be in 0..=8",
            ));
        }
        if hw.lut_frac == 0 || hw.lut_frac > 8 {
            return Err(invalid(
                "hardware.lut_frac",
                hw.lut_frac,
                "must be in 1..=8",
            ));
        }
        let t = &c.target;
        if !t.clock_mhz.is_finite() || t.clock_mhz <= 0.0 || t.clock_mhz > 1000.0 {
            return Err(invalid(
                "target.clock_mhz",
                t.clock_mhz,
                "must be in (0, 1000]",
            ));
        }
        let st = &c.stimulus;
        if st.timesteps == 0 || st.timesteps > MAX_TIMESTEPS {
            return Err(invalid(
                "stimulus.timesteps",
                st.timesteps,
                format!("must be in 1..={MAX_TIMESTEPS}"),
            ));
        }
        if !st.step.is_finite() || st.step <= 0.0 || st.step > 128.0 {
            return Err(invalid("stimulus.step", st.step, "must be in (0, 128]"));
        }
        if !st.bound.is_finite() || st.bound <= 0.0 || st.bound > 128.0 {
            return Err(invalid("stimulus.bound", st.bound, "must be in (0, 128]"));
        }
        if !st.hold_prob.is_finite() || !(0.0..=1.0).contains(&st.hold_prob) {
            return Err(invalid(
                "stimulus.hold_prob",
                st.hold_prob,
                "must be in [0, 1]",
            ));
        }
        let sp = &c.sparsity;
        let theta_x_q = quantize_theta("sparsity.theta_x", sp.theta_x)?;
        let theta_h_q = quantize_theta("sparsity.theta_h", sp.theta_h)?;

        let h = m.hidden_size;
        let n = hw.pe_count;
        let r = 4 * h / n;
        let k_x = resolve_k(
            "sparsity.k_x",
            sp.k_x,
            "sparsity.sparsity_x",
            sp.sparsity_x,
            r,
            sp.pruning,
        )?;
        let k_h = resolve_k(
            "sparsity.k_h",
            sp.k_h,
            "sparsity.sparsity_h",
            sp.sparsity_h,
            r,
            sp.pruning,
        )?;
        let index_bits = (usize::BITS - (r - 1).leading_zeros()).max(1);
        let mut layers = Vec::with_capacity(m.layers);
        for l in 0..m.layers {
            let input_size = if l == 0 { m.input_size } else { h };
            let a = hw.arrays;
            let depth = input_size.div_ceil(a) * k_x + h.div_ceil(a) * k_h;
            if depth > MAX_WEIGHT_DEPTH {
                return Err(invalid(
                    "sparsity.k_x",
                    k_x,
                    format!(
                        "with k_h = {k_h} needs {depth} weight entries per PE in layer {l} \
                         (ceil(I/A)·K_x + ceil(H/A)·K_h); the limit is {MAX_WEIGHT_DEPTH}"
                    ),
                ));
            }
            layers.push(LayerDims {
                input_size,
                hidden_size: h,
                rows_per_pe: r,
                k_x,
                k_h,
                index_bits,
                sparsity_x: 1.0 - k_x as f64 / r as f64,
                sparsity_h: 1.0 - k_h as f64 / r as f64,
                ops_dense: 2 * 4 * h as u64 * (input_size + h) as u64,
            });
        }
        Ok(Resolved {
            config: c.clone(),
            theta_x_q,
            theta_h_q,
            layers,
            top_name: format!("spartus_{}", c.name.replace('-', "_")),
        })
    }
}

/// Parse and resolve in one go.
pub fn load_str(text: &str) -> Result<Resolved, ConfigError> {
    Config::from_toml(text)?.resolve()
}

/// The embedded default config used when `gen` runs without arguments.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../configs/small.toml");

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
name = "t"
[model]
input_size = 16
hidden_size = 64
[hardware]
pe_count = 8
"#;

    fn err_of(extra_model: &str, extra_sparsity: &str, extra_hw: &str, extra_top: &str) -> String {
        // Base values are left out when the override sets the same key (TOML forbids
        // duplicate keys, which would turn the intended error into a parse error).
        let base_h = if extra_model.contains("hidden_size") {
            ""
        } else {
            "hidden_size = 64"
        };
        let base_n = if extra_hw.contains("pe_count") {
            ""
        } else {
            "pe_count = 8"
        };
        let text = format!(
            "name = \"t\"\n{extra_top}\n[model]\ninput_size = 16\n{base_h}\n{extra_model}\n\
             [sparsity]\n{extra_sparsity}\n[hardware]\n{base_n}\n{extra_hw}\n"
        );
        match load_str(&text) {
            Ok(_) => panic!("config should be rejected:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn base_resolves_dense() {
        let r = load_str(BASE).unwrap();
        assert_eq!(r.layers[0].rows_per_pe, 32);
        assert_eq!(r.layers[0].k_x, 32);
        assert_eq!(r.layers[0].k_h, 32);
        assert_eq!(r.layers[0].index_bits, 5);
        assert_eq!(r.layers[0].ops_dense, 2 * 4 * 64 * (16 + 64));
        assert_eq!(r.top_name, "spartus_t");
    }

    #[test]
    fn sparsity_ratio_resolves_like_authors() {
        // R = 64 (H=1024, N=64): γ = 0.94 ⇒ K = 64 - floor(60.16) = 4.
        let text = "name=\"s\"\n[model]\ninput_size=40\nhidden_size=1024\n[sparsity]\nsparsity_x=0.94\nk_h=2\n[hardware]\npe_count=64\n";
        let r = load_str(text).unwrap();
        assert_eq!(r.layers[0].rows_per_pe, 64);
        assert_eq!(r.layers[0].k_x, 4);
        assert_eq!(r.layers[0].k_h, 2);
        assert!((r.layers[0].sparsity_x - 0.9375).abs() < 1e-12);
    }

    #[test]
    fn theta_quantization() {
        assert_eq!(quantize_theta("f", 0.1).unwrap(), 26);
        assert_eq!(quantize_theta("f", 0.0625).unwrap(), 16);
        assert_eq!(quantize_theta("f", 127.999).unwrap(), 32767);
        assert!(quantize_theta("f", -0.1).is_err());
        assert!(quantize_theta("f", f64::NAN).is_err());
    }

    #[test]
    fn bad_configs_name_their_field() {
        let checks: Vec<(String, &str)> = vec![
            (err_of("", "", "pe_count = 12", ""), "hardware.pe_count"),
            (err_of("layers = 0", "", "", ""), "model.layers"),
            (err_of("layers = 9", "", "", ""), "model.layers"),
            (err_of("", "k_x = 0", "", ""), "sparsity.k_x"),
            (err_of("", "k_x = 33", "", ""), "sparsity.k_x"),
            (
                err_of("", "k_h = 4\nsparsity_h = 0.5", "", ""),
                "sparsity.k_h",
            ),
            (
                err_of("", "sparsity_x = 1.0", "", ""),
                "sparsity.sparsity_x",
            ),
            (err_of("", "theta_x = -1.0", "", ""), "sparsity.theta_x"),
            (err_of("", "theta_h = 200.0", "", ""), "sparsity.theta_h"),
            (err_of("", "", "arrays = 0", ""), "hardware.arrays"),
            (err_of("", "", "gate_lanes = 0", ""), "hardware.gate_lanes"),
            (
                err_of("", "", "arrays = 4\ngate_lanes = 3", ""),
                "hardware.gate_lanes",
            ),
            (err_of("", "", "gate_lanes = 2", ""), "hardware.gate_lanes"),
            (err_of("", "", "wfrac = 9", ""), "hardware.wfrac"),
            (err_of("", "", "lut_shift = 9", ""), "hardware.lut_shift"),
            (err_of("", "", "lut_frac = 0", ""), "hardware.lut_frac"),
            (
                err_of("", "pruning = \"none\"\nk_x = 4", "", ""),
                "sparsity.k_x",
            ),
            (err_of("", "", "", "seed = -1"), "seed"),
            (err_of("", "", "pe_cont = 8", ""), "pe_cont"),
            (err_of("hidden_size = 0", "", "", ""), "hidden_size"),
        ];
        for (msg, field) in checks {
            assert!(msg.contains(field), "error {msg:?} does not name {field:?}");
        }
        // The divisibility message names both fields and values.
        let msg = err_of("", "", "pe_count = 12", "");
        assert_eq!(
            msg,
            "hardware.pe_count = 12 must divide model.hidden_size = 64"
        );
    }

    #[test]
    fn gate_lanes_rules() {
        // default 1; G = 4 with A = 4, N = 8 is accepted
        assert_eq!(load_str(BASE).unwrap().config.hardware.gate_lanes, 1);
        let ok = BASE.replace("pe_count = 8", "pe_count = 8\narrays = 4\ngate_lanes = 4");
        assert_eq!(load_str(&ok).unwrap().config.hardware.gate_lanes, 4);
        assert_eq!(
            err_of("", "", "arrays = 4\ngate_lanes = 3", ""),
            "hardware.gate_lanes = 3 must be at least 1 and divide hardware.pe_count = 8"
        );
        assert_eq!(
            err_of("", "", "arrays = 2\ngate_lanes = 4", ""),
            "hardware.gate_lanes = 4 must be at most hardware.arrays = 2 (the Δh columns of \
             the G units read in one cycle must go to G distinct arrays)"
        );
    }

    #[test]
    fn bad_names_are_rejected() {
        for name in ["", "../x", "a/b", "a b", "x.y", &"n".repeat(65)] {
            let text = BASE.replace("name = \"t\"", &format!("name = {name:?}"));
            let e = load_str(&text).unwrap_err().to_string();
            assert!(e.starts_with("name = "), "{e}");
        }
    }

    #[test]
    fn example_configs_resolve() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().and_then(|e| e.to_str()) == Some("toml") {
                let text = std::fs::read_to_string(&p).unwrap();
                let r = load_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert_eq!(
                    Some(r.config.name.as_str()),
                    p.file_stem().and_then(|s| s.to_str()),
                    "config name must equal its file name"
                );
                count += 1;
            }
        }
        assert!(count >= 5);
    }
}
