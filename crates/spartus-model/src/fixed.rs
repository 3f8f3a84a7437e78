//! Fixed-point primitives (docs/arithmetic.md §0) and float→integer quantizers (docs/arithmetic.md §1).
//!
//! All integer arithmetic uses `i64` intermediates. Float→int conversions are
//! `f64::round_ties_even` (numpy's `np.round`) followed by saturation; multiplying by a power
//! of two is exact in f64, so every quantizer here is bit-reproducible.

pub use crate::config::{BiasMode, Rounding};

/// Q8.8 fraction bits of activations (x, h, c, gate values, thresholds).
pub const ACT_FRAC: u32 = 8;

/// A float tensor contained NaN or ±Inf.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// Element `index` (flat, row-major) of `tensor` is not a finite number.
    #[error("{tensor}[{index}] = {value} is not a finite number")]
    NonFinite {
        /// Tensor name, e.g. `weight_ih_l0` or `inputs`.
        tensor: String,
        /// Flat row-major index of the offending element.
        index: usize,
        /// The value (NaN or ±Inf).
        value: f64,
    },
}

/// `clamp(v, lo, hi)`.
#[inline]
pub fn sat(v: i64, lo: i64, hi: i64) -> i64 {
    v.clamp(lo, hi)
}

/// Saturate to int16, [-32768, 32767].
#[inline]
pub fn sat16(v: i64) -> i16 {
    v.clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// Saturate to int32, [-2^31, 2^31-1].
#[inline]
pub fn sat32(v: i64) -> i32 {
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// `v mod 2^32`, read back as two's complement int32.
#[inline]
pub fn wrap32(v: i64) -> i32 {
    v as i32
}

/// Requantize: divide by `2^f` with the given rounding (docs/arithmetic.md §0).
///
/// RNE: `RQ(v,0) = v`; for `f >= 1`: `(v + 2^(f-1) - 1 + ((v >> f) & 1)) >> f`.
/// Floor: `v >> f`. `>>` is arithmetic. `f` must be < 63.
#[inline]
pub fn rq(v: i64, f: u32, mode: Rounding) -> i64 {
    debug_assert!(f < 63);
    if f == 0 {
        return v;
    }
    match mode {
        Rounding::Rne => (v + (1i64 << (f - 1)) - 1 + ((v >> f) & 1)) >> f,
        Rounding::Floor => v >> f,
    }
}

/// `sat(RNE(x), lo, hi)` for a finite f64 (round half to even, then clamp).
/// Non-finite input is a caller bug (check with [`check_finite`] first); NaN maps to 0.
#[inline]
pub fn f64_to_int_rne(x: f64, lo: i64, hi: i64) -> i64 {
    let r = x.round_ties_even();
    if r.is_nan() {
        return 0;
    }
    // Clamp in f64 first so huge values never overflow the cast.
    r.clamp(lo as f64, hi as f64) as i64
}

/// Error if any element of `data` is NaN or ±Inf, naming `tensor` and the flat index.
pub fn check_finite(tensor: &str, data: &[f64]) -> Result<(), QuantError> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(QuantError::NonFinite {
            tensor: tensor.to_string(),
            index,
            value: data[index],
        }),
    }
}

/// One weight: `Wq = sat(RNE(w·2^wfrac), -128, 127)`.
#[inline]
pub fn quantize_weight(w: f64, wfrac: u32) -> i8 {
    f64_to_int_rne(w * (1u64 << wfrac) as f64, -128, 127) as i8
}

/// A weight tensor (row-major), rejecting NaN/Inf with the tensor name and index.
pub fn quantize_weights(tensor: &str, w: &[f64], wfrac: u32) -> Result<Vec<i8>, QuantError> {
    check_finite(tensor, w)?;
    Ok(w.iter().map(|&v| quantize_weight(v, wfrac)).collect())
}

/// One combined bias `b = bias_ih + bias_hh` (f64) in accumulator format (frac 8+wfrac):
/// `Acc`: `sat32(RNE(b·2^(8+wfrac)))`; `Q17`: `sat(RNE(b·2^wfrac), -128, 127) << 8`.
#[inline]
pub fn quantize_bias(b: f64, wfrac: u32, mode: BiasMode) -> i32 {
    match mode {
        BiasMode::Acc => f64_to_int_rne(
            b * (1u64 << (ACT_FRAC + wfrac)) as f64,
            i32::MIN as i64,
            i32::MAX as i64,
        ) as i32,
        BiasMode::Q17 => (f64_to_int_rne(b * (1u64 << wfrac) as f64, -128, 127) << 8) as i32,
    }
}

/// Quantize `bias_ih + bias_hh` element-wise (docs/arithmetic.md §1). The two slices must have equal
/// length. NaN/Inf is reported against `ih_name` / `hh_name`.
pub fn quantize_biases(
    ih_name: &str,
    bias_ih: &[f64],
    hh_name: &str,
    bias_hh: &[f64],
    wfrac: u32,
    mode: BiasMode,
) -> Result<Vec<i32>, QuantError> {
    assert_eq!(
        bias_ih.len(),
        bias_hh.len(),
        "bias_ih and bias_hh lengths differ"
    );
    check_finite(ih_name, bias_ih)?;
    check_finite(hh_name, bias_hh)?;
    Ok(bias_ih
        .iter()
        .zip(bias_hh)
        .map(|(&a, &b)| quantize_bias(a + b, wfrac, mode))
        .collect())
}

/// One input / activation value: `sat16(RNE(x·256))` (Q8.8).
#[inline]
pub fn quantize_act(x: f64) -> i16 {
    f64_to_int_rne(x * 256.0, i16::MIN as i64, i16::MAX as i64) as i16
}

/// An input sequence `[T][I]` to Q8.8, rejecting NaN/Inf (index is flat `t·I + j`).
pub fn quantize_inputs(tensor: &str, x: &[Vec<f64>]) -> Result<Vec<Vec<i16>>, QuantError> {
    let mut flat_base = 0;
    let mut out = Vec::with_capacity(x.len());
    for row in x {
        if let Err(QuantError::NonFinite { index, value, .. }) = check_finite(tensor, row) {
            return Err(QuantError::NonFinite {
                tensor: tensor.to_string(),
                index: flat_base + index,
                value,
            });
        }
        out.push(row.iter().map(|&v| quantize_act(v)).collect());
        flat_base += row.len();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Lcg;

    #[test]
    fn saturation_and_wrap() {
        assert_eq!(sat16(32768), 32767);
        assert_eq!(sat16(-32769), -32768);
        assert_eq!(sat16(-5), -5);
        assert_eq!(sat32(1 << 31), i32::MAX);
        assert_eq!(sat32(-(1 << 31) - 1), i32::MIN);
        assert_eq!(wrap32(1 << 31), i32::MIN);
        assert_eq!(wrap32((1 << 32) + 5), 5);
        assert_eq!(wrap32(-(1 << 31) - 1), i32::MAX);
        assert_eq!(sat(7, -3, 3), 3);
    }

    #[test]
    fn rq_corner_cases() {
        use Rounding::*;
        // F = 0 is the identity in both modes.
        for v in [-3, -1, 0, 1, 5] {
            assert_eq!(rq(v, 0, Rne), v);
            assert_eq!(rq(v, 0, Floor), v);
        }
        // Ties go to even.
        assert_eq!(rq(1, 1, Rne), 0); // 0.5
        assert_eq!(rq(3, 1, Rne), 2); // 1.5
        assert_eq!(rq(5, 1, Rne), 2); // 2.5
        assert_eq!(rq(-1, 1, Rne), 0); // -0.5
        assert_eq!(rq(-3, 1, Rne), -2); // -1.5
        assert_eq!(rq(-5, 1, Rne), -2); // -2.5
        assert_eq!(rq(128, 8, Rne), 0); // 0.5
        assert_eq!(rq(384, 8, Rne), 2); // 1.5
        assert_eq!(rq(-384, 8, Rne), -2);
        // Non-ties round to nearest.
        assert_eq!(rq(129, 8, Rne), 1);
        assert_eq!(rq(-129, 8, Rne), -1);
        assert_eq!(rq(127, 8, Rne), 0);
        // Floor.
        assert_eq!(rq(-1, 8, Floor), -1);
        assert_eq!(rq(255, 8, Floor), 0);
        assert_eq!(rq(-256, 8, Floor), -1);
    }

    #[test]
    fn rq_rne_matches_f64_round_ties_even() {
        let mut g = Lcg::new(3);
        for f in 0..20u32 {
            for _ in 0..2000 {
                let v = g.next_u32() as i64 - (1 << 30);
                let want = (v as f64 / (1u64 << f) as f64).round_ties_even() as i64;
                assert_eq!(rq(v, f, Rounding::Rne), want, "v={v} f={f}");
                assert_eq!(rq(v, f, Rounding::Floor), v.div_euclid(1 << f));
            }
        }
        // Extremes of the int32 accumulator range.
        for v in [i32::MIN as i64, i32::MAX as i64] {
            let want = (v as f64 / 128.0).round_ties_even() as i64;
            assert_eq!(rq(v, 7, Rounding::Rne), want);
        }
    }

    #[test]
    fn quantizers() {
        assert_eq!(quantize_weight(0.5, 7), 64);
        assert_eq!(quantize_weight(1.0, 7), 127); // 128 saturates
        assert_eq!(quantize_weight(-1.0, 7), -128);
        assert_eq!(quantize_weight(-2.0, 7), -128);
        assert_eq!(quantize_weight(0.5 / 128.0, 7), 0); // tie to even
        assert_eq!(quantize_weight(1.5 / 128.0, 7), 2);
        assert_eq!(quantize_weight(-1.5 / 128.0, 7), -2);
        assert_eq!(quantize_act(1.0), 256);
        assert_eq!(quantize_act(200.0), 32767);
        assert_eq!(quantize_act(-200.0), -32768);
        assert_eq!(quantize_act(2.5 / 256.0), 2);
        assert_eq!(quantize_act(1e300), 32767);
        assert_eq!(quantize_bias(0.5, 7, BiasMode::Acc), 1 << 14);
        assert_eq!(quantize_bias(1e30, 7, BiasMode::Acc), i32::MAX);
        assert_eq!(quantize_bias(0.5, 7, BiasMode::Q17), 64 << 8);
        assert_eq!(quantize_bias(3.0, 7, BiasMode::Q17), 127 << 8);
        assert_eq!(quantize_bias(-3.0, 7, BiasMode::Q17), -128 << 8);
        let b =
            quantize_biases("bih", &[0.25, -0.5], "bhh", &[0.25, 0.0], 7, BiasMode::Acc).unwrap();
        assert_eq!(b, vec![1 << 14, -(1 << 14)]);
    }

    #[test]
    fn non_finite_is_rejected_with_name_and_index() {
        let e = quantize_weights("weight_ih_l0", &[0.0, 1.0, f64::NAN], 7).unwrap_err();
        match &e {
            QuantError::NonFinite {
                tensor,
                index,
                value,
            } => {
                assert_eq!((tensor.as_str(), *index), ("weight_ih_l0", 2));
                assert!(value.is_nan());
            }
        }
        let msg = e.to_string();
        assert!(msg.starts_with("weight_ih_l0[2] = NaN"), "{msg}");
        let e = quantize_biases(
            "bias_ih_l1",
            &[0.0],
            "bias_hh_l1",
            &[f64::INFINITY],
            7,
            BiasMode::Acc,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("bias_hh_l1[0] = inf"), "{e}");
        let e =
            quantize_inputs("inputs", &[vec![0.0, 1.0], vec![2.0, f64::NEG_INFINITY]]).unwrap_err();
        assert!(e.to_string().starts_with("inputs[3] = -inf"), "{e}");
    }
}
