//! `SyncMem`: synchronous one-read / one-write memory, optionally initialised by `$readmemh`.
//!
//! Ports (all on `clock`):
//! - `raddr` → `rdata` (registered read, latency 1 cycle, one read per cycle),
//! - `we`, `waddr`, `wdata` (write at the rising edge).
//!
//! Read-during-write to the same address returns the OLD word (read-first), unless the memory
//! is built with [`SyncMem::write_first`], which returns the word being written (used by the
//! first-word-fall-through output FIFO). A read-only memory ([`SyncMem::rom`]) emits no write
//! logic; its write inputs must still be driven (rust-hdl checks every input) and are ignored.
//!
//! rust-hdl has no `$readmemh`: its `ROM`/`RAM` widgets print one Verilog line per entry, which
//! is slow in Yosys and ties the module text to the data. This leaf is a hand-written Verilog
//! block with a Rust model in [`Logic::update`]; the Verilator replay checks that both agree.
//! Image files are referenced as `mem/<file>` relative to the simulator's working directory
//! (`hdl_out/<name>/`), which keeps the emitted RTL free of machine-specific paths.
//!
//! Mapping hints (see [`logic_style`]), honoured by Yosys 0.23's `memory_libmap` and ignored
//! by simulators; they depend only on depth, width and kind, so the text stays deterministic:
//! - ROMs of at most [`LOGIC_ROM_MAX_DEPTH`] words: `(* rom_style = "logic" *)` (LUTs, instead
//!   of a mostly empty 4 Kbit SB_RAM40_4K / 18 Kbit DP16KD);
//! - deeper ROMs: `(* rom_style = "block" *)`. Without it Yosys 0.23 builds e.g. a 64 x 32 bias
//!   ROM from FFs and LUTs (~600 LCs for four of them on iCE40) instead of 2 block RAMs each;
//! - RAMs of at most [`LOGIC_RAM_MAX_BITS`] bits: `(* ram_style = "logic" *)`; larger RAMs
//!   get no attribute (Yosys picks block RAM).
//!
//! The write-first RAM compares the *used* address bits (`waddr[a:0] == raddr[a:0]`), the
//! form Yosys recognises as a transparent read port, so it maps to block RAM; comparing all
//! 16 bits made Yosys 0.23 fall back to FFs (a H x 16 output FIFO in ~1.3 K LCs at H = 64).
//! Addresses must be below the depth (out-of-range addresses alias in the Verilog and are
//! ignored by the Rust model); every user keeps its pointers in range.

use rust_hdl::prelude::*;

/// Address width of every memory port (depth is a runtime value ≤ 2^16).
pub const AW: usize = 16;

/// ROMs of at most this many words are kept in logic: each output bit is a function of at most
/// 5 address bits (a few LUT4s on iCE40), cheaper than a 4 Kbit block RAM. Example: the
/// 4 bias banks of a PE with H/N ≤ 32 units. Deeper ROMs are put in block RAM.
pub const LOGIC_ROM_MAX_DEPTH: usize = 32;

/// RAMs of at most this many bits are kept in logic (one FF per bit plus a read mux). Larger
/// RAMs cost more LCs than the block RAM they would save on a 5280-LC iCE40 UP5K.
pub const LOGIC_RAM_MAX_BITS: usize = 64;

/// The Yosys attribute (with a trailing space) for a memory of `depth` × `width` bits: keep it
/// in logic, force a ROM into block RAM, or "" (let Yosys choose).
pub fn logic_style(depth: usize, width: usize, rom: bool) -> &'static str {
    if rom && depth <= LOGIC_ROM_MAX_DEPTH {
        "(* rom_style = \"logic\" *) "
    } else if rom {
        "(* rom_style = \"block\" *) "
    } else if depth * width <= LOGIC_RAM_MAX_BITS {
        "(* ram_style = \"logic\" *) "
    } else {
        ""
    }
}

/// Synchronous 1R1W memory of `DW`-bit words.
#[derive(LogicBlock)]
pub struct SyncMem<const DW: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Read address.
    pub raddr: Signal<In, Bits<AW>>,
    /// Read data, valid one cycle after `raddr`.
    pub rdata: Signal<Out, Bits<DW>>,
    /// Write enable.
    pub we: Signal<In, Bit>,
    /// Write address.
    pub waddr: Signal<In, Bits<AW>>,
    /// Write data.
    pub wdata: Signal<In, Bits<DW>>,
    _mem: Vec<u64>,
    _file: Option<String>,
    _rom: bool,
    _write_first: bool,
}

impl<const DW: usize> SyncMem<DW> {
    fn make(mem: Vec<u64>, file: Option<String>, rom: bool, write_first: bool) -> Self {
        assert!(!mem.is_empty(), "memory depth must be at least 1");
        assert!(mem.len() <= 1 << AW, "memory depth exceeds 2^16");
        Self {
            clock: Default::default(),
            raddr: Default::default(),
            rdata: Default::default(),
            we: Default::default(),
            waddr: Default::default(),
            wdata: Default::default(),
            _mem: mem,
            _file: file,
            _rom: rom,
            _write_first: write_first,
        }
    }

    /// A RAM of `depth` words with unspecified initial content (zero in the Rust model).
    pub fn ram(depth: usize) -> Self {
        Self::make(vec![0; depth], None, false, false)
    }

    /// A write-first RAM (read-during-write returns the new word).
    pub fn write_first(depth: usize) -> Self {
        Self::make(vec![0; depth], None, false, true)
    }

    /// A ROM loaded from `mem/<file>`; `words` is the same content for the Rust model.
    pub fn rom(file: &str, words: Vec<u64>) -> Self {
        Self::make(words, Some(file.to_string()), true, false)
    }

    /// A RAM whose initial content is loaded from `mem/<file>`.
    pub fn ram_init(file: &str, words: Vec<u64>) -> Self {
        Self::make(words, Some(file.to_string()), false, false)
    }

    /// Number of words.
    pub fn depth(&self) -> usize {
        self._mem.len()
    }

    /// Word at `addr` in the Rust model (for tests).
    pub fn peek(&self, addr: usize) -> u64 {
        self._mem[addr]
    }
}

impl<const DW: usize> Logic for SyncMem<DW> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let ra = self.raddr.val().index();
            let mut out = self._mem.get(ra).copied().unwrap_or(0);
            if !self._rom && self.we.val() {
                let wa = self.waddr.val().index();
                let wd = self.wdata.val().to_u64();
                if wa < self._mem.len() {
                    self._mem[wa] = wd;
                }
                if self._write_first && wa == ra {
                    out = wd;
                }
            }
            self.rdata.next = Bits::<DW>::from(out);
        }
    }

    fn connect(&mut self) {
        self.rdata.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._mem.len();
        let ab = addr_bits(depth);
        let mut v = format!(
            "{}reg [{}:0] store [0:{}];\n",
            logic_style(depth, DW, self._rom),
            DW - 1,
            depth - 1
        );
        if let Some(f) = &self._file {
            v.push_str(&format!("initial $readmemh(\"mem/{f}\", store);\n"));
        }
        if self._rom {
            v.push_str(&format!(
                "always @(posedge clock) rdata <= store[raddr[{}:0]];\n",
                ab - 1
            ));
        } else if self._write_first {
            v.push_str(&format!(
                "always @(posedge clock) begin\n\
                 \x20   if (we) store[waddr[{a}:0]] <= wdata;\n\
                 \x20   rdata <= (we && (waddr[{a}:0] == raddr[{a}:0])) ? wdata : store[raddr[{a}:0]];\n\
                 end\n",
                a = ab - 1
            ));
        } else {
            v.push_str(&format!(
                "always @(posedge clock) begin\n\
                 \x20   if (we) store[waddr[{a}:0]] <= wdata;\n\
                 \x20   rdata <= store[raddr[{a}:0]];\n\
                 end\n",
                a = ab - 1
            ));
        }
        Verilog::Custom(v)
    }
}

/// Address bits used to index a memory of `depth` words (at least 1).
pub fn addr_bits(depth: usize) -> usize {
    (usize::BITS - (depth.max(2) - 1).leading_zeros()) as usize
}

/// Render words as a `$readmemh` image with `digits` hex digits per line.
pub fn hex_image(words: &[u64], digits: usize) -> String {
    let mut s = String::with_capacity(words.len() * (digits + 1));
    for w in words {
        s.push_str(&format!("{:0width$x}\n", w, width = digits));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::tick;

    #[derive(LogicBlock)]
    struct Wrap {
        clock: Signal<In, Clock>,
        m: SyncMem<16>,
    }
    impl Logic for Wrap {
        #[hdl_gen]
        fn update(&mut self) {
            self.m.clock.next = self.clock.val();
        }
    }
    crate::impl_has_clock!(Wrap);

    #[test]
    fn read_first_and_write_first() {
        for wf in [false, true] {
            let mut w = Wrap {
                clock: Default::default(),
                m: if wf {
                    SyncMem::write_first(8)
                } else {
                    SyncMem::ram(8)
                },
            };
            w.connect_all();
            // write 0x1234 to 3 while reading 3
            w.m.we.next = true;
            w.m.waddr.next = 3u64.into();
            w.m.wdata.next = 0x1234u64.into();
            w.m.raddr.next = 3u64.into();
            tick(&mut w);
            let got = w.m.rdata.val().to_u64();
            assert_eq!(got, if wf { 0x1234 } else { 0 });
            w.m.we.next = false;
            tick(&mut w);
            assert_eq!(w.m.rdata.val().to_u64(), 0x1234);
        }
    }

    #[test]
    fn rom_ignores_writes_and_emits_readmemh() {
        let mut w = Wrap {
            clock: Default::default(),
            m: SyncMem::rom("x.hex", vec![5, 6, 7]),
        };
        w.connect_all();
        w.m.we.next = true;
        w.m.waddr.next = 1u64.into();
        w.m.wdata.next = 99u64.into();
        w.m.raddr.next = 1u64.into();
        tick(&mut w);
        tick(&mut w);
        assert_eq!(w.m.rdata.val().to_u64(), 6);
        match w.m.hdl() {
            Verilog::Custom(s) => {
                assert!(s.contains("$readmemh(\"mem/x.hex\", store)"));
                assert!(s.contains("(* rom_style = \"logic\" *) reg [15:0] store [0:2];"));
                assert!(s.contains("store[raddr[1:0]]"));
                assert!(!s.contains("wdata"));
            }
            _ => panic!("custom verilog expected"),
        }
    }

    #[test]
    fn small_memories_in_logic_deep_roms_in_block_ram() {
        let text = |m: SyncMem<16>| match m.hdl() {
            Verilog::Custom(s) => s,
            _ => panic!("custom verilog expected"),
        };
        // 4 x 16 = 64 bits: a whole SB_RAM40_4K would be 98 % empty
        assert!(text(SyncMem::ram(4)).starts_with("(* ram_style = \"logic\" *) reg [15:0]"));
        // 5 x 16 = 80 bits: block RAM
        assert!(text(SyncMem::ram(5)).starts_with("reg [15:0] store [0:4];"));
        let wf = text(SyncMem::write_first(256));
        assert!(wf.starts_with("reg [15:0] store [0:255];"));
        // the bypass compares the used address bits: Yosys then sees a transparent port
        assert!(wf.contains("(we && (waddr[7:0] == raddr[7:0])) ? wdata : store[raddr[7:0]]"));
        let rom = |n: usize| text(SyncMem::rom("r.hex", vec![1; n]));
        assert!(rom(32).starts_with("(* rom_style = \"logic\" *) reg [15:0] store [0:31];"));
        assert!(rom(33).starts_with("(* rom_style = \"block\" *) reg [15:0] store [0:32];"));
        assert_eq!(logic_style(2, 32, false), "(* ram_style = \"logic\" *) ");
        assert_eq!(logic_style(3, 32, false), "");
    }

    #[test]
    fn hex_image_pads() {
        assert_eq!(hex_image(&[0x1, 0xabc], 4), "0001\n0abc\n");
    }
}
