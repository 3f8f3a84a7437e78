//! Property tests of CBTD (column balance per PE, tie-break of docs/arithmetic.md §5, dual ratio) and of the
//! row-balanced comparison pattern.

// Index loops mirror the formulas of docs/arithmetic.md (rows r, units u, columns j).
#![allow(clippy::needless_range_loop)]

use proptest::prelude::*;
use spartus_model::prune::{cbtd, cbtd_dual, row_balanced};

/// A matrix with many ties and extremes (|-128| = 128 must beat 127).
fn values(len: usize) -> impl Strategy<Value = Vec<i8>> {
    prop::collection::vec(
        prop_oneof![any::<i8>(), -3i8..=3, Just(-128i8), Just(127i8), Just(0i8)],
        len,
    )
}

/// (n, rows_per_pe, cols, k, matrix)
fn cbtd_case() -> impl Strategy<Value = (usize, usize, usize, usize, Vec<i8>)> {
    (1usize..=4, 1usize..=9, 1usize..=6)
        .prop_flat_map(|(n, r, cols)| (Just(n), Just(r), Just(cols), 1..=r, values(n * r * cols)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn cbtd_keeps_exactly_k_largest_per_column_per_pe((n, r, cols, k, w) in cbtd_case()) {
        let rows = n * r;
        let m = cbtd(&w, rows, cols, n, k).unwrap();
        prop_assert_eq!(m.kept.len(), cols * n * k);
        for j in 0..cols {
            for p in 0..n {
                let kept = m.kept_rows(j, p);
                // exactly K distinct positions, ascending, in range
                prop_assert_eq!(kept.len(), k);
                prop_assert!(kept.windows(2).all(|x| x[0] < x[1]));
                prop_assert!(kept.iter().all(|&l| (l as usize) < r));
                let mag = |l: usize| (w[(l * n + p) * cols + j] as i32).abs();
                for l in 0..r {
                    let row = l * n + p;
                    let is_kept = kept.contains(&(l as u32));
                    // kept values copied, others zero
                    let want = if is_kept { w[row * cols + j] } else { 0 };
                    prop_assert_eq!(m.values[row * cols + j], want);
                    // tie-break of docs/arithmetic.md §5: every kept entry beats every dropped one
                    if is_kept {
                        for l2 in (0..r).filter(|l2| !kept.contains(&(*l2 as u32))) {
                            prop_assert!(mag(l) > mag(l2) || (mag(l) == mag(l2) && l < l2),
                                "kept l={} (|{}|) vs dropped l={} (|{}|)", l, mag(l), l2, mag(l2));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn dual_ratio_uses_its_own_k(
        (n, r, i, h, kx, kh, wx, wh) in (1usize..=3, 1usize..=8, 1usize..=5, 1usize..=5)
            .prop_flat_map(|(n, r, i, h)| (Just(n), Just(r), Just(i), Just(h), 1..=r, 1..=r,
                values(n * r * i), values(n * r * h)))
    ) {
        let (mx, mh) = cbtd_dual(&wx, &wh, n * r, i, h, n, kx, kh).unwrap();
        prop_assert_eq!(mx.k, kx);
        prop_assert_eq!(mh.k, kh);
        prop_assert_eq!(mx.kept.len(), i * n * kx);
        prop_assert_eq!(mh.kept.len(), h * n * kh);
        prop_assert_eq!(&mx, &cbtd(&wx, n * r, i, n, kx).unwrap());
        // Nonzeros per column per PE never exceed K.
        for j in 0..h {
            for p in 0..n {
                let nz = (0..r).filter(|l| mh.values[(l * n + p) * h + j] != 0).count();
                prop_assert!(nz <= kh);
            }
        }
    }

    #[test]
    fn row_balanced_keeps_k_largest_per_row(
        (rows, cols, k, w) in (1usize..=8, 1usize..=9)
            .prop_flat_map(|(rows, cols)| (Just(rows), Just(cols), 1..=cols, values(rows * cols)))
    ) {
        let out = row_balanced(&w, rows, cols, k).unwrap();
        for r in 0..rows {
            let row = &w[r * cols..(r + 1) * cols];
            let o = &out[r * cols..(r + 1) * cols];
            // Kept values are copies; the kept magnitudes are the K largest.
            let mut mags: Vec<i32> = row.iter().map(|&v| (v as i32).abs()).collect();
            mags.sort_unstable_by(|a, b| b.cmp(a));
            let want: i32 = mags[..k].iter().sum();
            let got: i32 = o.iter().map(|&v| (v as i32).abs()).sum();
            prop_assert_eq!(got, want);
            for (&a, &b) in row.iter().zip(o) {
                prop_assert!(b == 0 || a == b);
            }
            prop_assert!(o.iter().filter(|&&v| v != 0).count() <= k);
        }
    }

    #[test]
    fn row_balanced_without_zeros_is_exactly_balanced(
        (rows, cols, k, w) in (1usize..=8, 1usize..=9).prop_flat_map(|(rows, cols)| (
            Just(rows), Just(cols), 1..=cols,
            prop::collection::vec(any::<i8>().prop_filter("nonzero", |v| *v != 0), rows * cols)))
    ) {
        let out = row_balanced(&w, rows, cols, k).unwrap();
        for r in 0..rows {
            prop_assert_eq!(out[r * cols..(r + 1) * cols].iter().filter(|&&v| v != 0).count(), k);
        }
    }
}

#[test]
fn k_equal_r_is_dense() {
    let w: Vec<i8> = (0..48).map(|v| (v as i8).wrapping_mul(37)).collect();
    let m = cbtd(&w, 12, 4, 3, 4).unwrap();
    assert_eq!(m.values, w);
}
