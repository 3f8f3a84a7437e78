//! `DeltaEncoder`: streams values, keeps x̂ (or ĥ) in a memory, and emits `(Δ, tags)` only
//! where `|x - x̂| >= Θ` (and nonzero). Suppressed elements produce nothing, so they cost no
//! MAC cycles downstream (docs/arithmetic.md §3 steps 1–2).
//!
//! Ports:
//! - `in_valid`, `in_index` (element index j), `in_value` (Q8.8), and two tags carried through
//!   unchanged to the output: `in_arr` (target MAC array) and `in_addr` (weight address base).
//! - `clr_valid`, `clr_addr`: write x̂[clr_addr] = 0 (start of a sequence).
//! - `flush`: drop elements in flight.
//! - `out_valid`, `out_delta`, `out_arr`, `out_addr`: one nonzero delta.
//!
//! Latency: 2 cycles from `in_valid` to `out_valid`. Throughput: one element per cycle, any
//! index order; back-to-back elements with the same index are forwarded (no stall), so I = 1
//! or H = 1 works.

use crate::delta_calc::DeltaCalc;
use crate::mem::SyncMem;
use rust_hdl::prelude::*;

/// Delta encoder with an x̂ memory of `size` entries.
#[derive(LogicBlock)]
pub struct DeltaEncoder {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop elements in flight.
    pub flush: Signal<In, Bit>,
    /// Element valid.
    pub in_valid: Signal<In, Bit>,
    /// Element index.
    pub in_index: Signal<In, Bits<16>>,
    /// Element value (Q8.8).
    pub in_value: Signal<In, Signed<16>>,
    /// Tag: MAC array.
    pub in_arr: Signal<In, Bits<8>>,
    /// Tag: weight address base.
    pub in_addr: Signal<In, Bits<16>>,
    /// Clear x̂[clr_addr].
    pub clr_valid: Signal<In, Bit>,
    /// Address to clear.
    pub clr_addr: Signal<In, Bits<16>>,
    /// A delta is emitted.
    pub out_valid: Signal<Out, Bit>,
    /// The delta (Q8.8).
    pub out_delta: Signal<Out, Signed<16>>,
    /// Tag: MAC array.
    pub out_arr: Signal<Out, Bits<8>>,
    /// Tag: weight address base.
    pub out_addr: Signal<Out, Bits<16>>,
    mem: SyncMem<16>,
    calc: DeltaCalc,
    write: Signal<Local, Bit>,
    old: Signal<Local, Signed<16>>,
    zero: Constant<Bits<16>>,
    v1: DFF<Bit>,
    idx1: DFF<Bits<16>>,
    arr1: DFF<Bits<8>>,
    addr1: DFF<Bits<16>>,
    fwd: DFF<Bit>,
    fwdv: DFF<Signed<16>>,
    ov: DFF<Bit>,
    od: DFF<Signed<16>>,
    oarr: DFF<Bits<8>>,
    oaddr: DFF<Bits<16>>,
}

impl DeltaEncoder {
    /// An encoder for `size` elements with threshold `theta` (Q8.8).
    pub fn new(size: usize, theta: i64) -> Self {
        Self {
            clock: Default::default(),
            flush: Default::default(),
            in_valid: Default::default(),
            in_index: Default::default(),
            in_value: Default::default(),
            in_arr: Default::default(),
            in_addr: Default::default(),
            clr_valid: Default::default(),
            clr_addr: Default::default(),
            out_valid: Default::default(),
            out_delta: Default::default(),
            out_arr: Default::default(),
            out_addr: Default::default(),
            mem: SyncMem::ram(size),
            calc: DeltaCalc::new(theta),
            write: Default::default(),
            old: Default::default(),
            zero: Constant::new(0u64.into()),
            v1: Default::default(),
            idx1: Default::default(),
            arr1: Default::default(),
            addr1: Default::default(),
            fwd: Default::default(),
            fwdv: Default::default(),
            ov: Default::default(),
            od: Default::default(),
            oarr: Default::default(),
            oaddr: Default::default(),
        }
    }

    /// x̂[j] in the Rust model (tests).
    pub fn peek(&self, j: usize) -> i64 {
        self.mem.peek(j) as u16 as i16 as i64
    }
}

impl Logic for DeltaEncoder {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, v1, idx1, arr1, addr1, fwd, fwdv, ov, od, oarr, oaddr);
        self.mem.clock.next = self.clock.val();
        // stage 0: read x̂[j]
        self.mem.raddr.next = self.in_index.val();
        self.v1.d.next = self.in_valid.val() & !self.flush.val();
        self.idx1.d.next = self.in_index.val();
        self.calc.clock.next = self.clock.val();
        self.calc.x_in.next = self.in_value.val();
        self.arr1.d.next = self.in_arr.val();
        self.addr1.d.next = self.in_addr.val();
        // stage 1: compare, update x̂, forward to a same-index element right behind
        self.old.next = signed_cast(self.mem.rdata.val());
        if self.fwd.q.val() {
            self.old.next = self.fwdv.q.val();
        }
        self.calc.old.next = self.old.val();
        self.write.next = self.v1.q.val() & self.calc.fire.val() & !self.flush.val();
        self.mem.we.next = self.write.val() | self.clr_valid.val();
        self.mem.waddr.next = self.idx1.q.val();
        self.mem.wdata.next = unsigned_cast(self.calc.upd.val());
        if self.clr_valid.val() {
            self.mem.waddr.next = self.clr_addr.val();
            self.mem.wdata.next = self.zero.val();
        }
        self.fwd.d.next =
            self.write.val() & self.in_valid.val() & (self.in_index.val() == self.idx1.q.val());
        self.fwdv.d.next = self.calc.upd.val();
        self.ov.d.next = self.write.val();
        self.od.d.next = self.calc.delta.val();
        self.oarr.d.next = self.arr1.q.val();
        self.oaddr.d.next = self.addr1.q.val();
        self.out_valid.next = self.ov.q.val() & !self.flush.val();
        self.out_delta.next = self.od.q.val();
        self.out_arr.next = self.oarr.q.val();
        self.out_addr.next = self.oaddr.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{tick, to_i64};

    #[derive(LogicBlock)]
    struct Tb {
        clock: Signal<In, Clock>,
        enc: DeltaEncoder,
    }
    impl Logic for Tb {
        #[hdl_gen]
        fn update(&mut self) {
            self.enc.clock.next = self.clock.val();
        }
    }
    crate::impl_has_clock!(Tb);

    /// Stream random sequences (with repeats, saturating jumps and I = 1 back-to-back
    /// indices) and compare every emitted delta and x̂ with docs/arithmetic.md §3 semantics.
    #[test]
    fn matches_spec_delta_semantics() {
        for (size, theta) in [(1usize, 0i64), (1, 16), (5, 8), (7, 0), (3, 32767)] {
            let mut tb = Tb {
                clock: Default::default(),
                enc: DeltaEncoder::new(size, theta),
            };
            tb.connect_all();
            let mut xhat = vec![0i64; size];
            let mut expected = Vec::new();
            let mut got = Vec::new();
            let mut s = 7u64 + size as u64;
            let mut rnd = || {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 33) as i64
            };
            let mut prev = vec![0i64; size];
            for t in 0..60 {
                for (j, p) in prev.iter_mut().enumerate() {
                    let x = match rnd() % 4 {
                        0 => *p,
                        1 => *p + rnd() % 40 - 20,
                        2 => {
                            if rnd() % 2 == 0 {
                                32767
                            } else {
                                -32768
                            }
                        }
                        _ => rnd() % 65536 - 32768,
                    }
                    .clamp(-32768, 32767);
                    *p = x;
                    let r = x - xhat[j];
                    if r.abs() >= theta && r != 0 {
                        let d = r.clamp(-32768, 32767);
                        xhat[j] = ((xhat[j] + d) as i16) as i64;
                        expected.push((d, j as u64, (t * 10 + j) as u64));
                    }
                    tb.enc.in_valid.next = true;
                    tb.enc.in_index.next = (j as u64).into();
                    tb.enc.in_value.next = (x).into();
                    tb.enc.in_arr.next = ((j % 3) as u64).into();
                    tb.enc.in_addr.next = ((t * 10 + j) as u64).into();
                    tick(&mut tb);
                    if tb.enc.out_valid.val() {
                        got.push((
                            to_i64(tb.enc.out_delta.val()),
                            tb.enc.out_arr.val().to_u64(),
                            tb.enc.out_addr.val().to_u64(),
                        ));
                    }
                }
            }
            tb.enc.in_valid.next = false;
            for _ in 0..3 {
                tick(&mut tb);
                if tb.enc.out_valid.val() {
                    got.push((
                        to_i64(tb.enc.out_delta.val()),
                        tb.enc.out_arr.val().to_u64(),
                        tb.enc.out_addr.val().to_u64(),
                    ));
                }
            }
            let expected: Vec<_> = expected
                .into_iter()
                .map(|(d, j, a)| (d, j % 3, a))
                .collect();
            assert_eq!(got, expected, "size={size} theta={theta}");
            for (j, want) in xhat.iter().enumerate() {
                assert_eq!(tb.enc.peek(j), *want);
            }
        }
    }
}
