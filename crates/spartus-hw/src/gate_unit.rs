//! `GateUnit`: the LSTM nonlinearity and state update for one hidden unit per cycle.
//!
//! Input: the four accumulated pre-activation words (i, f, g, o) of unit u (M summed over the
//! MAC arrays) with tags. Pipeline (SPEC §3 steps 4–7):
//! - S1: register M words;
//! - S2: `pre = sat16(RQ(M, wfrac))`, LUT index, LUT reads (σ for i, f, o; tanh for g); c[u] read;
//! - S3: `c = sat16(RQ(f·c + i·g, 8))` (one rounding of the exact sum), c[u] written,
//!   tanh(c) LUT read;
//! - S4: `h = sat16(RQ(o·tanh(c), 8))`, registered on the outputs.
//!
//! Latency 4 cycles (`in_valid` → `out_valid`), throughput one unit per cycle.
//!
//! Ports: `in_valid`, `in_u`, `in_arr`, `in_addr` (tags passed through), `m_i/m_f/m_g/m_o`;
//! `clr_valid`, `clr_addr` (c = 0); `flush`; `out_valid`, `out_h`, `out_u`, `out_arr`, `out_addr`.
//! LUT images: `sig.hex`, `tanh.hex` (2^(12-s) entries, SPEC §4).

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
    s1v: DFF<Bit>,
    s1u: DFF<Bits<16>>,
    s1arr: DFF<Bits<8>>,
    s1addr: DFF<Bits<16>>,
    s1i: DFF<Signed<32>>,
    s1f: DFF<Signed<32>>,
    s1g: DFF<Signed<32>>,
    s1o: DFF<Signed<32>>,
    rq_i: Requant<32>,
    rq_f: Requant<32>,
    rq_g: Requant<32>,
    rq_o: Requant<32>,
    ix_i: LutIndex,
    ix_f: LutIndex,
    ix_g: LutIndex,
    ix_o: LutIndex,
    lut_i: SyncMem<16>,
    lut_f: SyncMem<16>,
    lut_g: SyncMem<16>,
    lut_o: SyncMem<16>,
    cmem: SyncMem<16>,
    s2v: DFF<Bit>,
    s2u: DFF<Bits<16>>,
    s2arr: DFF<Bits<8>>,
    s2addr: DFF<Bits<16>>,
    gi: Signal<Local, Signed<16>>,
    gf: Signal<Local, Signed<16>>,
    gg: Signal<Local, Signed<16>>,
    cold: Signal<Local, Signed<16>>,
    fc: Signal<Local, Signed<32>>,
    ig: Signal<Local, Signed<32>>,
    csum: Signal<Local, Signed<32>>,
    rq_c: Requant<32>,
    ix_c: LutIndex,
    lut_c: SyncMem<16>,
    s3v: DFF<Bit>,
    s3u: DFF<Bits<16>>,
    s3arr: DFF<Bits<8>>,
    s3addr: DFF<Bits<16>>,
    s3o: DFF<Signed<16>>,
    tc: Signal<Local, Signed<16>>,
    oh: Signal<Local, Signed<32>>,
    rq_h: Requant<32>,
    s4v: DFF<Bit>,
    s4h: DFF<Signed<16>>,
    s4u: DFF<Bits<16>>,
    s4arr: DFF<Bits<8>>,
    s4addr: DFF<Bits<16>>,
    zero16: Constant<Bits<16>>,
}

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
            s1v: Default::default(),
            s1u: Default::default(),
            s1arr: Default::default(),
            s1addr: Default::default(),
            s1i: Default::default(),
            s1f: Default::default(),
            s1g: Default::default(),
            s1o: Default::default(),
            rq_i: rq(spec.wfrac),
            rq_f: rq(spec.wfrac),
            rq_g: rq(spec.wfrac),
            rq_o: rq(spec.wfrac),
            ix_i: LutIndex::new(s),
            ix_f: LutIndex::new(s),
            ix_g: LutIndex::new(s),
            ix_o: LutIndex::new(s),
            lut_i: SyncMem::rom("sig.hex", spec.sig.clone()),
            lut_f: SyncMem::rom("sig.hex", spec.sig.clone()),
            lut_g: SyncMem::rom("tanh.hex", spec.tanh.clone()),
            lut_o: SyncMem::rom("sig.hex", spec.sig.clone()),
            cmem: SyncMem::ram(spec.hidden),
            s2v: Default::default(),
            s2u: Default::default(),
            s2arr: Default::default(),
            s2addr: Default::default(),
            gi: Default::default(),
            gf: Default::default(),
            gg: Default::default(),
            cold: Default::default(),
            fc: Default::default(),
            ig: Default::default(),
            csum: Default::default(),
            rq_c: rq(8),
            ix_c: LutIndex::new(s),
            lut_c: SyncMem::rom("tanh.hex", spec.tanh.clone()),
            s3v: Default::default(),
            s3u: Default::default(),
            s3arr: Default::default(),
            s3addr: Default::default(),
            s3o: Default::default(),
            tc: Default::default(),
            oh: Default::default(),
            rq_h: rq(8),
            s4v: Default::default(),
            s4h: Default::default(),
            s4u: Default::default(),
            s4arr: Default::default(),
            s4addr: Default::default(),
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
            self, clock, s1v, s1u, s1arr, s1addr, s1i, s1f, s1g, s1o, s2v, s2u, s2arr, s2addr, s3v,
            s3u, s3arr, s3addr, s3o, s4v, s4h, s4u, s4arr, s4addr
        );
        self.lut_i.clock.next = self.clock.val();
        self.lut_f.clock.next = self.clock.val();
        self.lut_g.clock.next = self.clock.val();
        self.lut_o.clock.next = self.clock.val();
        self.lut_c.clock.next = self.clock.val();
        self.cmem.clock.next = self.clock.val();
        // S1
        self.s1v.d.next = self.in_valid.val() & !self.flush.val();
        self.s1u.d.next = self.in_u.val();
        self.s1arr.d.next = self.in_arr.val();
        self.s1addr.d.next = self.in_addr.val();
        self.s1i.d.next = self.m_i.val();
        self.s1f.d.next = self.m_f.val();
        self.s1g.d.next = self.m_g.val();
        self.s1o.d.next = self.m_o.val();
        // S2: pre-activations, LUT reads, c read
        self.rq_i.x.next = self.s1i.q.val();
        self.rq_f.x.next = self.s1f.q.val();
        self.rq_g.x.next = self.s1g.q.val();
        self.rq_o.x.next = self.s1o.q.val();
        self.ix_i.x.next = self.rq_i.y.val();
        self.ix_f.x.next = self.rq_f.y.val();
        self.ix_g.x.next = self.rq_g.y.val();
        self.ix_o.x.next = self.rq_o.y.val();
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
        self.cmem.raddr.next = self.s1u.q.val();
        self.s2v.d.next = self.s1v.q.val() & !self.flush.val();
        self.s2u.d.next = self.s1u.q.val();
        self.s2arr.d.next = self.s1arr.q.val();
        self.s2addr.d.next = self.s1addr.q.val();
        // S3: cell update
        self.gi.next = signed_cast(self.lut_i.rdata.val());
        self.gf.next = signed_cast(self.lut_f.rdata.val());
        self.gg.next = signed_cast(self.lut_g.rdata.val());
        self.cold.next = signed_cast(self.cmem.rdata.val());
        self.fc.next = self.gf.val() * self.cold.val();
        self.ig.next = self.gi.val() * self.gg.val();
        self.csum.next = self.fc.val() + self.ig.val();
        self.rq_c.x.next = self.csum.val();
        self.cmem.we.next = (self.s2v.q.val() & !self.flush.val()) | self.clr_valid.val();
        self.cmem.waddr.next = self.s2u.q.val();
        self.cmem.wdata.next = unsigned_cast(self.rq_c.y.val());
        if self.clr_valid.val() {
            self.cmem.waddr.next = self.clr_addr.val();
            self.cmem.wdata.next = self.zero16.val();
        }
        self.ix_c.x.next = self.rq_c.y.val();
        self.lut_c.raddr.next = self.ix_c.idx.val();
        self.s3v.d.next = self.s2v.q.val() & !self.flush.val();
        self.s3u.d.next = self.s2u.q.val();
        self.s3arr.d.next = self.s2arr.q.val();
        self.s3addr.d.next = self.s2addr.q.val();
        self.s3o.d.next = signed_cast(self.lut_o.rdata.val());
        // S4: hidden output
        self.tc.next = signed_cast(self.lut_c.rdata.val());
        self.oh.next = self.s3o.q.val() * self.tc.val();
        self.rq_h.x.next = self.oh.val();
        self.s4v.d.next = self.s3v.q.val() & !self.flush.val();
        self.s4h.d.next = self.rq_h.y.val();
        self.s4u.d.next = self.s3u.q.val();
        self.s4arr.d.next = self.s3arr.q.val();
        self.s4addr.d.next = self.s3addr.q.val();
        self.out_valid.next = self.s4v.q.val() & !self.flush.val();
        self.out_h.next = self.s4h.q.val();
        self.out_u.next = self.s4u.q.val();
        self.out_arr.next = self.s4arr.q.val();
        self.out_addr.next = self.s4addr.q.val();
    }
}
