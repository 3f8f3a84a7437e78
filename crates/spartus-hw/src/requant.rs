//! `Requant<IW>`: `y = sat16(RQ(x, F))` — requantize a signed IW-bit value by F fraction bits
//! with round-half-to-even (or floor) and saturate to int16 (docs/arithmetic.md §0, §3 steps 4, 6, 7).
//!
//! Ports: `x: Signed<IW>` in, `y: Signed<16>` out. Combinational (latency 0).
//! F and the rounding mode are generation-time constants baked into the Verilog text.
//!
//! Hand-written Verilog leaf: rust-hdl 0.46 has no shift on `Signed`, and its casts leave
//! widths to Verilog context rules (docs/rust-hdl.md §3). The Verilog computes in IW+1 bits, so
//! `x + 2^(F-1)` cannot overflow; the Rust model is [`rq_sat16`].

use rust_hdl::prelude::*;

/// Reference arithmetic: `sat16(RQ(v, f))`, RNE when `rne`, floor otherwise (docs/arithmetic.md §0).
pub fn rq_sat16(v: i64, f: u32, rne: bool) -> i64 {
    let r = if f == 0 {
        v
    } else if rne {
        (v + (1i64 << (f - 1)) - 1 + ((v >> f) & 1)) >> f
    } else {
        v >> f
    };
    r.clamp(-32768, 32767)
}

/// Combinational requantizer.
#[derive(LogicBlock)]
pub struct Requant<const IW: usize> {
    /// Input.
    pub x: Signal<In, Signed<IW>>,
    /// `sat16(RQ(x, F))`.
    pub y: Signal<Out, Signed<16>>,
    _shift: u32,
    _rne: bool,
}

impl<const IW: usize> Requant<IW> {
    /// A requantizer dropping `shift` fraction bits (`shift < IW`).
    pub fn new(shift: u32, rne: bool) -> Self {
        assert!((shift as usize) < IW && IW >= 17);
        Self {
            x: Default::default(),
            y: Default::default(),
            _shift: shift,
            _rne: rne,
        }
    }
}

impl<const IW: usize> Logic for Requant<IW> {
    fn update(&mut self) {
        let v = crate::sim::to_i64(self.x.val());
        self.y.next = Signed::<16>::from(rq_sat16(v, self._shift, self._rne));
    }

    fn connect(&mut self) {
        self.y.connect();
    }

    fn hdl(&self) -> Verilog {
        let w = IW + 1;
        let f = self._shift;
        // Shallow form (Fmax): RNE rounds by adding one carry-in bit `up` computed from the
        // dropped fraction bits (`frac > half`, or `frac == half` and the kept LSB odd) to the
        // low 16 bits of the shifted value (one 16-bit carry chain); the int16 saturation is
        // decided from the shifted value itself (bits above 15 a sign extension, and not
        // 32767 rounding up), in parallel with the chain.
        let body = if f != 0 && self._rne {
            format!(
                "wire [{fm}:0] frac = x[{fm}:0];\n\
                 wire up = {gt}((frac == {f}'d{half}) && x[{f}]);\n",
                fm = f - 1,
                half = 1u64 << (f - 1),
                // F = 1: frac cannot exceed half (Verilator CMPCONST), only the tie remains
                gt = if f >= 2 {
                    format!("(frac > {f}'d{}) || ", 1u64 << (f - 1))
                } else {
                    String::new()
                },
            )
        } else {
            "wire up = 1'b0;\n".to_string()
        };
        Verilog::Custom(format!(
            "wire signed [{wm}:0] xe = {{x[{msb}], x}};\n{body}\
             wire signed [{wm}:0] sh = xe >>> {f};\n\
             wire [15:0] r = sh[15:0] + {{15'd0, up}};\n\
             wire inr = (&sh[{wm}:15]) | (~|sh[{wm}:15]);\n\
             wire top = ~sh[{wm}] & (&sh[14:0]) & up;\n\
             always @(*) begin\n\
             \x20   if (inr & ~top) y = r;\n\
             \x20   else if (sh[{wm}]) y = 16'sh8000;\n\
             \x20   else y = 16'sh7fff;\n\
             end\n",
            wm = w - 1,
            msb = IW - 1,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_matches_spec_examples() {
        // RNE ties: 0.5 -> 0, 1.5 -> 2, -0.5 -> 0, -1.5 -> -2 (F = 1)
        assert_eq!(rq_sat16(1, 1, true), 0);
        assert_eq!(rq_sat16(3, 1, true), 2);
        assert_eq!(rq_sat16(-1, 1, true), 0);
        assert_eq!(rq_sat16(-3, 1, true), -2);
        assert_eq!(rq_sat16(-3, 1, false), -2);
        assert_eq!(rq_sat16(-1, 1, false), -1);
        assert_eq!(rq_sat16(i32::MAX as i64, 7, true), 32767);
        assert_eq!(rq_sat16(i32::MIN as i64, 7, true), -32768);
        assert_eq!(rq_sat16(40000, 0, true), 32767);
    }

    #[test]
    fn agrees_with_golden_fixed_point() {
        use spartus_model::config::Rounding;
        for f in 0..=8u32 {
            for rne in [true, false] {
                let mode = if rne { Rounding::Rne } else { Rounding::Floor };
                let mut s = 12345u64;
                for _ in 0..2000 {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let v = ((s >> 32) as u32 as i32) as i64;
                    assert_eq!(
                        rq_sat16(v, f, rne),
                        spartus_model::fixed::sat16(spartus_model::fixed::rq(v, f, mode)) as i64,
                        "v={v} f={f} rne={rne}"
                    );
                }
            }
        }
    }
}
