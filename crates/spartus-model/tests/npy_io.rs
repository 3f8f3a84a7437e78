//! `.npy` reader and writer: against files written by numpy (fixtures), byte identity of the
//! writers with numpy, and hostile input (truncation, huge shapes, malformed headers, random
//! mutations).

mod weights_common;

use proptest::prelude::*;
use spartus_model::npy::{self, NpyData, NpyDtype, NpyError};
use weights_common::{fixture, npy_with_header};

fn x_expected() -> Vec<f64> {
    // make_fixtures.py: (arange(15).reshape(5, 3) - 7) / 4, float32.
    (0..15).map(|n| (n as f64 - 7.0) / 4.0).collect()
}

#[test]
fn reads_numpy_float32_2d() {
    let (shape, v) = npy::read_f64_2d(&fixture("x_f32_5x3.npy")).unwrap();
    assert_eq!(shape, vec![5, 3]);
    assert_eq!(v, x_expected());
    assert_eq!(v[0], -1.75);
    assert_eq!(v[14], 1.75);
}

#[test]
fn reads_numpy_ints_and_1d_and_big_endian() {
    let a = npy::read_array(&fixture("i16_4x2.npy")).unwrap();
    assert_eq!(a.shape, vec![4, 2]);
    assert_eq!(a.dtype, NpyDtype::I16);
    assert_eq!(
        a.data,
        NpyData::I64((0..8).map(|n| n * 1000 - 3000).collect())
    );
    let a = npy::read_array(&fixture("i32_2x3x2.npy")).unwrap();
    assert_eq!(a.shape, vec![2, 3, 2]);
    assert_eq!(
        a.data,
        NpyData::I64((0..12).map(|n| n * 100_000 - 500_000).collect())
    );
    let a = npy::read_array(&fixture("f64_7.npy")).unwrap();
    assert_eq!(a.shape, vec![7]);
    assert_eq!(
        a.data,
        NpyData::F64((0..7).map(|n| n as f64 / 8.0 - 0.25).collect())
    );
    let (shape, v) = npy::read_f64_2d(&fixture("be_f8_2x2.npy")).unwrap();
    assert_eq!(shape, vec![2, 2]);
    assert_eq!(v, vec![1.5, -2.0, 0.25, 3.0]);
    // i16 through the 2-D f64 reader.
    let (_, v) = npy::read_f64_2d(&fixture("i16_4x2.npy")).unwrap();
    assert_eq!(v[0], -3000.0);
}

#[test]
fn reads_format_versions_2_and_3() {
    for f in ["v2_i2_2x2.npy", "v3_i2_2x2.npy"] {
        let bytes = fixture(f);
        assert_eq!(bytes[6], if f.starts_with("v2") { 2 } else { 3 });
        let (shape, v) = npy::read_f64_2d(&bytes).unwrap();
        assert_eq!(shape, vec![2, 2], "{f}");
        assert_eq!(v, vec![1.0, -2.0, 300.0, -32768.0], "{f}");
    }
}

#[test]
fn fortran_order_is_refused() {
    let e = npy::read_array(&fixture("fortran_f4_3x2.npy")).unwrap_err();
    assert_eq!(e, NpyError::FortranOrder);
    assert!(e.to_string().contains("Fortran"), "{e}");
}

#[test]
fn writers_are_byte_identical_to_numpy() {
    let x: Vec<f32> = x_expected().iter().map(|&v| v as f32).collect();
    assert_eq!(npy::write_f32(&[5, 3], &x), fixture("x_f32_5x3.npy"));
    let i: Vec<i16> = (0..8).map(|n| (n * 1000 - 3000) as i16).collect();
    assert_eq!(npy::write_i16(&[4, 2], &i), fixture("i16_4x2.npy"));
    let i: Vec<i32> = (0..12).map(|n| n * 100_000 - 500_000).collect();
    assert_eq!(npy::write_i32(&[2, 3, 2], &i), fixture("i32_2x3x2.npy"));
    let f: Vec<f64> = (0..7).map(|n| n as f64 / 8.0 - 0.25).collect();
    assert_eq!(npy::write_f64(&[7], &f), fixture("f64_7.npy"));
}

#[test]
fn header_is_padded_to_64_and_deterministic() {
    for shape in [
        vec![],
        vec![0],
        vec![1],
        vec![3, 0, 2],
        vec![12_345_678, 0],
        vec![1; 40],
    ] {
        let n: usize = shape.iter().product();
        let data: Vec<i32> = (0..n as i32).collect();
        let a = npy::write_i32(&shape, &data);
        let b = npy::write_i32(&shape, &data);
        assert_eq!(a, b);
        let h = npy::parse_header(&a).unwrap();
        assert_eq!(h.data_offset % 64, 0, "shape {shape:?}");
        assert_eq!(a[h.data_offset - 1], b'\n');
        assert_eq!(h.shape, shape);
        assert_eq!(a.len(), h.data_offset + 4 * n);
    }
}

#[test]
#[should_panic(expected = "has 6 elements but 5 values")]
fn writer_refuses_wrong_length() {
    npy::write_f64(&[2, 3], &[0.0; 5]);
}

#[test]
fn every_truncation_is_an_error() {
    for f in [
        "x_f32_5x3.npy",
        "i16_4x2.npy",
        "f64_7.npy",
        "v2_i2_2x2.npy",
        "v3_i2_2x2.npy",
    ] {
        let bytes = fixture(f);
        for len in 0..bytes.len() {
            let r = npy::read_array(&bytes[..len]);
            assert!(r.is_err(), "{f} truncated to {len} bytes was accepted");
        }
        assert!(npy::read_array(&bytes).is_ok());
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut b = fixture("x_f32_5x3.npy");
    b.push(0);
    let e = npy::read_array(&b).unwrap_err();
    assert!(
        matches!(
            e,
            NpyError::DataLength {
                expected: 60,
                found: 61,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn huge_declared_shape_is_refused_before_allocating() {
    // 2^40 float64 elements would be 8 TiB; only 16 bytes of data follow.
    let b = npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
        &[0u8; 16],
    );
    let e = npy::read_array(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "npy shape [1099511627776] declares 1099511627776 elements, more than the limit of 67108864"
    );
    // Overflowing products saturate instead of wrapping to a small number.
    let b = npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }",
        &[],
    );
    assert!(matches!(
        npy::read_array(&b).unwrap_err(),
        NpyError::TooLarge {
            elements: u64::MAX,
            ..
        }
    ));
    // A zero-sized array may not hide an absurd dimension either.
    let b = npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 99999999999999), }",
        &[],
    );
    assert!(matches!(
        npy::read_array(&b).unwrap_err(),
        NpyError::BadHeader(_)
    ));
    // Just within the limit but without the data: a length error, not an allocation.
    let b = npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (8192, 8192), }",
        &[0u8; 8],
    );
    assert!(matches!(
        npy::read_array(&b).unwrap_err(),
        NpyError::DataLength {
            expected: 536_870_912,
            found: 8,
            ..
        }
    ));
}

#[test]
fn header_length_limit() {
    let mut b = b"\x93NUMPY\x02\x00".to_vec();
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    b.extend_from_slice(&[b' '; 100]);
    let e = npy::read_array(&b).unwrap_err();
    assert!(e.to_string().contains("exceeds the limit of 65536"), "{e}");
}

#[test]
fn malformed_headers_are_typed_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "{'descr': '<f4', 'fortran_order': False}",
            "missing key(s) shape",
        ),
        (
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
            "duplicate key",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            "unexpected key",
        ),
        (
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
            "True or False",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1)}",
            "trailing comma",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
            "non-negative",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (01,)}",
            "non-negative",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            "64 bits",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
            "after the closing",
        ),
        (
            "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",
            "expected ','",
        ),
        ("['descr']", "expected '{'"),
        (
            "{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}",
            "unsupported npy dtype \"<c8\"",
        ),
        (
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}",
            "unsupported npy dtype",
        ),
        (
            "{'descr': '<U5', 'fortran_order': False, 'shape': (1,)}",
            "unsupported npy dtype",
        ),
        (
            "{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}",
            "multi-byte",
        ),
        (
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            "structured",
        ),
    ];
    for (dict, want) in cases {
        let b = npy_with_header(dict, &[0u8; 8]);
        let e = npy::read_array(&b).unwrap_err().to_string();
        assert!(
            e.contains(want),
            "header {dict}: error {e:?} lacks {want:?}"
        );
    }
    // A numpy Python-2 era long suffix is accepted.
    let b = npy_with_header(
        "{'descr': '<i2', 'fortran_order': False, 'shape': (2L,), }",
        &[1, 0, 2, 0],
    );
    assert_eq!(npy::read_array(&b).unwrap().data, NpyData::I64(vec![1, 2]));
    // Bad magic and bad version.
    assert!(matches!(
        npy::read_array(b"\x93NUMPX\x01\x00\x00\x00").unwrap_err(),
        NpyError::BadMagic(_)
    ));
    let mut b = fixture("i16_4x2.npy");
    b[6] = 4;
    assert!(npy::read_array(&b)
        .unwrap_err()
        .to_string()
        .contains("version 4.0"));
}

#[test]
fn read_f64_2d_value_checks() {
    let one_d = npy::write_f64(&[3], &[1.0, 2.0, 3.0]);
    assert!(matches!(
        npy::read_f64_2d(&one_d).unwrap_err(),
        NpyError::Shape { .. }
    ));
    let nan = npy::write_f64(&[1, 3], &[1.0, f64::NAN, 3.0]);
    assert_eq!(
        npy::read_f64_2d(&nan).unwrap_err().to_string(),
        "npy element 1 (flat, row-major) is NaN: values must be finite"
    );
    let inf = npy::write_f32(&[2, 1], &[0.0, f32::NEG_INFINITY]);
    assert!(matches!(
        npy::read_f64_2d(&inf).unwrap_err(),
        NpyError::BadValue { index: 1, .. }
    ));
    let big = npy_with_header(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1), }",
        &((1i64 << 53) + 1).to_le_bytes(),
    );
    assert!(matches!(
        npy::read_f64_2d(&big).unwrap_err(),
        NpyError::BadValue { index: 0, .. }
    ));
    let b = npy_with_header(
        "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 1), }",
        &[1],
    );
    assert!(matches!(
        npy::read_f64_2d(&b).unwrap_err(),
        NpyError::UnsupportedDtype { .. }
    ));
    // read_array keeps NaN (the caller decides).
    assert!(npy::read_array(&nan).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_all_writers(rows in 0usize..6, cols in 0usize..6, seed in any::<u64>()) {
        let n = rows * cols;
        let mut s = seed;
        let mut next = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 33) as i64 };
        let i16s: Vec<i16> = (0..n).map(|_| next() as i16).collect();
        let i32s: Vec<i32> = (0..n).map(|_| next() as i32).collect();
        let f32s: Vec<f32> = (0..n).map(|_| (next() as f32) / 1024.0 - 1e6).collect();
        let f64s: Vec<f64> = (0..n).map(|_| (next() as f64) * 1.5e-7 - 100.0).collect();
        let (sh, v) = npy::read_f64_2d(&npy::write_i16(&[rows, cols], &i16s)).unwrap();
        prop_assert_eq!(sh, vec![rows, cols]);
        prop_assert_eq!(v, i16s.iter().map(|&x| x as f64).collect::<Vec<_>>());
        let (_, v) = npy::read_f64_2d(&npy::write_i32(&[rows, cols], &i32s)).unwrap();
        prop_assert_eq!(v, i32s.iter().map(|&x| x as f64).collect::<Vec<_>>());
        let (_, v) = npy::read_f64_2d(&npy::write_f32(&[rows, cols], &f32s)).unwrap();
        prop_assert_eq!(v, f32s.iter().map(|&x| x as f64).collect::<Vec<_>>());
        let (_, v) = npy::read_f64_2d(&npy::write_f64(&[rows, cols], &f64s)).unwrap();
        prop_assert_eq!(v, f64s);
    }

    /// Random byte mutations of real numpy files: errors are fine, panics are not. A mutation
    /// that still parses must yield exactly as many values as its shape declares.
    #[test]
    fn mutated_npy_never_panics(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let name = ["x_f32_5x3.npy", "i32_2x3x2.npy", "v3_i2_2x2.npy", "be_f8_2x2.npy"][which];
        let mut b = fixture(name);
        for (pos, val) in edits {
            let p = pos % b.len();
            b[p] = val;
        }
        if let Some(c) = cut {
            b.truncate(c % (b.len() + 1));
        }
        if let Ok(a) = npy::read_array(&b) {
            let n: usize = a.shape.iter().product();
            let len = match &a.data { NpyData::F64(v) => v.len(), NpyData::I64(v) => v.len() };
            prop_assert_eq!(n, len);
        }
        let _ = npy::read_f64_2d(&b);
    }
}
