//! spartus-hw: the accelerator's hardware, described in rust-hdl 0.46.
//!
//! One component per file. Control, pipelines, muxing and the MAC multiply are rust-hdl
//! `#[hdl_gen]` logic; memories (with `$readmemh` images) and the few arithmetic leaves that
//! need signed shifts are small hand-written Verilog blocks with a Rust model (rust-hdl 0.46
//! has no signed shift and leaves cast widths to Verilog context rules). The Rust simulation
//! is a unit-test aid; the proof is the emitted Verilog replayed in Verilator against the
//! golden model.

pub mod accelerator;
pub mod delay;
pub mod delta_calc;
pub mod delta_encoder;
pub mod delta_queue;
pub mod emit;
pub mod gate_unit;
pub mod layer;
pub mod lut_index;
pub mod mac_array;
pub mod mem;
pub mod requant;
pub mod sim;
pub mod sparse_pe;
pub mod sparse_pe_ov;
pub mod spec;
pub mod stream_fifo;
pub mod weight_rom;
