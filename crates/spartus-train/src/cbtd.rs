//! Column-Balanced Targeted Dropout (CBTD, Spartus; docs/arithmetic.md §5) on float weight matrices.
//!
//! A gate matrix `W [rows = 4H][cols]` is split over N PEs by interleaving rows: row `r`
//! belongs to PE `p = r mod N` at local row `l = r div N`, so every PE holds `R = rows/N`
//! entries of every column. CBTD keeps the same number K of entries in every (column, PE)
//! group, so all PEs do the same work for every nonzero delta column.
//!
//! During training the `R - K` smallest-|w| entries of each group are *targeted* and each
//! targeted entry is dropped (multiplied by 0) with probability α, which ramps from 0 to 1; the
//! network learns to live without them. After training the targeted entries are removed for
//! good ([`keep_mask`]: exactly K per group) and the network is fine-tuned with that mask.
//! `K = R - floor(R·γ)` for a sparsity ratio γ ([`k_for_gamma`]); W_x and W_h may use
//! different γ (dual ratio).
//!
//! Ties are broken by the lower local row, as in docs/arithmetic.md §5 (whose pruning runs on the int8
//! values; a float mask with exactly K entries per group, exported as zeros elsewhere, gives
//! the same pruned int8 matrix because every pruned entry is 0 and at most K are nonzero).

use spartus_model::rng::Lcg;

/// Invalid CBTD parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CbtdError {
    /// N does not divide the row count.
    #[error("pe_count = {n} must divide the row count {rows} (4·hidden_size)")]
    PeCount {
        /// N.
        n: usize,
        /// Rows.
        rows: usize,
    },
    /// γ outside [0, 1) or leaving K = 0.
    #[error("sparsity γ = {gamma} must be in [0, 1) and leave K >= 1 of R = {r} rows per PE")]
    Gamma {
        /// γ.
        gamma: f64,
        /// Rows per PE.
        r: usize,
    },
}

/// The PE layout of one matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Rows (4H).
    pub rows: usize,
    /// Columns (I or H).
    pub cols: usize,
    /// N, PEs.
    pub n: usize,
}

impl Layout {
    /// A layout; N must divide `rows`.
    pub fn new(rows: usize, cols: usize, n: usize) -> Result<Self, CbtdError> {
        if n == 0 || !rows.is_multiple_of(n) {
            return Err(CbtdError::PeCount { n, rows });
        }
        Ok(Self { rows, cols, n })
    }
    /// R, rows per PE.
    pub fn rows_per_pe(&self) -> usize {
        self.rows / self.n
    }
    /// Flat row-major indices of group (column `j`, PE `p`), in local-row order.
    pub fn group(&self, j: usize, p: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows_per_pe()).map(move |l| (l * self.n + p) * self.cols + j)
    }
}

/// `K = R - floor(R·γ)` (docs/arithmetic.md §5, the authors' parameterization); error if γ ∉ [0,1) or K = 0.
pub fn k_for_gamma(r: usize, gamma: f64) -> Result<usize, CbtdError> {
    if !gamma.is_finite() || !(0.0..1.0).contains(&gamma) {
        return Err(CbtdError::Gamma { gamma, r });
    }
    let k = r - (r as f64 * gamma).floor() as usize;
    if k == 0 {
        return Err(CbtdError::Gamma { gamma, r });
    }
    Ok(k)
}

/// Keep mask with exactly `k` entries per (column, PE) group: the `k` largest |w|, ties to the
/// lower local row. `true` = kept.
pub fn keep_mask(w: &[f32], lay: &Layout, k: usize) -> Vec<bool> {
    assert_eq!(
        w.len(),
        lay.rows * lay.cols,
        "weight length must be rows·cols"
    );
    let r = lay.rows_per_pe();
    assert!(k <= r, "K = {k} exceeds R = {r}");
    let mut keep = vec![false; w.len()];
    let mut idx: Vec<usize> = Vec::with_capacity(r);
    for j in 0..lay.cols {
        for p in 0..lay.n {
            idx.clear();
            idx.extend(lay.group(j, p));
            // Stable sort by descending magnitude: equal magnitudes keep local-row order.
            idx.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()));
            for &i in &idx[..k] {
                keep[i] = true;
            }
        }
    }
    keep
}

/// Number of kept entries of every (column, PE) group, `[j][p]`.
pub fn kept_per_group(keep: &[bool], lay: &Layout) -> Vec<Vec<usize>> {
    (0..lay.cols)
        .map(|j| {
            (0..lay.n)
                .map(|p| lay.group(j, p).filter(|&i| keep[i]).count())
                .collect()
        })
        .collect()
}

/// Targeted dropout for one mini-batch: targeted = not in [`keep_mask`]`(w, k)`; every
/// targeted entry is dropped with probability `alpha`. Returns a multiplicative 0/1 mask.
pub fn targeted_dropout_mask(
    w: &[f32],
    lay: &Layout,
    k: usize,
    alpha: f64,
    rng: &mut Lcg,
) -> Vec<f32> {
    let keep = keep_mask(w, lay, k);
    keep.iter()
        .map(|&kept| {
            if kept || rng.uniform_f64() >= alpha {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_matches_authors_formula() {
        assert_eq!(k_for_gamma(32, 0.0).unwrap(), 32);
        assert_eq!(k_for_gamma(32, 0.75).unwrap(), 8);
        assert_eq!(k_for_gamma(32, 0.9375).unwrap(), 2);
        assert_eq!(k_for_gamma(32, 0.96875).unwrap(), 1);
        assert_eq!(k_for_gamma(64, 0.94).unwrap(), 4);
        assert!(k_for_gamma(16, 1.0).is_err());
        assert!(k_for_gamma(16, -0.1).is_err());
    }

    #[test]
    fn keep_mask_is_balanced_and_picks_largest() {
        let lay = Layout::new(8, 3, 2).unwrap(); // R = 4
        let mut g = Lcg::new(7);
        let w: Vec<f32> = (0..24).map(|_| g.uniform_range(-1.0, 1.0) as f32).collect();
        for k in 1..=4 {
            let keep = keep_mask(&w, &lay, k);
            for (j, row) in kept_per_group(&keep, &lay).iter().enumerate() {
                for (p, &c) in row.iter().enumerate() {
                    assert_eq!(c, k, "column {j} PE {p}");
                    let min_kept = lay
                        .group(j, p)
                        .filter(|&i| keep[i])
                        .map(|i| w[i].abs())
                        .fold(f32::INFINITY, f32::min);
                    let max_dropped = lay
                        .group(j, p)
                        .filter(|&i| !keep[i])
                        .map(|i| w[i].abs())
                        .fold(0.0, f32::max);
                    assert!(min_kept >= max_dropped);
                }
            }
        }
    }

    #[test]
    fn ties_go_to_lower_local_row() {
        let lay = Layout::new(4, 1, 1).unwrap();
        let keep = keep_mask(&[0.5, -0.5, 0.5, 0.1], &lay, 2);
        assert_eq!(keep, vec![true, true, false, false]);
    }

    #[test]
    fn dropout_extremes() {
        let lay = Layout::new(8, 2, 2).unwrap();
        let w: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let mut g = Lcg::new(1);
        assert!(targeted_dropout_mask(&w, &lay, 1, 0.0, &mut g)
            .iter()
            .all(|&m| m == 1.0));
        let m = targeted_dropout_mask(&w, &lay, 1, 1.0, &mut g);
        let keep = keep_mask(&w, &lay, 1);
        assert_eq!(
            m,
            keep.iter()
                .map(|&k| if k { 1.0 } else { 0.0 })
                .collect::<Vec<f32>>()
        );
    }
}
