//! Export of a trained classifier for `gen`:
//!
//! - `<stem>.safetensors`: f32 tensors in PyTorch naming, `weight_ih_l0 [4H,I]`,
//!   `weight_hh_l0 [4H,H]`, `bias_ih_l0 [4H]`, `bias_hh_l0 [4H]` (an `nn.LSTM` state dict) plus
//!   the head `fc.weight [C,H]`, `fc.bias [C]` (which `spartus_model::weights::load` ignores).
//!   Pruned entries are stored as exact zeros. Header metadata: `{"format": "pt"}` only, so the
//!   file is byte-identical for identical parameters.
//! - `<stem>.toml`: the spartus-gen config of the accelerator this model was trained for
//!   (I, H, N, K_x, K_h, Θx, Θh, wfrac).
//! - `<stem>.meta.json`: [`ModelMeta`], above all the input scaling the host must apply.

use crate::data::InputScaling;
use crate::model::{Params, Pool};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use spartus_model::config::{
    BiasMode, Config, HardwareConfig, ModelConfig, Precision, Pruning, Rounding, SparsityConfig,
    StimulusConfig, TargetConfig,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Export / import errors.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// safetensors (de)serialization failed.
    #[error("safetensors: {0}")]
    SafeTensors(#[from] safetensors::SafeTensorError),
    /// A tensor is missing or has the wrong dtype / shape.
    #[error("{tensor}: {msg}")]
    Tensor {
        /// Tensor name.
        tensor: String,
        /// What is wrong.
        msg: String,
    },
    /// JSON metadata could not be (de)serialized.
    #[error("metadata: {0}")]
    Json(#[from] serde_json::Error),
    /// Config could not be built or parsed.
    #[error("config: {0}")]
    Config(#[from] spartus_model::config::ConfigError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Write bytes through a temporary file and rename, so no half-written file is ever left.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
    }
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The tensors of a classifier in PyTorch naming with their shapes.
fn named(p: &Params) -> Vec<(&'static str, Vec<usize>, &[f32])> {
    let (i, h, c) = (p.input_size, p.hidden_size, p.num_classes);
    vec![
        ("weight_ih_l0", vec![4 * h, i], &p.weight_ih[..]),
        ("weight_hh_l0", vec![4 * h, h], &p.weight_hh[..]),
        ("bias_ih_l0", vec![4 * h], &p.bias_ih[..]),
        ("bias_hh_l0", vec![4 * h], &p.bias_hh[..]),
        ("fc.weight", vec![c, h], &p.fc_weight[..]),
        ("fc.bias", vec![c], &p.fc_bias[..]),
    ]
}

/// Serialize parameters to safetensors bytes (f32, PyTorch names).
pub fn to_safetensors(p: &Params) -> Result<Vec<u8>, ExportError> {
    let bytes: Vec<(&str, Vec<usize>, Vec<u8>)> = named(p)
        .into_iter()
        .map(|(n, s, d)| (n, s, le_bytes(d)))
        .collect();
    let views = bytes
        .iter()
        .map(|(n, s, b)| Ok((*n, TensorView::new(Dtype::F32, s.clone(), b)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    Ok(safetensors::serialize(views, Some(meta))?)
}

/// Parse safetensors bytes written by [`to_safetensors`] (or by PyTorch with the same names,
/// f32 only).
pub fn from_safetensors(bytes: &[u8]) -> Result<Params, ExportError> {
    let st = SafeTensors::deserialize(bytes)?;
    let get = |name: &str| -> Result<(Vec<usize>, Vec<f32>), ExportError> {
        let t = st.tensor(name).map_err(|_| ExportError::Tensor {
            tensor: name.into(),
            msg: "missing".into(),
        })?;
        if t.dtype() != Dtype::F32 {
            return Err(ExportError::Tensor {
                tensor: name.into(),
                msg: format!("dtype {:?}, expected F32", t.dtype()),
            });
        }
        let v = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((t.shape().to_vec(), v))
    };
    let (s_ih, weight_ih) = get("weight_ih_l0")?;
    let (s_hh, weight_hh) = get("weight_hh_l0")?;
    let (_, bias_ih) = get("bias_ih_l0")?;
    let (_, bias_hh) = get("bias_hh_l0")?;
    let (s_fc, fc_weight) = get("fc.weight")?;
    let (_, fc_bias) = get("fc.bias")?;
    if s_ih.len() != 2 || s_hh.len() != 2 || s_fc.len() != 2 {
        return Err(ExportError::Tensor {
            tensor: "weight_ih_l0".into(),
            msg: "weights must be 2-D".into(),
        });
    }
    let p = Params {
        input_size: s_ih[1],
        hidden_size: s_hh[1],
        num_classes: s_fc[0],
        weight_ih,
        weight_hh,
        bias_ih,
        bias_hh,
        fc_weight,
        fc_bias,
    };
    for (name, shape, data) in named(&p) {
        let want: usize = shape.iter().product();
        if data.len() != want {
            return Err(ExportError::Tensor {
                tensor: name.into(),
                msg: format!(
                    "{} elements, expected {shape:?} (from I={}, H={}, C={})",
                    data.len(),
                    p.input_size,
                    p.hidden_size,
                    p.num_classes
                ),
            });
        }
    }
    Ok(p)
}

/// What the accelerator needs besides the weights, and how the model came about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Format tag, `spartus-train/1`.
    pub format: String,
    /// Dataset name (`@problemName`).
    pub dataset: String,
    /// SHA-256 of the training and test files.
    pub dataset_sha256: Vec<(String, String)>,
    /// Class labels in head-output order.
    pub class_labels: Vec<String>,
    /// Host-side input map; the accelerator gets `sat16(RNE(scaled · 256))`.
    pub input_scaling: InputScaling,
    /// Pooling of h for the head.
    pub pool: Pool,
    /// H.
    pub hidden_size: usize,
    /// N.
    pub pe_count: usize,
    /// γ_x used in training.
    pub gamma_x: f64,
    /// γ_h used in training.
    pub gamma_h: f64,
    /// K_x (kept W_x entries per column per PE).
    pub k_x: usize,
    /// K_h.
    pub k_h: usize,
    /// Θx in real (scaled-input) units.
    pub theta_x: f64,
    /// Θh in real units.
    pub theta_h: f64,
    /// Weight fraction bits.
    pub wfrac: u32,
    /// The training settings as JSON (see `train::TrainConfig`).
    pub train: serde_json::Value,
}

impl ModelMeta {
    /// Tag written to [`ModelMeta::format`].
    pub const FORMAT: &'static str = "spartus-train/1";

    /// The accelerator shape this model was trained for.
    pub fn accel(&self, input_size: usize) -> AccelSpec {
        AccelSpec {
            input_size,
            hidden_size: self.hidden_size,
            pe_count: self.pe_count,
            k_x: self.k_x,
            k_h: self.k_h,
            theta_x: self.theta_x,
            theta_h: self.theta_h,
            wfrac: self.wfrac,
        }
    }
}

/// The accelerator parameters a trained model fixes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccelSpec {
    /// I.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// N.
    pub pe_count: usize,
    /// K_x.
    pub k_x: usize,
    /// K_h.
    pub k_h: usize,
    /// Θx (real units).
    pub theta_x: f64,
    /// Θh (real units).
    pub theta_h: f64,
    /// Weight fraction bits.
    pub wfrac: u32,
}

/// The spartus-gen config of an accelerator. `name` must be a valid design name
/// (`[A-Za-z0-9_-]{1,64}`); `timesteps` sets the stimulus length of `gen`'s random test.
/// The config is validated (resolved) before it is returned.
pub fn gen_config(name: &str, a: &AccelSpec, timesteps: usize) -> Result<Config, ExportError> {
    let c = Config {
        name: name.to_string(),
        seed: 1,
        model: ModelConfig {
            input_size: a.input_size,
            hidden_size: a.hidden_size,
            layers: 1,
        },
        sparsity: SparsityConfig {
            pruning: Pruning::Cbtd,
            k_x: Some(a.k_x),
            k_h: Some(a.k_h),
            sparsity_x: None,
            sparsity_h: None,
            theta_x: a.theta_x,
            theta_h: a.theta_h,
        },
        hardware: HardwareConfig {
            pe_count: a.pe_count,
            arrays: 1,
            gate_lanes: 1,
            overlap: false,
            precision: Precision::Q88Int8,
            wfrac: a.wfrac,
            lut_shift: 0,
            lut_frac: 8,
            rounding: Rounding::Rne,
            bias_mode: BiasMode::Acc,
        },
        target: TargetConfig::default(),
        stimulus: StimulusConfig {
            timesteps,
            ..StimulusConfig::default()
        },
    };
    c.resolve()?;
    Ok(c)
}

/// Paths of an exported model `<dir>/<stem>.{safetensors,toml,meta.json}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPaths {
    /// Weights.
    pub weights: PathBuf,
    /// gen config.
    pub config: PathBuf,
    /// Metadata.
    pub meta: PathBuf,
}

impl ModelPaths {
    /// Paths beside a `.safetensors` path.
    pub fn from_weights(weights: &Path) -> Self {
        Self {
            weights: weights.to_path_buf(),
            config: weights.with_extension("toml"),
            meta: weights.with_extension("meta.json"),
        }
    }
    /// The design name derived from the file stem.
    pub fn stem(&self) -> String {
        self.weights
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("model")
            .to_string()
    }
}

/// Write weights, config and metadata.
pub fn save_model(
    paths: &ModelPaths,
    p: &Params,
    meta: &ModelMeta,
    timesteps: usize,
) -> Result<(), ExportError> {
    let cfg = gen_config(&paths.stem(), &meta.accel(p.input_size), timesteps)?;
    let header = format!(
        "# spartus-gen config for the {} classifier trained by spartus-train.\n\
         # Weights: {} (PyTorch nn.LSTM names; fc.* is the host-side head).\n\
         # Inputs must be scaled on the host as recorded in {} (input_scaling), then Q8.8.\n",
        meta.dataset,
        paths
            .weights
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or(""),
        paths
            .meta
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("")
    );
    write_atomic(&paths.weights, &to_safetensors(p)?)?;
    write_atomic(
        &paths.config,
        format!("{header}{}", cfg.to_toml()).as_bytes(),
    )?;
    write_atomic(&paths.meta, serde_json::to_string_pretty(meta)?.as_bytes())?;
    Ok(())
}

/// Read weights and metadata written by [`save_model`].
pub fn load_model(paths: &ModelPaths) -> Result<(Params, ModelMeta), ExportError> {
    let bytes = std::fs::read(&paths.weights).map_err(io_err(&paths.weights))?;
    let p = from_safetensors(&bytes)?;
    let text = std::fs::read_to_string(&paths.meta).map_err(io_err(&paths.meta))?;
    let meta: ModelMeta = serde_json::from_str(&text)?;
    Ok((p, meta))
}

/// Replay vectors of a whole test set for the RTL testbench, in the `docs/interfaces.md`
/// formats (one value per line, 4 lower-case hex digits, two's complement), all cases
/// concatenated in order:
///
/// - `x_q.hex`: Q8.8 scaled inputs, `Σ T_c · I` lines, `[case][t][j]`;
/// - `h_q.hex`: golden h, `Σ T_c · H` lines, `[case][t][k]`;
/// - `seq_lens.txt`: `T_c` per case, one per line (pulse `start_sequence` before each case);
/// - `labels.txt`: class index per case;
/// - `params.txt`: `timesteps Σ T_c`, `input_size`, `output_size`, `layers 1`, `sequences`.
pub fn write_test_vectors(
    dir: &Path,
    x_q: &[Vec<Vec<i16>>],
    h_q: &[Vec<Vec<i16>>],
    labels: &[usize],
    input_size: usize,
    hidden_size: usize,
) -> Result<(), ExportError> {
    let hex = |seqs: &[Vec<Vec<i16>>]| -> String {
        let mut s = String::new();
        for v in seqs.iter().flatten().flatten() {
            s.push_str(&format!("{:04x}\n", *v as u16));
        }
        s
    };
    let steps: usize = x_q.iter().map(Vec::len).sum();
    let lens: String = x_q.iter().map(|c| format!("{}\n", c.len())).collect();
    let labs: String = labels.iter().map(|l| format!("{l}\n")).collect();
    let params = format!(
        "timesteps {steps}\ninput_size {input_size}\noutput_size {hidden_size}\nlayers 1\nsequences {}\n",
        x_q.len()
    );
    write_atomic(&dir.join("x_q.hex"), hex(x_q).as_bytes())?;
    write_atomic(&dir.join("h_q.hex"), hex(h_q).as_bytes())?;
    write_atomic(&dir.join("seq_lens.txt"), lens.as_bytes())?;
    write_atomic(&dir.join("labels.txt"), labs.as_bytes())?;
    write_atomic(&dir.join("params.txt"), params.as_bytes())?;
    Ok(())
}
