//! `SparsePe`: one processing element of a MAC array.
//!
//! Holds its packed weights (one [`WeightRom`]) and its slice of the pre-activation
//! accumulator M, banked by gate: bank g ∈ {i, f, g, o} holds local rows
//! `l = g·(H/N) + ul` at address `ul`, so the gate unit reads all four gates of one hidden unit
//! in one cycle.
//!
//! Ports:
//! - `issue_valid`, `issue_addr`, `issue_delta`: one (weight address, Δ) per cycle from the
//!   array's issue engine (all PEs of an array get the same address: CBTD keeps K entries per
//!   column in every PE, so they run in lockstep).
//! - `init_valid`, `init_addr`: load M[·][init_addr] with the bias (PEs of array 0) or 0.
//! - `gate_mode`, `rd_addr`: while `gate_mode`, the four banks are read at `rd_addr`;
//!   `m_i/m_f/m_g/m_o` show the words one cycle later.
//! - `flush`: drop the MAC operations in flight.
//!
//! MAC pipeline: cycle 0 weight read; cycle 1 `prod = w·Δ` (int8 × Q8.8 → exact), decode l,
//! M read; cycle 2 `M[l] = wrap32(M[l] + prod)` written. Latency 3 cycles from issue to the
//! written accumulator, throughput one entry per cycle. Read-modify-write hazard: an entry
//! reading M[l] in the cycle the previous entry writes M[l] gets the written value forwarded
//! (entries of one column have distinct rows, so this only happens across adjacent columns);
//! entries further apart read the memory after the write. No stall.

use crate::mem::SyncMem;
use crate::weight_rom::WeightRom;
use rust_hdl::prelude::*;

/// One PE.
#[derive(LogicBlock)]
pub struct SparsePe {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop operations in flight.
    pub flush: Signal<In, Bit>,
    /// Issue one weight entry.
    pub issue_valid: Signal<In, Bit>,
    /// Weight address.
    pub issue_addr: Signal<In, Bits<16>>,
    /// Δ of the column (Q8.8).
    pub issue_delta: Signal<In, Signed<16>>,
    /// Initialise M at `init_addr` (all four banks).
    pub init_valid: Signal<In, Bit>,
    /// Bank address to initialise.
    pub init_addr: Signal<In, Bits<16>>,
    /// Banks read at `rd_addr` (gate phase).
    pub gate_mode: Signal<In, Bit>,
    /// Bank read address in gate mode.
    pub rd_addr: Signal<In, Bits<16>>,
    /// Bank i word.
    pub m_i: Signal<Out, Signed<32>>,
    /// Bank f word.
    pub m_f: Signal<Out, Signed<32>>,
    /// Bank g word.
    pub m_g: Signal<Out, Signed<32>>,
    /// Bank o word.
    pub m_o: Signal<Out, Signed<32>>,
    wrom: WeightRom,
    banks: Vec<SyncMem<32>>,
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
}

/// Memory image names and contents of one PE.
#[derive(Debug, Clone)]
pub struct PeImages {
    /// Weight image file name (under `mem/`).
    pub weight_file: String,
    /// Packed weight words.
    pub weights: Vec<u64>,
    /// Index bits IB of the packed words.
    pub index_bits: u32,
    /// Bias image file names and words per gate bank (empty: M starts at 0).
    pub bias: Vec<(String, Vec<u64>)>,
}

impl SparsePe {
    /// A PE with `H/N = units` hidden units per PE.
    pub fn new(units: usize, img: &PeImages) -> Self {
        assert!(img.bias.is_empty() || img.bias.len() == 4);
        let banks = (0..4).map(|_| SyncMem::ram(units)).collect();
        let biases = img
            .bias
            .iter()
            .map(|(f, w)| SyncMem::rom(f, w.clone()))
            .collect();
        Self {
            clock: Default::default(),
            flush: Default::default(),
            issue_valid: Default::default(),
            issue_addr: Default::default(),
            issue_delta: Default::default(),
            init_valid: Default::default(),
            init_addr: Default::default(),
            gate_mode: Default::default(),
            rd_addr: Default::default(),
            m_i: Default::default(),
            m_f: Default::default(),
            m_g: Default::default(),
            m_o: Default::default(),
            wrom: WeightRom::new(&img.weight_file, img.weights.clone(), img.index_bits),
            banks,
            biases,
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
        }
    }

    /// M word of local row `l` in the Rust model (tests): bank `l / units`, address `l % units`.
    pub fn peek_m(&self, l: usize) -> i32 {
        let units = self.banks[0].depth();
        self.banks[l / units].peek(l % units) as u32 as i32
    }
}

impl Logic for SparsePe {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, v1, d1, v2, g2, ul2, p2, fwd, fwdv, iv1, ia1);
        self.wrom.clock.next = self.clock.val();
        // stage 0: weight read
        self.wrom.addr.next = self.issue_addr.val();
        self.v1.d.next = self.issue_valid.val() & !self.flush.val();
        self.d1.d.next = self.issue_delta.val();
        // stage 1: multiply, decode local row into (bank, address), read M
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
        // stage 2: accumulate (forwarded word when the previous entry wrote the same row)
        self.msel.next = signed_cast(self.banks[0].rdata.val());
        for g in 0..4 {
            self.banks[g].clock.next = self.clock.val();
            self.banks[g].raddr.next = self.ul1.val();
            if self.gate_mode.val() {
                self.banks[g].raddr.next = self.rd_addr.val();
            }
            if self.g2.q.val().index() == g {
                self.msel.next = signed_cast(self.banks[g].rdata.val());
            }
        }
        self.old.next = self.msel.val();
        if self.fwd.q.val() {
            self.old.next = self.fwdv.q.val();
        }
        self.sum.next = self.old.val() + self.p2.q.val();
        self.fwdv.d.next = self.sum.val();
        // initialisation (bias of array 0, else 0), delayed one cycle for the bias ROM read
        self.iv1.d.next = self.init_valid.val();
        self.ia1.d.next = self.init_addr.val();
        for g in 0..4 {
            self.banks[g].we.next =
                self.v2.q.val() & (self.g2.q.val().index() == g) & !self.flush.val();
            self.banks[g].waddr.next = self.ul2.q.val();
            self.banks[g].wdata.next = unsigned_cast(self.sum.val());
            if self.iv1.q.val() {
                self.banks[g].we.next = true;
                self.banks[g].waddr.next = self.ia1.q.val();
                self.banks[g].wdata.next = self.zero32.val();
            }
        }
        for b in 0..self.biases.len() {
            self.biases[b].clock.next = self.clock.val();
            self.biases[b].raddr.next = self.init_addr.val();
            self.biases[b].we.next = false;
            self.biases[b].waddr.next = self.init_addr.val();
            self.biases[b].wdata.next = self.zero32.val();
            if self.iv1.q.val() {
                self.banks[b].wdata.next = self.biases[b].rdata.val();
            }
        }
        self.m_i.next = signed_cast(self.banks[0].rdata.val());
        self.m_f.next = signed_cast(self.banks[1].rdata.val());
        self.m_g.next = signed_cast(self.banks[2].rdata.val());
        self.m_o.next = signed_cast(self.banks[3].rdata.val());
    }
}
