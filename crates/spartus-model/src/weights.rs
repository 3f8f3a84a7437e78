//! Float LSTM parameters in PyTorch `nn.LSTM` layout, and their import from `.safetensors` and
//! `.npz` state dicts ([`load`], [`load_all_tensors`]), the config check ([`check_against`])
//! and a safetensors writer ([`save_safetensors`]).
//!
//! Every loader treats its input as hostile: declared sizes are checked against limits
//! ([`MAX_TENSOR_ELEMENTS`], [`MAX_TOTAL_ELEMENTS`]) and against the bytes actually present
//! before anything is allocated, and every failure is a typed [`WeightsError`] naming the
//! tensor concerned, never a panic (fuzzed: see `fuzz/README.md`).

/// One LSTM layer's float parameters, PyTorch layout, gate order i, f, g, o.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatLayer {
    /// I of this layer.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// `weight_ih_l{k}`: [4H, I] row-major.
    pub weight_ih: Vec<f64>,
    /// `weight_hh_l{k}`: [4H, H] row-major.
    pub weight_hh: Vec<f64>,
    /// `bias_ih_l{k}`: [4H].
    pub bias_ih: Vec<f64>,
    /// `bias_hh_l{k}`: [4H].
    pub bias_hh: Vec<f64>,
}

/// A stacked LSTM.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatNet {
    /// Layers, input first.
    pub layers: Vec<FloatLayer>,
}

// ---------------------------------------------------------------------------------------------
// Weight import: safetensors and npz readers, the safetensors writer, config checks.
// ---------------------------------------------------------------------------------------------
//
// Tensor naming rule (documented for users in `load`):
// a tensor is an *LSTM tensor* when the part of its name after the last `.` (all of it if there
// is no `.`) is `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}` or `bias_hh_l{k}` (k a
// decimal layer index without leading zeros), optionally with `_reverse`; `weight_hr_l{k}`
// (proj_size) is recognized too, only to be refused. Everything before it, including the
// last `.`, is the prefix (e.g. `lstm.` or `model.encoder.rnn.`); all LSTM tensors of a file must
// share one prefix. Other tensors (a classifier head `fc.weight`, ...) are ignored by `load` and
// returned by `load_all_tensors`.

use crate::config::Resolved;
use crate::npy::{self, NpyDtype, NpyError};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// Largest accepted element count of one tensor: 64 Mi (2^26), the largest matrix a valid
/// config needs (`4H × I` with H = I = 4096). Checked on the declared shape, before anything
/// is allocated.
pub const MAX_TENSOR_ELEMENTS: usize = npy::MAX_ELEMENTS;
/// Largest accepted total element count of all tensors decoded from one file: 256 Mi (2^28),
/// i.e. at most 2 GiB of f64. Bounds what a small compressed npz (a "zip bomb") can make us
/// decompress.
pub const MAX_TOTAL_ELEMENTS: usize = 1 << 28;
/// Largest weight file [`load`] reads: 8 GiB.
pub const MAX_FILE_BYTES: u64 = 8 << 30;
/// Largest accepted LSTM layer index + 1 in a weight file.
pub const MAX_FILE_LAYERS: usize = 64;

/// An error importing weights. Every message names the tensor (or file entry) concerned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// A file-level error, wrapping the error found inside it.
    #[error("{}: {source}", path.display())]
    File {
        /// The weight file.
        path: PathBuf,
        /// What went wrong inside it.
        source: Box<WeightsError>,
    },
    /// The file cannot be read.
    #[error("cannot read: {0}")]
    Io(String),
    /// The file name has an extension that is not a supported weight format.
    #[error(
        "unsupported weight file extension {0:?}: expected .safetensors or .npz (a PyTorch .pt/.pth \
         pickle is not read; convert it with safetensors.torch.save_file(model.state_dict(), \"w.safetensors\"))"
    )]
    Extension(String),
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("file is {size} bytes, more than the limit of {limit} bytes")]
    FileTooLarge {
        /// File size.
        size: u64,
        /// [`MAX_FILE_BYTES`].
        limit: u64,
    },
    /// The container (safetensors header, zip structure) is malformed or truncated.
    #[error("invalid {format} file: {msg}")]
    Format {
        /// `safetensors` or `npz`.
        format: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// An `.npy` entry of an npz archive is malformed.
    #[error("npz entry {entry:?}: {source}")]
    Npy {
        /// Entry name inside the archive, e.g. `lstm.weight_ih_l0.npy`.
        entry: String,
        /// The npy error.
        source: NpyError,
    },
    /// Two tensors (npz entries, safetensors header keys) have the same name.
    #[error(
        "duplicate tensor name {name:?} in {format} file (the second copy would silently win)"
    )]
    Duplicate {
        /// The duplicated name.
        name: String,
        /// `safetensors` or `npz`.
        format: &'static str,
    },
    /// A tensor's dtype cannot be used.
    #[error("tensor {name} has dtype {dtype}: {why}")]
    Dtype {
        /// Tensor name.
        name: String,
        /// dtype as named by the format (`I64`, `<i8`, ...).
        dtype: String,
        /// Why it is refused.
        why: String,
    },
    /// A tensor declares more elements than the limits allow.
    #[error("tensor {name} declares shape {shape:?} = {elements} elements, more than the limit of {limit}")]
    TooLarge {
        /// Tensor name.
        name: String,
        /// Declared shape.
        shape: Vec<u64>,
        /// Declared element count (saturated on overflow).
        elements: u64,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The tensors of one file together exceed [`MAX_TOTAL_ELEMENTS`].
    #[error(
        "tensors up to {name} hold {elements} elements in total, more than the limit of {limit}"
    )]
    TotalTooLarge {
        /// The tensor that crossed the limit.
        name: String,
        /// Running total.
        elements: u64,
        /// [`MAX_TOTAL_ELEMENTS`].
        limit: usize,
    },
    /// A NaN or infinite value.
    #[error("tensor {name}: element {index} (flat, row-major) is {value}; weights must be finite")]
    NonFinite {
        /// Tensor name.
        name: String,
        /// Flat row-major index.
        index: usize,
        /// The value (`NaN`, `inf`, `-inf`).
        value: f64,
    },
    /// An integer value that f64 cannot hold exactly (only in [`load_all_tensors`]).
    #[error("tensor {name}: element {index} = {value} is not exactly representable as f64")]
    Inexact {
        /// Tensor name.
        name: String,
        /// Flat row-major index.
        index: usize,
        /// The value as text.
        value: String,
    },
    /// No LSTM tensor at all.
    #[error(
        "no nn.LSTM tensors found (expected weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, \
         optionally with a common prefix such as lstm.); tensors present: {present}"
    )]
    NoLstm {
        /// Names present in the file (the first 20).
        present: String,
    },
    /// LSTM tensors with different prefixes (several LSTMs in one file).
    #[error("LSTM tensors have different prefixes {prefixes}; exactly one nn.LSTM per file is supported")]
    Prefixes {
        /// The prefixes found, quoted.
        prefixes: String,
    },
    /// An LSTM variant that the accelerator does not implement.
    #[error("tensor {name}: {what} is not supported")]
    Unsupported {
        /// Tensor name.
        name: String,
        /// The feature, e.g. `a bidirectional LSTM`.
        what: String,
    },
    /// A required tensor is absent.
    #[error("missing tensor {name} ({why})")]
    Missing {
        /// The full expected name (with prefix).
        name: String,
        /// Context.
        why: String,
    },
    /// A tensor has the wrong shape.
    #[error("{name} has shape {found:?}, expected {expected} ({why})")]
    Shape {
        /// Tensor name.
        name: String,
        /// Shape found.
        found: Vec<usize>,
        /// Shape expected, e.g. `[128, 32]`.
        expected: String,
        /// Where the expectation comes from.
        why: String,
    },
    /// The weights have a different number of layers than the config.
    #[error("weights have {found} LSTM layer(s) (weight_ih_l0..weight_ih_l{last}), the config says model.layers = {expected}")]
    LayerCount {
        /// Layers in the weights.
        found: usize,
        /// Highest layer index in the weights.
        last: usize,
        /// Layers in the config.
        expected: usize,
    },
}

/// A supported weight file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// `.safetensors` (HuggingFace; PyTorch `safetensors.torch.save_file(state_dict)`).
    Safetensors,
    /// `.npz` (`np.savez` / `np.savez_compressed` of the state dict as numpy arrays).
    Npz,
}

impl WeightFormat {
    /// The format for a file name, by extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<WeightFormat, WeightsError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "safetensors" => Ok(WeightFormat::Safetensors),
            "npz" => Ok(WeightFormat::Npz),
            _ => Err(WeightsError::File {
                path: path.to_path_buf(),
                source: Box::new(WeightsError::Extension(if ext.is_empty() {
                    String::new()
                } else {
                    format!(".{ext}")
                })),
            }),
        }
    }
}

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    /// A numpy-representable type (byte order in `Raw::big_endian`).
    Npy(NpyDtype),
    /// bfloat16 (safetensors only).
    Bf16,
}

/// One stored tensor before conversion.
struct Raw<'a> {
    name: String,
    /// The element type, or the dtype name if unsupported.
    elem: Result<Elem, String>,
    /// dtype as the format names it, for messages.
    dtype_name: String,
    big_endian: bool,
    shape: Vec<usize>,
    bytes: Cow<'a, [u8]>,
}

fn check_elements(name: &str, shape: &[u64]) -> Result<(), WeightsError> {
    let elements = shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .unwrap_or(u64::MAX);
    let biggest = shape.iter().copied().max().unwrap_or(0);
    if elements > MAX_TENSOR_ELEMENTS as u64 || biggest > MAX_TENSOR_ELEMENTS as u64 {
        return Err(WeightsError::TooLarge {
            name: name.to_string(),
            shape: shape.to_vec(),
            elements,
            limit: MAX_TENSOR_ELEMENTS,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// safetensors
// ---------------------------------------------------------------------------------------------

/// Header keys in file order, with the declared shapes and data end offsets, read without
/// deduplication so that a repeated key is an error (serde's maps keep the last copy silently).
struct HeaderKeys(Vec<(String, Option<Vec<u64>>, Option<u64>)>);

impl<'de> serde::Deserialize<'de> for HeaderKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = HeaderKeys;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<HeaderKeys, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    let v: serde_json::Value = m.next_value()?;
                    let shape = v
                        .get("shape")
                        .and_then(|s| s.as_array())
                        .map(|a| a.iter().map(|d| d.as_u64().unwrap_or(u64::MAX)).collect());
                    let end = v
                        .get("data_offsets")
                        .and_then(|o| o.get(1))
                        .and_then(|e| e.as_u64());
                    out.push((k, shape, end));
                }
                Ok(HeaderKeys(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn st_err(msg: impl Into<String>) -> WeightsError {
    WeightsError::Format {
        format: "safetensors",
        msg: msg.into(),
    }
}

/// Pre-pass over the JSON header: duplicate keys and element-count limits, with messages that
/// name the tensor (the `safetensors` crate then validates offsets and sizes).
fn safetensors_precheck(bytes: &[u8]) -> Result<(), WeightsError> {
    let Some(len) = bytes.get(..8) else {
        return Err(st_err(format!(
            "file is {} bytes, shorter than the 8-byte header length",
            bytes.len()
        )));
    };
    let n = u64::from_le_bytes(len.try_into().unwrap_or([0; 8]));
    let avail = (bytes.len() - 8) as u64;
    if n > avail {
        return Err(st_err(format!(
            "header length {n} exceeds the {avail} bytes that follow it (truncated file?)"
        )));
    }
    let header = &bytes[8..8 + n as usize];
    let keys: HeaderKeys = match serde_json::from_slice(header) {
        Ok(k) => k,
        // Let the crate produce its own message for malformed JSON.
        Err(_) => return Ok(()),
    };
    let mut seen = BTreeSet::new();
    let mut data_end = 0;
    for (name, shape, end) in &keys.0 {
        if !seen.insert(name.as_str()) {
            return Err(WeightsError::Duplicate {
                name: name.clone(),
                format: "safetensors",
            });
        }
        if let Some(shape) = shape {
            check_elements(name, shape)?;
        }
        data_end = data_end.max(end.unwrap_or(0));
    }
    let present = avail - n;
    if data_end > present {
        return Err(st_err(format!(
            "the header describes {data_end} bytes of tensor data, only {present} follow it (truncated file?)"
        )));
    }
    Ok(())
}

fn safetensors_raw<'a>(
    bytes: &'a [u8],
    want: &dyn Fn(&str) -> bool,
    names: &mut Vec<String>,
) -> Result<Vec<Raw<'a>>, WeightsError> {
    use safetensors::Dtype as D;
    safetensors_precheck(bytes)?;
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| st_err(e.to_string()))?;
    let mut out = Vec::new();
    for (name, view) in st.iter() {
        names.push(name.to_string());
        if !want(name) {
            continue;
        }
        let dtype = view.dtype();
        let elem = match dtype {
            D::BOOL => Ok(Elem::Npy(NpyDtype::Bool)),
            D::U8 => Ok(Elem::Npy(NpyDtype::U8)),
            D::I8 => Ok(Elem::Npy(NpyDtype::I8)),
            D::U16 => Ok(Elem::Npy(NpyDtype::U16)),
            D::I16 => Ok(Elem::Npy(NpyDtype::I16)),
            D::U32 => Ok(Elem::Npy(NpyDtype::U32)),
            D::I32 => Ok(Elem::Npy(NpyDtype::I32)),
            D::U64 => Ok(Elem::Npy(NpyDtype::U64)),
            D::I64 => Ok(Elem::Npy(NpyDtype::I64)),
            D::F16 => Ok(Elem::Npy(NpyDtype::F16)),
            D::F32 => Ok(Elem::Npy(NpyDtype::F32)),
            D::F64 => Ok(Elem::Npy(NpyDtype::F64)),
            D::BF16 => Ok(Elem::Bf16),
            other => Err(format!("{other:?}")),
        };
        let shape = view.shape().to_vec();
        check_elements(name, &shape.iter().map(|&d| d as u64).collect::<Vec<_>>())?;
        out.push(Raw {
            name: name.to_string(),
            elem,
            dtype_name: format!("{dtype:?}"),
            big_endian: false,
            shape,
            bytes: Cow::Borrowed(view.data()),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    names.sort();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// npz
// ---------------------------------------------------------------------------------------------

fn npz_err(msg: impl Into<String>) -> WeightsError {
    WeightsError::Format {
        format: "npz",
        msg: msg.into(),
    }
}

/// Names of all central-directory records starting at `start`, as stored (raw bytes). The zip
/// crate keeps only the last of several entries with one name, so duplicates are found here.
fn central_directory_names(bytes: &[u8], start: u64) -> Vec<&[u8]> {
    const SIG: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    let mut names = Vec::new();
    let Ok(mut pos) = usize::try_from(start) else {
        return names;
    };
    while let Some(rec) = bytes.get(pos..pos.saturating_add(46)) {
        if rec[..4] != SIG {
            break;
        }
        let u16_at = |o: usize| u16::from_le_bytes([rec[o], rec[o + 1]]) as usize;
        let (name_len, extra_len, comment_len) = (u16_at(28), u16_at(30), u16_at(32));
        let Some(name) = bytes.get(pos + 46..pos + 46 + name_len) else {
            break;
        };
        names.push(name);
        pos += 46 + name_len + extra_len + comment_len;
    }
    names
}

fn npz_raw(
    bytes: &[u8],
    want: &dyn Fn(&str) -> bool,
    names: &mut Vec<String>,
) -> Result<Vec<Raw<'static>>, WeightsError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| npz_err(e.to_string()))?;
    let mut seen = BTreeSet::new();
    for name in central_directory_names(bytes, zip.central_directory_start()) {
        if !seen.insert(name) {
            let name = String::from_utf8_lossy(name);
            return Err(WeightsError::Duplicate {
                name: name.strip_suffix(".npy").unwrap_or(&name).to_string(),
                format: "npz",
            });
        }
    }
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| npz_err(format!("entry {i}: {e}")))?;
        let entry = f.name().to_string();
        let Some(key) = entry.strip_suffix(".npy") else {
            // np.savez writes only `<key>.npy` entries; anything else is not a tensor.
            continue;
        };
        let key = key.to_string();
        names.push(key.clone());
        if f.is_dir() || !want(&key) {
            continue;
        }
        let npy_err = |source: NpyError| WeightsError::Npy {
            entry: entry.clone(),
            source,
        };
        let h = npy::read_header(&mut f).map_err(|e| match e {
            NpyError::TooLarge {
                shape, elements, ..
            } => WeightsError::TooLarge {
                name: key.clone(),
                shape,
                elements,
                limit: MAX_TENSOR_ELEMENTS,
            },
            e => npy_err(e),
        })?;
        let need = h.data_len();
        total += h.element_count() as u64;
        if total > MAX_TOTAL_ELEMENTS as u64 {
            return Err(WeightsError::TotalTooLarge {
                name: key,
                elements: total,
                limit: MAX_TOTAL_ELEMENTS,
            });
        }
        let length_err = |found: usize| {
            npy_err(NpyError::DataLength {
                shape: h.shape.clone(),
                dtype: h.descr.clone(),
                expected: need,
                found,
            })
        };
        let declared = f.size();
        if declared != (h.data_offset + need) as u64 {
            return Err(length_err(
                declared.saturating_sub(h.data_offset as u64) as usize
            ));
        }
        // Grow with the data actually produced (a deflate stream may lie about its size);
        // pre-reserve at most what the archive itself could hold uncompressed.
        let mut data = Vec::with_capacity(need.min(bytes.len()));
        (&mut f)
            .take(need as u64 + 1)
            .read_to_end(&mut data)
            .map_err(|e| npz_err(format!("entry {entry:?}: {e}")))?;
        if data.len() != need {
            return Err(length_err(data.len()));
        }
        out.push(Raw {
            name: key,
            elem: Ok(Elem::Npy(h.dtype)),
            dtype_name: h.descr.clone(),
            big_endian: h.big_endian,
            shape: h.shape.clone(),
            bytes: Cow::Owned(data),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    names.sort();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------------------------

/// Convert a stored tensor to f64. LSTM tensors (`float_only`) must have a float dtype; other
/// tensors may also be integers or bools if every value is exactly representable.
fn to_f64(raw: &Raw, float_only: bool) -> Result<Vec<f64>, WeightsError> {
    let dtype_err = |why: &str| WeightsError::Dtype {
        name: raw.name.clone(),
        dtype: raw.dtype_name.clone(),
        why: why.to_string(),
    };
    let values = match raw.elem {
        Err(_) => {
            return Err(dtype_err(
                "not supported (use F32, F64, F16 or BF16 for weights)",
            ))
        }
        Ok(Elem::Bf16) => raw
            .bytes
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16) as f64)
            .collect(),
        Ok(Elem::Npy(d)) if d.is_float() => npy::decode_float(d, raw.big_endian, &raw.bytes),
        Ok(Elem::Npy(d)) => {
            if float_only {
                return Err(dtype_err(
                    "LSTM weights and biases must be floating point (F32, F64, F16 or BF16)",
                ));
            }
            let ints = npy::decode_int(d, raw.big_endian, &raw.bytes).map_err(|i| {
                WeightsError::Inexact {
                    name: raw.name.clone(),
                    index: i,
                    value: "> 2^63".into(),
                }
            })?;
            const LIM: i64 = 1 << 53;
            if let Some(i) = ints.iter().position(|v| !(-LIM..=LIM).contains(v)) {
                return Err(WeightsError::Inexact {
                    name: raw.name.clone(),
                    index: i,
                    value: ints[i].to_string(),
                });
            }
            ints.into_iter().map(|v| v as f64).collect()
        }
    };
    if let Some(i) = values.iter().position(|v: &f64| !v.is_finite()) {
        return Err(WeightsError::NonFinite {
            name: raw.name.clone(),
            index: i,
            value: values[i],
        });
    }
    Ok(values)
}

// ---------------------------------------------------------------------------------------------
// LSTM assembly
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    WeightIh,
    WeightHh,
    BiasIh,
    BiasHh,
    WeightHr,
}

const KINDS: [(Kind, &str); 5] = [
    (Kind::WeightIh, "weight_ih"),
    (Kind::WeightHh, "weight_hh"),
    (Kind::BiasIh, "bias_ih"),
    (Kind::BiasHh, "bias_hh"),
    (Kind::WeightHr, "weight_hr"),
];

/// An LSTM tensor name split by the rule in the module docs.
struct LstmName<'a> {
    prefix: &'a str,
    kind: Kind,
    /// Layer index (saturated at usize::MAX).
    layer: usize,
    reverse: bool,
}

fn parse_lstm_name(name: &str) -> Option<LstmName<'_>> {
    let cut = name.rfind('.').map_or(0, |i| i + 1);
    let (prefix, base) = name.split_at(cut);
    for (kind, stem) in KINDS {
        let Some(rest) = base.strip_prefix(stem).and_then(|r| r.strip_prefix("_l")) else {
            continue;
        };
        let (digits, reverse) = match rest.strip_suffix("_reverse") {
            Some(d) => (d, true),
            None => (rest, false),
        };
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return None;
        }
        let layer = digits.parse::<usize>().unwrap_or(usize::MAX);
        return Some(LstmName {
            prefix,
            kind,
            layer,
            reverse,
        });
    }
    None
}

fn is_lstm_name(name: &str) -> bool {
    parse_lstm_name(name).is_some()
}

fn shape_err(name: &str, found: &[usize], expected: String, why: String) -> WeightsError {
    WeightsError::Shape {
        name: name.to_string(),
        found: found.to_vec(),
        expected,
        why,
    }
}

fn build_net(raws: &[Raw], all_names: &[String]) -> Result<FloatNet, WeightsError> {
    let mut by_key: BTreeMap<(usize, Kind), &Raw> = BTreeMap::new();
    let mut prefixes = BTreeSet::new();
    for raw in raws {
        let Some(p) = parse_lstm_name(&raw.name) else {
            continue;
        };
        prefixes.insert(p.prefix);
        if p.reverse {
            return Err(WeightsError::Unsupported {
                name: raw.name.clone(),
                what: "a bidirectional LSTM (bidirectional=True)".into(),
            });
        }
        if p.kind == Kind::WeightHr {
            return Err(WeightsError::Unsupported {
                name: raw.name.clone(),
                what: "an LSTM with projections (proj_size > 0)".into(),
            });
        }
        if p.layer >= MAX_FILE_LAYERS {
            return Err(WeightsError::Unsupported {
                name: raw.name.clone(),
                what: format!("a layer index >= {MAX_FILE_LAYERS}"),
            });
        }
        by_key.insert((p.layer, p.kind), raw);
    }
    if prefixes.len() > 1 {
        return Err(WeightsError::Prefixes {
            prefixes: prefixes
                .iter()
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let Some(prefix) = prefixes.into_iter().next() else {
        let mut present: Vec<&str> = all_names.iter().take(20).map(String::as_str).collect();
        if all_names.len() > 20 {
            present.push("...");
        }
        return Err(WeightsError::NoLstm {
            present: if present.is_empty() {
                "(none)".into()
            } else {
                present.join(", ")
            },
        });
    };
    let layers = by_key.keys().map(|(l, _)| l + 1).max().unwrap_or(0);
    let name_of = |kind: Kind, l: usize| {
        let stem = KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("", |(_, s)| *s);
        format!("{prefix}{stem}_l{l}")
    };
    // 1. Presence and dtypes of all four tensors of every layer.
    for l in 0..layers {
        for kind in [Kind::WeightIh, Kind::WeightHh, Kind::BiasIh, Kind::BiasHh] {
            let Some(raw) = by_key.get(&(l, kind)) else {
                let why = if matches!(kind, Kind::BiasIh | Kind::BiasHh) {
                    format!("layer {l} of {layers}; nn.LSTM(bias=False) is not supported")
                } else {
                    format!("layer {l} of {layers}; layers must be numbered contiguously from 0")
                };
                return Err(WeightsError::Missing {
                    name: name_of(kind, l),
                    why,
                });
            };
            if !matches!(
                raw.elem,
                Ok(Elem::Bf16) | Ok(Elem::Npy(NpyDtype::F16 | NpyDtype::F32 | NpyDtype::F64))
            ) {
                return Err(WeightsError::Dtype {
                    name: raw.name.clone(),
                    dtype: raw.dtype_name.clone(),
                    why: "LSTM weights and biases must be floating point (F32, F64, F16 or BF16)"
                        .into(),
                });
            }
        }
    }
    // 2. Shapes: I and H from weight_ih_l0, everything else must agree.
    let ih0 = by_key[&(0, Kind::WeightIh)];
    let (rows, input) = match ih0.shape[..] {
        [r, c] if r > 0 && r & 3 == 0 && c > 0 => (r, c),
        _ => {
            return Err(shape_err(
                &ih0.name,
                &ih0.shape,
                "[4H, I] with H >= 1, I >= 1".into(),
                "PyTorch nn.LSTM weight_ih_l0 is [4·hidden_size, input_size]".into(),
            ))
        }
    };
    let h = rows / 4;
    let src = &ih0.name;
    let mut net = FloatNet { layers: Vec::new() };
    for l in 0..layers {
        let i_l = if l == 0 { input } else { h };
        let expect = [
            (
                Kind::WeightIh,
                vec![4 * h, i_l],
                format!(
                    "4H x H with H = {h} from {src}: layer {l} takes layer {}'s h as input",
                    l.saturating_sub(1)
                ),
            ),
            (
                Kind::WeightHh,
                vec![4 * h, h],
                format!("4H x H with H = {h} from {src}"),
            ),
            (
                Kind::BiasIh,
                vec![4 * h],
                format!("4H with H = {h} from {src}"),
            ),
            (
                Kind::BiasHh,
                vec![4 * h],
                format!("4H with H = {h} from {src}"),
            ),
        ];
        for (kind, shape, why) in &expect {
            if l == 0 && *kind == Kind::WeightIh {
                continue;
            }
            let raw = by_key[&(l, *kind)];
            if raw.shape != *shape {
                return Err(shape_err(
                    &raw.name,
                    &raw.shape,
                    format!("{shape:?}"),
                    why.clone(),
                ));
            }
        }
        // 3. Values.
        let get = |kind: Kind| to_f64(by_key[&(l, kind)], true);
        net.layers.push(FloatLayer {
            input_size: i_l,
            hidden_size: h,
            weight_ih: get(Kind::WeightIh)?,
            weight_hh: get(Kind::WeightHh)?,
            bias_ih: get(Kind::BiasIh)?,
            bias_hh: get(Kind::BiasHh)?,
        });
    }
    Ok(net)
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

fn read_file(path: &Path) -> Result<Vec<u8>, WeightsError> {
    let wrap = |e: WeightsError| WeightsError::File {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let meta = std::fs::metadata(path).map_err(|e| wrap(WeightsError::Io(e.to_string())))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(wrap(WeightsError::FileTooLarge {
            size: meta.len(),
            limit: MAX_FILE_BYTES,
        }));
    }
    std::fs::read(path).map_err(|e| wrap(WeightsError::Io(e.to_string())))
}

fn with_path<T>(path: &Path, r: Result<T, WeightsError>) -> Result<T, WeightsError> {
    r.map_err(|e| match e {
        e @ WeightsError::File { .. } => e,
        e => WeightsError::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        },
    })
}

fn raw_tensors<'a>(
    format: WeightFormat,
    bytes: &'a [u8],
    want: &dyn Fn(&str) -> bool,
    names: &mut Vec<String>,
) -> Result<Vec<Raw<'a>>, WeightsError> {
    match format {
        WeightFormat::Safetensors => safetensors_raw(bytes, want, names),
        WeightFormat::Npz => npz_raw(bytes, want, names),
    }
}

/// Read the `nn.LSTM` parameters of an in-memory weight file of the given format.
/// See [`load`] for the rules.
pub fn load_bytes(format: WeightFormat, bytes: &[u8]) -> Result<FloatNet, WeightsError> {
    let mut names = Vec::new();
    let raws = raw_tensors(format, bytes, &is_lstm_name, &mut names)?;
    build_net(&raws, &names)
}

/// Read a PyTorch `nn.LSTM` state dict from a `.safetensors` or `.npz` file (by extension,
/// case-insensitive; anything else is an error naming the path and the allowed extensions).
///
/// Tensors `weight_ih_l{k}` [4H, I], `weight_hh_l{k}` [4H, H], `bias_ih_l{k}` [4H] and
/// `bias_hh_l{k}` [4H] are read for k = 0, 1, ... (as many layers as present; they must be
/// contiguous from 0, all four tensors per layer). Names may carry a common prefix: a tensor is
/// an LSTM tensor when the part of its name after the last `.` is one of those names, and all
/// LSTM tensors must share the part before it (e.g. `lstm.` or `model.rnn.`). Other tensors
/// (e.g. a classifier head `fc.weight`) are ignored here and returned by [`load_all_tensors`].
///
/// I and H are inferred from `weight_ih_l0`; every other tensor must agree (layer k > 0 has
/// I = H). dtypes F32, F64, F16 and BF16 are converted exactly to f64; integer dtypes, NaN and
/// infinities are errors. Bidirectional LSTMs and `proj_size > 0` are refused.
///
/// Limits (checked on declared sizes before allocating): [`MAX_TENSOR_ELEMENTS`] per tensor,
/// [`MAX_TOTAL_ELEMENTS`] per file, [`MAX_FILE_BYTES`] per file, [`MAX_FILE_LAYERS`] layers.
/// Malformed or truncated input gives an error, never a panic.
pub fn load(path: &Path) -> Result<FloatNet, WeightsError> {
    let format = WeightFormat::from_path(path)?;
    let bytes = read_file(path)?;
    with_path(path, load_bytes(format, &bytes))
}

/// Read the LSTM parameters of an in-memory `.safetensors` file (see [`load`]).
pub fn load_safetensors_bytes(bytes: &[u8]) -> Result<FloatNet, WeightsError> {
    load_bytes(WeightFormat::Safetensors, bytes)
}

/// Read the LSTM parameters of an in-memory `.npz` file (see [`load`]). Entries are
/// `<name>.npy` (stored or deflated, as `np.savez` / `np.savez_compressed` write them);
/// entries with other names are ignored; two entries with one name are an error.
pub fn load_npz_bytes(bytes: &[u8]) -> Result<FloatNet, WeightsError> {
    load_bytes(WeightFormat::Npz, bytes)
}

/// All tensors of a weight file, name → (shape, row-major values as f64).
pub type TensorMap = BTreeMap<String, (Vec<usize>, Vec<f64>)>;

/// Read every tensor of an in-memory weight file: name (as stored, with any prefix; npz keys
/// without `.npy`) → (shape, values). Float dtypes are converted exactly; integer and bool
/// tensors too, if every value is within ±2^53. NaN / infinite values are errors; the limits
/// of [`load`] apply.
pub fn load_all_tensors_bytes(
    format: WeightFormat,
    bytes: &[u8],
) -> Result<TensorMap, WeightsError> {
    let mut names = Vec::new();
    let raws = raw_tensors(format, bytes, &|_| true, &mut names)?;
    let mut out = TensorMap::new();
    let mut total = 0u64;
    for raw in &raws {
        total += raw.shape.iter().product::<usize>() as u64;
        if total > MAX_TOTAL_ELEMENTS as u64 {
            return Err(WeightsError::TotalTooLarge {
                name: raw.name.clone(),
                elements: total,
                limit: MAX_TOTAL_ELEMENTS,
            });
        }
        out.insert(raw.name.clone(), (raw.shape.clone(), to_f64(raw, false)?));
    }
    Ok(out)
}

/// Read every tensor of a `.safetensors` or `.npz` file (see [`load_all_tensors_bytes`]), e.g.
/// to read a classifier head (`fc.weight`, `fc.bias`) stored next to the LSTM.
pub fn load_all_tensors(path: &Path) -> Result<TensorMap, WeightsError> {
    let format = WeightFormat::from_path(path)?;
    let bytes = read_file(path)?;
    with_path(path, load_all_tensors_bytes(format, &bytes))
}

/// Check that the weights fit the config: same number of layers, and per layer
/// `weight_ih_l{k}` = [4H, I] (I = `model.input_size` for layer 0, H after), `weight_hh_l{k}` =
/// [4H, H], biases [4H], with H = `model.hidden_size`. Also checks that each layer's vectors
/// have the lengths its sizes imply (a hand-built [`FloatNet`] may not).
pub fn check_against(net: &FloatNet, resolved: &Resolved) -> Result<(), WeightsError> {
    let want = &resolved.layers;
    if net.layers.len() != want.len() {
        return Err(WeightsError::LayerCount {
            found: net.layers.len(),
            last: net.layers.len().saturating_sub(1),
            expected: want.len(),
        });
    }
    let (cfg_i, cfg_h) = (resolved.i(), resolved.h());
    for (l, (layer, dims)) in net.layers.iter().zip(want).enumerate() {
        let (i, h) = (layer.input_size, layer.hidden_size);
        let (wi, wh) = (dims.input_size, dims.hidden_size);
        let input_src = if l == 0 {
            format!("I = model.input_size = {cfg_i}")
        } else {
            format!("I = H: layer {l} takes layer {}'s h as input", l - 1)
        };
        let checks = [
            (
                "weight_ih",
                vec![4 * h, i],
                vec![4 * wh, wi],
                format!("4H x I with H = model.hidden_size = {cfg_h}, {input_src}"),
            ),
            (
                "weight_hh",
                vec![4 * h, h],
                vec![4 * wh, wh],
                format!("4H x H with H = model.hidden_size = {cfg_h}"),
            ),
            (
                "bias_ih",
                vec![4 * h],
                vec![4 * wh],
                format!("4H with H = model.hidden_size = {cfg_h}"),
            ),
            (
                "bias_hh",
                vec![4 * h],
                vec![4 * wh],
                format!("4H with H = model.hidden_size = {cfg_h}"),
            ),
        ];
        for (stem, found, expected, why) in checks {
            if found != expected {
                return Err(shape_err(
                    &format!("{stem}_l{l}"),
                    &found,
                    format!("{expected:?}"),
                    why,
                ));
            }
        }
        let lens = [
            ("weight_ih", layer.weight_ih.len(), 4 * h * i),
            ("weight_hh", layer.weight_hh.len(), 4 * h * h),
            ("bias_ih", layer.bias_ih.len(), 4 * h),
            ("bias_hh", layer.bias_hh.len(), 4 * h),
        ];
        for (stem, len, need) in lens {
            if len != need {
                return Err(WeightsError::Shape {
                    name: format!("{stem}_l{l}"),
                    found: vec![len],
                    expected: format!("[{need}]"),
                    why: format!("flat value count of the layer's declared sizes I = {i}, H = {h}"),
                });
            }
        }
    }
    Ok(())
}

/// Serialize a network as a `.safetensors` file with PyTorch `nn.LSTM` names (`weight_ih_l0`,
/// ...; no prefix), values rounded to f32. Deterministic (the format sorts tensors by dtype and
/// name); byte-identical to `safetensors.numpy.save_file` of the same f32 arrays. Values beyond
/// the f32 range become ±inf (which [`load`] then refuses).
///
/// # Panics
/// If a layer's vectors do not have the lengths its `input_size` / `hidden_size` imply.
pub fn save_safetensors(net: &FloatNet) -> Vec<u8> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (l, layer) in net.layers.iter().enumerate() {
        let (i, h) = (layer.input_size, layer.hidden_size);
        for (stem, shape, values) in [
            ("weight_ih", vec![4 * h, i], &layer.weight_ih),
            ("weight_hh", vec![4 * h, h], &layer.weight_hh),
            ("bias_ih", vec![4 * h], &layer.bias_ih),
            ("bias_hh", vec![4 * h], &layer.bias_hh),
        ] {
            let n: usize = shape.iter().product();
            assert_eq!(
                values.len(),
                n,
                "save_safetensors: {stem}_l{l} has {} values, shape {shape:?} needs {n}",
                values.len()
            );
            let bytes = values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect();
            tensors.push((format!("{stem}_l{l}"), shape, bytes));
        }
    }
    let views = tensors.iter().map(|(name, shape, bytes)| {
        let view =
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .expect("shape and byte length agree (checked above)");
        (name.as_str(), view)
    });
    safetensors::serialize(views, None).expect("serializing checked f32 tensors cannot fail")
}
