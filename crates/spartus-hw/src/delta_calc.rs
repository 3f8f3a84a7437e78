//! `DeltaCalc`: the delta-encoder arithmetic (docs/arithmetic.md §3 steps 1–2) for one element.
//!
//! `r = x - old` (17-bit exact); `fire = |r| >= theta && r != 0`; `delta = sat16(r)`;
//! `upd = old + delta` (the updated x̂ / ĥ when `fire`).
//! (`r != 0` makes zero deltas free also when theta = 0, docs/arithmetic.md §3.8.)
//!
//! Ports: `clock`; `x_in: Signed<16>` (registered inside: x is `x_in` of the previous cycle),
//! `old: Signed<16>` in; `fire: Bit`, `delta`, `upd: Signed<16>` out.
//! Latency: 1 cycle from `x_in`, 0 from `old` (the outputs are combinational in `old`, so the
//! x̂ read → compare → write-back loop of the encoder stays one cycle). Throughput one element
//! per cycle. The register also holds x ∓ theta, so the threshold tests are one comparison of
//! `old` each. Hand-written Verilog leaf with Rust model [`delta_calc`].

use rust_hdl::prelude::*;

/// Reference: `(fire, delta, new)` for input `x`, memory `old`, threshold `theta` (Q8.8, ≥ 0).
pub fn delta_calc(x: i64, old: i64, theta: i64) -> (bool, i64, i64) {
    let r = x - old;
    let fire = r.abs() >= theta && r != 0;
    let d = r.clamp(-32768, 32767);
    (fire, d, ((old + d) as i16) as i64)
}

/// Delta arithmetic (x registered, combinational in `old`).
#[derive(LogicBlock)]
pub struct DeltaCalc {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// New value (used one cycle later).
    pub x_in: Signal<In, Signed<16>>,
    /// Stored x̂ / ĥ.
    pub old: Signal<In, Signed<16>>,
    /// The change is at least theta (and nonzero).
    pub fire: Signal<Out, Bit>,
    /// sat16(x - old).
    pub delta: Signal<Out, Signed<16>>,
    /// old + delta.
    pub upd: Signal<Out, Signed<16>>,
    _theta: i64,
    _xq: i64,
}

impl DeltaCalc {
    /// Delta arithmetic with threshold `theta` (Q8.8, 0..=32767).
    pub fn new(theta: i64) -> Self {
        assert!((0..=32767).contains(&theta));
        Self {
            clock: Default::default(),
            x_in: Default::default(),
            old: Default::default(),
            fire: Default::default(),
            delta: Default::default(),
            upd: Default::default(),
            _theta: theta,
            _xq: 0,
        }
    }
}

impl Logic for DeltaCalc {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self._xq = crate::sim::to_i64(self.x_in.val());
        }
        let (f, d, n) = delta_calc(self._xq, crate::sim::to_i64(self.old.val()), self._theta);
        self.fire.next = f;
        self.delta.next = Signed::<16>::from(d);
        self.upd.next = Signed::<16>::from(n);
    }

    fn connect(&mut self) {
        self.fire.connect();
        self.delta.connect();
        self.upd.connect();
    }

    fn hdl(&self) -> Verilog {
        // Shallow form of the same function (Fmax: the x̂ read → compare → write-back loop is
        // one cycle): the threshold tests compare `old` with the registered x ∓ theta instead
        // of taking |x - old|; `upd` is x unless the 17-bit difference overflows, then
        // old ± 32767/32768 = old (- 1) with bit 15 flipped.
        Verilog::Custom(format!(
            "reg signed [15:0] x = 16'sd0;\n\
             reg signed [17:0] xm = -18'sd{theta};\n\
             reg signed [17:0] xp = 18'sd{theta};\n\
             always @(posedge clock) begin\n\
             \x20   x <= x_in;\n\
             \x20   xm <= {{{{2{{x_in[15]}}}}, x_in}} - 18'sd{theta};\n\
             \x20   xp <= {{{{2{{x_in[15]}}}}, x_in}} + 18'sd{theta};\n\
             end\n\
             wire signed [16:0] r = {{x[15], x}} - {{old[15], old}};\n\
             wire signed [17:0] o18 = {{{{2{{old[15]}}}}, old}};\n\
             wire inr = (r[16] == r[15]);\n\
             wire [15:0] om1 = old - 16'd1;\n\
             always @(*) begin\n\
             \x20   fire = ((xm >= o18) || (xp <= o18)) && (x != old);\n\
             \x20   delta = inr ? r[15:0] : (r[16] ? 16'sh8000 : 16'sh7fff);\n\
             \x20   upd = inr ? x : (r[16] ? {{~old[15], old[14:0]}} : {{~om1[15], om1[14:0]}});\n\
             end\n",
            theta = self._theta
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_corners() {
        assert_eq!(delta_calc(5, 5, 0), (false, 0, 5));
        assert_eq!(delta_calc(20, 0, 16), (true, 20, 20));
        assert_eq!(delta_calc(15, 0, 16), (false, 15, 15));
        assert_eq!(delta_calc(-16, 0, 16), (true, -16, -16));
        // 17-bit difference saturates; x̂ moves by the saturated delta
        assert_eq!(delta_calc(32767, -32768, 0), (true, 32767, -1));
        assert_eq!(delta_calc(-32768, 32767, 0), (true, -32768, -1));
    }
}
