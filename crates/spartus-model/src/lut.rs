//! Sigmoid / tanh lookup tables (docs/arithmetic.md §4).
//!
//! Parameters: `s` = `lut_shift` (input LSBs dropped), `q` = `lut_frac` (output fraction bits).
//! For a Q8.8 input `v`:
//! - `xc = sat(v, -2048, 2047)` (clamp to [-8, 8)),
//! - `k = xc` if s = 0, else `k = (xc + 2^(s-1)) >> s` (nearest sample, ties up),
//!   then `k = sat(k, -2^(11-s), 2^(11-s) - 1)`,
//! - table entry `e = k + 2^(11-s)` (2^(12-s) entries),
//! - content `LUT[e] = RHA(f(k·2^s / 256)·2^q) << (8-q)` (RHA = round half away from zero).
//!
//! Construction asserts that no entry's scaled value lies within 1e-9 of a rounding tie, so
//! libm differences between platforms cannot change a table.

use sha2::{Digest, Sha256};

/// Distance from a rounding tie below which table construction panics (docs/arithmetic.md §4).
pub const TIE_MARGIN: f64 = 1e-9;

/// Sigmoid and tanh tables for one `(lut_shift, lut_frac)` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lut {
    shift: u32,
    frac: u32,
    sig: Vec<i16>,
    tanh: Vec<i16>,
}

/// Round half away from zero, asserting the value is not within [`TIE_MARGIN`] of a tie.
fn rha_checked(y: f64, what: &str, k: i64) -> i64 {
    let frac = y.abs().fract();
    assert!(
        (frac - 0.5).abs() > TIE_MARGIN,
        "LUT {what} entry k={k}: scaled value {y} is within {TIE_MARGIN} of a rounding tie"
    );
    y.round() as i64
}

impl Lut {
    /// Build both tables. Panics unless `shift <= 8` and `1 <= frac <= 8` (the config's
    /// validated ranges), or if an entry lies within 1e-9 of a tie (never happens for these
    /// ranges; a test checks all of them).
    pub fn new(shift: u32, frac: u32) -> Self {
        assert!(shift <= 8, "lut_shift = {shift} must be in 0..=8");
        assert!(
            (1..=8).contains(&frac),
            "lut_frac = {frac} must be in 1..=8"
        );
        let half = 1i64 << (11 - shift);
        let scale = (1u64 << frac) as f64;
        let mut sig = Vec::with_capacity(2 * half as usize);
        let mut tanh = Vec::with_capacity(2 * half as usize);
        for k in -half..half {
            let x = (k << shift) as f64 / 256.0;
            let s = rha_checked(scale / (1.0 + (-x).exp()), "sigmoid", k);
            let t = rha_checked(x.tanh() * scale, "tanh", k);
            sig.push((s << (8 - frac)) as i16);
            tanh.push((t << (8 - frac)) as i16);
        }
        Self {
            shift,
            frac,
            sig,
            tanh,
        }
    }

    /// `lut_shift` s.
    pub fn shift(&self) -> u32 {
        self.shift
    }

    /// `lut_frac` q.
    pub fn frac(&self) -> u32 {
        self.frac
    }

    /// Entries per table, 2^(12-s).
    pub fn len(&self) -> usize {
        self.sig.len()
    }

    /// Always false (a table has at least 16 entries); present for API completeness.
    pub fn is_empty(&self) -> bool {
        self.sig.is_empty()
    }

    /// Table entry `e` for a Q8.8 input (docs/arithmetic.md §4 index computation).
    pub fn index(&self, v: i16) -> usize {
        let xc = (v as i64).clamp(-2048, 2047);
        let s = self.shift;
        let half = 1i64 << (11 - s);
        let k = if s == 0 {
            xc
        } else {
            (xc + (1 << (s - 1))) >> s
        };
        (k.clamp(-half, half - 1) + half) as usize
    }

    /// SIG(v), Q8.8 in [0, 256].
    pub fn lookup_sig(&self, v: i16) -> i16 {
        self.sig[self.index(v)]
    }

    /// TANH(v), Q8.8 in [-256, 256].
    pub fn lookup_tanh(&self, v: i16) -> i16 {
        self.tanh[self.index(v)]
    }

    /// The raw sigmoid table (entry e = k + 2^(11-s)).
    pub fn sig_table(&self) -> &[i16] {
        &self.sig
    }

    /// The raw tanh table.
    pub fn tanh_table(&self) -> &[i16] {
        &self.tanh
    }

    /// docs/arithmetic.md §4 checksum: first 16 hex digits of sha256 over int16-LE `sig || tanh`.
    pub fn checksum(&self) -> String {
        let mut h = Sha256::new();
        for v in self.sig.iter().chain(&self.tanh) {
            h.update(v.to_le_bytes());
        }
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_from_spec() {
        let l = Lut::new(0, 8);
        assert_eq!(l.len(), 4096);
        assert_eq!(l.sig_table().iter().map(|&v| v as i64).sum::<i64>(), 524160);
        assert_eq!(l.tanh_table().iter().map(|&v| v as i64).sum::<i64>(), -256);
        assert_eq!(l.checksum(), "86f816d3454a2252");
        let l4 = Lut::new(4, 8);
        assert_eq!(l4.len(), 256);
        assert_eq!(l4.checksum(), "65734af24ed0877c");
    }

    #[test]
    fn edge_values() {
        let l = Lut::new(0, 8);
        assert_eq!(l.lookup_sig(0), 128);
        assert_eq!(l.lookup_tanh(0), 0);
        assert_eq!(l.lookup_tanh(256), 195);
        // ±8 boundaries: 2047 is the last sample, 2048 and beyond clamp to it.
        assert_eq!(l.index(2047), 4095);
        assert_eq!(l.index(2048), 4095);
        assert_eq!(l.index(32767), 4095);
        assert_eq!(l.index(-2048), 0);
        assert_eq!(l.index(-2049), 0);
        assert_eq!(l.index(-32768), 0);
        assert_eq!(l.lookup_sig(32767), 256);
        assert_eq!(l.lookup_sig(-32768), 0);
        assert_eq!(l.lookup_tanh(32767), 256);
        assert_eq!(l.lookup_tanh(-32768), -256);
        assert_eq!(l.lookup_sig(-2048), 0); // sigmoid(-8)·256 = 0.0858 → 0
        assert_eq!(l.lookup_sig(2047), 256);
        // s = 4: nearest sample with ties up, clamped to the last sample.
        let l4 = Lut::new(4, 8);
        assert_eq!(l4.index(0), 128);
        assert_eq!(l4.index(7), 128);
        assert_eq!(l4.index(8), 129); // tie goes up
        assert_eq!(l4.index(-8), 128); // -8 + 8 = 0 >> 4 = 0
        assert_eq!(l4.index(-9), 127);
        assert_eq!(l4.index(2047), 255); // (2047+8)>>4 = 128 clamps to 127
        assert_eq!(l4.index(-2048), 0);
        assert_eq!(l4.index(-32768), 0);
        assert_eq!(l4.index(32767), 255);
    }

    #[test]
    fn ranges_and_no_ties_for_every_valid_parameter_pair() {
        // Lut::new asserts the 1e-9 tie margin; build every (s, q) the config accepts.
        for s in 0..=8 {
            for q in 1..=8 {
                let l = Lut::new(s, q);
                assert_eq!(l.len(), 1 << (12 - s));
                for (&a, &b) in l.sig_table().iter().zip(l.tanh_table()) {
                    assert!((0..=256).contains(&a));
                    assert!((-256..=256).contains(&b));
                    assert_eq!(a % (1 << (8 - q)), 0);
                }
                // monotone
                assert!(l.sig_table().windows(2).all(|w| w[0] <= w[1]));
                assert!(l.tanh_table().windows(2).all(|w| w[0] <= w[1]));
            }
        }
    }

    #[test]
    fn exhaustive_index_in_range() {
        for s in [0, 2, 4, 8] {
            let l = Lut::new(s, 8);
            for v in i16::MIN..=i16::MAX {
                assert!(l.index(v) < l.len());
            }
        }
    }
}
