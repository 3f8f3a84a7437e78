//! `GateUnit`: the LSTM nonlinearity and state update for one hidden unit per cycle.
//!
//! Input: the four accumulated pre-activation words (i, f, g, o) of unit u (M summed over the
//! MAC arrays) with tags. Pipeline (docs/arithmetic.md §3 steps 4–7), every block-RAM read and every product
//! registered so each stage has one slow element (for Fmax):
//! - c0→1: register the M words;
//! - c1→2: `pre = sat16(RQ(M, wfrac))`, registered;
//! - c2→3: LUT index, LUT reads (σ for i, f, o; tanh for g); c[u] read;
//! - c3→4: register LUT outputs and c[u];
//! - c4→5: products f·c and i·g, registered;
//! - c5→6: exact sum `f·c + i·g`, registered;
//! - c6→7: `c = sat16(RQ(f·c + i·g, 8))` (one rounding of the exact sum), registered; c[u]
//!   written;
//! - c7→8: tanh(c) LUT read; c8→9: registered;
//! - c9→10: product o·tanh(c), registered; c10→11: `h = sat16(RQ(o·tanh(c), 8))`, registered.
//!
//! Latency [`GATE_PIPE`] = 11 cycles (`in_valid` → `out_valid`), throughput one unit per
//! cycle. c has no short-range recurrence (unit u is updated once per step), so the depth costs
//! only latency.
//!
//! Ports: `in_valid`, `in_u`, `in_arr`, `in_addr` (tags passed through), `m_i/m_f/m_g/m_o`;
//! `clr_valid`, `clr_addr` (c = 0); `flush`; `out_valid`, `out_h`, `out_u`, `out_arr`, `out_addr`.
//! LUT images: `sig.hex`, `tanh.hex` (2^(12-s) entries, docs/arithmetic.md §4).

use crate::delay::{Delay, ValidDelay};
use crate::lut_index::LutIndex;
use crate::mem::SyncMem;
use crate::requant::Requant;
use rust_hdl::prelude::*;

/// Gate/state unit.
#[derive(LogicBlock)]
pub struct GateUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop units in flight.
    pub flush: Signal<In, Bit>,
    /// Unit valid.
    pub in_valid: Signal<In, Bit>,
    /// Unit index u.
    pub in_u: Signal<In, Bits<16>>,
    /// Tag: MAC array of h column u.
    pub in_arr: Signal<In, Bits<8>>,
    /// Tag: weight address base of h column u.
    pub in_addr: Signal<In, Bits<16>>,
    /// M of row i.
    pub m_i: Signal<In, Signed<32>>,
    /// M of row f.
    pub m_f: Signal<In, Signed<32>>,
    /// M of row g.
    pub m_g: Signal<In, Signed<32>>,
    /// M of row o.
    pub m_o: Signal<In, Signed<32>>,
    /// Clear c[clr_addr].
    pub clr_valid: Signal<In, Bit>,
    /// Address to clear.
    pub clr_addr: Signal<In, Bits<16>>,
    /// h valid.
    pub out_valid: Signal<Out, Bit>,
    /// h (Q8.8).
    pub out_h: Signal<Out, Signed<16>>,
    /// Unit index.
    pub out_u: Signal<Out, Bits<16>>,
    /// Tag.
    pub out_arr: Signal<Out, Bits<8>>,
    /// Tag.
    pub out_addr: Signal<Out, Bits<16>>,
    m1i: DFF<Signed<32>>,
    m1f: DFF<Signed<32>>,
    m1g: DFF<Signed<32>>,
    m1o: DFF<Signed<32>>,
    rq_i: Requant<32>,
    rq_f: Requant<32>,
    rq_g: Requant<32>,
    rq_o: Requant<32>,
    p2i: DFF<Signed<16>>,
    p2f: DFF<Signed<16>>,
    p2g: DFF<Signed<16>>,
    p2o: DFF<Signed<16>>,
    ix_i: LutIndex,
    ix_f: LutIndex,
    ix_g: LutIndex,
    ix_o: LutIndex,
    lut_i: SyncMem<16>,
    lut_f: SyncMem<16>,
    lut_g: SyncMem<16>,
    lut_o: SyncMem<16>,
    cmem: SyncMem<16>,
    g4i: DFF<Signed<16>>,
    g4f: DFF<Signed<16>>,
    g4g: DFF<Signed<16>>,
    g4o: DFF<Signed<16>>,
    c4: DFF<Signed<16>>,
    fc: Signal<Local, Signed<32>>,
    ig: Signal<Local, Signed<32>>,
    p5fc: DFF<Signed<32>>,
    p5ig: DFF<Signed<32>>,
    csum: Signal<Local, Signed<32>>,
    s6: DFF<Signed<32>>,
    rq_c: Requant<32>,
    c7: DFF<Signed<16>>,
    ix_c: LutIndex,
    lut_c: SyncMem<16>,
    tc9: DFF<Signed<16>>,
    oh: Signal<Local, Signed<32>>,
    oh10: DFF<Signed<32>>,
    rq_h: Requant<32>,
    h11: DFF<Signed<16>>,
    v_c6: ValidDelay,
    v_c11: ValidDelay,
    u_c2: Delay<Bits<16>>,
    u_c6: Delay<Bits<16>>,
    u_c11: Delay<Bits<16>>,
    arr_c11: Delay<Bits<8>>,
    addr_c11: Delay<Bits<16>>,
    o_c9: Delay<Signed<16>>,
    zero16: Constant<Bits<16>>,
}

/// Latency of the gate unit pipeline in cycles.
pub const GATE_PIPE: usize = 11;

/// Arithmetic options of the gate unit.
#[derive(Debug, Clone)]
pub struct GateSpec {
    /// H (size of the c memory).
    pub hidden: usize,
    /// Weight fraction bits (M has 8 + wfrac fraction bits).
    pub wfrac: u32,
    /// Round half to even (else floor).
    pub rne: bool,
    /// LUT input LSBs dropped.
    pub lut_shift: u32,
    /// σ table words.
    pub sig: Vec<u64>,
    /// tanh table words.
    pub tanh: Vec<u64>,
}

impl GateUnit {
    /// Build the gate unit.
    pub fn new(spec: &GateSpec) -> Self {
        let rq = |f| Requant::<32>::new(f, spec.rne);
        let s = spec.lut_shift;
        let _ = GATE_PIPE;
        Self {
            clock: Default::default(),
            flush: Default::default(),
            in_valid: Default::default(),
            in_u: Default::default(),
            in_arr: Default::default(),
            in_addr: Default::default(),
            m_i: Default::default(),
            m_f: Default::default(),
            m_g: Default::default(),
            m_o: Default::default(),
            clr_valid: Default::default(),
            clr_addr: Default::default(),
            out_valid: Default::default(),
            out_h: Default::default(),
            out_u: Default::default(),
            out_arr: Default::default(),
            out_addr: Default::default(),
            m1i: Default::default(),
            m1f: Default::default(),
            m1g: Default::default(),
            m1o: Default::default(),
            rq_i: rq(spec.wfrac),
            rq_f: rq(spec.wfrac),
            rq_g: rq(spec.wfrac),
            rq_o: rq(spec.wfrac),
            p2i: Default::default(),
            p2f: Default::default(),
            p2g: Default::default(),
            p2o: Default::default(),
            ix_i: LutIndex::new(s),
            ix_f: LutIndex::new(s),
            ix_g: LutIndex::new(s),
            ix_o: LutIndex::new(s),
            lut_i: SyncMem::rom("sig.hex", spec.sig.clone()),
            lut_f: SyncMem::rom("sig.hex", spec.sig.clone()),
            lut_g: SyncMem::rom("tanh.hex", spec.tanh.clone()),
            lut_o: SyncMem::rom("sig.hex", spec.sig.clone()),
            cmem: SyncMem::ram(spec.hidden),
            g4i: Default::default(),
            g4f: Default::default(),
            g4g: Default::default(),
            g4o: Default::default(),
            c4: Default::default(),
            fc: Default::default(),
            ig: Default::default(),
            p5fc: Default::default(),
            p5ig: Default::default(),
            csum: Default::default(),
            s6: Default::default(),
            rq_c: rq(8),
            c7: Default::default(),
            ix_c: LutIndex::new(s),
            lut_c: SyncMem::rom("tanh.hex", spec.tanh.clone()),
            tc9: Default::default(),
            oh: Default::default(),
            oh10: Default::default(),
            rq_h: rq(8),
            h11: Default::default(),
            v_c6: ValidDelay::new(6),
            v_c11: ValidDelay::new(5),
            u_c2: Delay::new(2),
            u_c6: Delay::new(4),
            u_c11: Delay::new(5),
            arr_c11: Delay::new(GATE_PIPE),
            addr_c11: Delay::new(GATE_PIPE),
            o_c9: Delay::new(5),
            zero16: Constant::new(0u64.into()),
        }
    }

    /// c[u] in the Rust model (tests).
    pub fn peek_c(&self, u: usize) -> i64 {
        self.cmem.peek(u) as u16 as i16 as i64
    }
}

impl Logic for GateUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, m1i, m1f, m1g, m1o, p2i, p2f, p2g, p2o, g4i, g4f, g4g, g4o, c4, p5fc,
            p5ig, s6, c7, tc9, oh10, h11
        );
        self.lut_i.clock.next = self.clock.val();
        self.lut_f.clock.next = self.clock.val();
        self.lut_g.clock.next = self.clock.val();
        self.lut_o.clock.next = self.clock.val();
        self.lut_c.clock.next = self.clock.val();
        self.cmem.clock.next = self.clock.val();
        self.v_c6.clock.next = self.clock.val();
        self.v_c11.clock.next = self.clock.val();
        self.u_c2.clock.next = self.clock.val();
        self.u_c6.clock.next = self.clock.val();
        self.u_c11.clock.next = self.clock.val();
        self.arr_c11.clock.next = self.clock.val();
        self.addr_c11.clock.next = self.clock.val();
        self.o_c9.clock.next = self.clock.val();
        // tags: valid (cleared by flush), unit index, h-column tags
        self.v_c6.clear.next = self.flush.val();
        self.v_c6.d.next = self.in_valid.val();
        self.v_c11.clear.next = self.flush.val();
        self.v_c11.d.next = self.v_c6.q.val();
        self.u_c2.d.next = self.in_u.val();
        self.u_c6.d.next = self.u_c2.q.val();
        self.u_c11.d.next = self.u_c6.q.val();
        self.arr_c11.d.next = self.in_arr.val();
        self.addr_c11.d.next = self.in_addr.val();
        // c0 -> c1: M words
        self.m1i.d.next = self.m_i.val();
        self.m1f.d.next = self.m_f.val();
        self.m1g.d.next = self.m_g.val();
        self.m1o.d.next = self.m_o.val();
        // c1 -> c2: pre-activations
        self.rq_i.x.next = self.m1i.q.val();
        self.rq_f.x.next = self.m1f.q.val();
        self.rq_g.x.next = self.m1g.q.val();
        self.rq_o.x.next = self.m1o.q.val();
        self.p2i.d.next = self.rq_i.y.val();
        self.p2f.d.next = self.rq_f.y.val();
        self.p2g.d.next = self.rq_g.y.val();
        self.p2o.d.next = self.rq_o.y.val();
        // c2 -> c3: LUT and c reads
        self.ix_i.x.next = self.p2i.q.val();
        self.ix_f.x.next = self.p2f.q.val();
        self.ix_g.x.next = self.p2g.q.val();
        self.ix_o.x.next = self.p2o.q.val();
        self.lut_i.raddr.next = self.ix_i.idx.val();
        self.lut_f.raddr.next = self.ix_f.idx.val();
        self.lut_g.raddr.next = self.ix_g.idx.val();
        self.lut_o.raddr.next = self.ix_o.idx.val();
        self.lut_i.we.next = false;
        self.lut_f.we.next = false;
        self.lut_g.we.next = false;
        self.lut_o.we.next = false;
        self.lut_c.we.next = false;
        self.lut_i.waddr.next = self.zero16.val();
        self.lut_f.waddr.next = self.zero16.val();
        self.lut_g.waddr.next = self.zero16.val();
        self.lut_o.waddr.next = self.zero16.val();
        self.lut_c.waddr.next = self.zero16.val();
        self.lut_i.wdata.next = self.zero16.val();
        self.lut_f.wdata.next = self.zero16.val();
        self.lut_g.wdata.next = self.zero16.val();
        self.lut_o.wdata.next = self.zero16.val();
        self.lut_c.wdata.next = self.zero16.val();
        self.cmem.raddr.next = self.u_c2.q.val();
        // c3 -> c4: register LUT outputs and c
        self.g4i.d.next = signed_cast(self.lut_i.rdata.val());
        self.g4f.d.next = signed_cast(self.lut_f.rdata.val());
        self.g4g.d.next = signed_cast(self.lut_g.rdata.val());
        self.g4o.d.next = signed_cast(self.lut_o.rdata.val());
        self.c4.d.next = signed_cast(self.cmem.rdata.val());
        // c4 -> c5: products
        self.fc.next = self.g4f.q.val() * self.c4.q.val();
        self.ig.next = self.g4i.q.val() * self.g4g.q.val();
        self.p5fc.d.next = self.fc.val();
        self.p5ig.d.next = self.ig.val();
        self.o_c9.d.next = self.g4o.q.val();
        // c5 -> c6: exact sum of the products, registered
        self.csum.next = self.p5fc.q.val() + self.p5ig.q.val();
        self.s6.d.next = self.csum.val();
        // c6 -> c7: cell update, c written
        self.rq_c.x.next = self.s6.q.val();
        self.c7.d.next = self.rq_c.y.val();
        self.cmem.we.next = self.v_c6.q.val() | self.clr_valid.val();
        self.cmem.waddr.next = self.u_c6.q.val();
        self.cmem.wdata.next = unsigned_cast(self.rq_c.y.val());
        if self.clr_valid.val() {
            self.cmem.waddr.next = self.clr_addr.val();
            self.cmem.wdata.next = self.zero16.val();
        }
        // c7 -> c8 -> c9: tanh(c)
        self.ix_c.x.next = self.c7.q.val();
        self.lut_c.raddr.next = self.ix_c.idx.val();
        self.tc9.d.next = signed_cast(self.lut_c.rdata.val());
        // c9 -> c10 -> c11: h
        self.oh.next = self.o_c9.q.val() * self.tc9.q.val();
        self.oh10.d.next = self.oh.val();
        self.rq_h.x.next = self.oh10.q.val();
        self.h11.d.next = self.rq_h.y.val();
        self.out_valid.next = self.v_c11.q.val();
        self.out_h.next = self.h11.q.val();
        self.out_u.next = self.u_c11.q.val();
        self.out_arr.next = self.arr_c11.q.val();
        self.out_addr.next = self.addr_c11.q.val();
    }
}
