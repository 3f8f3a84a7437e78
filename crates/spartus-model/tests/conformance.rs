//! docs/arithmetic.md §9 conformance: regenerate the integer test case from the LCG, prune, run the golden
//! model, and compare every value with the independently produced fixture
//! `tests/fixtures/golden_seed1.json` and with the scalar checks written in docs/arithmetic.md §9.

// Index loops mirror the formulas of docs/arithmetic.md (rows r, units u, columns j).
#![allow(clippy::needless_range_loop)]

use serde::Deserialize;
use sha2::{Digest, Sha256};
use spartus_model::config::Rounding;
use spartus_model::cycles::CycleParams;
use spartus_model::golden::{run, GoldenParams, QLayer, QNet};
use spartus_model::lut::Lut;
use spartus_model::prune::cbtd;
use spartus_model::rng::Lcg;

const I: usize = 16;
const H: usize = 32;
const N: usize = 8;
const K_X: usize = 4;
const K_H: usize = 2;
const T: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(non_snake_case)]
struct Fixture {
    Wx: Vec<Vec<i64>>,
    Wh: Vec<Vec<i64>>,
    bias: Vec<i64>,
    X: Vec<Vec<i64>>,
    h: Vec<Vec<i64>>,
    nnz_x: Vec<u32>,
    nnz_h: Vec<u32>,
    cycles: Vec<u64>,
    total_cycles: u64,
    M_final: Vec<i64>,
    c_final: Vec<i64>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/golden_seed1.json");
    serde_json::from_str(text).expect("fixture parses")
}

struct Case {
    wx_raw: Vec<i8>,
    wh_raw: Vec<i8>,
    bias: Vec<i32>,
    x: Vec<Vec<i16>>,
}

/// docs/arithmetic.md §9 draw order: Wx row-major (u % 255 - 127), Wh, bias (u % 65536 - 32768),
/// X row-major (u % 1025 - 512), all from Lcg::new(1).
fn generate() -> Case {
    let mut g = Lcg::new(1);
    let wx_raw = (0..4 * H * I)
        .map(|_| (g.below(255) as i64 - 127) as i8)
        .collect();
    let wh_raw = (0..4 * H * H)
        .map(|_| (g.below(255) as i64 - 127) as i8)
        .collect();
    let bias = (0..4 * H).map(|_| g.below(65536) as i32 - 32768).collect();
    let x = (0..T)
        .map(|_| (0..I).map(|_| g.below(1025) as i16 - 512).collect())
        .collect();
    Case {
        wx_raw,
        wh_raw,
        bias,
        x,
    }
}

fn flat(m: &[Vec<i64>]) -> Vec<i64> {
    m.iter().flatten().copied().collect()
}

#[test]
fn spec9_matches_fixture_and_spec_scalars() {
    let fx = fixture();
    let case = generate();

    // Inputs and biases are drawn straight from the LCG.
    assert_eq!(
        case.bias.iter().map(|&b| b as i64).collect::<Vec<_>>(),
        fx.bias
    );
    assert_eq!(
        case.x
            .iter()
            .flatten()
            .map(|&v| v as i64)
            .collect::<Vec<_>>(),
        flat(&fx.X)
    );

    // CBTD on the raw ints gives the fixture's (pruned) matrices.
    let wx = cbtd(&case.wx_raw, 4 * H, I, N, K_X).unwrap();
    let wh = cbtd(&case.wh_raw, 4 * H, H, N, K_H).unwrap();
    assert_eq!(
        wx.values.iter().map(|&v| v as i64).collect::<Vec<_>>(),
        flat(&fx.Wx)
    );
    assert_eq!(
        wh.values.iter().map(|&v| v as i64).collect::<Vec<_>>(),
        flat(&fx.Wh)
    );

    let net = QNet {
        layers: vec![QLayer {
            input_size: I,
            hidden_size: H,
            wx: wx.values,
            wh: wh.values,
            bias: case.bias,
        }],
    };
    let params = GoldenParams {
        theta_x: 16,
        theta_h: 8,
        wfrac: 7,
        rounding: Rounding::Rne,
        lut: Lut::new(0, 8),
        arrays: 1,
    };
    let tr = run(&net, &params, &case.x).remove(0);

    for t in 0..T {
        let got: Vec<i64> = tr.h[t].iter().map(|&v| v as i64).collect();
        assert_eq!(got, fx.h[t], "h differs at step {t}");
    }
    assert_eq!(tr.nnz_x, fx.nnz_x);
    assert_eq!(tr.nnz_h, fx.nnz_h);
    let cp = CycleParams {
        k_x: K_X as u64,
        k_h: K_H as u64,
        t_upd: 16,
    };
    let cycles = cp.trace_cycles(&tr);
    assert_eq!(cycles, fx.cycles);
    assert_eq!(cycles.iter().sum::<u64>(), fx.total_cycles);
    assert_eq!(
        tr.final_m.iter().map(|&v| v as i64).collect::<Vec<_>>(),
        fx.M_final
    );
    assert_eq!(
        tr.final_c.iter().map(|&v| v as i64).collect::<Vec<_>>(),
        fx.c_final
    );

    // The scalar checks written in docs/arithmetic.md §9 (independent of the fixture file).
    let sum_h: i64 = tr.h.iter().flatten().map(|&v| v as i64).sum();
    assert_eq!(sum_h, 2620);
    assert_eq!(tr.nnz_x.iter().sum::<u32>(), 778);
    assert_eq!(tr.nnz_h.iter().sum::<u32>(), 1388);
    assert_eq!(cycles.iter().sum::<u64>(), 6688);
    assert_eq!(&cycles[0..5], &[80, 130, 134, 138, 134]);
    assert_eq!(&tr.h[49][0..4], &[1, 43, 13, 198]);
    let mut sha = Sha256::new();
    for row in &tr.h {
        for v in row {
            sha.update(v.to_le_bytes());
        }
    }
    let hex: String = sha
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, "1211873601f14244");
}

#[test]
fn spec9_per_array_counts_sum_to_totals() {
    // Same case with A = 3 arrays: per-array counts partition the totals, and h is unchanged.
    let case = generate();
    let wx = cbtd(&case.wx_raw, 4 * H, I, N, K_X).unwrap();
    let wh = cbtd(&case.wh_raw, 4 * H, H, N, K_H).unwrap();
    let net = QNet {
        layers: vec![QLayer {
            input_size: I,
            hidden_size: H,
            wx: wx.values,
            wh: wh.values,
            bias: case.bias,
        }],
    };
    let mk = |arrays| GoldenParams {
        theta_x: 16,
        theta_h: 8,
        wfrac: 7,
        rounding: Rounding::Rne,
        lut: Lut::new(0, 8),
        arrays,
    };
    let one = run(&net, &mk(1), &case.x).remove(0);
    let three = run(&net, &mk(3), &case.x).remove(0);
    assert_eq!(one.h, three.h);
    for t in 0..T {
        assert_eq!(three.nnz_x_arr[t].iter().sum::<u32>(), one.nnz_x[t]);
        assert_eq!(three.nnz_h_arr[t].iter().sum::<u32>(), one.nnz_h[t]);
        assert_eq!(three.nnz_x_arr[t].len(), 3);
    }
    // With more arrays the worst-array work can only shrink.
    let cp = CycleParams {
        k_x: 4,
        k_h: 2,
        t_upd: 16,
    };
    let c1: u64 = cp.trace_cycles(&one).iter().sum();
    let c3: u64 = cp.trace_cycles(&three).iter().sum();
    assert!(c3 < c1);
}
