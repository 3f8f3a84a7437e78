//! Multi-layer runs (docs/arithmetic.md §7), the streaming API, and saturation / wrap edge cases of the
//! golden datapath.

// Index loops mirror the formulas of docs/arithmetic.md (rows r, units u, columns j).
#![allow(clippy::needless_range_loop)]

use spartus_model::config::Rounding;
use spartus_model::golden::{run, step_layer, GoldenParams, GoldenState, LayerState, QLayer, QNet};
use spartus_model::lut::Lut;
use spartus_model::rng::Lcg;

fn qlayer(i: usize, h: usize, g: &mut Lcg) -> QLayer {
    let mut w = |n: usize| -> Vec<i8> { (0..n).map(|_| g.int_range(-127, 127) as i8).collect() };
    let wx = w(4 * h * i);
    let wh = w(4 * h * h);
    let bias = (0..4 * h)
        .map(|_| g.int_range(-32768, 32767) as i32)
        .collect();
    QLayer {
        input_size: i,
        hidden_size: h,
        wx,
        wh,
        bias,
    }
}

fn params(arrays: usize) -> GoldenParams {
    GoldenParams {
        theta_x: 8,
        theta_h: 4,
        wfrac: 7,
        rounding: Rounding::Rne,
        lut: Lut::new(0, 8),
        arrays,
    }
}

fn inputs(t: usize, i: usize, seed: u64) -> Vec<Vec<i16>> {
    let mut g = Lcg::new(seed);
    (0..t)
        .map(|_| (0..i).map(|_| g.int_range(-600, 600) as i16).collect())
        .collect()
}

#[test]
fn three_layers_equal_chained_single_layers() {
    let mut g = Lcg::new(21);
    let net = QNet {
        layers: vec![
            qlayer(5, 8, &mut g),
            qlayer(8, 8, &mut g),
            qlayer(8, 8, &mut g),
        ],
    };
    let x = inputs(60, 5, 22);
    let p = params(2);
    let full = run(&net, &p, &x);
    assert_eq!(full.len(), 3);
    let mut feed = x.clone();
    for (l, layer) in net.layers.iter().enumerate() {
        let single = run(
            &QNet {
                layers: vec![layer.clone()],
            },
            &p,
            &feed,
        )
        .remove(0);
        assert_eq!(single, full[l], "layer {l}");
        feed = single.h;
    }
    // Layer 1 sees layer 0's h as input: its input deltas count changes of that h.
    let h0 = &full[0].h;
    for t in 1..60 {
        let changed = (0..8).filter(|&k| h0[t][k] != h0[t - 1][k]).count() as u32;
        assert!(full[1].nnz_x[t] <= changed);
    }
}

#[test]
fn streaming_equals_run_and_reset_restarts() {
    let mut g = Lcg::new(31);
    let net = QNet {
        layers: vec![qlayer(4, 4, &mut g), qlayer(4, 4, &mut g)],
    };
    let x = inputs(30, 4, 32);
    let p = params(1);
    let full = run(&net, &p, &x);
    let mut st = GoldenState::new(&net, &p);
    for _pass in 0..2 {
        for (t, xt) in x.iter().enumerate() {
            let outs = st.step(xt);
            assert_eq!(outs[1].h, full[1].h[t]);
            assert_eq!(outs[0].nnz_x(), full[0].nnz_x[t]);
        }
        assert_eq!(st.layers[1].m, full[1].final_m);
        st.reset();
        assert_eq!(st.layers[0], LayerState::reset(&net.layers[0]));
    }
}

#[test]
fn saturating_bias_drives_c_to_sat16() {
    // Huge bias: pre = sat16(RQ(2^30, 7)) = 32767 ⇒ i = f = o = 256, g = 256.
    // c = sat16(RQ(256·c + 65536, 8)) = c + 256 per step until it saturates at 32767.
    let layer = QLayer {
        input_size: 1,
        hidden_size: 1,
        wx: vec![0; 4],
        wh: vec![0; 4],
        bias: vec![1 << 30; 4],
    };
    let net = QNet {
        layers: vec![layer],
    };
    let tr = run(&net, &params(1), &vec![vec![0i16]; 200]).remove(0);
    assert_eq!(tr.final_c, vec![32767]);
    assert!(
        tr.h.iter().skip(8).all(|h| h[0] == 256),
        "h = o·TANH(c) = 256·256 >> 8"
    );
    assert_eq!(tr.final_m, vec![1 << 30; 4]);
}

#[test]
fn accumulator_wraps_and_pre_saturates() {
    // M starts at i32::MAX - 10; one delta of +256 through weight 127 adds 32512: wraps negative.
    let layer = QLayer {
        input_size: 1,
        hidden_size: 1,
        wx: vec![127; 4],
        wh: vec![0; 4],
        bias: vec![i32::MAX - 10; 4],
    };
    let p = GoldenParams {
        theta_h: 32767,
        ..params(1)
    };
    let mut st = LayerState::reset(&layer);
    let out = step_layer(&layer, &p, &mut st, &[256]);
    let want = (i32::MAX as i64 - 10 + 127 * 256 - (1i64 << 32)) as i32;
    assert_eq!(st.m, vec![want; 4]);
    // pre = sat16(RQ(want, 7)) = -32768 ⇒ i = f = o = 0 ⇒ c = 0, h = 0.
    assert_eq!(out.h, vec![0]);
    assert_eq!(st.c, vec![0]);
}

#[test]
fn input_delta_saturates_to_int16() {
    let layer = QLayer {
        input_size: 1,
        hidden_size: 1,
        wx: vec![0; 4],
        wh: vec![0; 4],
        bias: vec![0; 4],
    };
    let p = GoldenParams {
        theta_x: 1,
        ..params(1)
    };
    let mut st = LayerState::reset(&layer);
    let mut ds = Vec::new();
    for x in [-32768i16, 32767, 32767, 32767] {
        ds.push(step_layer(&layer, &p, &mut st, &[x]).dx[0]);
    }
    // r = -32768; then r = 65535 → 32767 (x̂ = -1); r = 32768 → 32767 (x̂ = 32766); r = 1.
    assert_eq!(ds, vec![-32768, 32767, 32767, 1]);
    assert_eq!(st.x_hat, vec![32767]);
}

#[test]
fn floor_rounding_differs_from_rne_and_is_used_everywhere() {
    let mut g = Lcg::new(41);
    let net = QNet {
        layers: vec![qlayer(4, 8, &mut g)],
    };
    let x = inputs(40, 4, 42);
    let rne = run(&net, &params(1), &x).remove(0);
    let floor = run(
        &net,
        &GoldenParams {
            rounding: Rounding::Floor,
            ..params(1)
        },
        &x,
    )
    .remove(0);
    assert_ne!(rne.h, floor.h);
    // Floor never rounds up: a lower bias on average.
    let s = |t: &Vec<Vec<i16>>| t.iter().flatten().map(|&v| v as i64).sum::<i64>();
    assert!(s(&floor.h) < s(&rne.h));
}

#[test]
fn coarse_lut_outputs_are_multiples_of_16() {
    let mut g = Lcg::new(51);
    let net = QNet {
        layers: vec![qlayer(4, 4, &mut g)],
    };
    let x = inputs(20, 4, 52);
    let p = GoldenParams {
        lut: Lut::new(0, 4),
        ..params(1)
    };
    let tr = run(&net, &p, &x).remove(0);
    // c = RQ(f·c + i·g, 8) with f, i, g multiples of 16: c·f/256 need not be, so only check
    // that the run is deterministic and differs from q = 8.
    assert_eq!(tr, run(&net, &p, &x).remove(0));
    assert_ne!(tr.h, run(&net, &params(1), &x).remove(0).h);
}
