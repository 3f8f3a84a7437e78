//! Packing per docs/interfaces.md: pack → unpack reproduces the pruned layer exactly (values,
//! kept positions, biases), image depths and widths are as documented, and malformed images
//! are rejected.

use proptest::prelude::*;
use spartus_model::lut::Lut;
use spartus_model::pack::*;
use spartus_model::prune::{cbtd, PrunedLayer};
use spartus_model::rng::Lcg;
use std::collections::BTreeMap;

fn layer(i: usize, h: usize, n: usize, k_x: usize, k_h: usize, seed: u64) -> PrunedLayer {
    let mut g = Lcg::new(seed);
    let rows = 4 * h;
    let wx: Vec<i8> = (0..rows * i)
        .map(|_| g.int_range(-128, 127) as i8)
        .collect();
    let wh: Vec<i8> = (0..rows * h)
        .map(|_| g.int_range(-128, 127) as i8)
        .collect();
    let bias = (0..rows)
        .map(|_| g.next_u32() as i32 ^ (g.next_u32() as i32) << 1)
        .collect();
    PrunedLayer {
        wx: cbtd(&wx, rows, i, n, k_x).unwrap(),
        wh: cbtd(&wh, rows, h, n, k_h).unwrap(),
        bias,
    }
}

fn round_trip(i: usize, h: usize, n: usize, a: usize, k_x: usize, k_h: usize, seed: u64) {
    let l0 = layer(i, h, n, k_x, k_h, seed);
    let l1 = layer(h, h, n, k_x, k_h, seed + 1);
    let lut = Lut::new(4, 8);
    let images: BTreeMap<String, String> = pack_net(&[l0.clone(), l1.clone()], a, &lut)
        .into_iter()
        .collect();
    // image count: per layer A·N weight + 4·N bias images; plus 2 LUTs
    assert_eq!(images.len(), 2 * (a * n + 4 * n) + 2);
    let r = 4 * h / n;
    let ib = index_bits(r);
    let digits = word_hex_digits(ib);
    for (li, l) in [&l0, &l1].into_iter().enumerate() {
        let shape = LayerShape {
            input_size: l.input_size(),
            hidden_size: h,
            n,
            arrays: a,
            k_x,
            k_h,
        };
        let back = unpack_layer(li, shape, |name| images.get(name).map(|s| s.as_str())).unwrap();
        assert_eq!(
            &back, l,
            "layer {li} I={i} H={h} N={n} A={a} Kx={k_x} Kh={k_h}"
        );
        for arr in 0..a {
            let entries = weight_entries(l.input_size(), h, a, arr, k_x, k_h);
            for p in 0..n {
                let text = &images[&weight_image_name(li, arr, p)];
                assert_eq!(text.lines().count(), entries.max(1));
                assert!(text.lines().all(|line| line.len() == digits));
                assert!(entries.max(1) <= weight_depth(l.input_size(), h, a, k_x, k_h));
            }
        }
        for p in 0..n {
            for g in 0..4 {
                let text = &images[&bias_image_name(li, p, g)];
                assert_eq!(text.lines().count(), bias_depth(h, n));
                assert!(text.lines().all(|line| line.len() == BIAS_HEX_DIGITS));
            }
        }
    }
    assert_eq!(images[SIG_IMAGE].lines().count(), lut_depth(4));
    assert_eq!(images[TANH_IMAGE].lines().count(), 256);
}

#[test]
fn round_trip_fixed_shapes() {
    // (I, H, N, A, K_x, K_h), including A not dividing I or H, A > I, K = R, K = 1.
    for &(i, h, n, a, kx, kh) in &[
        (16, 32, 8, 1, 4, 2),
        (5, 8, 2, 2, 3, 16),
        (7, 12, 3, 3, 1, 1),
        (3, 4, 4, 5, 4, 2),
        (1, 2, 1, 4, 8, 8),
        (40, 64, 16, 8, 4, 4),
    ] {
        round_trip(i, h, n, a, kx, kh, (i * 1000 + h) as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn round_trip_random_shapes(
        (n, m, i, a, kx, kh, seed) in (1usize..=4, 1usize..=3, 1usize..=9, 1usize..=5)
            .prop_flat_map(|(n, m, i, a)| {
                let r = 4 * n * m / n;
                (Just(n), Just(m), Just(i), Just(a), 1..=r, 1..=r, any::<u64>())
            })
    ) {
        round_trip(i, n * m, n, a, kx, kh, seed);
    }
}

#[test]
fn interfaces_example_layout() {
    // H = 2, N = 1, R = 8, IB = 3, A = 2, I = 3: array 0 holds x columns 0, 2 and h column 0.
    let mut wx = vec![0i8; 8 * 3];
    wx[5 * 3 + 2] = -1; // row 5, column 2: the only nonzero of column 2 → l = 5
    let wh = vec![0i8; 8 * 2];
    let l = PrunedLayer {
        wx: cbtd(&wx, 8, 3, 1, 1).unwrap(),
        wh: cbtd(&wh, 8, 2, 1, 1).unwrap(),
        bias: vec![0; 8],
    };
    let img = weight_images(0, &l, 2);
    assert_eq!(img[0].0, "l0_a0_p0_w.hex");
    // 11-bit words, 3 hex digits: column 0 keeps l=0 (all zero, lowest row), column 2 keeps
    // (−1, l=5) = 0xff<<3 | 5 = 0x7fd, h column 0 keeps l=0.
    assert_eq!(img[0].1, "000\n7fd\n000\n");
    assert_eq!(img[1].1, "000\n000\n"); // x column 1, h column 1
}

#[test]
fn empty_array_image_has_one_line() {
    // A = 4 > I = 1 and > H = 2: arrays 2, 3 have no columns at all.
    let l = layer(1, 2, 2, 1, 1, 3);
    let imgs: BTreeMap<_, _> = weight_images(0, &l, 4).into_iter().collect();
    assert_eq!(imgs["l0_a3_p1_w.hex"], "000\n");
    assert_eq!(weight_entries(1, 2, 4, 3, 1, 1), 0);
}

#[test]
fn malformed_images_are_rejected() {
    let l = layer(4, 4, 2, 2, 2, 9);
    let lut = Lut::new(0, 8);
    let images: BTreeMap<String, String> = pack_net(std::slice::from_ref(&l), 1, &lut)
        .into_iter()
        .collect();
    let shape = LayerShape {
        input_size: 4,
        hidden_size: 4,
        n: 2,
        arrays: 1,
        k_x: 2,
        k_h: 2,
    };
    let with = |name: &str, text: Option<String>| {
        let mut m = images.clone();
        match text {
            Some(t) => m.insert(name.to_string(), t),
            None => m.remove(name),
        };
        unpack_layer(0, shape, |n| m.get(n).map(|s| s.as_str()))
            .map(|_| ())
            .unwrap_err()
    };
    let w = "l0_a0_p1_w.hex";
    assert_eq!(with(w, None), PackError::Missing(w.into()));
    assert!(matches!(
        with(w, Some("zz\n".into())),
        PackError::BadLine { .. }
    ));
    let short: String = images[w]
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(matches!(with(w, Some(short)), PackError::Depth { .. }));
    // Local rows must ascend within a column: swap the first two entries of column 0.
    let mut lines: Vec<&str> = images[w].lines().collect();
    lines.swap(0, 1);
    let swapped: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert!(matches!(with(w, Some(swapped)), PackError::BadEntry { .. }));
    assert!(matches!(
        with("l0_p0_b3.hex", Some("1234567\n1\n".into())),
        PackError::BadLine { .. }
    ));
}
