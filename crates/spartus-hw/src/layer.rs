//! `Layer`: one DeltaLSTM layer — input delta encoder, A MAC arrays (each split into G lane
//! sub-arrays, [`MacArray`]), G gate lanes (each a [`GateUnit`], a hidden delta encoder and an h
//! buffer), sequenced per time step. G = `hardware.gate_lanes` (default 1).
//!
//! Per step the layer goes through these phases (state register `state`):
//! - `IN`: accepts the I elements of x_t (one per cycle when `in_valid`), delta-encodes them and
//!   queues nonzero Δx in the queue of array j mod A. Counted as compute cycles only in the
//!   cycles in which an element is accepted (`in_valid & in_ready`): I cycles per step.
//! - `FLUSH` ([`FLUSH_LEN`] = 2 cycles): the last Δx reach their queues. Counted.
//! - `MAC`: every array drains its queue (the Δh of step t-1 and the Δx of step t); lasts
//!   `max_a(K_x·nnz_x(a) + K_h·nnz_h(a)) + 4` cycles (1 first pop, 3 pipeline drain). Counted.
//! - `WAIT`: only if the h FIFO still holds part of h_{t-1} (consumer stalled). Not counted.
//! - `GATE`: in cycle c the units u = cG..cG+G-1 are read from the PEs (all PEs read address
//!   ⌊cG/N⌋; lane g's sub-arrays select their PE c mod (N/G), i.e. PE cG mod N + g, onto lane
//!   g's partial-M chain), one unit per lane, and pass through the G gate units; lane g's h
//!   goes to its h buffer and through its hidden delta encoder, whose nonzero Δh column u goes
//!   to array u mod A (the G units of a cycle are consecutive and G ≤ A, so the G lanes push to
//!   G distinct arrays: no conflict, no loss). Lasts H/G + 14 cycles ([`GATE_LATENCY`]).
//!   Counted. The output stream reads the G h buffers round-robin, so h leaves in order 0..H-1.
//!
//! So the compute cycles of a step are exactly `max_a work_a + T_upd` with
//! `T_upd = I + 2 + 4 + H/G + 14` (see [`t_upd_lanes`]), independent of stalls on the streams
//! (stall cycles in `IN` and `WAIT` are not counted, and the MAC arrays do not move in them).
//!
//! Overlapped schedule (`hardware.overlap`, PEs [`crate::sparse_pe_ov::SparsePeOv`]): the
//! arrays also run during `GATE`, so each Δh column is multiplied as soon as its gate lane
//! produces it; those MACs go to a delta bank (`acc`, flipped when a gate phase starts) that
//! the next gate phase folds into M. The Δh work that does not fit under the gate phase goes on
//! in the `IN` cycles that accept an element and in `FLUSH` (same delta bank: `acc` flips only
//! when the next gate phase starts, and the gate phase no longer reads or folds then), with
//! `h_only` set: the arrays pop only the Δh columns left from `GATE`, which are ahead of the Δx
//! joining the queues in `IN` (the hidden encoders are idle after `GATE`), so the Δx wait for
//! `MAC` and their arrival cycles — which move with x-stream stalls — never matter. `MAC` then
//! drains what is left of the Δh plus the Δx. The arrays pause on every uncounted cycle (stalls
//! in `IN`, `WAIT`), so the compute cycles stay independent of stalls; they depend on where the
//! Δh fall and are predicted cycle by cycle by `spartus_model::cycles::schedule_cycles`. Pops
//! outside `MAC` are counted in `dl_out` when the next `MAC` phase ends (the Δh of the last
//! step, or of a step abandoned by `restart`, do not count).
//! `INIT` (after `restart`) clears x̂, ĥ, c and loads M with the biases: max(I, H) + 2 cycles.
//!
//! Ports: `restart` (start of a sequence), `reset_stats`; x stream `in_valid/in_ready/in_data`;
//! h stream `out_valid/out_ready/out_data`; statistics chained through layers:
//! `cyc_out = cyc_in + own compute cycles`, `dl_out = dl_in + nonzero deltas consumed by the
//! MAC arrays` (Δx and Δh of the processed steps: Σ nnz_x + nnz_h of the golden model);
//! `steps` (completed steps) and `step_cycles` (compute cycles of the last completed step).

use crate::delta_encoder::DeltaEncoder;
use crate::gate_unit::{GateSpec, GateUnit};
use crate::mac_array::{ArraySpec, MacArray};
use crate::stream_fifo::StreamFifo;
use rust_hdl::prelude::*;

/// Fixed MAC-phase overhead: first pop (1) + PE pipeline drain (3).
pub const MAC_OVERHEAD: u64 = 4;
/// Gate-phase latency after the last unit is issued: 1 (M read) + the gate pipeline + 2
/// (hidden delta encoder), after which the last Δh is in its queue.
pub const GATE_LATENCY: u64 = 1 + crate::gate_unit::GATE_PIPE as u64 + 2;
/// Cycles of the input flush phase (the input delta encoder's latency).
pub const FLUSH_LEN: u64 = 2;

// The rust-hdl-free cycle model (spartus_model::cycles::hw_t_upd) must describe this pipeline.
const _: () = assert!(MAC_OVERHEAD == spartus_model::cycles::HW_MAC_OVERHEAD);
const _: () = assert!(GATE_LATENCY == spartus_model::cycles::HW_GATE_LATENCY);
const _: () = assert!(FLUSH_LEN == spartus_model::cycles::HW_FLUSH_LEN);

/// The per-step overhead of this hardware with one gate lane: `T_upd = I + FLUSH_LEN +
/// MAC_OVERHEAD + H + GATE_LATENCY` (= `spartus_model::cycles::hw_t_upd`).
pub fn t_upd(input: usize, hidden: usize) -> u64 {
    spartus_model::cycles::hw_t_upd(input, hidden)
}

/// The per-step overhead with G gate lanes: `T_upd = I + FLUSH_LEN + MAC_OVERHEAD + H/G +
/// GATE_LATENCY` (= `spartus_model::cycles::hw_t_upd_lanes`).
pub fn t_upd_lanes(input: usize, hidden: usize, lanes: usize) -> u64 {
    spartus_model::cycles::hw_t_upd_lanes(input, hidden, lanes)
}

/// Everything needed to build one layer.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    /// I of this layer.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// G: gate lanes (divides N, at most A).
    pub lanes: usize,
    /// Overlapped schedule (arrays built with `overlap`).
    pub overlap: bool,
    /// Θx (Q8.8).
    pub theta_x: i64,
    /// Θh (Q8.8).
    pub theta_h: i64,
    /// Lane sub-arrays, lane-major: entry `g·A + a` is lane g of array a (`spec::layer_specs`).
    pub arrays: Vec<ArraySpec>,
    /// Gate unit of one lane (its c memory holds H/G units).
    pub gate: GateSpec,
}

const ST_INIT: u64 = 0;
const ST_IN: u64 = 1;
const ST_FLUSH: u64 = 2;
const ST_MAC: u64 = 3;
const ST_WAIT: u64 = 4;
const ST_GATE: u64 = 5;

/// One layer.
#[derive(LogicBlock)]
pub struct Layer {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Start a new sequence.
    pub restart: Signal<In, Bit>,
    /// Zero the statistics counters.
    pub reset_stats: Signal<In, Bit>,
    /// x element valid.
    pub in_valid: Signal<In, Bit>,
    /// x element.
    pub in_data: Signal<In, Signed<16>>,
    /// Ready for an x element.
    pub in_ready: Signal<Out, Bit>,
    /// h element valid.
    pub out_valid: Signal<Out, Bit>,
    /// h element.
    pub out_data: Signal<Out, Signed<16>>,
    /// Consumer ready.
    pub out_ready: Signal<In, Bit>,
    /// Compute cycles of earlier layers.
    pub cyc_in: Signal<In, Bits<32>>,
    /// `cyc_in` + this layer's compute cycles.
    pub cyc_out: Signal<Out, Bits<32>>,
    /// Deltas of earlier layers.
    pub dl_in: Signal<In, Bits<32>>,
    /// `dl_in` + this layer's nonzero deltas.
    pub dl_out: Signal<Out, Bits<32>>,
    /// Completed steps.
    pub steps: Signal<Out, Bits<32>>,
    /// Compute cycles of the last completed step.
    pub step_cycles: Signal<Out, Bits<32>>,
    xenc: DeltaEncoder,
    henc: Vec<DeltaEncoder>,
    arrays: Vec<MacArray>,
    gates: Vec<GateUnit>,
    ofifos: Vec<StreamFifo>,
    state: DFF<Bits<3>>,
    cnt: DFF<Bits<16>>,
    xj: DFF<Bits<16>>,
    xarr: DFF<Bits<8>>,
    xbase: DFF<Bits<16>>,
    gu: DFF<Bits<16>>,
    gp: DFF<Bits<16>>,
    gul: DFF<Bits<16>>,
    harr: DFF<Bits<8>>,
    hbase: DFF<Bits<16>>,
    gv1: DFF<Bit>,
    gu1: DFF<Bits<16>>,
    gp1: DFF<Bits<16>>,
    garr1: DFF<Bits<8>>,
    gaddr1: DFF<Bits<16>>,
    olane: DFF<Bits<8>>,
    acc: DFF<Bit>,
    ovl: Constant<Bit>,
    run: Signal<Local, Bit>,
    to_gate: Signal<Local, Bit>,
    cyc: DFF<Bits<32>>,
    nsteps: DFF<Bits<32>>,
    stepc: DFF<Bits<32>>,
    laststep: DFF<Bits<32>>,
    is_init: Signal<Local, Bit>,
    is_in: Signal<Local, Bit>,
    is_flush: Signal<Local, Bit>,
    is_mac: Signal<Local, Bit>,
    is_wait: Signal<Local, Bit>,
    is_gate: Signal<Local, Bit>,
    accept: Signal<Local, Bit>,
    all_done: Signal<Local, Bit>,
    mac_end: Signal<Local, Bit>,
    issue_g: Signal<Local, Bit>,
    obuf_empty: Signal<Local, Bit>,
    hpush: Signal<Local, Bit>,
    hsum: Signal<Local, Bits<8>>,
    larr: Vec<Signal<Local, Bits<8>>>,
    laddr: Vec<Signal<Local, Bits<16>>>,
    pv: Vec<Signal<Local, Bit>>,
    pa: Vec<Signal<Local, Bits<16>>>,
    pd: Vec<Signal<Local, Signed<16>>>,
    st_init: Constant<Bits<3>>,
    st_in: Constant<Bits<3>>,
    st_flush: Constant<Bits<3>>,
    st_mac: Constant<Bits<3>>,
    st_wait: Constant<Bits<3>>,
    st_gate: Constant<Bits<3>>,
    size_x: Constant<Bits<16>>,
    size_hl: Constant<Bits<16>>,
    last_x: Constant<Bits<16>>,
    last_u: Constant<Bits<16>>,
    last_pe: Constant<Bits<16>>,
    last_arr: Constant<Bits<8>>,
    num_arr: Constant<Bits<8>>,
    lanes8: Constant<Bits<8>>,
    last_lane: Constant<Bits<8>>,
    units: Constant<Bits<16>>,
    kx: Constant<Bits<16>>,
    kh: Constant<Bits<16>>,
    init_last: Constant<Bits<16>>,
    flush_last: Constant<Bits<16>>,
    gate_last: Constant<Bits<16>>,
    mac_min: Constant<Bits<16>>,
    zero8: Constant<Bits<8>>,
    one8: Constant<Bits<8>>,
    one16: Constant<Bits<16>>,
    one32: Constant<Bits<32>>,
    zero16: Constant<Bits<16>>,
    zero32: Constant<Bits<32>>,
    zero32s: Constant<Signed<32>>,
    // loop bounds used as loop variables so that hdl_gen can evaluate index expressions
    // (`arrays[(l + 1) * na - 1]`, `pv[k % na]`): A..A+1 and A (no HDL meaning)
    _na: usize,
    _na1: usize,
}

fn c16(v: usize) -> Constant<Bits<16>> {
    assert!(v < 1 << 16, "constant {v} does not fit 16 bits");
    Constant::new((v as u64).into())
}

impl Layer {
    /// Build a layer.
    pub fn new(spec: &LayerSpec) -> Self {
        let i = spec.input_size;
        let h = spec.hidden_size;
        let g = spec.lanes;
        assert!(
            g >= 1 && spec.arrays.len().is_multiple_of(g),
            "lanes vs arrays"
        );
        let a = spec.arrays.len() / g;
        assert!(g <= a, "gate lanes must not exceed arrays");
        let npl = spec.arrays[0].pes.len();
        assert!(h.is_multiple_of(g) && spec.gate.hidden == h / g);
        let st = |v: u64| Constant::<Bits<3>>::new(v.into());
        let c8 = |v: usize| Constant::<Bits<8>>::new((v as u64).into());
        Self {
            clock: Default::default(),
            restart: Default::default(),
            reset_stats: Default::default(),
            in_valid: Default::default(),
            in_data: Default::default(),
            in_ready: Default::default(),
            out_valid: Default::default(),
            out_data: Default::default(),
            out_ready: Default::default(),
            cyc_in: Default::default(),
            cyc_out: Default::default(),
            dl_in: Default::default(),
            dl_out: Default::default(),
            steps: Default::default(),
            step_cycles: Default::default(),
            xenc: DeltaEncoder::new(i, spec.theta_x),
            henc: (0..g)
                .map(|_| DeltaEncoder::new(h / g, spec.theta_h))
                .collect(),
            arrays: spec.arrays.iter().map(MacArray::new).collect(),
            gates: (0..g).map(|_| GateUnit::new(&spec.gate)).collect(),
            ofifos: (0..g).map(|_| StreamFifo::new(h / g)).collect(),
            state: Default::default(),
            cnt: Default::default(),
            xj: Default::default(),
            xarr: Default::default(),
            xbase: Default::default(),
            gu: Default::default(),
            gp: Default::default(),
            gul: Default::default(),
            harr: Default::default(),
            hbase: Default::default(),
            gv1: Default::default(),
            gu1: Default::default(),
            gp1: Default::default(),
            garr1: Default::default(),
            gaddr1: Default::default(),
            olane: Default::default(),
            acc: Default::default(),
            ovl: Constant::new(spec.overlap),
            run: Default::default(),
            to_gate: Default::default(),
            cyc: Default::default(),
            nsteps: Default::default(),
            stepc: Default::default(),
            laststep: Default::default(),
            is_init: Default::default(),
            is_in: Default::default(),
            is_flush: Default::default(),
            is_mac: Default::default(),
            is_wait: Default::default(),
            is_gate: Default::default(),
            accept: Default::default(),
            all_done: Default::default(),
            mac_end: Default::default(),
            issue_g: Default::default(),
            obuf_empty: Default::default(),
            hpush: Default::default(),
            hsum: Default::default(),
            larr: (0..g).map(|_| Default::default()).collect(),
            laddr: (0..g).map(|_| Default::default()).collect(),
            pv: (0..a).map(|_| Default::default()).collect(),
            pa: (0..a).map(|_| Default::default()).collect(),
            pd: (0..a).map(|_| Default::default()).collect(),
            st_init: st(ST_INIT),
            st_in: st(ST_IN),
            st_flush: st(ST_FLUSH),
            st_mac: st(ST_MAC),
            st_wait: st(ST_WAIT),
            st_gate: st(ST_GATE),
            size_x: c16(i),
            size_hl: c16(h / g),
            last_x: c16(i - 1),
            last_u: c16(h / g - 1),
            last_pe: c16(npl - 1),
            last_arr: c8(a - 1),
            num_arr: c8(a),
            lanes8: c8(g),
            last_lane: c8(g - 1),
            units: c16(h / (npl * g)),
            kx: c16(spec.arrays[0].k_x),
            kh: c16(spec.arrays[0].k_h),
            init_last: c16(i.max(h) + 1),
            flush_last: c16(FLUSH_LEN as usize - 1),
            gate_last: c16(h / g + GATE_LATENCY as usize - 1),
            mac_min: c16(MAC_OVERHEAD as usize - 1),
            zero8: Constant::new(0u64.into()),
            one8: Constant::new(1u64.into()),
            one16: Constant::new(1u64.into()),
            one32: Constant::new(1u64.into()),
            zero16: Constant::new(0u64.into()),
            zero32: Constant::new(0u64.into()),
            zero32s: Constant::new(0i64.into()),
            _na: a,
            _na1: a + 1,
        }
    }

    /// Lane sub-arrays, lane-major (tests).
    pub fn arrays(&self) -> &[MacArray] {
        &self.arrays
    }

    /// Gate units, one per lane (tests).
    pub fn gates(&self) -> &[GateUnit] {
        &self.gates
    }
}

impl Logic for Layer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, cnt, xj, xarr, xbase, gu, gp, gul, harr, hbase, gv1, gu1, gp1,
            garr1, gaddr1, olane, acc, cyc, nsteps, stepc, laststep
        );
        self.xenc.clock.next = self.clock.val();
        self.is_init.next = self.state.q.val() == self.st_init.val();
        self.is_in.next = self.state.q.val() == self.st_in.val();
        self.is_flush.next = self.state.q.val() == self.st_flush.val();
        self.is_mac.next = self.state.q.val() == self.st_mac.val();
        self.is_wait.next = self.state.q.val() == self.st_wait.val();
        self.is_gate.next = self.state.q.val() == self.st_gate.val();

        // ---- IN: x stream into the input delta encoder ----
        self.in_ready.next = self.is_in.val();
        self.accept.next = self.in_valid.val() & self.is_in.val();
        self.xenc.flush.next = self.restart.val();
        self.xenc.in_valid.next = self.accept.val();
        self.xenc.in_index.next = self.xj.q.val();
        self.xenc.in_value.next = self.in_data.val();
        self.xenc.in_arr.next = self.xarr.q.val();
        self.xenc.in_addr.next = self.xbase.q.val();
        self.xenc.clr_valid.next = self.is_init.val() & (self.cnt.q.val() < self.size_x.val());
        self.xenc.clr_addr.next = self.cnt.q.val();
        if self.accept.val() {
            self.cyc.d.next = self.cyc.q.val() + self.one32.val();
            self.stepc.d.next = self.stepc.q.val() + self.one32.val();
            self.xj.d.next = self.xj.q.val() + self.one16.val();
            self.xarr.d.next = self.xarr.q.val() + self.one8.val();
            if self.xarr.q.val() == self.last_arr.val() {
                self.xarr.d.next = self.zero8.val();
                self.xbase.d.next = self.xbase.q.val() + self.kx.val();
            }
            if self.xj.q.val() == self.last_x.val() {
                self.xj.d.next = self.zero16.val();
                self.xarr.d.next = self.zero8.val();
                self.xbase.d.next = self.zero16.val();
                self.state.d.next = self.st_flush.val();
                self.cnt.d.next = self.zero16.val();
            }
        }

        // ---- FLUSH ----
        if self.is_flush.val() {
            self.cnt.d.next = self.cnt.q.val() + self.one16.val();
            self.cyc.d.next = self.cyc.q.val() + self.one32.val();
            self.stepc.d.next = self.stepc.q.val() + self.one32.val();
            if self.cnt.q.val() == self.flush_last.val() {
                self.state.d.next = self.st_mac.val();
                self.cnt.d.next = self.zero16.val();
            }
        }

        // ---- MAC ----
        self.all_done.next = true;
        for k in 0..self.arrays.len() {
            if !self.arrays[k].done.val() {
                self.all_done.next = false;
            }
        }
        self.obuf_empty.next = true;
        for l in 0..self.ofifos.len() {
            if self.ofifos[l].count.val() != self.zero16.val() {
                self.obuf_empty.next = false;
            }
        }
        self.mac_end.next =
            self.is_mac.val() & self.all_done.val() & (self.cnt.q.val() >= self.mac_min.val());
        if self.is_mac.val() {
            self.cnt.d.next = self.cnt.q.val() + self.one16.val();
            self.cyc.d.next = self.cyc.q.val() + self.one32.val();
            self.stepc.d.next = self.stepc.q.val() + self.one32.val();
            if self.mac_end.val() {
                self.cnt.d.next = self.zero16.val();
                self.state.d.next = self.st_wait.val();
                if self.obuf_empty.val() {
                    self.state.d.next = self.st_gate.val();
                }
            }
        }

        // ---- WAIT: previous h not yet consumed ----
        if self.is_wait.val() & self.obuf_empty.val() {
            self.state.d.next = self.st_gate.val();
            self.cnt.d.next = self.zero16.val();
        }
        // overlap: the MACs switch delta bank when a gate phase starts (none is in flight:
        // MAC ended with every pipeline drained, WAIT issues nothing)
        self.to_gate.next = (self.mac_end.val() | self.is_wait.val()) & self.obuf_empty.val();
        if self.to_gate.val() {
            self.acc.d.next = !self.acc.q.val();
        }
        // overlap: the arrays also run in GATE, in the IN cycles that accept an element and in
        // FLUSH (popping only the Δh left from GATE: `h_only`), never on stream stall cycles
        self.run.next = self.is_mac.val()
            | (self.ovl.val() & (self.is_gate.val() | self.accept.val() | self.is_flush.val()));

        // ---- GATE: cycle c reads units cG..cG+G-1 (one per lane) ----
        self.issue_g.next = self.is_gate.val() & (self.cnt.q.val() < self.size_hl.val());
        if self.is_gate.val() {
            self.cnt.d.next = self.cnt.q.val() + self.one16.val();
            self.cyc.d.next = self.cyc.q.val() + self.one32.val();
            self.stepc.d.next = self.stepc.q.val() + self.one32.val();
            if self.cnt.q.val() == self.gate_last.val() {
                self.state.d.next = self.st_in.val();
                self.cnt.d.next = self.zero16.val();
                self.nsteps.d.next = self.nsteps.q.val() + self.one32.val();
                self.laststep.d.next = self.stepc.q.val() + self.one32.val();
                self.stepc.d.next = self.zero32.val();
            }
        }
        // (harr, hbase): array and weight address base of h column cG (= lane 0's unit)
        self.hsum.next = self.harr.q.val() + self.lanes8.val();
        if self.issue_g.val() {
            self.gu.d.next = self.gu.q.val() + self.one16.val();
            self.gp.d.next = self.gp.q.val() + self.one16.val();
            if self.gp.q.val() == self.last_pe.val() {
                self.gp.d.next = self.zero16.val();
                self.gul.d.next = self.gul.q.val() + self.one16.val();
            }
            self.harr.d.next = self.hsum.val();
            if self.hsum.val() >= self.num_arr.val() {
                self.harr.d.next = self.hsum.val() - self.num_arr.val();
                self.hbase.d.next = self.hbase.q.val() + self.kh.val();
            }
            if self.gu.q.val() == self.last_u.val() {
                self.gu.d.next = self.zero16.val();
                self.gp.d.next = self.zero16.val();
                self.gul.d.next = self.zero16.val();
                self.harr.d.next = self.zero8.val();
                self.hbase.d.next = self.zero16.val();
            }
        }
        self.gv1.d.next = self.issue_g.val() & !self.restart.val();
        self.gu1.d.next = self.gu.q.val();
        self.gp1.d.next = self.gp.q.val();
        self.garr1.d.next = self.harr.q.val();
        self.gaddr1.d.next = self.hbase.q.val();
        // tags of lane l's unit cG + l: array (cG + l) mod A, base ⌊(cG + l)/A⌋·K_h (G ≤ A, so
        // at most one wrap per cycle)
        self.larr[0].next = self.garr1.q.val();
        self.laddr[0].next = self.gaddr1.q.val();
        for l in 1..self.gates.len() {
            self.larr[l].next = self.larr[l - 1].val() + self.one8.val();
            self.laddr[l].next = self.laddr[l - 1].val();
            if self.larr[l - 1].val() == self.last_arr.val() {
                self.larr[l].next = self.zero8.val();
                self.laddr[l].next = self.laddr[l - 1].val() + self.kh.val();
            }
        }

        // ---- pushes: per array, the x encoder or the one lane whose Δh column it holds ----
        for a in 0..self.pv.len() {
            self.pv[a].next = self.xenc.out_valid.val() & (self.xenc.out_arr.val().index() == a);
            self.pa[a].next = self.xenc.out_addr.val();
            self.pd[a].next = self.xenc.out_delta.val();
            for l in 0..self.henc.len() {
                if self.henc[l].out_valid.val() & (self.henc[l].out_arr.val().index() == a) {
                    self.pv[a].next = true;
                    self.pa[a].next = self.henc[l].out_addr.val();
                    self.pd[a].next = self.henc[l].out_delta.val();
                }
            }
        }
        // the x and h encoders never emit in the same cycle (IN and GATE are disjoint)
        self.hpush.next = false;
        for l in 0..self.henc.len() {
            if self.henc[l].out_valid.val() {
                self.hpush.next = true;
            }
        }

        // ---- lane sub-arrays (lane-major, k = l·A + a): queues, init, reads, M chains ----
        for na in self._na..self._na1 {
            for k in 0..self.arrays.len() {
                self.arrays[k].clock.next = self.clock.val();
                self.arrays[k].flush.next = self.restart.val();
                self.arrays[k].clear.next = self.restart.val() | self.mac_end.val();
                self.arrays[k].run.next = self.run.val();
                self.arrays[k].acc_bank.next = self.acc.q.val();
                self.arrays[k].fold.next = self.gv1.q.val() & self.ovl.val();
                // overlap: pops outside MAC are pending until the next MAC phase ends (a
                // cycle without pops): Δh of a last or abandoned step do not count
                self.arrays[k].pend.next = !self.is_mac.val() & self.ovl.val();
                self.arrays[k].commit.next = self.mac_end.val();
                self.arrays[k].h_only.next =
                    (self.is_in.val() | self.is_flush.val()) & self.ovl.val();
                self.arrays[k].init_valid.next =
                    self.is_init.val() & (self.cnt.q.val() < self.units.val());
                self.arrays[k].init_addr.next = self.cnt.q.val();
                self.arrays[k].gate_mode.next = self.is_gate.val();
                self.arrays[k].rd_addr.next = self.gul.q.val();
                self.arrays[k].sel.next = self.gp1.q.val();
                self.arrays[k].push.next = self.pv[k % na].val();
                self.arrays[k].push_kind.next = self.hpush.val();
                self.arrays[k].push_addr.next = self.pa[k % na].val();
                self.arrays[k].push_delta.next = self.pd[k % na].val();
                self.arrays[k].reset_stats.next = self.reset_stats.val();
                self.arrays[k].dl_in.next = self.zero32.val();
            }
        }
        // chains: k-1 -> k (the first array of each lane ignores its chain input)
        self.arrays[0].chain_in_i.next = self.zero32s.val();
        self.arrays[0].chain_in_f.next = self.zero32s.val();
        self.arrays[0].chain_in_g.next = self.zero32s.val();
        self.arrays[0].chain_in_o.next = self.zero32s.val();
        for k in 1..self.arrays.len() {
            self.arrays[k].chain_in_i.next = self.arrays[k - 1].chain_out_i.val();
            self.arrays[k].chain_in_f.next = self.arrays[k - 1].chain_out_f.val();
            self.arrays[k].chain_in_g.next = self.arrays[k - 1].chain_out_g.val();
            self.arrays[k].chain_in_o.next = self.arrays[k - 1].chain_out_o.val();
        }

        // ---- gate lanes: gate unit, hidden delta encoder, h buffer ----
        for l in 0..self.gates.len() {
            self.gates[l].clock.next = self.clock.val();
            self.gates[l].flush.next = self.restart.val();
            self.gates[l].in_valid.next = self.gv1.q.val();
            self.gates[l].in_u.next = self.gu1.q.val();
            self.gates[l].in_arr.next = self.larr[l].val();
            self.gates[l].in_addr.next = self.laddr[l].val();
            self.gates[l].clr_valid.next =
                self.is_init.val() & (self.cnt.q.val() < self.size_hl.val());
            self.gates[l].clr_addr.next = self.cnt.q.val();
            self.henc[l].clock.next = self.clock.val();
            self.henc[l].flush.next = self.restart.val();
            self.henc[l].in_valid.next = self.gates[l].out_valid.val();
            self.henc[l].in_index.next = self.gates[l].out_u.val();
            self.henc[l].in_value.next = self.gates[l].out_h.val();
            self.henc[l].in_arr.next = self.gates[l].out_arr.val();
            self.henc[l].in_addr.next = self.gates[l].out_addr.val();
            self.henc[l].clr_valid.next =
                self.is_init.val() & (self.cnt.q.val() < self.size_hl.val());
            self.henc[l].clr_addr.next = self.cnt.q.val();
            self.ofifos[l].clock.next = self.clock.val();
            self.ofifos[l].clear.next = self.restart.val();
            self.ofifos[l].push.next = self.gates[l].out_valid.val();
            self.ofifos[l].push_data.next = self.gates[l].out_h.val();
        }
        // lane l's M sum is the chain output of its last sub-array, k = (l + 1)·A - 1
        for l in 0..self.gates.len() {
            for na in self._na..self._na1 {
                self.gates[l].m_i.next = self.arrays[(l + 1) * na - 1].chain_out_i.val();
                self.gates[l].m_f.next = self.arrays[(l + 1) * na - 1].chain_out_f.val();
                self.gates[l].m_g.next = self.arrays[(l + 1) * na - 1].chain_out_g.val();
                self.gates[l].m_o.next = self.arrays[(l + 1) * na - 1].chain_out_o.val();
            }
        }
        // h leaves in order: lane olane holds the next unit (u = cG + l goes to buffer l)
        self.out_valid.next = self.ofifos[0].out_valid.val();
        self.out_data.next = self.ofifos[0].out_data.val();
        for l in 0..self.ofifos.len() {
            if self.olane.q.val().index() == l {
                self.out_valid.next = self.ofifos[l].out_valid.val();
                self.out_data.next = self.ofifos[l].out_data.val();
            }
        }
        // (a separate statement: out_valid must not depend on out_ready, not even through a
        // shared `if` in Verilator's eyes)
        for l in 0..self.ofifos.len() {
            self.ofifos[l].out_ready.next =
                self.out_ready.val() & (self.olane.q.val().index() == l);
        }
        // advance when lane olane's buffer hands its head over (not written in terms of
        // out_valid: Verilator would then see out_ready -> out_valid through this block)
        for l in 0..self.ofifos.len() {
            if self.ofifos[l].out_ready.val() & self.ofifos[l].out_valid.val() {
                self.olane.d.next = self.olane.q.val() + self.one8.val();
                if self.olane.q.val() == self.last_lane.val() {
                    self.olane.d.next = self.zero8.val();
                }
            }
        }

        // ---- statistics ----
        self.cyc_out.next = self.cyc_in.val() + self.cyc.q.val();
        // deltas consumed: chained through lane 0's sub-arrays (the other lanes pop the same
        // entries); the last one's output is the sum
        self.arrays[0].dl_in.next = self.dl_in.val();
        for k in 1..self._na {
            self.arrays[k].dl_in.next = self.arrays[k - 1].dl_out.val();
        }
        for na in self._na..self._na1 {
            self.dl_out.next = self.arrays[na - 1].dl_out.val();
        }
        self.steps.next = self.nsteps.q.val();
        self.step_cycles.next = self.laststep.q.val();

        // ---- INIT and restart ----
        if self.is_init.val() {
            self.cnt.d.next = self.cnt.q.val() + self.one16.val();
            if self.cnt.q.val() == self.init_last.val() {
                self.state.d.next = self.st_in.val();
                self.cnt.d.next = self.zero16.val();
            }
        }
        if self.restart.val() {
            self.state.d.next = self.st_init.val();
            self.cnt.d.next = self.zero16.val();
            self.xj.d.next = self.zero16.val();
            self.xarr.d.next = self.zero8.val();
            self.xbase.d.next = self.zero16.val();
            self.gu.d.next = self.zero16.val();
            self.gp.d.next = self.zero16.val();
            self.gul.d.next = self.zero16.val();
            self.harr.d.next = self.zero8.val();
            self.hbase.d.next = self.zero16.val();
            self.olane.d.next = self.zero8.val();
            self.acc.d.next = false;
            self.stepc.d.next = self.zero32.val();
        }
        if self.reset_stats.val() {
            self.cyc.d.next = self.zero32.val();
            self.nsteps.d.next = self.zero32.val();
            self.laststep.d.next = self.zero32.val();
        }
    }
}
