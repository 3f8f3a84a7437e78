//! Seeded random test stimulus: a bounded random walk with per-element holds.
//!
//! Generator (all draws from [`Lcg`] stream 1 of the config seed, see [`Lcg::stream`]):
//! - step 0: `x[0][j] = U(-bound, bound)` for j = 0..I (one draw each);
//! - step t ≥ 1, for each j in order, exactly two draws `u_hold`, `u_move`:
//!   if `u_hold < hold_prob` the element holds its previous value exactly (no delta);
//!   otherwise `x[t][j] = clamp(x[t-1][j] + (2·u_move - 1)·step, -bound, bound)`.
//!
//! Drawing a fixed number of values per element keeps the sequence of one element independent
//! of the hold decisions of others. Quantized inputs are `sat16(RNE(x·256))` (docs/arithmetic.md §1); held
//! elements repeat their Q8.8 code exactly, which is the temporal sparsity the delta encoder
//! exploits.

use crate::config::StimulusConfig;
use crate::fixed::quantize_act;
use crate::rng::Lcg;

/// LCG stream used for stimulus (weights use stream 0).
pub const STIMULUS_STREAM: u64 = 1;

/// A generated stimulus.
#[derive(Debug, Clone, PartialEq)]
pub struct Stimulus {
    /// Float inputs `[T][I]`.
    pub x: Vec<Vec<f64>>,
    /// Q8.8 inputs `[T][I]`.
    pub x_q: Vec<Vec<i16>>,
}

/// Generate `cfg.timesteps` frames of `input_size` elements from `seed`.
pub fn random_walk(cfg: &StimulusConfig, input_size: usize, seed: u64) -> Stimulus {
    let mut g = Lcg::stream(seed, STIMULUS_STREAM);
    let mut x: Vec<Vec<f64>> = Vec::with_capacity(cfg.timesteps);
    for t in 0..cfg.timesteps {
        let row: Vec<f64> = if t == 0 {
            (0..input_size)
                .map(|_| g.uniform_range(-cfg.bound, cfg.bound))
                .collect()
        } else {
            x[t - 1]
                .iter()
                .map(|&prev| {
                    let u_hold = g.uniform_f64();
                    let u_move = g.uniform_f64();
                    if u_hold < cfg.hold_prob {
                        prev
                    } else {
                        (prev + (2.0 * u_move - 1.0) * cfg.step).clamp(-cfg.bound, cfg.bound)
                    }
                })
                .collect()
        };
        x.push(row);
    }
    let x_q = x
        .iter()
        .map(|r| r.iter().map(|&v| quantize_act(v)).collect())
        .collect();
    Stimulus { x, x_q }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_deterministic_and_holds() {
        let cfg = StimulusConfig {
            timesteps: 300,
            step: 0.25,
            bound: 2.0,
            hold_prob: 0.5,
        };
        let a = random_walk(&cfg, 8, 1);
        assert_eq!(a, random_walk(&cfg, 8, 1));
        assert_ne!(a, random_walk(&cfg, 8, 2));
        assert_eq!(a.x.len(), 300);
        let mut holds = 0;
        for t in 0..300 {
            for j in 0..8 {
                assert!(a.x[t][j].abs() <= 2.0);
                assert!(a.x_q[t][j].abs() <= 512);
                if t > 0 {
                    assert!((a.x[t][j] - a.x[t - 1][j]).abs() <= 0.25 + 1e-12);
                    if a.x[t][j] == a.x[t - 1][j] {
                        holds += 1;
                    }
                }
            }
        }
        // ~50 % of 299·8 elements hold.
        assert!((1000..1400).contains(&holds), "{holds}");
        let all_hold = StimulusConfig {
            hold_prob: 1.0,
            ..cfg.clone()
        };
        let s = random_walk(&all_hold, 3, 5);
        assert!(s.x_q.windows(2).all(|w| w[0] == w[1]));
    }
}
