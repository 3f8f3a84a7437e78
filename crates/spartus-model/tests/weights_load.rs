//! Weight import, well-formed input: numpy / python-safetensors fixtures, files written from
//! Rust (save_safetensors, npz via the zip crate), prefix rule, dtypes, config checks.

mod weights_common;

use spartus_model::config::load_str;
use spartus_model::npy;
use spartus_model::weights::{
    self, check_against, load, load_all_tensors, load_npz_bytes, load_safetensors_bytes,
    save_safetensors, FloatNet, WeightFormat, WeightsError,
};
use std::io::Write;
use weights_common::*;

/// The fixture net must equal the values of make_fixtures.py exactly (all are multiples of 1/16,
/// exact in f16, f32 and f64).
fn assert_fixture_net(net: &FloatNet) {
    assert_eq!(net.layers.len(), L);
    for (k, layer) in net.layers.iter().enumerate() {
        assert_eq!(layer.input_size, if k == 0 { I } else { H }, "layer {k}");
        assert_eq!(layer.hidden_size, H);
        assert_eq!(layer.weight_ih, expected(k, 0), "weight_ih_l{k}");
        assert_eq!(layer.weight_hh, expected(k, 1), "weight_hh_l{k}");
        assert_eq!(layer.bias_ih, expected(k, 2), "bias_ih_l{k}");
        assert_eq!(layer.bias_hh, expected(k, 3), "bias_hh_l{k}");
    }
}

#[test]
fn expected_values_spot_check() {
    // Constants listed in the fixtures README, independent of the formula helper.
    assert_eq!(value(0, 0, 0), -0.875); // lstm.weight_ih_l0[0, 0]
    assert_eq!(value(0, 0, 1), -0.4375); // lstm.weight_ih_l0[0, 1]
    assert_eq!(value(1, 3, 15), -0.4375); // lstm.bias_hh_l1[15] = ((105 + 3 + 15) % 29 - 14) / 16
    assert_eq!(fc_weight()[0], -0.5);
}

#[test]
fn python_safetensors_fixture_f32_and_f16() {
    let net = load_safetensors_bytes(&fixture("lstm_i3_h4_l2.safetensors")).unwrap();
    assert_fixture_net(&net);
    assert_eq!(net.layers[0].weight_ih[0], -0.875);
    assert_eq!(net.layers[1].bias_hh[15], -0.4375);
}

#[test]
fn numpy_npz_fixtures_stored_and_deflated() {
    for f in ["lstm_i3_h4_l2.npz", "lstm_i3_h4_l2_deflate.npz"] {
        let net = load_npz_bytes(&fixture(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_fixture_net(&net);
    }
}

#[test]
fn load_dispatches_on_extension() {
    let dir = fixture_dir();
    assert_fixture_net(&load(&dir.join("lstm_i3_h4_l2.safetensors")).unwrap());
    assert_fixture_net(&load(&dir.join("lstm_i3_h4_l2.npz")).unwrap());
    // Case-insensitive extension.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("W.NPZ");
    std::fs::write(&p, fixture("lstm_i3_h4_l2.npz")).unwrap();
    assert_fixture_net(&load(&p).unwrap());

    let p = tmp.path().join("model.pt");
    std::fs::write(&p, b"x").unwrap();
    let e = load(&p).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{}: unsupported weight file extension \".pt\"",
            p.display()
        )),
        "{e}"
    );
    assert!(e.contains("expected .safetensors or .npz"), "{e}");

    let missing = tmp.path().join("nope.safetensors");
    let e = load(&missing).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: cannot read:", missing.display())),
        "{e}"
    );

    // Content errors carry the path too.
    let p = tmp.path().join("bad.safetensors");
    std::fs::write(&p, b"12345").unwrap();
    let e = load(&p).unwrap_err();
    assert!(
        matches!(&e, WeightsError::File { path, .. } if path == &p),
        "{e:?}"
    );
}

#[test]
fn load_all_tensors_exposes_the_head() {
    for f in [
        "lstm_i3_h4_l2.safetensors",
        "lstm_i3_h4_l2.npz",
        "lstm_i3_h4_l2_deflate.npz",
    ] {
        let all = load_all_tensors(&fixture_dir().join(f)).unwrap();
        assert_eq!(all.len(), 10, "{f}: {:?}", all.keys().collect::<Vec<_>>());
        assert_eq!(all["fc.weight"], (vec![2, 4], fc_weight()), "{f}");
        assert_eq!(all["fc.bias"], (vec![2], vec![0.5, -0.25]), "{f}");
        assert_eq!(
            all["lstm.weight_hh_l1"],
            (vec![16, 4], expected(1, 1)),
            "{f}"
        );
    }
}

#[test]
fn save_safetensors_equals_python_safetensors_bytes() {
    let net = load_safetensors_bytes(&fixture("lstm_i3_h4_l2.safetensors")).unwrap();
    let bytes = save_safetensors(&net);
    assert_eq!(bytes, fixture("plain_f32.safetensors"));
    assert_eq!(save_safetensors(&net), bytes, "deterministic");
}

#[test]
fn save_load_round_trip_rounds_to_f32() {
    let h = 6;
    let mut layers = Vec::new();
    for l in 0..3 {
        let i = if l == 0 { 5 } else { h };
        let f = |n: usize, salt: usize| -> Vec<f64> {
            (0..n)
                .map(|j| ((j * 31 + salt * 17 + l) % 97) as f64 * 0.013 - 0.6)
                .collect()
        };
        layers.push(weights::FloatLayer {
            input_size: i,
            hidden_size: h,
            weight_ih: f(4 * h * i, 1),
            weight_hh: f(4 * h * h, 2),
            bias_ih: f(4 * h, 3),
            bias_hh: f(4 * h, 4),
        });
    }
    let net = FloatNet { layers };
    let back = load_safetensors_bytes(&save_safetensors(&net)).unwrap();
    assert_eq!(back.layers.len(), 3);
    for (a, b) in net.layers.iter().zip(&back.layers) {
        assert_eq!((a.input_size, a.hidden_size), (b.input_size, b.hidden_size));
        for (x, y) in [
            (&a.weight_ih, &b.weight_ih),
            (&a.weight_hh, &b.weight_hh),
            (&a.bias_ih, &b.bias_ih),
            (&a.bias_hh, &b.bias_hh),
        ] {
            let want: Vec<f64> = x.iter().map(|&v| v as f32 as f64).collect();
            assert_eq!(&want, y);
        }
    }
    // The values are not all f32-exact, so rounding really happened.
    assert_ne!(net.layers[0].weight_ih, back.layers[0].weight_ih);
}

#[test]
fn npz_written_with_the_zip_crate() {
    use zip::write::SimpleFileOptions;
    for method in [
        zip::CompressionMethod::Stored,
        zip::CompressionMethod::Deflated,
    ] {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(method);
        for k in 0..L {
            let cols = if k == 0 { I } else { H };
            for (t, stem) in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
                .iter()
                .enumerate()
            {
                let v = expected(k, t);
                let bytes = match t {
                    0 => npy::write_f64(&[4 * H, cols], &v),
                    1 => npy::write_f32(
                        &[4 * H, H],
                        &v.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                    ),
                    _ => npy::write_f64(&[4 * H], &v),
                };
                w.start_file(format!("model.rnn.{stem}_l{k}.npy"), opts)
                    .unwrap();
                w.write_all(&bytes).unwrap();
            }
        }
        // An int64 tensor that load() must ignore and load_all_tensors must convert.
        w.start_file("steps.npy", opts).unwrap();
        w.write_all(&npy_with_header(
            "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
            &[7i64.to_le_bytes(), (-3i64).to_le_bytes()].concat(),
        ))
        .unwrap();
        // A non-npy entry is ignored.
        w.start_file("README.txt", opts).unwrap();
        w.write_all(b"hello").unwrap();
        let bytes = w.finish().unwrap().into_inner();
        assert_fixture_net(&load_npz_bytes(&bytes).unwrap());
        let all = weights::load_all_tensors_bytes(WeightFormat::Npz, &bytes).unwrap();
        assert_eq!(all["steps"], (vec![2], vec![7.0, -3.0]));
        assert_eq!(all.len(), 9);
    }
}

#[test]
fn prefix_rule() {
    // No prefix, a nested prefix, and a head with its own prefix are all fine.
    for prefix in ["", "lstm.", "model.encoder.rnn."] {
        let mut e = lstm_entries(prefix);
        e.push((
            "fc.weight".into(),
            "F32".into(),
            vec![2, 4],
            f32_bytes(&fc_weight()),
        ));
        let net = load_safetensors_bytes(&safetensors_file(&e)).unwrap();
        assert_fixture_net(&net);
    }
    // Two LSTMs in one file: refused, both prefixes named.
    let mut e = lstm_entries("enc.");
    e.extend(lstm_entries("dec."));
    let err = load_safetensors_bytes(&safetensors_file(&e))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "LSTM tensors have different prefixes \"dec.\", \"enc.\"; exactly one nn.LSTM per file is supported"
    );
    // Only part of the tensors prefixed: also two prefixes ("" and "lstm.").
    let mut e = lstm_entries("lstm.");
    e[1].0 = "weight_hh_l0".into();
    let err = load_safetensors_bytes(&safetensors_file(&e)).unwrap_err();
    assert!(matches!(err, WeightsError::Prefixes { .. }), "{err}");
    // A name that merely contains the pattern is not an LSTM tensor.
    let mut e = lstm_entries("");
    e.push((
        "my_weight_ih_l0".into(),
        "F32".into(),
        vec![1],
        f32_bytes(&[1.0]),
    ));
    e.push((
        "weight_ih_l01".into(),
        "F32".into(),
        vec![1],
        f32_bytes(&[1.0]),
    ));
    assert_fixture_net(&load_safetensors_bytes(&safetensors_file(&e)).unwrap());
}

#[test]
fn all_float_dtypes_convert_exactly() {
    // Layer 0 weight_ih in each float dtype; values are multiples of 1/16 (exact everywhere).
    let v = expected(0, 0);
    let f16 = |x: f64| -> [u8; 2] {
        // Exact for these values: sign, exponent, 10-bit fraction of a multiple of 1/16 <= 1.
        if x == 0.0 {
            return [0, 0];
        }
        let sign = if x < 0.0 { 0x8000u16 } else { 0 };
        let a = x.abs();
        let e = a.log2().floor() as i32;
        let frac = ((a / 2f64.powi(e) - 1.0) * 1024.0) as u16;
        (sign | (((e + 15) as u16) << 10) | frac).to_le_bytes()
    };
    let encodings: Vec<(&str, Vec<u8>)> = vec![
        (
            "F32",
            v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect(),
        ),
        ("F64", v.iter().flat_map(|&x| x.to_le_bytes()).collect()),
        ("F16", v.iter().flat_map(|&x| f16(x)).collect()),
        (
            "BF16",
            v.iter()
                .flat_map(|&x| (((x as f32).to_bits() >> 16) as u16).to_le_bytes())
                .collect(),
        ),
    ];
    for (dtype, bytes) in encodings {
        let mut e = lstm_entries("");
        e[0].1 = dtype.into();
        e[0].3 = bytes;
        let net = load_safetensors_bytes(&safetensors_file(&e))
            .unwrap_or_else(|err| panic!("{dtype}: {err}"));
        assert_eq!(net.layers[0].weight_ih, v, "{dtype}");
    }
}

fn resolved(i: usize, h: usize, layers: usize) -> spartus_model::config::Resolved {
    load_str(&format!(
        "name = \"w\"\n[model]\ninput_size = {i}\nhidden_size = {h}\nlayers = {layers}\n[hardware]\npe_count = 2\n"
    ))
    .unwrap()
}

#[test]
fn check_against_config() {
    let net = load_safetensors_bytes(&fixture("lstm_i3_h4_l2.safetensors")).unwrap();
    check_against(&net, &resolved(3, 4, 2)).unwrap();
    assert_eq!(
        check_against(&net, &resolved(3, 4, 1)).unwrap_err().to_string(),
        "weights have 2 LSTM layer(s) (weight_ih_l0..weight_ih_l1), the config says model.layers = 1"
    );
    assert_eq!(
        check_against(&net, &resolved(5, 4, 2)).unwrap_err().to_string(),
        "weight_ih_l0 has shape [16, 3], expected [16, 5] (4H x I with H = model.hidden_size = 4, I = model.input_size = 5)"
    );
    assert_eq!(
        check_against(&net, &resolved(3, 8, 2)).unwrap_err().to_string(),
        "weight_ih_l0 has shape [16, 3], expected [32, 3] (4H x I with H = model.hidden_size = 8, I = model.input_size = 3)"
    );
    // A hand-built net whose vectors disagree with its declared sizes.
    let mut bad = net.clone();
    bad.layers[1].bias_hh.pop();
    let e = check_against(&bad, &resolved(3, 4, 2))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "bias_hh_l1 has shape [15], expected [16] (flat value count of the layer's declared sizes I = 4, H = 4)"
    );
}

#[test]
fn fixture_readme_matches_script_and_formula() {
    let readme = String::from_utf8(fixture("README.md")).unwrap();
    let script = String::from_utf8(fixture("make_fixtures.py")).unwrap();
    assert!(
        readme.contains(&script),
        "README.md must quote make_fixtures.py verbatim"
    );
    // The table of first values must agree with value().
    let names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
    let mut rows = 0;
    for line in readme.lines().filter(|l| l.starts_with("| `lstm.")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').trim_start_matches("lstm.");
        let (stem, k) = name.rsplit_once("_l").unwrap();
        let k: usize = k.parse().unwrap();
        let t = names.iter().position(|n| *n == stem).unwrap();
        let vals: Vec<f64> = cells[2]
            .split(',')
            .map(|v| v.trim().replace('−', "-").parse().unwrap())
            .collect();
        let want: Vec<f64> = (0..4).map(|n| value(k, t, n)).collect();
        assert_eq!(vals, want, "README row {name}");
        rows += 1;
    }
    assert_eq!(rows, 8);
}
