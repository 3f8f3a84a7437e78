//! Weight pruning on quantized int8 matrices (docs/arithmetic.md §5).
//!
//! **CBTD** (column-balanced targeted dropout, what the hardware executes): rows are
//! interleaved over N PEs (row `r` ↦ PE `r mod N`, local row `l = r div N`, `R = rows/N` rows
//! per PE). For every column j and PE p exactly K entries are kept: the K largest
//! `|Wq[l·N+p, j]|` (`|-128| = 128`), ties broken by the lower local row index. A kept entry
//! may be 0; it is stored anyway. Dual ratio: `K_x` for W_x, `K_h` for W_h.
//!
//! **Row-balanced** (BRDS-style, for comparison in the model only): every row keeps the
//! same number of largest-magnitude entries, ties broken by the lower column index.

/// Invalid pruning parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PruneError {
    /// The matrix data length is not rows·cols.
    #[error("matrix has {len} entries, expected {rows}x{cols}")]
    Shape {
        /// Entries given.
        len: usize,
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// N does not divide the row count, or is 0.
    #[error("pe_count = {n} must divide the row count {rows}")]
    PeCount {
        /// N.
        n: usize,
        /// Rows.
        rows: usize,
    },
    /// K is 0 or larger than the rows per PE (or the row length for row balance).
    #[error("K = {k} must be in 1..={max}")]
    K {
        /// K.
        k: usize,
        /// Largest allowed K.
        max: usize,
    },
}

/// A CBTD-pruned matrix: the dense pruned values plus the kept positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbtdMatrix {
    /// Rows (4H).
    pub rows: usize,
    /// Columns (I for W_x, H for W_h).
    pub cols: usize,
    /// N, PEs the rows are interleaved over.
    pub n: usize,
    /// K, kept entries per column per PE.
    pub k: usize,
    /// Pruned matrix, row-major `[rows][cols]`; entries not kept are 0.
    pub values: Vec<i8>,
    /// Kept local rows, `kept[(j·n + p)·k + e]` for column j, PE p, entry e; ascending in e.
    pub kept: Vec<u32>,
}

impl CbtdMatrix {
    /// Rows per PE, R = rows / n.
    pub fn rows_per_pe(&self) -> usize {
        self.rows / self.n
    }

    /// The K kept local rows of column `j` in PE `p`, ascending.
    pub fn kept_rows(&self, j: usize, p: usize) -> &[u32] {
        let base = (j * self.n + p) * self.k;
        &self.kept[base..base + self.k]
    }

    /// Value at global row `r`, column `j`.
    pub fn get(&self, r: usize, j: usize) -> i8 {
        self.values[r * self.cols + j]
    }

    /// Number of nonzero values.
    pub fn nonzeros(&self) -> usize {
        self.values.iter().filter(|&&v| v != 0).count()
    }
}

/// One layer after CBTD: pruned W_x and W_h with their kept positions, and the biases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedLayer {
    /// W_x `[4H][I]`, K_x per column per PE.
    pub wx: CbtdMatrix,
    /// W_h `[4H][H]`, K_h per column per PE.
    pub wh: CbtdMatrix,
    /// Quantized combined bias `bq [4H]` (int32, frac 8+wfrac).
    pub bias: Vec<i32>,
}

impl PrunedLayer {
    /// I of this layer.
    pub fn input_size(&self) -> usize {
        self.wx.cols
    }
    /// H.
    pub fn hidden_size(&self) -> usize {
        self.wh.cols
    }
    /// N.
    pub fn n(&self) -> usize {
        self.wx.n
    }
}

fn check_shape(w: &[i8], rows: usize, cols: usize) -> Result<(), PruneError> {
    if w.len() != rows * cols {
        return Err(PruneError::Shape {
            len: w.len(),
            rows,
            cols,
        });
    }
    Ok(())
}

/// `|v|` as i32 (so `|-128| = 128`).
#[inline]
fn mag(v: i8) -> i32 {
    (v as i32).abs()
}

/// Indices `0..len` of the `k` largest magnitudes in `vals(i)`, ties → lower index, returned
/// ascending.
fn top_k(len: usize, k: usize, vals: impl Fn(usize) -> i8) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..len as u32).collect();
    // Stable order: magnitude descending, then index ascending.
    idx.sort_by(|&a, &b| {
        mag(vals(b as usize))
            .cmp(&mag(vals(a as usize)))
            .then(a.cmp(&b))
    });
    idx.truncate(k);
    idx.sort_unstable();
    idx
}

/// CBTD-prune a row-major `[rows][cols]` int8 matrix over `n` PEs keeping `k` entries per
/// column per PE (docs/arithmetic.md §5).
pub fn cbtd(
    w: &[i8],
    rows: usize,
    cols: usize,
    n: usize,
    k: usize,
) -> Result<CbtdMatrix, PruneError> {
    check_shape(w, rows, cols)?;
    if n == 0 || !rows.is_multiple_of(n) {
        return Err(PruneError::PeCount { n, rows });
    }
    let r_per_pe = rows / n;
    if k == 0 || k > r_per_pe {
        return Err(PruneError::K { k, max: r_per_pe });
    }
    let mut values = vec![0i8; rows * cols];
    let mut kept = Vec::with_capacity(cols * n * k);
    for j in 0..cols {
        for p in 0..n {
            let rows_of = top_k(r_per_pe, k, |l| w[(l * n + p) * cols + j]);
            for &l in &rows_of {
                let r = l as usize * n + p;
                values[r * cols + j] = w[r * cols + j];
            }
            kept.extend_from_slice(&rows_of);
        }
    }
    Ok(CbtdMatrix {
        rows,
        cols,
        n,
        k,
        values,
        kept,
    })
}

/// Dual-ratio CBTD of one layer: `W_x [rows][i]` with `k_x`, `W_h [rows][h]` with `k_h`.
#[allow(clippy::too_many_arguments)]
pub fn cbtd_dual(
    wx: &[i8],
    wh: &[i8],
    rows: usize,
    i: usize,
    h: usize,
    n: usize,
    k_x: usize,
    k_h: usize,
) -> Result<(CbtdMatrix, CbtdMatrix), PruneError> {
    Ok((cbtd(wx, rows, i, n, k_x)?, cbtd(wh, rows, h, n, k_h)?))
}

/// Row-balanced pruning (BRDS-style): every row keeps its `k` largest-magnitude entries
/// (ties → lower column index); all others are set to 0. Returns the pruned matrix.
/// Model-only: the hardware executes CBTD.
pub fn row_balanced(w: &[i8], rows: usize, cols: usize, k: usize) -> Result<Vec<i8>, PruneError> {
    check_shape(w, rows, cols)?;
    if k == 0 || k > cols {
        return Err(PruneError::K { k, max: cols });
    }
    let mut out = vec![0i8; rows * cols];
    for r in 0..rows {
        let row = &w[r * cols..(r + 1) * cols];
        for j in top_k(cols, k, |j| row[j]) {
            out[r * cols + j as usize] = row[j as usize];
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_example_by_hand() {
        // rows = 4, N = 2 → R = 2; PE 0 has rows 0, 2; PE 1 rows 1, 3. One column.
        let w = [5i8, -128, -5, 127];
        let m = cbtd(&w, 4, 1, 2, 1).unwrap();
        // PE 0: |5| vs |-5| tie → lower local row (row 0). PE 1: |-128|=128 > 127 → row 1.
        assert_eq!(m.values, vec![5, -128, 0, 0]);
        assert_eq!(m.kept, vec![0, 0]);
        assert_eq!(m.kept_rows(0, 1), &[0]);
    }

    #[test]
    fn zero_kept_entries_are_positions() {
        let w = [0i8; 8];
        let m = cbtd(&w, 8, 1, 2, 3).unwrap();
        assert_eq!(m.kept, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            cbtd(&[0; 6], 3, 2, 2, 1),
            Err(PruneError::PeCount { .. })
        ));
        assert!(matches!(
            cbtd(&[0; 6], 3, 2, 3, 2),
            Err(PruneError::K { k: 2, max: 1 })
        ));
        assert!(matches!(
            cbtd(&[0; 5], 3, 2, 3, 1),
            Err(PruneError::Shape { .. })
        ));
        assert!(matches!(
            row_balanced(&[0; 6], 3, 2, 3),
            Err(PruneError::K { .. })
        ));
    }
}
