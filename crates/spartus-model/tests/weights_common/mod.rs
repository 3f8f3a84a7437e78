//! Shared helpers for the weight-import tests: fixture access, the fixture value formula, and
//! hand-written safetensors / zip builders that can produce files the real writers refuse to
//! (duplicate keys, lying sizes).
#![allow(dead_code)]

use std::path::PathBuf;

/// Folder of the weight fixtures.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/weights")
}

/// Bytes of one fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The fixture state dict: nn.LSTM(input_size = 3, hidden_size = 4, num_layers = 2).
pub const I: usize = 3;
/// Hidden size of the fixture.
pub const H: usize = 4;
/// Layers of the fixture.
pub const L: usize = 2;

/// `value(k, t, n)` of make_fixtures.py: element n of tensor t (0 = weight_ih, 1 = weight_hh,
/// 2 = bias_ih, 3 = bias_hh) of layer k.
pub fn value(k: usize, t: usize, n: usize) -> f64 {
    ((n * 7 + 3 * k + 5 * t) % 29) as f64 / 16.0 - 14.0 / 16.0
}

/// Expected tensor t of layer k of the fixture.
pub fn expected(k: usize, t: usize) -> Vec<f64> {
    let cols = if k == 0 { I } else { H };
    let n = [4 * H * cols, 4 * H * H, 4 * H, 4 * H][t];
    (0..n).map(|i| value(k, t, i)).collect()
}

/// fc.weight [2, 4] of the fixture: (arange(8) - 4) / 8.
pub fn fc_weight() -> Vec<f64> {
    (0..8).map(|n| (n as f64 - 4.0) / 8.0).collect()
}

/// One tensor for [`safetensors_file`]: name, dtype name, shape, raw little-endian bytes.
pub type StEntry = (String, String, Vec<u64>, Vec<u8>);

/// Build a safetensors file by hand: header keys in the given order (duplicates allowed),
/// data offsets assigned consecutively, header padded with spaces to a multiple of 8.
pub fn safetensors_file(entries: &[StEntry]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (i, (name, dtype, shape, bytes)) in entries.iter().enumerate() {
        if i > 0 {
            header.push(',');
        }
        let shape: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        header.push_str(&format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            shape.join(","),
            data.len(),
            data.len() + bytes.len()
        ));
        data.extend_from_slice(bytes);
    }
    header.push('}');
    while header.len() & 7 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    out
}

/// f32 little-endian bytes.
pub fn f32_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect()
}

/// The fixture LSTM as safetensors entries (f32, given prefix), optionally with extra entries.
pub fn lstm_entries(prefix: &str) -> Vec<StEntry> {
    let names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
    let mut out = Vec::new();
    for k in 0..L {
        let cols = if k == 0 { I } else { H };
        for (t, stem) in names.iter().enumerate() {
            let shape: Vec<u64> = match t {
                0 => vec![4 * H as u64, cols as u64],
                1 => vec![4 * H as u64, H as u64],
                _ => vec![4 * H as u64],
            };
            out.push((
                format!("{prefix}{stem}_l{k}"),
                "F32".to_string(),
                shape,
                f32_bytes(&expected(k, t)),
            ));
        }
    }
    out
}

/// CRC-32 (IEEE), bitwise.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A stored (uncompressed) zip archive written by hand; duplicate names are kept as given.
/// `declared_size`, when set for an entry, replaces its true size in both headers (a lie).
pub fn zip_stored(entries: &[(&str, Vec<u8>, Option<u32>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, declared) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = declared.unwrap_or(data.len() as u32);
        let mut local = Vec::new();
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&20u16.to_le_bytes()); // version needed
        local.extend_from_slice(&0u16.to_le_bytes()); // flags
        local.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        local.extend_from_slice(&0u16.to_le_bytes()); // time
        local.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&size.to_le_bytes());
        local.extend_from_slice(&size.to_le_bytes());
        local.extend_from_slice(&(name.len() as u16).to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&local);
        out.extend_from_slice(data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&20u16.to_le_bytes()); // version needed
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0x21u16.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// An npy file with an arbitrary header dict (padded like numpy), followed by `data`.
pub fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut h = dict.to_string();
    while (10 + h.len() + 1) & 63 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}
