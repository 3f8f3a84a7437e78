//! `StreamFifo`: first-word-fall-through FIFO of Q8.8 values with a valid/ready output.
//!
//! Ports: `push`, `push_data` in; `out_valid`, `out_data` out, `out_ready` in; `count` out;
//! `clear` empties it. `out_valid` is registered state (count != 0), never a combinational
//! function of `out_ready`; `out_data` is stable while `out_valid && !out_ready`.
//! A pushed word is visible on the output the next cycle (write-first memory read).
//! Throughput: one push and one pop per cycle. The writer must not overflow `depth`.

use crate::mem::SyncMem;
use rust_hdl::prelude::*;

/// FWFT FIFO with a valid/ready output.
#[derive(LogicBlock)]
pub struct StreamFifo {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Empty the FIFO.
    pub clear: Signal<In, Bit>,
    /// Push a word.
    pub push: Signal<In, Bit>,
    /// Word to push.
    pub push_data: Signal<In, Signed<16>>,
    /// Head valid.
    pub out_valid: Signal<Out, Bit>,
    /// Head word.
    pub out_data: Signal<Out, Signed<16>>,
    /// Consumer takes the head when `out_valid && out_ready`.
    pub out_ready: Signal<In, Bit>,
    /// Words stored.
    pub count: Signal<Out, Bits<16>>,
    mem: SyncMem<16>,
    wptr: DFF<Bits<16>>,
    rptr: DFF<Bits<16>>,
    cnt: DFF<Bits<16>>,
    consume: Signal<Local, Bit>,
    rnext: Signal<Local, Bits<16>>,
    last: Constant<Bits<16>>,
    zero: Constant<Bits<16>>,
    one16: Constant<Bits<16>>,
}

impl StreamFifo {
    /// A FIFO of `depth` words.
    pub fn new(depth: usize) -> Self {
        let depth = depth.max(1);
        Self {
            clock: Default::default(),
            clear: Default::default(),
            push: Default::default(),
            push_data: Default::default(),
            out_valid: Default::default(),
            out_data: Default::default(),
            out_ready: Default::default(),
            count: Default::default(),
            mem: SyncMem::write_first(depth),
            wptr: Default::default(),
            rptr: Default::default(),
            cnt: Default::default(),
            consume: Default::default(),
            rnext: Default::default(),
            last: Constant::new(((depth - 1) as u64).into()),
            zero: Constant::new(0u64.into()),
            one16: Constant::new(1u64.into()),
        }
    }
}

impl Logic for StreamFifo {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, wptr, rptr, cnt);
        self.mem.clock.next = self.clock.val();
        self.consume.next = (self.cnt.q.val() != self.zero.val()) & self.out_ready.val();
        self.rnext.next = self.rptr.q.val() + self.one16.val();
        if self.rptr.q.val() == self.last.val() {
            self.rnext.next = self.zero.val();
        }
        self.mem.raddr.next = self.rptr.q.val();
        if self.consume.val() {
            self.mem.raddr.next = self.rnext.val();
            self.rptr.d.next = self.rnext.val();
        }
        self.mem.we.next = self.push.val();
        self.mem.waddr.next = self.wptr.q.val();
        self.mem.wdata.next = unsigned_cast(self.push_data.val());
        if self.push.val() {
            self.wptr.d.next = self.wptr.q.val() + self.one16.val();
            if self.wptr.q.val() == self.last.val() {
                self.wptr.d.next = self.zero.val();
            }
        }
        if self.push.val() & !self.consume.val() {
            self.cnt.d.next = self.cnt.q.val() + self.one16.val();
        }
        if !self.push.val() & self.consume.val() {
            self.cnt.d.next = self.cnt.q.val() - self.one16.val();
        }
        if self.clear.val() {
            self.wptr.d.next = self.zero.val();
            self.rptr.d.next = self.zero.val();
            self.cnt.d.next = self.zero.val();
        }
        self.out_valid.next = self.cnt.q.val() != self.zero.val();
        self.out_data.next = signed_cast(self.mem.rdata.val());
        self.count.next = self.cnt.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{tick, to_i64};

    #[derive(LogicBlock)]
    struct Tb {
        clock: Signal<In, Clock>,
        f: StreamFifo,
    }
    impl Logic for Tb {
        #[hdl_gen]
        fn update(&mut self) {
            self.f.clock.next = self.clock.val();
        }
    }
    crate::impl_has_clock!(Tb);

    #[test]
    fn order_is_kept_under_random_push_and_stall() {
        let mut tb = Tb {
            clock: Default::default(),
            f: StreamFifo::new(5),
        };
        tb.connect_all();
        let mut s = 99u64;
        let mut next_in = 0i64;
        let mut next_out = 0i64;
        let mut held: Option<i64> = None;
        for _ in 0..3000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = s >> 33;
            let count = tb.f.count.val().to_u64();
            let push = !r.is_multiple_of(3) && count < 5;
            let ready = !(r >> 4).is_multiple_of(4);
            tb.f.push.next = push;
            tb.f.push_data.next = (next_in % 30000).into();
            tb.f.out_ready.next = ready;
            if tb.f.out_valid.val() {
                let d = to_i64(tb.f.out_data.val());
                if let Some(h) = held {
                    assert_eq!(h, d, "data changed while stalled");
                }
                assert_eq!(d, next_out % 30000);
                if ready {
                    next_out += 1;
                    held = None;
                } else {
                    held = Some(d);
                }
            }
            if push {
                next_in += 1;
            }
            tick(&mut tb);
        }
        assert!(next_out > 1000);
    }
}
