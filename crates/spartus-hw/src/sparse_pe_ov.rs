//! `SparsePeOv`: the processing element of the overlapped schedule (`hardware.overlap`).
//!
//! Like [`crate::sparse_pe::SparsePe`] (same weights, same 3-stage MAC pipeline with M
//! forwarding, same ports), but M is kept as three banked memories per gate: `A` (the
//! accumulated M of the last completed step) and two delta banks `B0`, `B1`. MACs never touch
//! `A`; they accumulate into the delta bank `B[acc_bank]`, so they may run while the gate phase
//! reads M. The gate phase reads `A` and the other delta bank `B[!acc_bank]` at `rd_addr`;
//! one cycle later `m_* = A + B[!acc_bank]` (wrap32) — M of this step, because wrapping sums
//! do not depend on the order of the additions — and, when `fold` is high in that cycle (this
//! PE is the one whose words go to the chain), writes the sum back to `A` and 0 to
//! `B[!acc_bank]`. The layer flips `acc_bank` at the start of every gate phase, when no MAC is
//! in flight.
//!
//! Ports: those of `SparsePe` (without `gate_mode`: A and the folded bank are read at `rd_addr`
//! every cycle) plus `acc_bank` (delta bank the MACs accumulate into) and `fold`
//! (fold the words read in the previous cycle). `init_valid` writes the bias (or 0) to `A` and
//! 0 to both delta banks. Latency/throughput: MAC as `SparsePe` (3 cycles, 1 entry/cycle);
//! gate read 1 cycle. Memory: 3× the M of `SparsePe`, plus four 32-bit adders.

use crate::mem::SyncMem;
use crate::sparse_pe::PeImages;
use crate::weight_rom::WeightRom;
use rust_hdl::prelude::*;

/// One PE with delta banks.
#[derive(LogicBlock)]
pub struct SparsePeOv {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop the MAC operations in flight.
    pub flush: Signal<In, Bit>,
    /// Issue one weight entry.
    pub issue_valid: Signal<In, Bit>,
    /// Weight address.
    pub issue_addr: Signal<In, Bits<16>>,
    /// Δ of the column (Q8.8).
    pub issue_delta: Signal<In, Signed<16>>,
    /// Initialise M at `init_addr` (A = bias or 0, both delta banks 0).
    pub init_valid: Signal<In, Bit>,
    /// Bank address to initialise.
    pub init_addr: Signal<In, Bits<16>>,
    /// Gate-phase read address of A and `B[!acc_bank]` (read every cycle).
    pub rd_addr: Signal<In, Bits<16>>,
    /// Delta bank the MACs accumulate into.
    pub acc_bank: Signal<In, Bit>,
    /// Fold the words read in the previous cycle (A += B[!acc_bank], B[!acc_bank] = 0).
    pub fold: Signal<In, Bit>,
    /// M word, gate i (A + B[!acc_bank]).
    pub m_i: Signal<Out, Signed<32>>,
    /// M word, gate f.
    pub m_f: Signal<Out, Signed<32>>,
    /// M word, gate g.
    pub m_g: Signal<Out, Signed<32>>,
    /// M word, gate o.
    pub m_o: Signal<Out, Signed<32>>,
    wrom: WeightRom,
    bank_a: Vec<SyncMem<32>>,
    bank_b0: Vec<SyncMem<32>>,
    bank_b1: Vec<SyncMem<32>>,
    biases: Vec<SyncMem<32>>,
    hn1: Constant<Bits<16>>,
    hn2: Constant<Bits<16>>,
    hn3: Constant<Bits<16>>,
    zero32: Constant<Bits<32>>,
    gsel0: Constant<Bits<2>>,
    gsel1: Constant<Bits<2>>,
    gsel2: Constant<Bits<2>>,
    gsel3: Constant<Bits<2>>,
    v1: DFF<Bit>,
    d1: DFF<Signed<16>>,
    prod: Signal<Local, Signed<32>>,
    g1: Signal<Local, Bits<2>>,
    ul1: Signal<Local, Bits<16>>,
    v2: DFF<Bit>,
    g2: DFF<Bits<2>>,
    ul2: DFF<Bits<16>>,
    p2: DFF<Signed<32>>,
    msel: Signal<Local, Signed<32>>,
    old: Signal<Local, Signed<32>>,
    sum: Signal<Local, Signed<32>>,
    fwd: DFF<Bit>,
    fwdv: DFF<Signed<32>>,
    iv1: DFF<Bit>,
    ia1: DFF<Bits<16>>,
    ra1: DFF<Bits<16>>,
    sum_i: Signal<Local, Signed<32>>,
    sum_f: Signal<Local, Signed<32>>,
    sum_g: Signal<Local, Signed<32>>,
    sum_o: Signal<Local, Signed<32>>,
}

impl SparsePeOv {
    /// A PE with `H/N = units` hidden units per PE.
    pub fn new(units: usize, img: &PeImages) -> Self {
        assert!(img.bias.is_empty() || img.bias.len() == 4);
        let banks = || (0..4).map(|_| SyncMem::ram(units)).collect();
        Self {
            clock: Default::default(),
            flush: Default::default(),
            issue_valid: Default::default(),
            issue_addr: Default::default(),
            issue_delta: Default::default(),
            init_valid: Default::default(),
            init_addr: Default::default(),
            rd_addr: Default::default(),
            acc_bank: Default::default(),
            fold: Default::default(),
            m_i: Default::default(),
            m_f: Default::default(),
            m_g: Default::default(),
            m_o: Default::default(),
            wrom: WeightRom::new(&img.weight_file, img.weights.clone(), img.index_bits),
            bank_a: banks(),
            bank_b0: banks(),
            bank_b1: banks(),
            biases: img
                .bias
                .iter()
                .map(|(f, w)| SyncMem::rom(f, w.clone()))
                .collect(),
            hn1: Constant::new((units as u64).into()),
            hn2: Constant::new((2 * units as u64).into()),
            hn3: Constant::new((3 * units as u64).into()),
            zero32: Constant::new(0u64.into()),
            gsel0: Constant::new(0u64.into()),
            gsel1: Constant::new(1u64.into()),
            gsel2: Constant::new(2u64.into()),
            gsel3: Constant::new(3u64.into()),
            v1: Default::default(),
            d1: Default::default(),
            prod: Default::default(),
            g1: Default::default(),
            ul1: Default::default(),
            v2: Default::default(),
            g2: Default::default(),
            ul2: Default::default(),
            p2: Default::default(),
            msel: Default::default(),
            old: Default::default(),
            sum: Default::default(),
            fwd: Default::default(),
            fwdv: Default::default(),
            iv1: Default::default(),
            ia1: Default::default(),
            ra1: Default::default(),
            sum_i: Default::default(),
            sum_f: Default::default(),
            sum_g: Default::default(),
            sum_o: Default::default(),
        }
    }

    /// M word of local row `l` in the Rust model (tests): `A + B0 + B1` (wrap32).
    pub fn peek_m(&self, l: usize) -> i32 {
        let units = self.bank_a[0].depth();
        let (g, a) = (l / units, l % units);
        (self.bank_a[g].peek(a) as u32)
            .wrapping_add(self.bank_b0[g].peek(a) as u32)
            .wrapping_add(self.bank_b1[g].peek(a) as u32) as i32
    }
}

impl Logic for SparsePeOv {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, v1, d1, v2, g2, ul2, p2, fwd, fwdv, iv1, ia1, ra1);
        self.wrom.clock.next = self.clock.val();
        // stage 0: weight read
        self.wrom.addr.next = self.issue_addr.val();
        self.v1.d.next = self.issue_valid.val() & !self.flush.val();
        self.d1.d.next = self.issue_delta.val();
        // stage 1: multiply, decode local row into (bank, address), read B[acc_bank]
        self.prod.next = self.wrom.value.val() * self.d1.q.val();
        self.g1.next = self.gsel0.val();
        self.ul1.next = self.wrom.row.val();
        if self.wrom.row.val() >= self.hn1.val() {
            self.g1.next = self.gsel1.val();
            self.ul1.next = self.wrom.row.val() - self.hn1.val();
        }
        if self.wrom.row.val() >= self.hn2.val() {
            self.g1.next = self.gsel2.val();
            self.ul1.next = self.wrom.row.val() - self.hn2.val();
        }
        if self.wrom.row.val() >= self.hn3.val() {
            self.g1.next = self.gsel3.val();
            self.ul1.next = self.wrom.row.val() - self.hn3.val();
        }
        self.v2.d.next = self.v1.q.val() & !self.flush.val();
        self.g2.d.next = self.g1.val();
        self.ul2.d.next = self.ul1.val();
        self.p2.d.next = self.prod.val();
        self.fwd.d.next = self.v1.q.val()
            & self.v2.q.val()
            & (self.g1.val() == self.g2.q.val())
            & (self.ul1.val() == self.ul2.q.val());
        // stage 2: accumulate into B[acc_bank] (forwarded word when the previous entry wrote
        // the same row)
        self.msel.next = signed_cast(self.bank_b0[0].rdata.val());
        for g in 0..4 {
            self.bank_a[g].clock.next = self.clock.val();
            self.bank_b0[g].clock.next = self.clock.val();
            self.bank_b1[g].clock.next = self.clock.val();
            self.bank_a[g].raddr.next = self.rd_addr.val();
            self.bank_b0[g].raddr.next = self.ul1.val();
            self.bank_b1[g].raddr.next = self.ul1.val();
            if self.acc_bank.val() {
                self.bank_b0[g].raddr.next = self.rd_addr.val();
                if self.g2.q.val().index() == g {
                    self.msel.next = signed_cast(self.bank_b1[g].rdata.val());
                }
            } else {
                self.bank_b1[g].raddr.next = self.rd_addr.val();
                if self.g2.q.val().index() == g {
                    self.msel.next = signed_cast(self.bank_b0[g].rdata.val());
                }
            }
        }
        self.old.next = self.msel.val();
        if self.fwd.q.val() {
            self.old.next = self.fwdv.q.val();
        }
        self.sum.next = self.old.val() + self.p2.q.val();
        self.fwdv.d.next = self.sum.val();
        // gate read: M = A + B[!acc_bank], one cycle after rd_addr
        self.ra1.d.next = self.rd_addr.val();
        self.sum_i.next = signed_cast(self.bank_a[0].rdata.val() + self.bank_b0[0].rdata.val());
        self.sum_f.next = signed_cast(self.bank_a[1].rdata.val() + self.bank_b0[1].rdata.val());
        self.sum_g.next = signed_cast(self.bank_a[2].rdata.val() + self.bank_b0[2].rdata.val());
        self.sum_o.next = signed_cast(self.bank_a[3].rdata.val() + self.bank_b0[3].rdata.val());
        if !self.acc_bank.val() {
            self.sum_i.next = signed_cast(self.bank_a[0].rdata.val() + self.bank_b1[0].rdata.val());
            self.sum_f.next = signed_cast(self.bank_a[1].rdata.val() + self.bank_b1[1].rdata.val());
            self.sum_g.next = signed_cast(self.bank_a[2].rdata.val() + self.bank_b1[2].rdata.val());
            self.sum_o.next = signed_cast(self.bank_a[3].rdata.val() + self.bank_b1[3].rdata.val());
        }
        self.m_i.next = self.sum_i.val();
        self.m_f.next = self.sum_f.val();
        self.m_g.next = self.sum_g.val();
        self.m_o.next = self.sum_o.val();
        // writes: MAC into B[acc_bank]; fold (A = sum, B[!acc_bank] = 0); initialisation
        self.iv1.d.next = self.init_valid.val();
        self.ia1.d.next = self.init_addr.val();
        self.bank_a[0].wdata.next = unsigned_cast(self.sum_i.val());
        self.bank_a[1].wdata.next = unsigned_cast(self.sum_f.val());
        self.bank_a[2].wdata.next = unsigned_cast(self.sum_g.val());
        self.bank_a[3].wdata.next = unsigned_cast(self.sum_o.val());
        for g in 0..4 {
            self.bank_a[g].we.next = self.fold.val();
            self.bank_a[g].waddr.next = self.ra1.q.val();
            // the delta bank being accumulated: MAC writes
            self.bank_b0[g].we.next = !self.acc_bank.val()
                & self.v2.q.val()
                & (self.g2.q.val().index() == g)
                & !self.flush.val();
            self.bank_b0[g].waddr.next = self.ul2.q.val();
            self.bank_b0[g].wdata.next = unsigned_cast(self.sum.val());
            self.bank_b1[g].we.next = self.acc_bank.val()
                & self.v2.q.val()
                & (self.g2.q.val().index() == g)
                & !self.flush.val();
            self.bank_b1[g].waddr.next = self.ul2.q.val();
            self.bank_b1[g].wdata.next = unsigned_cast(self.sum.val());
            // the delta bank being folded: cleared
            if self.fold.val() {
                if self.acc_bank.val() {
                    self.bank_b0[g].we.next = true;
                    self.bank_b0[g].waddr.next = self.ra1.q.val();
                    self.bank_b0[g].wdata.next = self.zero32.val();
                } else {
                    self.bank_b1[g].we.next = true;
                    self.bank_b1[g].waddr.next = self.ra1.q.val();
                    self.bank_b1[g].wdata.next = self.zero32.val();
                }
            }
            if self.iv1.q.val() {
                self.bank_a[g].we.next = true;
                self.bank_a[g].waddr.next = self.ia1.q.val();
                self.bank_a[g].wdata.next = self.zero32.val();
                self.bank_b0[g].we.next = true;
                self.bank_b0[g].waddr.next = self.ia1.q.val();
                self.bank_b0[g].wdata.next = self.zero32.val();
                self.bank_b1[g].we.next = true;
                self.bank_b1[g].waddr.next = self.ia1.q.val();
                self.bank_b1[g].wdata.next = self.zero32.val();
            }
        }
        for b in 0..self.biases.len() {
            self.biases[b].clock.next = self.clock.val();
            self.biases[b].raddr.next = self.init_addr.val();
            self.biases[b].we.next = false;
            self.biases[b].waddr.next = self.init_addr.val();
            self.biases[b].wdata.next = self.zero32.val();
            if self.iv1.q.val() {
                self.bank_a[b].wdata.next = self.biases[b].rdata.val();
            }
        }
    }
}
