//! `WeightRom`: a PE's packed weight memory with the word decoded into (value, local row).
//!
//! Word layout (docs/arithmetic.md §5, docs/interfaces.md): `((value & 0xFF) << IB) | l`.
//! Ports: `addr: Bits<16>` in; `value: Signed<16>` (sign-extended int8) and `row: Bits<16>`
//! (local row l) out. Latency 1 cycle (registered read, maps to block RAM), one read per cycle.
//! Loaded from `mem/<file>` by `$readmemh`; hand-written Verilog leaf with a Rust model.
//! A ROM of at most [`crate::mem::LOGIC_ROM_MAX_DEPTH`] words carries `(* rom_style = "logic" *)`
//! (see [`crate::mem::logic_style`]).

use rust_hdl::prelude::*;

/// Packed weight ROM.
#[derive(LogicBlock)]
pub struct WeightRom {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Entry address.
    pub addr: Signal<In, Bits<16>>,
    /// int8 weight, sign-extended.
    pub value: Signal<Out, Signed<16>>,
    /// Local row l.
    pub row: Signal<Out, Bits<16>>,
    _words: Vec<u64>,
    _ib: u32,
    _file: String,
}

impl WeightRom {
    /// A ROM of packed words with `ib` index bits, loaded from `mem/<file>`.
    pub fn new(file: &str, words: Vec<u64>, ib: u32) -> Self {
        assert!(!words.is_empty() && words.len() <= 1 << 16);
        assert!((1..=15).contains(&ib));
        Self {
            clock: Default::default(),
            addr: Default::default(),
            value: Default::default(),
            row: Default::default(),
            _words: words,
            _ib: ib,
            _file: file.to_string(),
        }
    }
}

impl Logic for WeightRom {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let w = self
                ._words
                .get(self.addr.val().index())
                .copied()
                .unwrap_or(0);
            let v = ((w >> self._ib) & 0xFF) as u8 as i8 as i64;
            self.value.next = Signed::<16>::from(v);
            self.row.next = Bits::<16>::from(w & ((1u64 << self._ib) - 1));
        }
    }

    fn connect(&mut self) {
        self.value.connect();
        self.row.connect();
    }

    fn hdl(&self) -> Verilog {
        let ib = self._ib as usize;
        let w = 8 + ib;
        Verilog::Custom(format!(
            "{style}reg [{wm}:0] store [0:{dm}];\n\
             initial $readmemh(\"mem/{file}\", store);\n\
             reg [{wm}:0] q;\n\
             always @(posedge clock) q <= store[addr[{am}:0]];\n\
             always @(*) begin\n\
             \x20   value = {{{{8{{q[{wm}]}}}}, q[{wm}:{ib}]}};\n\
             \x20   row = {{{pad}'d0, q[{ibm}:0]}};\n\
             end\n",
            style = crate::mem::logic_style(self._words.len(), w, true),
            wm = w - 1,
            dm = self._words.len() - 1,
            file = self._file,
            pad = 16 - ib,
            ibm = ib - 1,
            am = crate::mem::addr_bits(self._words.len()) - 1,
        ))
    }
}
