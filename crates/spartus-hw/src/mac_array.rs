//! `MacArray`: N [`SparsePe`]s in lockstep, fed by one [`DeltaQueue`] and an issue engine.
//!
//! Column parallelism: the accelerator has A arrays; delta column j (of x or h) goes to array
//! j mod A (docs/arithmetic.md §6). Each array holds, per PE, the weights of its own columns only, and its own
//! partial M; the gate phase sums the partial M of all arrays through the `chain_*` ports.
//!
//! Ports:
//! - `push`, `push_kind` (0 = x column, 1 = h column), `push_addr` (weight address base of the
//!   column inside this array, without the h offset), `push_delta`.
//! - `run`: the engine pops and issues only while `run` (the MAC phase; with overlap also the
//!   gate phase, the input cycles in which an x element is accepted and the flush). A popped or
//!   half-issued column waits while `run` is low and resumes with `run`, so the work done
//!   never depends on stream stalls.
//! - `done`: queue empty and every issued entry written to M.
//! - `clear`: empty the queue (end of each MAC phase, and start of a sequence); `flush`: drop
//!   operations in flight (start of a sequence).
//! - `init_valid`, `init_addr`, `gate_mode`, `rd_addr`: broadcast to the PEs.
//! - `reset_stats`, `dl_in`, `dl_out`: popped-delta counter, chained through arrays/layers.
//!   Pops while `pend` (the overlapped schedule outside the MAC phase) are held in a pending
//!   counter and added by `commit` (the end of the next MAC phase, a cycle without pops), so
//!   columns of an abandoned or final step are not counted; `flush` drops them.
//! - `h_only`: pop only Δh columns (overlap: the input and flush phases, when the queue holds
//!   the Δh left from the gate phase followed by the Δx of the new step). The array counts the
//!   h columns pushed and not yet popped since the last `clear` (they are ahead of every x
//!   column then) and does not pop when that count is 0, so the Δx wait for the MAC phase
//!   whatever their arrival cycles.
//! - `acc_bank`, `fold`: overlap only (PEs are then [`SparsePeOv`]); `fold` goes to PE `sel`.
//! - `sel`: PE whose M words go to the chain (aligned with the PEs' registered read data);
//!   `chain_out_* = chain_in_* + M_sel,*` (wrap32); an array built with `chain_first` (the
//!   first array of a chain) ignores `chain_in_*` (treated as 0).
//!
//! With gate lanes (G > 1) the layer builds G sub-arrays per array, each with the PEs of one
//! lane; they receive the same pushes and run in lockstep (see `spec::layer_specs`).
//!
//! Issue engine: for a popped entry (address base, Δ) it issues K consecutive weight
//! addresses (K = K_x for x columns, K_h for h columns; an entry is an h column when its
//! address is ≥ the h-column base of this array), one per cycle, and pops the next entry in the
//! cycle it issues the last address, so columns follow each other with no bubble. Work per
//! array and step: `K_x·nnz_x(a) + K_h·nnz_h(a)` cycles plus one cycle for the first pop.
//! `done` rises 3 cycles after the last issue (2-stage PE pipeline + registered write).

use crate::delta_queue::DeltaQueue;
use crate::sparse_pe::{PeImages, SparsePe};
use crate::sparse_pe_ov::SparsePeOv;
use rust_hdl::prelude::*;

/// One MAC array.
#[derive(LogicBlock)]
pub struct MacArray {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop operations in flight.
    pub flush: Signal<In, Bit>,
    /// Empty the queue.
    pub clear: Signal<In, Bit>,
    /// Push a delta column.
    pub push: Signal<In, Bit>,
    /// 0 = x column, 1 = h column.
    pub push_kind: Signal<In, Bit>,
    /// Column's weight address base (within its kind).
    pub push_addr: Signal<In, Bits<16>>,
    /// Column's delta.
    pub push_delta: Signal<In, Signed<16>>,
    /// MAC phase.
    pub run: Signal<In, Bit>,
    /// Queue empty, pipeline drained.
    pub done: Signal<Out, Bit>,
    /// Zero the delta counter.
    pub reset_stats: Signal<In, Bit>,
    /// Deltas consumed by earlier arrays / layers.
    pub dl_in: Signal<In, Bits<32>>,
    /// `dl_in` + deltas this array has popped since `reset_stats`.
    pub dl_out: Signal<Out, Bits<32>>,
    /// M initialisation.
    pub init_valid: Signal<In, Bit>,
    /// M initialisation address.
    pub init_addr: Signal<In, Bits<16>>,
    /// Gate phase read mode.
    pub gate_mode: Signal<In, Bit>,
    /// Gate phase read address.
    pub rd_addr: Signal<In, Bits<16>>,
    /// PE selected onto the chain.
    pub sel: Signal<In, Bits<16>>,
    /// Chain input, gate i.
    pub chain_in_i: Signal<In, Signed<32>>,
    /// Chain input, gate f.
    pub chain_in_f: Signal<In, Signed<32>>,
    /// Chain input, gate g.
    pub chain_in_g: Signal<In, Signed<32>>,
    /// Chain input, gate o.
    pub chain_in_o: Signal<In, Signed<32>>,
    /// Chain output, gate i.
    pub chain_out_i: Signal<Out, Signed<32>>,
    /// Chain output, gate f.
    pub chain_out_f: Signal<Out, Signed<32>>,
    /// Chain output, gate g.
    pub chain_out_g: Signal<Out, Signed<32>>,
    /// Chain output, gate o.
    pub chain_out_o: Signal<Out, Signed<32>>,
    /// Overlap: delta bank the MACs accumulate into.
    pub acc_bank: Signal<In, Bit>,
    /// Overlap: PE `sel` folds the words it shows.
    pub fold: Signal<In, Bit>,
    /// Count pops as pending.
    pub pend: Signal<In, Bit>,
    /// Add the pending pops to the counter.
    pub commit: Signal<In, Bit>,
    /// Pop only the h columns at the head of the queue.
    pub h_only: Signal<In, Bit>,
    queue: DeltaQueue,
    pes: Vec<SparsePe>,
    pes_ov: Vec<SparsePeOv>,
    npend: DFF<Bits<32>>,
    hq: DFF<Bits<16>>,
    hinc: Signal<Local, Bit>,
    hdec: Signal<Local, Bit>,
    zero16: Constant<Bits<16>>,
    go: Signal<Local, Bit>,
    k_x: Constant<Bits<16>>,
    k_h: Constant<Bits<16>>,
    base_h: Constant<Bits<16>>,
    one: Constant<Bits<16>>,
    popped: DFF<Bit>,
    cur_valid: DFF<Bit>,
    cur_addr: DFF<Bits<16>>,
    cur_left: DFF<Bits<16>>,
    cur_delta: DFF<Signed<16>>,
    av1: DFF<Bit>,
    av2: DFF<Bit>,
    npop: DFF<Bits<32>>,
    one32: Constant<Bits<32>>,
    zero32: Constant<Bits<32>>,
    iv: Signal<Local, Bit>,
    ia: Signal<Local, Bits<16>>,
    idl: Signal<Local, Signed<16>>,
    left: Signal<Local, Bits<16>>,
    last: Signal<Local, Bit>,
    load_k: Signal<Local, Bits<16>>,
    pop: Signal<Local, Bit>,
    sel_i: Signal<Local, Signed<32>>,
    sel_f: Signal<Local, Signed<32>>,
    sel_g: Signal<Local, Signed<32>>,
    sel_o: Signal<Local, Signed<32>>,
    first: Constant<Bit>,
    zero32s: Constant<Signed<32>>,
    cin_i: Signal<Local, Signed<32>>,
    cin_f: Signal<Local, Signed<32>>,
    cin_g: Signal<Local, Signed<32>>,
    cin_o: Signal<Local, Signed<32>>,
}

/// Shape of one array.
#[derive(Debug, Clone)]
pub struct ArraySpec {
    /// Hidden units per PE, H/N.
    pub units: usize,
    /// K_x.
    pub k_x: usize,
    /// K_h.
    pub k_h: usize,
    /// x columns of this array (its h columns start at address `nx·K_x`).
    pub nx: usize,
    /// h columns of this array.
    pub nh: usize,
    /// First array of its partial-M chain: `chain_in_*` is ignored (0).
    pub chain_first: bool,
    /// Overlapped schedule: PEs with delta banks ([`SparsePeOv`]).
    pub overlap: bool,
    /// Per-PE memory images.
    pub pes: Vec<PeImages>,
}

impl MacArray {
    /// Build an array.
    pub fn new(spec: &ArraySpec) -> Self {
        Self {
            clock: Default::default(),
            flush: Default::default(),
            clear: Default::default(),
            push: Default::default(),
            push_kind: Default::default(),
            push_addr: Default::default(),
            push_delta: Default::default(),
            run: Default::default(),
            done: Default::default(),
            reset_stats: Default::default(),
            dl_in: Default::default(),
            dl_out: Default::default(),
            npop: Default::default(),
            one32: Constant::new(1u64.into()),
            zero32: Constant::new(0u64.into()),
            init_valid: Default::default(),
            init_addr: Default::default(),
            gate_mode: Default::default(),
            rd_addr: Default::default(),
            sel: Default::default(),
            chain_in_i: Default::default(),
            chain_in_f: Default::default(),
            chain_in_g: Default::default(),
            chain_in_o: Default::default(),
            chain_out_i: Default::default(),
            chain_out_f: Default::default(),
            chain_out_g: Default::default(),
            chain_out_o: Default::default(),
            acc_bank: Default::default(),
            fold: Default::default(),
            pend: Default::default(),
            commit: Default::default(),
            queue: DeltaQueue::new(spec.nx + spec.nh),
            pes: if spec.overlap {
                Vec::new()
            } else {
                spec.pes
                    .iter()
                    .map(|img| SparsePe::new(spec.units, img))
                    .collect()
            },
            pes_ov: if spec.overlap {
                spec.pes
                    .iter()
                    .map(|img| SparsePeOv::new(spec.units, img))
                    .collect()
            } else {
                Vec::new()
            },
            npend: Default::default(),
            hq: Default::default(),
            hinc: Default::default(),
            hdec: Default::default(),
            zero16: Constant::new(0u64.into()),
            h_only: Default::default(),
            go: Default::default(),
            k_x: Constant::new((spec.k_x as u64).into()),
            k_h: Constant::new((spec.k_h as u64).into()),
            base_h: Constant::new(((spec.nx * spec.k_x) as u64).into()),
            one: Constant::new(1u64.into()),
            popped: Default::default(),
            cur_valid: Default::default(),
            cur_addr: Default::default(),
            cur_left: Default::default(),
            cur_delta: Default::default(),
            av1: Default::default(),
            av2: Default::default(),
            iv: Default::default(),
            ia: Default::default(),
            idl: Default::default(),
            left: Default::default(),
            last: Default::default(),
            load_k: Default::default(),
            pop: Default::default(),
            sel_i: Default::default(),
            sel_f: Default::default(),
            sel_g: Default::default(),
            sel_o: Default::default(),
            first: Constant::new(spec.chain_first),
            zero32s: Constant::new(0i64.into()),
            cin_i: Default::default(),
            cin_f: Default::default(),
            cin_g: Default::default(),
            cin_o: Default::default(),
        }
    }

    /// PEs (tests; empty with overlap).
    pub fn pes(&self) -> &[SparsePe] {
        &self.pes
    }

    /// PEs of the overlapped schedule (tests; empty without overlap).
    pub fn pes_ov(&self) -> &[SparsePeOv] {
        &self.pes_ov
    }
}

impl Logic for MacArray {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, popped, cur_valid, cur_addr, cur_left, cur_delta, av1, av2, npop, npend,
            hq
        );
        self.queue.clock.next = self.clock.val();
        self.queue.clear.next = self.clear.val();
        self.queue.push.next = self.push.val();
        self.queue.push_addr.next = self.push_addr.val();
        if self.push_kind.val() {
            self.queue.push_addr.next = self.push_addr.val() + self.base_h.val();
        }
        self.queue.push_kind.next = self.push_kind.val();
        self.queue.push_delta.next = self.push_delta.val();
        // issue engine: (ia, idl, left) is the column in hand (just popped, or in progress);
        // it issues only while `run`, else it is held
        self.load_k.next = self.k_x.val();
        if self.queue.q_kind.val() {
            self.load_k.next = self.k_h.val();
        }
        self.iv.next = self.popped.q.val() | self.cur_valid.q.val();
        self.ia.next = self.cur_addr.q.val();
        self.idl.next = self.cur_delta.q.val();
        self.left.next = self.cur_left.q.val();
        if self.popped.q.val() {
            self.ia.next = self.queue.q_addr.val();
            self.idl.next = self.queue.q_delta.val();
            self.left.next = self.load_k.val();
        }
        self.go.next = self.iv.val() & self.run.val();
        self.last.next = self.left.val() == self.one.val();
        self.cur_valid.d.next = self.iv.val() & !self.flush.val();
        self.cur_addr.d.next = self.ia.val();
        self.cur_left.d.next = self.left.val();
        if self.go.val() {
            self.cur_valid.d.next = self.iv.val() & !self.last.val() & !self.flush.val();
            self.cur_addr.d.next = self.ia.val() + self.one.val();
            self.cur_left.d.next = self.left.val() - self.one.val();
        }
        self.cur_delta.d.next = self.idl.val();
        self.pop.next = self.run.val()
            & !self.queue.empty.val()
            & (!self.iv.val() | self.last.val())
            & !(self.h_only.val() & (self.hq.q.val() == self.zero16.val()))
            & !self.flush.val();
        // h columns pushed and not popped since the last clear (all ahead of the x columns
        // while `h_only` matters; later pops of x columns leave it at 0)
        self.hinc.next = self.push.val() & self.push_kind.val();
        self.hdec.next = self.pop.val() & (self.hq.q.val() != self.zero16.val());
        if self.hinc.val() & !self.hdec.val() {
            self.hq.d.next = self.hq.q.val() + self.one.val();
        }
        if !self.hinc.val() & self.hdec.val() {
            self.hq.d.next = self.hq.q.val() - self.one.val();
        }
        if self.clear.val() {
            self.hq.d.next = self.zero16.val();
        }
        self.queue.pop.next = self.pop.val();
        self.popped.d.next = self.pop.val();
        self.av1.d.next = self.go.val() & !self.flush.val();
        self.av2.d.next = self.av1.q.val() & !self.flush.val();
        self.done.next = self.queue.empty.val()
            & !self.popped.q.val()
            & !self.cur_valid.q.val()
            & !self.av1.q.val()
            & !self.av2.q.val();
        // statistics: deltas consumed
        if self.pop.val() {
            self.npop.d.next = self.npop.q.val() + self.one32.val();
            if self.pend.val() {
                self.npop.d.next = self.npop.q.val();
                self.npend.d.next = self.npend.q.val() + self.one32.val();
            }
        }
        if self.commit.val() {
            self.npop.d.next = self.npop.q.val() + self.npend.q.val();
            self.npend.d.next = self.zero32.val();
        }
        if self.flush.val() {
            self.npend.d.next = self.zero32.val();
        }
        if self.reset_stats.val() {
            self.npop.d.next = self.zero32.val();
            self.npend.d.next = self.zero32.val();
        }
        self.dl_out.next = self.dl_in.val() + self.npop.q.val();
        // PEs and the chain mux
        self.sel_i.next = self.zero32s.val();
        self.sel_f.next = self.zero32s.val();
        self.sel_g.next = self.zero32s.val();
        self.sel_o.next = self.zero32s.val();
        for p in 0..self.pes.len() {
            self.pes[p].clock.next = self.clock.val();
            self.pes[p].flush.next = self.flush.val();
            self.pes[p].issue_valid.next = self.go.val();
            self.pes[p].issue_addr.next = self.ia.val();
            self.pes[p].issue_delta.next = self.idl.val();
            self.pes[p].init_valid.next = self.init_valid.val();
            self.pes[p].init_addr.next = self.init_addr.val();
            self.pes[p].gate_mode.next = self.gate_mode.val();
            self.pes[p].rd_addr.next = self.rd_addr.val();
            if self.sel.val().index() == p {
                self.sel_i.next = self.pes[p].m_i.val();
                self.sel_f.next = self.pes[p].m_f.val();
                self.sel_g.next = self.pes[p].m_g.val();
                self.sel_o.next = self.pes[p].m_o.val();
            }
        }
        for p in 0..self.pes_ov.len() {
            self.pes_ov[p].clock.next = self.clock.val();
            self.pes_ov[p].flush.next = self.flush.val();
            self.pes_ov[p].issue_valid.next = self.go.val();
            self.pes_ov[p].issue_addr.next = self.ia.val();
            self.pes_ov[p].issue_delta.next = self.idl.val();
            self.pes_ov[p].init_valid.next = self.init_valid.val();
            self.pes_ov[p].init_addr.next = self.init_addr.val();
            self.pes_ov[p].rd_addr.next = self.rd_addr.val();
            self.pes_ov[p].acc_bank.next = self.acc_bank.val();
            self.pes_ov[p].fold.next = self.fold.val() & (self.sel.val().index() == p);
            if self.sel.val().index() == p {
                self.sel_i.next = self.pes_ov[p].m_i.val();
                self.sel_f.next = self.pes_ov[p].m_f.val();
                self.sel_g.next = self.pes_ov[p].m_g.val();
                self.sel_o.next = self.pes_ov[p].m_o.val();
            }
        }
        self.cin_i.next = self.chain_in_i.val();
        self.cin_f.next = self.chain_in_f.val();
        self.cin_g.next = self.chain_in_g.val();
        self.cin_o.next = self.chain_in_o.val();
        if self.first.val() {
            self.cin_i.next = self.zero32s.val();
            self.cin_f.next = self.zero32s.val();
            self.cin_g.next = self.zero32s.val();
            self.cin_o.next = self.zero32s.val();
        }
        self.chain_out_i.next = self.cin_i.val() + self.sel_i.val();
        self.chain_out_f.next = self.cin_f.val() + self.sel_f.val();
        self.chain_out_g.next = self.cin_g.val() + self.sel_g.val();
        self.chain_out_o.next = self.cin_o.val() + self.sel_o.val();
    }
}
