//! Per-PE memory images (`$readmemh` hex), exactly as `docs/interfaces.md` specifies.
//!
//! - `l{L}_a{a}_p{p}_w.hex`: weights of PE p in MAC array a of layer L: for each x column j
//!   with `j mod A = a` (ascending) its K_x kept entries by ascending local row l, then for each
//!   h column k with `k mod A = a` its K_h entries. Word `((value & 0xFF) << IB) | l`,
//!   `IB = max(1, ceil(log2 R))`, printed with `ceil((8+IB)/4)` hex digits. An image with no
//!   entries holds one zero word (`$readmemh` needs a line).
//! - `l{L}_p{p}_b{g}.hex`: initial M (bias) of PE p, gate bank g: H/N lines of 8 hex digits,
//!   line ul = `bq[g·H + ul·N + p]`.
//! - `sig.hex`, `tanh.hex`: the activation tables, 2^(12-s) lines of 4 hex digits.
//!
//! All hex is lower-case, zero-padded two's complement, one entry per line, `\n`-terminated.
//! [`unpack_layer`] inverts the packing (the round-trip tests use it).

use crate::lut::Lut;
use crate::prune::{CbtdMatrix, PrunedLayer};

/// Hex digits of a bias word (int32).
pub const BIAS_HEX_DIGITS: usize = 8;
/// Hex digits of a LUT word (int16).
pub const LUT_HEX_DIGITS: usize = 4;
/// File name of the sigmoid table image.
pub const SIG_IMAGE: &str = "sig.hex";
/// File name of the tanh table image.
pub const TANH_IMAGE: &str = "tanh.hex";

/// A malformed image given to the unpacker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// An image the layout requires is absent.
    #[error("memory image {0} is missing")]
    Missing(String),
    /// A line is not a hex number of the expected width.
    #[error("{image} line {line}: {text:?} is not a {digits}-digit hex word")]
    BadLine {
        /// Image name.
        image: String,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
        /// Expected digits.
        digits: usize,
    },
    /// The image has the wrong number of lines.
    #[error("{image} has {got} lines, expected {expected}")]
    Depth {
        /// Image name.
        image: String,
        /// Lines found.
        got: usize,
        /// Lines expected.
        expected: usize,
    },
    /// A packed word is inconsistent (local row out of range or not ascending in a column).
    #[error("{image} entry {entry}: {what}")]
    BadEntry {
        /// Image name.
        image: String,
        /// 0-based entry.
        entry: usize,
        /// What is wrong.
        what: String,
    },
}

/// `IB = max(1, ceil(log2 R))`, bits of the local-row field.
pub fn index_bits(rows_per_pe: usize) -> u32 {
    (usize::BITS - rows_per_pe.saturating_sub(1).leading_zeros()).max(1)
}

/// Bits of a packed weight word, `8 + IB`.
pub fn word_bits(index_bits: u32) -> u32 {
    8 + index_bits
}

/// Hex digits per weight-image line, `ceil((8+IB)/4)`.
pub fn word_hex_digits(index_bits: u32) -> usize {
    word_bits(index_bits).div_ceil(4) as usize
}

/// Pack one entry: `((value & 0xFF) << IB) | l`.
pub fn pack_word(value: i8, l: u32, index_bits: u32) -> u32 {
    debug_assert!(l < (1 << index_bits));
    ((value as u8 as u32) << index_bits) | l
}

/// Unpack one entry into `(value, l)`.
pub fn unpack_word(word: u32, index_bits: u32) -> (i8, u32) {
    (
        ((word >> index_bits) & 0xFF) as u8 as i8,
        word & ((1 << index_bits) - 1),
    )
}

/// Number of columns `j < cols` with `j mod arrays = a`.
pub fn array_columns(cols: usize, arrays: usize, a: usize) -> usize {
    if a < cols {
        (cols - a).div_ceil(arrays)
    } else {
        0
    }
}

/// Entries in the weight image of array `a` (every PE of the array has the same count):
/// `nx_a·K_x + nh_a·K_h`. The file has `max(1, this)` lines.
pub fn weight_entries(
    i: usize,
    h: usize,
    arrays: usize,
    a: usize,
    k_x: usize,
    k_h: usize,
) -> usize {
    array_columns(i, arrays, a) * k_x + array_columns(h, arrays, a) * k_h
}

/// Largest weight-image depth over the arrays, `max(1, ceil(I/A)·K_x + ceil(H/A)·K_h)`:
/// the memory depth the hardware allocates per PE.
pub fn weight_depth(i: usize, h: usize, arrays: usize, k_x: usize, k_h: usize) -> usize {
    weight_entries(i, h, arrays, 0, k_x, k_h).max(1)
}

/// Lines of each bias image, H/N.
pub fn bias_depth(h: usize, n: usize) -> usize {
    h / n
}

/// Lines of each LUT image, 2^(12-s).
pub fn lut_depth(lut_shift: u32) -> usize {
    1 << (12 - lut_shift)
}

/// `l{layer}_a{a}_p{p}_w.hex`.
pub fn weight_image_name(layer: usize, a: usize, p: usize) -> String {
    format!("l{layer}_a{a}_p{p}_w.hex")
}

/// `l{layer}_p{p}_b{g}.hex`.
pub fn bias_image_name(layer: usize, p: usize, g: usize) -> String {
    format!("l{layer}_p{p}_b{g}.hex")
}

/// Format values as hex lines of `digits` digits (two's complement, truncated to the width).
pub fn hex_lines(values: impl IntoIterator<Item = u64>, digits: usize) -> String {
    let mask = if digits >= 16 {
        u64::MAX
    } else {
        (1u64 << (4 * digits)) - 1
    };
    let mut s = String::new();
    for v in values {
        s.push_str(&format!("{:0digits$x}\n", v & mask));
    }
    s
}

/// The packed words of PE `p` in array `a` (no padding line).
pub fn weight_words(layer: &PrunedLayer, arrays: usize, a: usize, p: usize) -> Vec<u32> {
    let ib = index_bits(layer.wx.rows_per_pe());
    let mut words = Vec::new();
    for m in [&layer.wx, &layer.wh] {
        for j in (a..m.cols).step_by(arrays) {
            for &l in m.kept_rows(j, p) {
                let r = l as usize * m.n + p;
                words.push(pack_word(m.get(r, j), l, ib));
            }
        }
    }
    words
}

/// All weight images of a layer, ordered by array then PE.
pub fn weight_images(
    layer_idx: usize,
    layer: &PrunedLayer,
    arrays: usize,
) -> Vec<(String, String)> {
    let digits = word_hex_digits(index_bits(layer.wx.rows_per_pe()));
    let mut out = Vec::with_capacity(arrays * layer.n());
    for a in 0..arrays {
        for p in 0..layer.n() {
            let mut words: Vec<u64> = weight_words(layer, arrays, a, p)
                .into_iter()
                .map(u64::from)
                .collect();
            if words.is_empty() {
                words.push(0);
            }
            out.push((weight_image_name(layer_idx, a, p), hex_lines(words, digits)));
        }
    }
    out
}

/// All bias images of a layer (`bias [4H]`, N PEs), ordered by PE then gate.
pub fn bias_images(layer_idx: usize, bias: &[i32], n: usize) -> Vec<(String, String)> {
    let h = bias.len() / 4;
    let mut out = Vec::with_capacity(4 * n);
    for p in 0..n {
        for g in 0..4 {
            let vals = (0..h / n).map(|ul| bias[g * h + ul * n + p] as u32 as u64);
            out.push((
                bias_image_name(layer_idx, p, g),
                hex_lines(vals, BIAS_HEX_DIGITS),
            ));
        }
    }
    out
}

/// `sig.hex` and `tanh.hex`.
pub fn lut_images(lut: &Lut) -> Vec<(String, String)> {
    let img = |t: &[i16]| hex_lines(t.iter().map(|&v| v as u16 as u64), LUT_HEX_DIGITS);
    vec![
        (SIG_IMAGE.to_string(), img(lut.sig_table())),
        (TANH_IMAGE.to_string(), img(lut.tanh_table())),
    ]
}

/// Every image of a network (weights, biases per layer, then the LUTs). File names are
/// relative to `mem/`.
pub fn pack_net(layers: &[PrunedLayer], arrays: usize, lut: &Lut) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (l, layer) in layers.iter().enumerate() {
        out.extend(weight_images(l, layer, arrays));
        out.extend(bias_images(l, &layer.bias, layer.n()));
    }
    out.extend(lut_images(lut));
    out
}

/// Parse a hex image with `digits`-digit lines into words.
pub fn parse_hex_image(name: &str, text: &str, digits: usize) -> Result<Vec<u64>, PackError> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let bad = || PackError::BadLine {
                image: name.to_string(),
                line: i + 1,
                text: line.to_string(),
                digits,
            };
            if line.len() != digits
                || !line
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(bad());
            }
            u64::from_str_radix(line, 16).map_err(|_| bad())
        })
        .collect()
}

/// Shape of one layer for [`unpack_layer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    /// I.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// N.
    pub n: usize,
    /// A.
    pub arrays: usize,
    /// K_x.
    pub k_x: usize,
    /// K_h.
    pub k_h: usize,
}

/// Reconstruct a pruned layer (matrices, kept positions, biases) from its images.
/// `image(name)` returns the text of an image produced by [`pack_net`].
pub fn unpack_layer<'a>(
    layer_idx: usize,
    shape: LayerShape,
    image: impl Fn(&str) -> Option<&'a str>,
) -> Result<PrunedLayer, PackError> {
    let LayerShape {
        input_size: i,
        hidden_size: h,
        n,
        arrays,
        k_x,
        k_h,
    } = shape;
    let rows = 4 * h;
    let r_per_pe = rows / n;
    let ib = index_bits(r_per_pe);
    let digits = word_hex_digits(ib);
    let mut wx = CbtdMatrix {
        rows,
        cols: i,
        n,
        k: k_x,
        values: vec![0; rows * i],
        kept: vec![0; i * n * k_x],
    };
    let mut wh = CbtdMatrix {
        rows,
        cols: h,
        n,
        k: k_h,
        values: vec![0; rows * h],
        kept: vec![0; h * n * k_h],
    };
    for a in 0..arrays {
        let entries = weight_entries(i, h, arrays, a, k_x, k_h);
        for p in 0..n {
            let name = weight_image_name(layer_idx, a, p);
            let text = image(&name).ok_or_else(|| PackError::Missing(name.clone()))?;
            let words = parse_hex_image(&name, text, digits)?;
            if words.len() != entries.max(1) {
                return Err(PackError::Depth {
                    image: name,
                    got: words.len(),
                    expected: entries.max(1),
                });
            }
            let mut e = 0;
            for m in [&mut wx, &mut wh] {
                for j in (a..m.cols).step_by(arrays) {
                    let mut prev: Option<u32> = None;
                    for slot in 0..m.k {
                        let w = words[e];
                        let bad = |what: String| PackError::BadEntry {
                            image: name.clone(),
                            entry: e,
                            what,
                        };
                        if w >> word_bits(ib) != 0 {
                            return Err(bad(format!(
                                "word {w:x} is wider than {} bits",
                                word_bits(ib)
                            )));
                        }
                        let (v, l) = unpack_word(w as u32, ib);
                        if l as usize >= r_per_pe || prev.is_some_and(|q| l <= q) {
                            return Err(bad(format!(
                                "local row {l} out of range or not ascending"
                            )));
                        }
                        prev = Some(l);
                        m.values[(l as usize * n + p) * m.cols + j] = v;
                        m.kept[(j * n + p) * m.k + slot] = l;
                        e += 1;
                    }
                }
            }
        }
    }
    let mut bias = vec![0i32; rows];
    for p in 0..n {
        for g in 0..4 {
            let name = bias_image_name(layer_idx, p, g);
            let text = image(&name).ok_or_else(|| PackError::Missing(name.clone()))?;
            let words = parse_hex_image(&name, text, BIAS_HEX_DIGITS)?;
            if words.len() != h / n {
                return Err(PackError::Depth {
                    image: name,
                    got: words.len(),
                    expected: h / n,
                });
            }
            for (ul, &w) in words.iter().enumerate() {
                bias[g * h + ul * n + p] = w as u32 as i32;
            }
        }
    }
    Ok(PrunedLayer { wx, wh, bias })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_widths() {
        assert_eq!(index_bits(1), 1);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(3), 2);
        assert_eq!(index_bits(16), 4);
        assert_eq!(index_bits(17), 5);
        assert_eq!(index_bits(64), 6);
        assert_eq!(word_hex_digits(1), 3);
        assert_eq!(word_hex_digits(4), 3);
        assert_eq!(word_hex_digits(5), 4);
        assert_eq!(pack_word(-1, 3, 4), 0xff3);
        assert_eq!(unpack_word(0xff3, 4), (-1, 3));
        assert_eq!(pack_word(-128, 0, 6), 0x80 << 6);
        assert_eq!(hex_lines([0xffff_ffff_ffff_ff80u64], 4), "ff80\n");
    }

    #[test]
    fn array_column_counts() {
        assert_eq!(array_columns(5, 2, 0), 3);
        assert_eq!(array_columns(5, 2, 1), 2);
        assert_eq!(array_columns(3, 8, 5), 0);
        assert_eq!(weight_depth(40, 1024, 8, 4, 4), 532);
        assert_eq!(weight_depth(1, 1, 4, 1, 1), 2);
    }

    #[test]
    fn bias_image_layout() {
        // H = 4, N = 2: PE 0 holds units 0, 2; bank g line ul = bias[g·4 + ul·2 + p].
        let bias: Vec<i32> = (0..16).map(|v| v - 8).collect();
        let imgs = bias_images(0, &bias, 2);
        assert_eq!(
            imgs[0],
            (
                "l0_p0_b0.hex".to_string(),
                "fffffff8\nfffffffa\n".to_string()
            )
        );
        assert_eq!(imgs[4 + 3].0, "l0_p1_b3.hex");
        assert_eq!(imgs[4 + 3].1, "00000005\n00000007\n");
    }
}
