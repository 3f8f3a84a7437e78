//! spartus-model: the pure-Rust half of spartus-gen (no rust-hdl).
//!
//! Config schema and validation, fixed-point primitives, activation LUTs, weight import,
//! quantization, CBTD / dual-ratio pruning, per-PE packing, the bit-exact golden DeltaLSTM
//! model (docs/arithmetic.md), a float64 reference LSTM, and the cycle model. Everything the hardware
//! and the tests are checked against.

pub mod config;
pub mod cycles;
pub mod design;
pub mod fixed;
pub mod float_ref;
pub mod golden;
pub mod lut;
pub mod npy;
pub mod pack;
pub mod prune;
pub mod rng;
pub mod stimulus;
pub mod weights;
