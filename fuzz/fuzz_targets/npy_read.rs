//! `.npy` reader: never panics; an accepted array has as many values as its shape says, and
//! writing it back (for the dtypes the writer supports) reads back bit-identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spartus_model::npy::{self, NpyData, NpyDtype};

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = npy::read_array(data) {
        let n: usize = a.shape.iter().product();
        match &a.data {
            NpyData::F64(v) => {
                assert_eq!(v.len(), n);
                if a.dtype == NpyDtype::F64 {
                    let back = npy::read_array(&npy::write_f64(&a.shape, v)).expect("re-read");
                    let NpyData::F64(w) = back.data else {
                        panic!("dtype changed")
                    };
                    assert!(v.iter().zip(&w).all(|(x, y)| x.to_bits() == y.to_bits()));
                    assert_eq!(back.shape, a.shape);
                }
            }
            NpyData::I64(v) => {
                assert_eq!(v.len(), n);
                if a.dtype == NpyDtype::I16 {
                    let v16: Vec<i16> = v.iter().map(|&x| x as i16).collect();
                    let back = npy::read_array(&npy::write_i16(&a.shape, &v16)).expect("re-read");
                    assert_eq!(back.data, a.data);
                }
            }
        }
    }
    if let Ok((shape, v)) = npy::read_f64_2d(data) {
        assert_eq!(shape.len(), 2);
        assert_eq!(shape[0] * shape[1], v.len());
        assert!(v.iter().all(|x| x.is_finite()));
    }
});
