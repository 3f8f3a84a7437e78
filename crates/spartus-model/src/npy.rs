//! Minimal NumPy `.npy` reader and writer (format versions 1.0, 2.0 and 3.0).
//!
//! Format (numpy `lib/format.py`): the magic `\x93NUMPY`, a major and minor version byte, the
//! header length (u16 LE for v1, u32 LE for v2/v3), then the header: a Python dict literal
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }` padded with spaces and ended by
//! `\n`, then the raw array data in C order.
//!
//! Reader rules (hostile input never panics and never makes a large allocation that the input
//! does not back):
//! - the header is at most [`MAX_HEADER_LEN`] bytes, holds exactly the keys `descr`,
//!   `fortran_order` and `shape`, each once; only whitespace may follow the closing `}`;
//! - `descr` is one of `b1`, `i1`/`u1`, `i2`/`u2`, `i4`/`u4`, `i8`/`u8`, `f2`, `f4`, `f8` with
//!   byte order `<`, `>` or `|` (`|` only for one-byte types); structured, string, complex and
//!   object dtypes are rejected;
//! - `fortran_order` must be `False` (C order only);
//! - at most [`MAX_NDIM`] dimensions and at most [`MAX_ELEMENTS`] elements (checked with
//!   overflow-checked arithmetic before anything is allocated);
//! - the data after the header must be exactly `elements × itemsize` bytes long (a shorter
//!   file is truncated, a longer one has trailing garbage: both are errors).
//!
//! Writer: the header is byte-identical to what numpy (1.x and 2.x) writes for the same array:
//! keys sorted, the numpy "growth" spare space after the dict, padded with spaces so that the
//! data starts at a multiple of 64 bytes, version 1.0 (2.0 only if the header needs it).
//! Identical input gives identical bytes.

use std::io::Read;

/// Largest accepted header length in bytes (numpy's own `np.load` default limit is 10000).
pub const MAX_HEADER_LEN: usize = 1 << 16;
/// Largest accepted number of dimensions (numpy 2 allows 64).
pub const MAX_NDIM: usize = 64;
/// Largest accepted element count of one array: 64 Mi (2^26). This is exactly the largest
/// weight matrix a valid config can need (4H × I with H = I = 4096).
pub const MAX_ELEMENTS: usize = 1 << 26;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy's `ARRAY_ALIGN`: the data starts at a multiple of this.
const ARRAY_ALIGN: usize = 64;
/// numpy's `GROWTH_AXIS_MAX_DIGITS`: spare header space so a file can grow in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// An error reading a `.npy` file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NpyError {
    /// The input is shorter than the part being read.
    #[error("npy truncated: {0}")]
    Truncated(String),
    /// The magic string or version is wrong.
    #[error("not an npy file: {0}")]
    BadMagic(String),
    /// The header dict is malformed or has wrong / missing / duplicate keys.
    #[error("malformed npy header: {0}")]
    BadHeader(String),
    /// The dtype is not one this reader accepts.
    #[error("unsupported npy dtype {descr:?}: {why}")]
    UnsupportedDtype {
        /// The `descr` value as written.
        descr: String,
        /// Why it is refused.
        why: String,
    },
    /// `fortran_order` is `True`.
    #[error("npy array is in Fortran (column-major) order; only C order is supported (save with np.ascontiguousarray)")]
    FortranOrder,
    /// The declared shape is too large.
    #[error("npy shape {shape:?} declares {elements} elements, more than the limit of {limit}")]
    TooLarge {
        /// Declared shape (as far as it was parsed).
        shape: Vec<u64>,
        /// Element count (saturated at u64::MAX on overflow).
        elements: u64,
        /// The limit, [`MAX_ELEMENTS`].
        limit: usize,
    },
    /// The data part is shorter or longer than the header says.
    #[error("npy data is {found} bytes, the header (shape {shape:?}, dtype {dtype}) needs exactly {expected}")]
    DataLength {
        /// Shape from the header.
        shape: Vec<usize>,
        /// Dtype from the header.
        dtype: String,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The array has a shape the caller does not accept.
    #[error("npy array has shape {found:?}, expected {expected}")]
    Shape {
        /// The shape found.
        found: Vec<usize>,
        /// What was expected, in words.
        expected: String,
    },
    /// A value cannot be used (not finite, or an integer not exactly representable).
    #[error("npy element {index} (flat, row-major) is {value}: {why}")]
    BadValue {
        /// Flat index.
        index: usize,
        /// The value as text.
        value: String,
        /// Why it is refused.
        why: String,
    },
    /// An I/O error while streaming the header (other than end of input).
    #[error("npy read error: {0}")]
    Io(String),
}

/// Element type of an npy array (byte order is kept separately in [`NpyHeader`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// `b1`: numpy bool (one byte, 0 or 1).
    Bool,
    /// `i1`: int8.
    I8,
    /// `i2`: int16.
    I16,
    /// `i4`: int32.
    I32,
    /// `i8`: int64.
    I64,
    /// `u1`: uint8.
    U8,
    /// `u2`: uint16.
    U16,
    /// `u4`: uint32.
    U32,
    /// `u8`: uint64.
    U64,
    /// `f2`: IEEE half.
    F16,
    /// `f4`: float32.
    F32,
    /// `f8`: float64.
    F64,
}

impl NpyDtype {
    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            NpyDtype::Bool | NpyDtype::I8 | NpyDtype::U8 => 1,
            NpyDtype::I16 | NpyDtype::U16 | NpyDtype::F16 => 2,
            NpyDtype::I32 | NpyDtype::U32 | NpyDtype::F32 => 4,
            NpyDtype::I64 | NpyDtype::U64 | NpyDtype::F64 => 8,
        }
    }

    /// True for `f2`, `f4`, `f8`.
    pub fn is_float(self) -> bool {
        matches!(self, NpyDtype::F16 | NpyDtype::F32 | NpyDtype::F64)
    }

    /// numpy type code without byte order, e.g. `f4`.
    pub fn code(self) -> &'static str {
        match self {
            NpyDtype::Bool => "b1",
            NpyDtype::I8 => "i1",
            NpyDtype::I16 => "i2",
            NpyDtype::I32 => "i4",
            NpyDtype::I64 => "i8",
            NpyDtype::U8 => "u1",
            NpyDtype::U16 => "u2",
            NpyDtype::U32 => "u4",
            NpyDtype::U64 => "u8",
            NpyDtype::F16 => "f2",
            NpyDtype::F32 => "f4",
            NpyDtype::F64 => "f8",
        }
    }

    fn from_code(code: &str) -> Option<NpyDtype> {
        Some(match code {
            "b1" | "?" => NpyDtype::Bool,
            "i1" => NpyDtype::I8,
            "i2" => NpyDtype::I16,
            "i4" => NpyDtype::I32,
            "i8" => NpyDtype::I64,
            "u1" => NpyDtype::U8,
            "u2" => NpyDtype::U16,
            "u4" => NpyDtype::U32,
            "u8" => NpyDtype::U64,
            "f2" => NpyDtype::F16,
            "f4" => NpyDtype::F32,
            "f8" => NpyDtype::F64,
            _ => return None,
        })
    }
}

/// A parsed and validated npy header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: NpyDtype,
    /// True for `>` (big-endian) data.
    pub big_endian: bool,
    /// Shape (C order). Always `fortran_order = False` (True is an error).
    pub shape: Vec<usize>,
    /// Offset of the data from the start of the file (magic + version + length + header).
    pub data_offset: usize,
    /// `descr` as written, e.g. `<f4`.
    pub descr: String,
}

impl NpyHeader {
    /// Number of elements (product of the shape; validated to be at most [`MAX_ELEMENTS`]).
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }

    /// Number of data bytes the header declares.
    pub fn data_len(&self) -> usize {
        self.element_count() * self.dtype.itemsize()
    }
}

/// Array data, widened: floats to f64, integers and bools to i64.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// From `f2`, `f4`, `f8` (exact conversion).
    F64(Vec<f64>),
    /// From `b1`, `i1`..`i8`, `u1`..`u8` (`u8` values above `i64::MAX` are an error).
    I64(Vec<i64>),
}

/// A whole array read from an `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Shape (C order).
    pub shape: Vec<usize>,
    /// Stored element type.
    pub dtype: NpyDtype,
    /// Values in row-major order.
    pub data: NpyData,
}

fn read_exact_or<R: Read>(r: &mut R, buf: &mut [u8], what: &str) -> Result<(), NpyError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            NpyError::Truncated(format!("input ends inside the {what}"))
        } else {
            NpyError::Io(e.to_string())
        }
    })
}

/// Read and validate the magic, version and header from a stream, leaving the stream at the
/// first data byte. At most `12 + MAX_HEADER_LEN` bytes are read and allocated.
pub fn read_header<R: Read>(r: &mut R) -> Result<NpyHeader, NpyError> {
    let mut pre = [0u8; 8];
    read_exact_or(r, &mut pre, "magic string")?;
    if &pre[..6] != MAGIC {
        return Err(NpyError::BadMagic(format!(
            "the file starts with {:02x?}, not \\x93NUMPY",
            &pre[..6]
        )));
    }
    let (major, minor) = (pre[6], pre[7]);
    let (len, prefix) = match (major, minor) {
        (1, 0) => {
            let mut b = [0u8; 2];
            read_exact_or(r, &mut b, "header length")?;
            (u16::from_le_bytes(b) as usize, 10)
        }
        (2, 0) | (3, 0) => {
            let mut b = [0u8; 4];
            read_exact_or(r, &mut b, "header length")?;
            let n = u32::from_le_bytes(b);
            (usize::try_from(n).unwrap_or(usize::MAX), 12)
        }
        _ => {
            return Err(NpyError::BadMagic(format!(
                "format version {major}.{minor} is not 1.0, 2.0 or 3.0"
            )))
        }
    };
    if len > MAX_HEADER_LEN {
        return Err(NpyError::BadHeader(format!(
            "header length {len} exceeds the limit of {MAX_HEADER_LEN} bytes"
        )));
    }
    let mut text = vec![0u8; len];
    read_exact_or(r, &mut text, "header")?;
    let (descr, fortran, shape) = parse_dict(&text)?;
    if fortran {
        return Err(NpyError::FortranOrder);
    }
    let (dtype, big_endian) = parse_descr(&descr)?;
    if shape.len() > MAX_NDIM {
        return Err(NpyError::BadHeader(format!(
            "shape has {} dimensions, the limit is {MAX_NDIM}",
            shape.len()
        )));
    }
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .unwrap_or(u64::MAX);
    if elements > MAX_ELEMENTS as u64 {
        return Err(NpyError::TooLarge {
            shape,
            elements,
            limit: MAX_ELEMENTS,
        });
    }
    // Every dimension is now <= MAX_ELEMENTS unless some dimension is 0; a zero-sized array
    // may still declare an absurd other dimension, which we refuse as well.
    if let Some(&d) = shape.iter().find(|&&d| d > MAX_ELEMENTS as u64) {
        return Err(NpyError::BadHeader(format!(
            "dimension {d} in shape {shape:?} exceeds the limit of {MAX_ELEMENTS}"
        )));
    }
    Ok(NpyHeader {
        dtype,
        big_endian,
        shape: shape.iter().map(|&d| d as usize).collect(),
        data_offset: prefix + len,
        descr,
    })
}

/// Parse the header of an in-memory `.npy` file (see [`read_header`]).
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, NpyError> {
    let mut r = bytes;
    read_header(&mut r)
}

fn parse_descr(descr: &str) -> Result<(NpyDtype, bool), NpyError> {
    let unsupported = |why: &str| NpyError::UnsupportedDtype {
        descr: descr.to_string(),
        why: why.to_string(),
    };
    let mut chars = descr.chars();
    let order = chars.next().ok_or_else(|| unsupported("empty descr"))?;
    let code = chars.as_str();
    let dtype = NpyDtype::from_code(code).ok_or_else(|| {
        unsupported(
            "accepted are b1, i1, i2, i4, i8, u1, u2, u4, u8, f2, f4, f8 with byte order <, > or |",
        )
    })?;
    let big = match order {
        '<' => false,
        '>' => true,
        '|' if dtype.itemsize() == 1 => false,
        '|' => {
            return Err(unsupported(
                "'|' (not applicable) byte order on a multi-byte type",
            ))
        }
        _ => return Err(unsupported("the byte order must be '<', '>' or '|'")),
    };
    Ok((dtype, big))
}

/// A tiny parser for the Python dict literal numpy writes.
struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn err(&self, msg: &str) -> NpyError {
        NpyError::BadHeader(format!(
            "{msg} at byte {} of {:?}",
            self.pos,
            String::from_utf8_lossy(&self.s[..self.s.len().min(200)]).trim_end()
        ))
    }
    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }
    fn string(&mut self) -> Result<String, NpyError> {
        self.ws();
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.err("expected a quoted string")),
        };
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == q {
                let v = &self.s[start..self.pos];
                self.pos += 1;
                return String::from_utf8(v.to_vec())
                    .map_err(|_| self.err("string is not valid UTF-8"));
            }
            if c == b'\\' || c == b'\n' {
                return Err(self.err("escapes and newlines are not supported in strings"));
            }
            self.pos += 1;
        }
        Err(self.err("unterminated string"))
    }
    fn word(&mut self) -> &'a [u8] {
        self.ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.s[start..self.pos]
    }
    fn int(&mut self) -> Result<u64, NpyError> {
        let w = self.word();
        // Python 2 era numpy wrote longs with an `L` suffix, e.g. `(5L,)`.
        let digits = w.strip_suffix(b"L").unwrap_or(w);
        if digits.is_empty()
            || !digits.iter().all(u8::is_ascii_digit)
            || (digits.len() > 1 && digits[0] == b'0')
        {
            return Err(self.err("expected a non-negative integer"));
        }
        std::str::from_utf8(digits)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| self.err("dimension does not fit in 64 bits"))
    }
    fn shape(&mut self) -> Result<Vec<u64>, NpyError> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        if self.eat(b')') {
            return Ok(dims);
        }
        loop {
            if dims.len() > MAX_NDIM {
                return Err(self.err(&format!("more than {MAX_NDIM} dimensions")));
            }
            dims.push(self.int()?);
            if self.eat(b')') {
                if dims.len() == 1 {
                    return Err(self.err("a one-element tuple needs a trailing comma"));
                }
                return Ok(dims);
            }
            self.expect(b',')?;
            if self.eat(b')') {
                return Ok(dims);
            }
        }
    }
}

fn parse_dict(text: &[u8]) -> Result<(String, bool, Vec<u64>), NpyError> {
    let mut lx = Lexer { s: text, pos: 0 };
    lx.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if lx.eat(b'}') {
            break;
        }
        let key = lx.string()?;
        lx.expect(b':')?;
        match key.as_str() {
            "descr" if descr.is_none() => {
                lx.ws();
                if lx.peek() == Some(b'[') {
                    return Err(NpyError::UnsupportedDtype {
                        descr: "[...]".into(),
                        why: "structured dtypes are not supported".into(),
                    });
                }
                descr = Some(lx.string()?);
            }
            "fortran_order" if fortran.is_none() => {
                fortran = Some(match lx.word() {
                    b"True" => true,
                    b"False" => false,
                    _ => return Err(lx.err("fortran_order must be True or False")),
                });
            }
            "shape" if shape.is_none() => shape = Some(lx.shape()?),
            "descr" | "fortran_order" | "shape" => {
                return Err(lx.err(&format!("duplicate key {key:?}")))
            }
            _ => {
                return Err(lx.err(&format!(
                    "unexpected key {key:?} (only descr, fortran_order, shape are allowed)"
                )))
            }
        }
        if lx.eat(b'}') {
            break;
        }
        lx.expect(b',')?;
    }
    lx.ws();
    if lx.pos != text.len() {
        return Err(lx.err("unexpected text after the closing '}'"));
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        (d, f, s) => {
            let missing: Vec<&str> = [
                ("descr", d.is_none()),
                ("fortran_order", f.is_none()),
                ("shape", s.is_none()),
            ]
            .iter()
            .filter(|(_, m)| *m)
            .map(|(k, _)| *k)
            .collect();
            Err(NpyError::BadHeader(format!(
                "missing key(s) {}",
                missing.join(", ")
            )))
        }
    }
}

fn chunk<const N: usize>(b: &[u8], big: bool) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    if big {
        a.reverse();
    }
    a
}

/// IEEE binary16 bits to f64 (exact).
pub(crate) fn f16_bits_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}

/// Decode raw element bytes of a float dtype to f64. `bytes.len()` must be a multiple of the
/// item size (guaranteed by the callers' length checks).
pub(crate) fn decode_float(dtype: NpyDtype, big: bool, bytes: &[u8]) -> Vec<f64> {
    let n = dtype.itemsize();
    let it = bytes.chunks_exact(n);
    match dtype {
        NpyDtype::F16 => it
            .map(|c| f16_bits_to_f64(u16::from_le_bytes(chunk(c, big))))
            .collect(),
        NpyDtype::F32 => it
            .map(|c| f32::from_le_bytes(chunk(c, big)) as f64)
            .collect(),
        NpyDtype::F64 => it.map(|c| f64::from_le_bytes(chunk(c, big))).collect(),
        _ => Vec::new(),
    }
}

/// Decode raw element bytes of an integer or bool dtype to i64; `u8` values above `i64::MAX`
/// give `Err(flat index)`.
pub(crate) fn decode_int(dtype: NpyDtype, big: bool, bytes: &[u8]) -> Result<Vec<i64>, usize> {
    let n = dtype.itemsize();
    let it = bytes.chunks_exact(n);
    Ok(match dtype {
        NpyDtype::Bool | NpyDtype::U8 => bytes.iter().map(|&b| b as i64).collect(),
        NpyDtype::I8 => bytes.iter().map(|&b| b as i8 as i64).collect(),
        NpyDtype::I16 => it
            .map(|c| i16::from_le_bytes(chunk(c, big)) as i64)
            .collect(),
        NpyDtype::U16 => it
            .map(|c| u16::from_le_bytes(chunk(c, big)) as i64)
            .collect(),
        NpyDtype::I32 => it
            .map(|c| i32::from_le_bytes(chunk(c, big)) as i64)
            .collect(),
        NpyDtype::U32 => it
            .map(|c| u32::from_le_bytes(chunk(c, big)) as i64)
            .collect(),
        NpyDtype::I64 => it.map(|c| i64::from_le_bytes(chunk(c, big))).collect(),
        NpyDtype::U64 => {
            let mut out = Vec::with_capacity(bytes.len() / 8);
            for (i, c) in it.enumerate() {
                out.push(i64::try_from(u64::from_le_bytes(chunk(c, big))).map_err(|_| i)?);
            }
            out
        }
        NpyDtype::F16 | NpyDtype::F32 | NpyDtype::F64 => Vec::new(),
    })
}

/// Read a whole `.npy` file from memory. Floats become f64, integers and bools i64.
/// Non-finite floats are returned as they are (see [`read_f64_2d`] for a checked reader).
pub fn read_array(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    let h = parse_header(bytes)?;
    let data = bytes.get(h.data_offset..).unwrap_or(&[]);
    let need = h.data_len();
    if data.len() != need {
        return Err(NpyError::DataLength {
            shape: h.shape.clone(),
            dtype: h.descr.clone(),
            expected: need,
            found: data.len(),
        });
    }
    let values = if h.dtype.is_float() {
        NpyData::F64(decode_float(h.dtype, h.big_endian, data))
    } else {
        NpyData::I64(
            decode_int(h.dtype, h.big_endian, data).map_err(|i| NpyError::BadValue {
                index: i,
                value: "> i64::MAX".into(),
                why: "uint64 value does not fit in int64".into(),
            })?,
        )
    };
    Ok(NpyArray {
        shape: h.shape,
        dtype: h.dtype,
        data: values,
    })
}

/// Read a 2-D numeric `.npy` array (e.g. an input sequence `[T, I]`) as f64, row-major.
///
/// Accepts float (`f2`, `f4`, `f8`) and integer (`i1`..`i8`, `u1`..`u8`) dtypes, C order,
/// exactly two dimensions. Refuses bool arrays, non-finite values and integers beyond ±2^53
/// (not exactly representable in f64); errors name the flat index.
pub fn read_f64_2d(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>), NpyError> {
    let a = read_array(bytes)?;
    if a.shape.len() != 2 {
        return Err(NpyError::Shape {
            found: a.shape,
            expected: "2 dimensions".into(),
        });
    }
    if a.dtype == NpyDtype::Bool {
        return Err(NpyError::UnsupportedDtype {
            descr: "|b1".into(),
            why: "a bool array is not numeric data".into(),
        });
    }
    let values = match a.data {
        NpyData::F64(v) => {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(NpyError::BadValue {
                    index: i,
                    value: v[i].to_string(),
                    why: "values must be finite".into(),
                });
            }
            v
        }
        NpyData::I64(v) => {
            const LIM: i64 = 1 << 53;
            if let Some(i) = v.iter().position(|x| !(-LIM..=LIM).contains(x)) {
                return Err(NpyError::BadValue {
                    index: i,
                    value: v[i].to_string(),
                    why: "integer is not exactly representable as f64 (|v| > 2^53)".into(),
                });
            }
            v.into_iter().map(|x| x as f64).collect()
        }
    };
    Ok((a.shape, values))
}

/// Python `repr` of a shape tuple: `()`, `(5,)`, `(5, 3)`.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Header bytes exactly as numpy's `format.write_array` produces them (C order).
fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let srepr = shape_repr(shape);
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {srepr}, }}");
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    let hlen = dict.len() + 1; // + '\n'
    let padded = |pre: usize| hlen + ARRAY_ALIGN - ((pre + hlen) % ARRAY_ALIGN);
    // numpy tries version 1.0 (u16 length) first and falls back to 2.0 (u32).
    let (version, pre) = if padded(10) <= u16::MAX as usize {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let total = padded(pre);
    let padlen = total - hlen;
    let mut out = Vec::with_capacity(pre + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(total as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padlen, b' ');
    out.push(b'\n');
    out
}

fn write_with<T, const N: usize>(
    descr: &str,
    shape: &[usize],
    data: &[T],
    to_le: impl Fn(&T) -> [u8; N],
) -> Vec<u8> {
    let count: usize = shape.iter().product();
    assert_eq!(
        count,
        data.len(),
        "npy write: shape {shape:?} has {count} elements but {} values were given",
        data.len()
    );
    let mut out = header_bytes(descr, shape);
    out.reserve(data.len() * N);
    for v in data {
        out.extend_from_slice(&to_le(v));
    }
    out
}

/// Serialize an int16 array (`<i2`), C order. Byte-identical to `np.save` of the same array.
///
/// # Panics
/// If the product of `shape` differs from `data.len()` (a caller bug).
pub fn write_i16(shape: &[usize], data: &[i16]) -> Vec<u8> {
    write_with("<i2", shape, data, |v| v.to_le_bytes())
}

/// Serialize an int32 array (`<i4`), C order. Byte-identical to `np.save`.
///
/// # Panics
/// If the product of `shape` differs from `data.len()`.
pub fn write_i32(shape: &[usize], data: &[i32]) -> Vec<u8> {
    write_with("<i4", shape, data, |v| v.to_le_bytes())
}

/// Serialize a float32 array (`<f4`), C order. Byte-identical to `np.save`.
///
/// # Panics
/// If the product of `shape` differs from `data.len()`.
pub fn write_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    write_with("<f4", shape, data, |v| v.to_le_bytes())
}

/// Serialize a float64 array (`<f8`), C order. Byte-identical to `np.save`.
///
/// # Panics
/// If the product of `shape` differs from `data.len()`.
pub fn write_f64(shape: &[usize], data: &[f64]) -> Vec<u8> {
    write_with("<f8", shape, data, |v| v.to_le_bytes())
}
