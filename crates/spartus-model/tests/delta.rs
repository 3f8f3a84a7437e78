//! Θ > 0 behaviour of the delta encoders on hand-made sequences (docs/arithmetic.md §3 steps 1–2, 8).

// Index loops mirror the formulas of docs/arithmetic.md (rows r, units u, columns j).
#![allow(clippy::needless_range_loop)]

use spartus_model::config::Rounding;
use spartus_model::golden::{run, GoldenParams, GoldenState, QLayer, QNet};
use spartus_model::lut::Lut;
use spartus_model::rng::Lcg;

fn net(i: usize, h: usize, seed: u64) -> QNet {
    let mut g = Lcg::new(seed);
    let mut w = |n: usize| -> Vec<i8> { (0..n).map(|_| g.int_range(-127, 127) as i8).collect() };
    let wx = w(4 * h * i);
    let wh = w(4 * h * h);
    let bias = (0..4 * h)
        .map(|_| g.int_range(-32768, 32767) as i32)
        .collect();
    QNet {
        layers: vec![QLayer {
            input_size: i,
            hidden_size: h,
            wx,
            wh,
            bias,
        }],
    }
}

fn params(theta_x: i32, theta_h: i32) -> GoldenParams {
    GoldenParams {
        theta_x,
        theta_h,
        wfrac: 7,
        rounding: Rounding::Rne,
        lut: Lut::new(0, 8),
        arrays: 1,
    }
}

#[test]
fn constant_input_gives_no_input_delta_after_step_0() {
    let q = net(6, 8, 11);
    let frame: Vec<i16> = vec![300, -20, 0, 17, -16, 15];
    let x = vec![frame; 40];
    let tr = run(&q, &params(16, 8), &x).remove(0);
    // Step 0: x̂ = 0, so every |x| >= 16 fires: 300, -20, 17, -16 (0 and 15 do not).
    assert_eq!(tr.nnz_x[0], 4);
    assert!(tr.nnz_x[1..].iter().all(|&n| n == 0), "{:?}", tr.nnz_x);
    // h_{-1} = 0 ⇒ no hidden delta at step 0.
    assert_eq!(tr.nnz_h[0], 0);
}

#[test]
fn one_step_change_gives_exactly_one_delta() {
    let q = net(5, 4, 12);
    let base: Vec<i16> = vec![100, 200, -300, 0, 50];
    let mut x = vec![base.clone(); 30];
    for row in x.iter_mut().skip(10) {
        row[3] = -40; // |−40 − 0| ≥ 16 at t = 10, then constant
    }
    let tr = run(&q, &params(16, 8), &x).remove(0);
    let expected: Vec<u32> = (0..30)
        .map(|t| {
            if t == 0 {
                4
            } else if t == 10 {
                1
            } else {
                0
            }
        })
        .collect();
    assert_eq!(tr.nnz_x, expected);
}

#[test]
fn suppressed_delta_never_changes_x_hat() {
    let q = net(1, 4, 13);
    let p = params(16, 8);
    let mut g = GoldenState::new(&q, &p);
    // A slow ramp: steps of 5 LSB with Θ = 16. x̂ moves only when |x − x̂| >= 16, and then
    // jumps to x exactly (dx = r).
    let xs: Vec<i16> = (0..12).map(|t| 5 * t).collect();
    let mut fired = Vec::new();
    for &x in &xs {
        let before = g.layers[0].x_hat[0];
        let out = g.step(&[x]).remove(0);
        let after = g.layers[0].x_hat[0];
        if out.dx[0] == 0 {
            assert_eq!(after, before, "suppressed delta changed x̂ at x = {x}");
            assert!((x as i32 - before as i32).abs() < 16);
        } else {
            assert_eq!(out.dx[0] as i32, x as i32 - before as i32);
            assert_eq!(after, x);
            fired.push(x);
        }
    }
    // x̂ = 0 → fires at 20 (r=20), then 40 (r=20), then 55? no: 35-20=15 <16, 40-20=20 fires.
    assert_eq!(fired, vec![20, 40]);
}

#[test]
fn hidden_deltas_respect_theta_and_use_previous_h() {
    let q = net(3, 6, 14);
    let mut x = Vec::new();
    let mut g = Lcg::new(99);
    for _ in 0..60 {
        x.push(
            (0..3)
                .map(|_| g.int_range(-512, 512) as i16)
                .collect::<Vec<i16>>(),
        );
    }
    let p = params(8, 24);
    let mut st = GoldenState::new(&q, &p);
    let mut prev_h = vec![0i16; 6];
    let mut h_hat = vec![0i16; 6];
    for xt in &x {
        let out = st.step(xt).remove(0);
        for k in 0..6 {
            let r = prev_h[k] as i32 - h_hat[k] as i32;
            if r.abs() >= 24 {
                assert_eq!(out.dh[k] as i32, r);
                h_hat[k] = prev_h[k];
            } else {
                assert_eq!(out.dh[k], 0);
            }
        }
        assert_eq!(st.layers[0].h_hat, h_hat);
        prev_h = out.h.clone();
    }
}

#[test]
fn theta_zero_still_skips_unchanged_values() {
    let q = net(4, 4, 15);
    let x = vec![vec![1i16, 0, -1, 7]; 5];
    let tr = run(&q, &params(0, 0), &x).remove(0);
    assert_eq!(tr.nnz_x, vec![3, 0, 0, 0, 0]);
}

#[test]
fn larger_threshold_means_fewer_deltas() {
    let q = net(8, 8, 16);
    let mut g = Lcg::new(5);
    let mut x = vec![vec![0i16; 8]];
    for t in 1..100 {
        let row: Vec<i16> = x[t - 1]
            .iter()
            .map(|&v| (v as i64 + g.int_range(-20, 20)).clamp(-512, 512) as i16)
            .collect();
        x.push(row);
    }
    let mut last = u32::MAX;
    for theta in [0, 4, 16, 64] {
        let tr = run(&q, &params(theta, theta), &x).remove(0);
        let total: u32 = tr.nnz_x.iter().sum::<u32>() + tr.nnz_h.iter().sum::<u32>();
        assert!(total <= last, "theta {theta}: {total} > {last}");
        last = total;
    }
}
