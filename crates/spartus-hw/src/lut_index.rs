//! `LutIndex`: table index of a Q8.8 value for the sigmoid/tanh LUTs (docs/arithmetic.md §4).
//!
//! `xc = sat(x, -2048, 2047)`; `k = xc` (s = 0) or `(xc + 2^(s-1)) >> s`, saturated to
//! `[-2^(11-s), 2^(11-s) - 1]`; index `e = k + 2^(11-s)`.
//!
//! Ports: `x: Signed<16>` in, `idx: Bits<16>` out. Combinational (latency 0).
//! Hand-written Verilog leaf (signed shift), Rust model [`lut_index`].

use rust_hdl::prelude::*;

/// Reference: docs/arithmetic.md §4 table entry index for input `v` with `shift` LSBs dropped.
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
        // Shallow form of the same function (Fmax: it feeds a block-RAM address): x is in
        // [-2048, 2047] iff bits 15..11 are a sign extension; (xc + 2^(s-1)) >> s is
        // (xc >> s) + xc[s-1]; adding 2^(11-s) to the (12-s)-bit k flips its top bit; the only
        // saturation left is the top entry rounding up. One (12-s)-bit increment in all.
        let s = self._shift;
        let ew = 12 - s;
        let up = if s == 0 {
            "wire up = 1'b0;\n".to_string()
        } else {
            format!("wire up = xc[{}];\n", s - 1)
        };
        Verilog::Custom(format!(
            "wire inr = (&x[15:11]) | (~|x[15:11]);\n\
             wire [11:0] xc = inr ? x[11:0] : (x[15] ? 12'h800 : 12'h7ff);\n\
             wire [{em}:0] eq = {{~xc[11], xc[10:{s}]}};\n\
             {up}\
             wire [{em}:0] e = eq + {{{{{ez}{{1'b0}}}}, up & ~(&eq)}};\n\
             always @(*) idx = {{{pad}'d0, e}};\n",
            em = ew - 1,
            ez = ew - 1,
            pad = 16 - ew,
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
