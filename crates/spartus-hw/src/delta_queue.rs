//! `DeltaQueue`: the per-array queue of nonzero deltas waiting for the MAC array.
//!
//! Entries are (weight address base, column kind, Δ); the kind (0 = x column, 1 = h column)
//! travels with the entry so that the issue engine never has to derive it from the address
//! (an array without x columns would otherwise compare against a constant 0). Pushes and pops may happen in the same cycle.
//! `pop` returns the head one cycle later on `q_addr` / `q_delta` (registered memory read).
//! `empty` is registered state (count == 0). `clear` resets the pointers; the accelerator
//! clears every queue at the end of each MAC phase (when it is empty), so the depth only has
//! to hold one step's entries (x and h columns of this array) and pointers never wrap.
//!
//! Latency: push → poppable next cycle; pop → data next cycle. Throughput 1 push + 1 pop / cycle.

use crate::mem::SyncMem;
use rust_hdl::prelude::*;

/// FIFO of (address, delta) entries.
#[derive(LogicBlock)]
pub struct DeltaQueue {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Reset pointers (queue becomes empty).
    pub clear: Signal<In, Bit>,
    /// Push an entry.
    pub push: Signal<In, Bit>,
    /// Entry address.
    pub push_addr: Signal<In, Bits<16>>,
    /// Entry kind (0 = x column, 1 = h column).
    pub push_kind: Signal<In, Bit>,
    /// Entry delta.
    pub push_delta: Signal<In, Signed<16>>,
    /// Pop the head (must not be empty).
    pub pop: Signal<In, Bit>,
    /// Popped address (cycle after `pop`).
    pub q_addr: Signal<Out, Bits<16>>,
    /// Popped kind (cycle after `pop`).
    pub q_kind: Signal<Out, Bit>,
    /// Popped delta (cycle after `pop`).
    pub q_delta: Signal<Out, Signed<16>>,
    /// No entries.
    pub empty: Signal<Out, Bit>,
    mem_a: SyncMem<16>,
    mem_d: SyncMem<16>,
    mem_k: SyncMem<1>,
    wptr: DFF<Bits<16>>,
    rptr: DFF<Bits<16>>,
    count: DFF<Bits<16>>,
    zero: Constant<Bits<16>>,
    one16: Constant<Bits<16>>,
    one1: Constant<Bits<1>>,
    zero1: Constant<Bits<1>>,
}

impl DeltaQueue {
    /// A queue holding up to `depth` entries between clears.
    pub fn new(depth: usize) -> Self {
        let depth = depth.max(1);
        Self {
            clock: Default::default(),
            clear: Default::default(),
            push: Default::default(),
            push_addr: Default::default(),
            push_kind: Default::default(),
            push_delta: Default::default(),
            pop: Default::default(),
            q_addr: Default::default(),
            q_kind: Default::default(),
            q_delta: Default::default(),
            empty: Default::default(),
            mem_a: SyncMem::ram(depth),
            mem_d: SyncMem::ram(depth),
            mem_k: SyncMem::ram(depth),
            wptr: Default::default(),
            rptr: Default::default(),
            count: Default::default(),
            zero: Constant::new(0u64.into()),
            one16: Constant::new(1u64.into()),
            one1: Constant::new(1u64.into()),
            zero1: Constant::new(0u64.into()),
        }
    }
}

impl Logic for DeltaQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, wptr, rptr, count);
        self.mem_a.clock.next = self.clock.val();
        self.mem_d.clock.next = self.clock.val();
        self.mem_k.clock.next = self.clock.val();
        self.mem_a.raddr.next = self.rptr.q.val();
        self.mem_d.raddr.next = self.rptr.q.val();
        self.mem_k.raddr.next = self.rptr.q.val();
        self.mem_a.we.next = self.push.val();
        self.mem_d.we.next = self.push.val();
        self.mem_k.we.next = self.push.val();
        self.mem_a.waddr.next = self.wptr.q.val();
        self.mem_d.waddr.next = self.wptr.q.val();
        self.mem_k.waddr.next = self.wptr.q.val();
        self.mem_a.wdata.next = self.push_addr.val();
        self.mem_d.wdata.next = unsigned_cast(self.push_delta.val());
        self.mem_k.wdata.next = self.zero1.val();
        if self.push_kind.val() {
            self.mem_k.wdata.next = self.one1.val();
        }
        if self.push.val() {
            self.wptr.d.next = self.wptr.q.val() + self.one16.val();
        }
        if self.pop.val() {
            self.rptr.d.next = self.rptr.q.val() + self.one16.val();
        }
        if self.push.val() & !self.pop.val() {
            self.count.d.next = self.count.q.val() + self.one16.val();
        }
        if !self.push.val() & self.pop.val() {
            self.count.d.next = self.count.q.val() - self.one16.val();
        }
        if self.clear.val() {
            self.wptr.d.next = self.zero.val();
            self.rptr.d.next = self.zero.val();
            self.count.d.next = self.zero.val();
        }
        self.empty.next = self.count.q.val() == self.zero.val();
        self.q_addr.next = self.mem_a.rdata.val();
        self.q_kind.next = self.mem_k.rdata.val() == self.one1.val();
        self.q_delta.next = signed_cast(self.mem_d.rdata.val());
    }
}
