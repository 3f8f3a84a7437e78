//! `LutIndex`: table index of a Q8.8 value for the sigmoid/tanh LUTs (SPEC §4).
//!
//! `xc = sat(x, -2048, 2047)`; `k = xc` (s = 0) or `(xc + 2^(s-1)) >> s`, saturated to
//! `[-2^(11-s), 2^(11-s) - 1]`; index `e = k + 2^(11-s)`.
//!
//! Ports: `x: Signed<16>` in, `idx: Bits<16>` out. Combinational (latency 0).
//! Hand-written Verilog leaf (signed shift), Rust model [`lut_index`].

use rust_hdl::prelude::*;

/// Reference: SPEC §4 table entry index for input `v` with `shift` LSBs dropped.
pub fn lut_index(v: i64, shift: u32) -> usize {
    let xc = v.clamp(-2048, 2047);
    let k = if shift == 0 {
        xc
    } else {
        (xc + (1 << (shift - 1))) >> shift
    };
    let half = 1i64 << (11 - shift);
    (k.clamp(-half, half - 1) + half) as usize
}

/// Combinational LUT index computation.
#[derive(LogicBlock)]
pub struct LutIndex {
    /// Q8.8 input.
    pub x: Signal<In, Signed<16>>,
    /// Table index.
    pub idx: Signal<Out, Bits<16>>,
    _shift: u32,
}

impl LutIndex {
    /// Index computation for tables with `shift` input LSBs dropped (0..=8).
    pub fn new(shift: u32) -> Self {
        assert!(shift <= 8);
        Self {
            x: Default::default(),
            idx: Default::default(),
            _shift: shift,
        }
    }
}

impl Logic for LutIndex {
    fn update(&mut self) {
        let v = crate::sim::to_i64(self.x.val());
        self.idx.next = Bits::<16>::from(lut_index(v, self._shift) as u64);
    }

    fn connect(&mut self) {
        self.idx.connect();
    }

    fn hdl(&self) -> Verilog {
        let s = self._shift;
        let half = 1i64 << (11 - s);
        let k = if s == 0 {
            "wire signed [15:0] k = xc;\n".to_string()
        } else {
            format!(
                "wire signed [15:0] k0 = (xc + 16'sd{r}) >>> {s};\n\
                 wire signed [15:0] k = (k0 > 16'sd{hi}) ? 16'sd{hi} : ((k0 < -16'sd{half}) ? -16'sd{half} : k0);\n",
                r = 1i64 << (s - 1),
                hi = half - 1,
            )
        };
        Verilog::Custom(format!(
            "wire signed [15:0] xc = (x > 16'sd2047) ? 16'sd2047 : ((x < -16'sd2048) ? -16'sd2048 : x);\n\
             {k}\
             wire signed [15:0] e = k + 16'sd{half};\n\
             always @(*) idx = e;\n"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_golden_lut() {
        for s in [0u32, 2, 4, 8] {
            let lut = spartus_model::lut::Lut::new(s, 8);
            for v in -32768i64..=32767 {
                let e = lut_index(v, s);
                assert_eq!(e, lut.index(v as i16), "v={v} s={s}");
            }
        }
    }
}
