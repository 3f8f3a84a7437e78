//! The project's only source of randomness: the docs/arithmetic.md §9 linear congruential generator.
//!
//! `s = s·6364136223846793005 + 1442695040888963407 (mod 2^64)`, output `u = s >> 33`
//! (31 bits), taken after each update. Every random weight, stimulus and property-test
//! input the project generates comes from here, so results are reproducible in any language
//! and on any platform (no `rand` crate, no floating-point transcendental functions).

/// Multiplier of the docs/arithmetic.md §9 LCG (Knuth's MMIX constant).
pub const LCG_MUL: u64 = 6364136223846793005;
/// Increment of the docs/arithmetic.md §9 LCG.
pub const LCG_INC: u64 = 1442695040888963407;

/// The docs/arithmetic.md §9 LCG. `Lcg::new(1)` reproduces the conformance test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lcg {
    state: u64,
}

impl Lcg {
    /// A generator whose state is `seed` (no output has been drawn yet).
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for an independent stream derived from `seed`: stream 0 is `Lcg::new(seed)`,
    /// other streams start from `seed XOR stream·0x9E3779B97F4A7C15`. Used to keep weights and
    /// stimulus of one config seed from sharing draws.
    pub fn stream(seed: u64, stream: u64) -> Self {
        Self::new(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The current state (the last `s`).
    pub fn state(&self) -> u64 {
        self.state
    }

    /// Update the state once and return `s >> 33` (a 31-bit value, 0..2^31).
    pub fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_mul(LCG_MUL).wrapping_add(LCG_INC);
        (self.state >> 33) as u32
    }

    /// `next_u32() % n` (the docs/arithmetic.md §9 draw; slightly biased for large n, but exactly
    /// reproducible). Panics if `n == 0`.
    pub fn below(&mut self, n: u32) -> u32 {
        assert!(n > 0, "Lcg::below(0)");
        self.next_u32() % n
    }

    /// `next_u32() / 2^31`: uniform in [0, 1) on a 2^-31 grid (exact in f64).
    pub fn uniform_f64(&mut self) -> f64 {
        self.next_u32() as f64 / (1u64 << 31) as f64
    }

    /// `lo + (hi - lo)·uniform_f64()`: uniform in [lo, hi).
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform_f64()
    }

    /// A draw in `lo..=hi` as `lo + below(hi - lo + 1)`. Panics if `lo > hi` or the range
    /// does not fit in 31 bits.
    pub fn int_range(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(
            lo <= hi && hi - lo < (1 << 31),
            "Lcg::int_range({lo}, {hi})"
        );
        lo + self.below((hi - lo + 1) as u32) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_outputs_of_seed_1() {
        // s1 = 6364136223846793005 + 1442695040888963407 = 7806831264735756412 (no wrap).
        let mut g = Lcg::new(1);
        let u = g.next_u32();
        assert_eq!(g.state(), 7806831264735756412);
        assert_eq!(u as u64, 7806831264735756412u64 >> 33);
        // docs/arithmetic.md §9: the first Wx entry is u % 255 - 127.
        let mut g = Lcg::new(1);
        let _ = g.below(255) as i64 - 127;
    }

    #[test]
    fn uniform_is_in_range_and_deterministic() {
        let mut a = Lcg::new(42);
        let mut b = Lcg::new(42);
        for _ in 0..10_000 {
            let x = a.uniform_f64();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x, b.uniform_f64());
            let r = a.uniform_range(-0.5, 0.5);
            assert!((-0.5..0.5).contains(&r));
            b.uniform_range(-0.5, 0.5);
            let k = a.int_range(-3, 3);
            assert!((-3..=3).contains(&k));
            b.int_range(-3, 3);
        }
    }

    #[test]
    fn streams_differ() {
        assert_eq!(Lcg::stream(7, 0), Lcg::new(7));
        assert_ne!(Lcg::stream(7, 1).next_u32(), Lcg::new(7).next_u32());
    }
}
