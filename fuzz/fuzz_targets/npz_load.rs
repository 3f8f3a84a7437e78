//! `.npz` import (zip + npy): any byte string must give `Ok` or `Err`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spartus_model::weights::{self, WeightFormat};

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = weights::load_npz_bytes(data) {
        for l in &net.layers {
            assert_eq!(l.weight_ih.len(), 4 * l.hidden_size * l.input_size);
            assert_eq!(l.weight_hh.len(), 4 * l.hidden_size * l.hidden_size);
            assert!(l.bias_ih.iter().chain(&l.bias_hh).all(|v| v.is_finite()));
        }
    }
    if let Ok(all) = weights::load_all_tensors_bytes(WeightFormat::Npz, data) {
        for (shape, values) in all.values() {
            assert_eq!(shape.iter().product::<usize>(), values.len());
        }
    }
});
