//! `.safetensors` import: any byte string must give `Ok` or `Err`, never a panic, and an
//! accepted network must be self-consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spartus_model::weights::{self, WeightFormat};

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = weights::load_safetensors_bytes(data) {
        for l in &net.layers {
            assert_eq!(l.weight_ih.len(), 4 * l.hidden_size * l.input_size);
            assert_eq!(l.weight_hh.len(), 4 * l.hidden_size * l.hidden_size);
            assert_eq!(l.bias_ih.len(), 4 * l.hidden_size);
            assert_eq!(l.bias_hh.len(), 4 * l.hidden_size);
            assert!(l
                .weight_ih
                .iter()
                .chain(&l.weight_hh)
                .all(|v| v.is_finite()));
        }
        // What loads must survive a save/load round trip (values rounded to f32).
        let again = weights::load_safetensors_bytes(&weights::save_safetensors(&net))
            .expect("re-reading save_safetensors output");
        assert_eq!(again.layers.len(), net.layers.len());
    }
    if let Ok(all) = weights::load_all_tensors_bytes(WeightFormat::Safetensors, data) {
        for (shape, values) in all.values() {
            assert_eq!(shape.iter().product::<usize>(), values.len());
        }
    }
});
