//! Weight import, hostile input: every truncation, huge declared shapes, NaN/Inf, wrong dtypes,
//! duplicate keys, wrong shapes, missing tensors, lying zip sizes, and random mutations of the
//! real fixtures. Errors are expected everywhere; a panic fails the test.

mod weights_common;

use proptest::prelude::*;
use spartus_model::npy;
use spartus_model::weights::{
    load_all_tensors_bytes, load_npz_bytes, load_safetensors_bytes, WeightFormat, WeightsError,
};
use weights_common::*;

fn st(entries: &[StEntry]) -> Result<spartus_model::weights::FloatNet, WeightsError> {
    load_safetensors_bytes(&safetensors_file(entries))
}

fn st_err(entries: &[StEntry]) -> String {
    st(entries).unwrap_err().to_string()
}

/// The fixture LSTM as npz entries (stored), `<prefix><name>.npy`, f32.
fn npz_entries(prefix: &str) -> Vec<(String, Vec<u8>)> {
    lstm_entries(prefix)
        .into_iter()
        .map(|(name, _, shape, bytes)| {
            let v: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
            (format!("{name}.npy"), npy::write_f32(&shape, &v))
        })
        .collect()
}

fn npz(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let e: Vec<(&str, Vec<u8>, Option<u32>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone(), None))
        .collect();
    zip_stored(&e)
}

#[test]
fn hand_built_files_are_valid_baselines() {
    // The builders used below produce loadable files when nothing is wrong with them.
    st(&lstm_entries("lstm.")).unwrap();
    load_npz_bytes(&npz(&npz_entries("lstm."))).unwrap();
}

#[test]
fn every_truncation_is_an_error() {
    for f in [
        "lstm_i3_h4_l2.safetensors",
        "plain_f32.safetensors",
        "lstm_i3_h4_l2.npz",
        "lstm_i3_h4_l2_deflate.npz",
    ] {
        let bytes = fixture(f);
        let format = if f.ends_with(".npz") {
            WeightFormat::Npz
        } else {
            WeightFormat::Safetensors
        };
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            let r = spartus_model::weights::load_bytes(format, cut);
            assert!(r.is_err(), "{f} truncated to {len} bytes was accepted");
            assert!(load_all_tensors_bytes(format, cut).is_err(), "{f} at {len}");
        }
    }
}

#[test]
fn truncation_messages() {
    let b = fixture("lstm_i3_h4_l2.safetensors");
    assert_eq!(
        load_safetensors_bytes(&b[..5]).unwrap_err().to_string(),
        "invalid safetensors file: file is 5 bytes, shorter than the 8-byte header length"
    );
    let e = load_safetensors_bytes(&b[..100]).unwrap_err().to_string();
    assert!(
        e.starts_with("invalid safetensors file: header length "),
        "{e}"
    );
    assert!(e.ends_with("(truncated file?)"), "{e}");
    let e = load_safetensors_bytes(&b[..b.len() - 1])
        .unwrap_err()
        .to_string();
    let data = b.len() - 8 - u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    assert_eq!(
        e,
        format!(
            "invalid safetensors file: the header describes {data} bytes of tensor data, only {} follow it (truncated file?)",
            data - 1
        )
    );
    let z = fixture("lstm_i3_h4_l2.npz");
    let e = load_npz_bytes(&z[..z.len() - 30]).unwrap_err().to_string();
    assert!(e.starts_with("invalid npz file: "), "{e}");
}

#[test]
fn huge_declared_shape_safetensors() {
    // [2^40] f32 with 16 bytes of data: refused by the element cap, naming the tensor.
    let mut e = lstm_entries("");
    e.push(("big".into(), "F32".into(), vec![1 << 40], vec![0u8; 16]));
    assert_eq!(
        st_err(&e),
        "tensor big declares shape [1099511627776] = 1099511627776 elements, more than the limit of 67108864"
    );
    // Overflowing product: saturates, still refused.
    let mut e = lstm_entries("");
    e.push((
        "big".into(),
        "F32".into(),
        vec![1 << 32, 1 << 32, 16],
        vec![],
    ));
    assert!(matches!(
        st(&e).unwrap_err(),
        WeightsError::TooLarge {
            elements: u64::MAX,
            ..
        }
    ));
    // Within the cap but not backed by data: the container check refuses it.
    let mut e = lstm_entries("");
    e.push(("mid".into(), "F64".into(), vec![8192, 8192], vec![0u8; 8]));
    assert!(matches!(st(&e).unwrap_err(), WeightsError::Format { .. }));
}

#[test]
fn huge_declared_shape_npz() {
    let mut entries = npz_entries("");
    entries.push((
        "big.npy".into(),
        npy_with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
            &[0u8; 16],
        ),
    ));
    // load() ignores the unrelated tensor, load_all_tensors refuses it.
    load_npz_bytes(&npz(&entries)).unwrap();
    assert_eq!(
        load_all_tensors_bytes(WeightFormat::Npz, &npz(&entries))
            .unwrap_err()
            .to_string(),
        "tensor big declares shape [1099511627776] = 1099511627776 elements, more than the limit of 67108864"
    );
    // The same header on an LSTM tensor fails load() too.
    let mut entries = npz_entries("");
    entries[0].1 = npy_with_header(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 3), }",
        &[],
    );
    assert!(matches!(
        load_npz_bytes(&npz(&entries)).unwrap_err(),
        WeightsError::TooLarge { .. }
    ));
}

#[test]
fn npz_entry_sizes_must_match_the_npy_header() {
    // Entry shorter than its header says.
    let mut entries = npz_entries("");
    let b = &mut entries[0].1;
    b.truncate(b.len() - 4);
    assert_eq!(
        load_npz_bytes(&npz(&entries)).unwrap_err().to_string(),
        "npz entry \"weight_ih_l0.npy\": npy data is 188 bytes, the header (shape [16, 3], dtype <f4) needs exactly 192"
    );
    // Entry longer than its header says.
    let mut entries = npz_entries("");
    entries[1].1.extend_from_slice(&[0u8; 4]);
    assert!(load_npz_bytes(&npz(&entries))
        .unwrap_err()
        .to_string()
        .contains("needs exactly 256"));
    // A zip entry whose declared size lies (bigger than the data present).
    let entries = npz_entries("");
    let mut e: Vec<(&str, Vec<u8>, Option<u32>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone(), None))
        .collect();
    e[0].2 = Some(4_000_000_000);
    assert!(load_npz_bytes(&zip_stored(&e)).is_err());
}

#[test]
fn nan_and_inf_name_tensor_and_index() {
    for (bad, text) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let mut e = lstm_entries("lstm.");
        let mut v = expected(1, 1);
        v[37] = bad;
        e[5].3 = f32_bytes(&v);
        assert_eq!(
            st_err(&e),
            format!("tensor lstm.weight_hh_l1: element 37 (flat, row-major) is {text}; weights must be finite")
        );
        // npz, f64 entry.
        let mut entries = npz_entries("");
        entries[2].1 = npy::write_f64(&[16], &{
            let mut b = expected(0, 2);
            b[3] = bad;
            b
        });
        let err = load_npz_bytes(&npz(&entries)).unwrap_err();
        assert!(
            matches!(&err, WeightsError::NonFinite { name, index: 3, .. } if name == "bias_ih_l0"),
            "{err}"
        );
    }
    // f16 NaN (0x7e00) and bf16 inf (0x7f80).
    let mut e = lstm_entries("");
    e[2].1 = "F16".into();
    e[2].3 = [0u8; 32].to_vec();
    e[2].3[20..22].copy_from_slice(&0x7e00u16.to_le_bytes());
    assert!(st_err(&e).contains("tensor bias_ih_l0: element 10 (flat, row-major) is NaN"));
    let mut e = lstm_entries("");
    e[3].1 = "BF16".into();
    e[3].3 = [0u8; 32].to_vec();
    e[3].3[0..2].copy_from_slice(&0x7f80u16.to_le_bytes());
    assert!(st_err(&e).contains("tensor bias_hh_l0: element 0 (flat, row-major) is inf"));
}

#[test]
fn wrong_dtypes() {
    let mut e = lstm_entries("lstm.");
    e[1].1 = "I32".into();
    assert_eq!(
        st_err(&e),
        "tensor lstm.weight_hh_l0 has dtype I32: LSTM weights and biases must be floating point (F32, F64, F16 or BF16)"
    );
    let mut e = lstm_entries("");
    e[0].1 = "F8_E4M3".into();
    e[0].3.truncate(48);
    assert!(st_err(&e).starts_with("tensor weight_ih_l0 has dtype F8_E4M3: "));
    // Unknown dtype string: container error from the safetensors crate.
    let mut e = lstm_entries("");
    e[0].1 = "F128".into();
    assert!(st_err(&e).starts_with("invalid safetensors file: "));
    // npz: int64 LSTM tensor, complex and structured dtypes.
    let mut entries = npz_entries("");
    entries[3].1 = npy_with_header(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (16,), }",
        &[0u8; 128],
    );
    assert_eq!(
        load_npz_bytes(&npz(&entries)).unwrap_err().to_string(),
        "tensor bias_hh_l0 has dtype <i8: LSTM weights and biases must be floating point (F32, F64, F16 or BF16)"
    );
    let mut entries = npz_entries("");
    entries[3].1 = npy_with_header(
        "{'descr': '<c16', 'fortran_order': False, 'shape': (16,), }",
        &[0u8; 256],
    );
    assert!(load_npz_bytes(&npz(&entries))
        .unwrap_err()
        .to_string()
        .contains("unsupported npy dtype \"<c16\""));
    // Integer tensors outside the LSTM: ignored by load, converted (exactly) by load_all.
    let mut e = lstm_entries("");
    e.push((
        "bn.num_batches_tracked".into(),
        "I64".into(),
        vec![],
        12i64.to_le_bytes().to_vec(),
    ));
    e.push((
        "huge".into(),
        "U64".into(),
        vec![1],
        u64::MAX.to_le_bytes().to_vec(),
    ));
    st(&e).unwrap();
    let err = load_all_tensors_bytes(WeightFormat::Safetensors, &safetensors_file(&e)).unwrap_err();
    assert!(
        matches!(&err, WeightsError::Inexact { name, .. } if name == "huge"),
        "{err}"
    );
    e.pop();
    let all = load_all_tensors_bytes(WeightFormat::Safetensors, &safetensors_file(&e)).unwrap();
    assert_eq!(all["bn.num_batches_tracked"], (vec![], vec![12.0]));
}

#[test]
fn duplicate_keys() {
    // npz: two entries named lstm.bias_ih_l0.npy (the zip crate alone would keep the last).
    let mut entries = npz_entries("lstm.");
    let dup = entries[2].clone();
    entries.push(dup);
    assert_eq!(
        load_npz_bytes(&npz(&entries)).unwrap_err().to_string(),
        "duplicate tensor name \"lstm.bias_ih_l0\" in npz file (the second copy would silently win)"
    );
    // Also when the duplicate is not an LSTM tensor.
    let mut entries = npz_entries("");
    entries.push(("fc.npy".into(), npy::write_f64(&[1], &[1.0])));
    entries.push(("fc.npy".into(), npy::write_f64(&[1], &[2.0])));
    assert!(matches!(
        load_npz_bytes(&npz(&entries)).unwrap_err(),
        WeightsError::Duplicate { format: "npz", .. }
    ));
    // safetensors: repeated header key.
    let mut e = lstm_entries("");
    let dup = e[0].clone();
    e.push(dup);
    assert_eq!(
        st_err(&e),
        "duplicate tensor name \"weight_ih_l0\" in safetensors file (the second copy would silently win)"
    );
}

#[test]
fn wrong_shapes_name_tensor_and_both_shapes() {
    // weight_hh_l0 [16, 8] for H = 4.
    let mut e = lstm_entries("");
    e[1].2 = vec![16, 8];
    e[1].3 = f32_bytes(&vec![0.0; 128]);
    assert_eq!(
        st_err(&e),
        "weight_hh_l0 has shape [16, 8], expected [16, 4] (4H x H with H = 4 from weight_ih_l0)"
    );
    // Layer 1 input must be H.
    let mut e = lstm_entries("lstm.");
    e[4].2 = vec![16, 3];
    e[4].3 = f32_bytes(&vec![0.0; 48]);
    assert_eq!(
        st_err(&e),
        "lstm.weight_ih_l1 has shape [16, 3], expected [16, 4] (4H x H with H = 4 from lstm.weight_ih_l0: layer 1 takes layer 0's h as input)"
    );
    // Bias of the wrong length.
    let mut e = lstm_entries("");
    e[7].2 = vec![12];
    e[7].3 = f32_bytes(&[0.0; 12]);
    assert_eq!(
        st_err(&e),
        "bias_hh_l1 has shape [12], expected [16] (4H with H = 4 from weight_ih_l0)"
    );
    // weight_ih_l0 whose rows are not a multiple of 4, or not 2-D.
    for shape in [
        vec![10u64, 3],
        vec![48],
        vec![0, 3],
        vec![16, 0],
        vec![4, 3, 4],
    ] {
        let mut e = lstm_entries("");
        let n: u64 = shape.iter().product();
        e[0].2 = shape.clone();
        e[0].3 = f32_bytes(&vec![0.0; n as usize]);
        let msg = st_err(&e);
        assert!(
            msg.starts_with(&format!(
                "weight_ih_l0 has shape {shape:?}, expected [4H, I]"
            )),
            "{msg}"
        );
    }
}

#[test]
fn missing_and_unsupported_tensors() {
    let mut e = lstm_entries("lstm.");
    e.remove(7);
    assert_eq!(
        st_err(&e),
        "missing tensor lstm.bias_hh_l1 (layer 1 of 2; nn.LSTM(bias=False) is not supported)"
    );
    // Layer gap: l0 and l2 present, l1 absent.
    let mut e: Vec<StEntry> = lstm_entries("").into_iter().take(4).collect();
    for mut t in lstm_entries("").into_iter().skip(4) {
        t.0 = t.0.replace("_l1", "_l2");
        e.push(t);
    }
    assert_eq!(
        st_err(&e),
        "missing tensor weight_ih_l1 (layer 1 of 3; layers must be numbered contiguously from 0)"
    );
    // No LSTM at all.
    let e = vec![(
        "fc.weight".to_string(),
        "F32".to_string(),
        vec![2u64, 4],
        f32_bytes(&fc_weight()),
    )];
    assert_eq!(
        st_err(&e),
        "no nn.LSTM tensors found (expected weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, optionally with a common prefix such as lstm.); tensors present: fc.weight"
    );
    // Bidirectional and projected LSTMs.
    let mut e = lstm_entries("");
    e.push((
        "weight_ih_l0_reverse".into(),
        "F32".into(),
        vec![16, 3],
        f32_bytes(&vec![0.0; 48]),
    ));
    assert_eq!(
        st_err(&e),
        "tensor weight_ih_l0_reverse: a bidirectional LSTM (bidirectional=True) is not supported"
    );
    let mut e = lstm_entries("");
    e.push((
        "weight_hr_l0".into(),
        "F32".into(),
        vec![2, 4],
        f32_bytes(&[0.0; 8]),
    ));
    assert!(st_err(&e).contains("projections (proj_size > 0)"));
    // Absurd layer index.
    let mut e = lstm_entries("");
    e.push((
        "bias_ih_l99999999999999999999999".into(),
        "F32".into(),
        vec![1],
        f32_bytes(&[0.0]),
    ));
    assert!(st_err(&e).contains("layer index >= 64"));
    // Empty containers.
    assert!(matches!(st(&[]).unwrap_err(), WeightsError::NoLstm { .. }));
    assert!(matches!(
        load_npz_bytes(&zip_stored(&[])).unwrap_err(),
        WeightsError::NoLstm { .. }
    ));
}

#[test]
fn malformed_containers() {
    for bytes in [
        b"".to_vec(),
        vec![0xff; 8],
        b"\x02\x00\x00\x00\x00\x00\x00\x00{}".to_vec(),
        b"\x02\x00\x00\x00\x00\x00\x00\x00[]".to_vec(),
        b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":1} ".to_vec(),
    ] {
        assert!(load_safetensors_bytes(&bytes).is_err(), "{bytes:?}");
    }
    for bytes in [
        b"".to_vec(),
        b"PK\x05\x06".to_vec(),
        b"PK\x03\x04garbage".to_vec(),
        fixture("lstm_i3_h4_l2.safetensors"),
    ] {
        assert!(matches!(
            load_npz_bytes(&bytes).unwrap_err(),
            WeightsError::Format { format: "npz", .. }
        ));
    }
    // A corrupted byte inside stored data is caught by the CRC.
    let mut z = fixture("lstm_i3_h4_l2.npz");
    let at = z.windows(6).position(|w| w == b"\x93NUMPY").unwrap() + 200;
    z[at] ^= 0x55;
    let e = load_npz_bytes(&z).unwrap_err().to_string();
    assert!(e.to_lowercase().contains("checksum"), "{e}");
}

fn mutate(mut b: Vec<u8>, edits: Vec<(usize, u8)>, cut: Option<usize>) -> Vec<u8> {
    for (pos, val) in edits {
        let p = pos % b.len();
        b[p] = val;
    }
    if let Some(c) = cut {
        b.truncate(c % (b.len() + 1));
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random byte mutations of the real fixtures: errors are fine, panics are not. Whatever
    /// still loads must be a consistent network.
    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let name = [
            "lstm_i3_h4_l2.safetensors",
            "plain_f32.safetensors",
            "lstm_i3_h4_l2.npz",
            "lstm_i3_h4_l2_deflate.npz",
        ][which];
        let b = mutate(fixture(name), edits, cut);
        for format in [WeightFormat::Safetensors, WeightFormat::Npz] {
            if let Ok(net) = spartus_model::weights::load_bytes(format, &b) {
                for l in &net.layers {
                    prop_assert_eq!(l.weight_ih.len(), 4 * l.hidden_size * l.input_size);
                    prop_assert_eq!(l.weight_hh.len(), 4 * l.hidden_size * l.hidden_size);
                    prop_assert!(l.weight_ih.iter().all(|v| v.is_finite()));
                }
            }
            let _ = load_all_tensors_bytes(format, &b);
        }
        let _ = npy::read_array(&b);
    }
}
