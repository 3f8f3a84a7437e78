//! Fast manual stepping of rust-hdl designs (no threads): drive inputs, then [`tick`].
//!
//! `tick` lowers the clock, settles the design, raises the clock and settles again (the order
//! verified in docs/rust-hdl.md §4 to agree with rust-hdl's threaded `Simulation`). After it
//! returns, registered outputs show the state after the rising edge.

use rust_hdl::prelude::*;

/// A design with a top-level clock input.
pub trait HasClock {
    /// Set the clock level.
    fn set_clock(&mut self, high: bool);
}

/// Implement [`HasClock`] for a struct with a `clock: Signal<In, Clock>` field.
#[macro_export]
macro_rules! impl_has_clock {
    ($t:ty) => {
        impl $crate::sim::HasClock for $t {
            fn set_clock(&mut self, high: bool) {
                self.clock.next = rust_hdl::prelude::Clock { clk: high };
            }
        }
    };
}

/// One clock cycle.
pub fn tick<T: Block + HasClock>(uut: &mut T) {
    uut.set_clock(false);
    assert!(
        simulate(uut, 10_000),
        "design did not settle (combinational loop?)"
    );
    uut.set_clock(true);
    assert!(
        simulate(uut, 10_000),
        "design did not settle (combinational loop?)"
    );
}

/// Settle combinational logic without a clock edge (after changing inputs).
pub fn settle<T: Block>(uut: &mut T) {
    assert!(
        simulate(uut, 10_000),
        "design did not settle (combinational loop?)"
    );
}

/// Read a `Signed<N>` as i64.
pub fn to_i64<const N: usize>(s: Signed<N>) -> i64 {
    ((unsigned_cast(s).to_u64() << (64 - N)) as i64) >> (64 - N)
}

/// Make a `Signed<N>` from i64.
pub fn signed<const N: usize>(v: i64) -> Signed<N> {
    Signed::<N>::from(v)
}

/// What one streamed run of the accelerator produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// h of the last layer, `[T][H]`.
    pub h: Vec<Vec<i16>>,
    /// Compute cycles of each step of the last layer (`stat_step_cycles`).
    pub step_cycles: Vec<u64>,
    /// `stat_cycles` at the end (all layers).
    pub stat_cycles: u64,
    /// `stat_deltas` at the end (all layers): deltas consumed by the MAC arrays.
    pub stat_deltas: u64,
    /// Clock cycles from the end of reset to the last output.
    pub wall_cycles: u64,
}

/// Stream `x` (`[T][I]`) through the accelerator and collect `T·h_out` outputs, with random
/// valid gaps / ready stalls when `stall_seed` is given (probability 1/4 each).
pub fn run_accelerator(
    uut: &mut crate::accelerator::Accelerator,
    x: &[Vec<i16>],
    h_out: usize,
    stall_seed: Option<u64>,
    max_cycles: u64,
) -> RunResult {
    let mut s = stall_seed.unwrap_or(0) ^ 0x9e37_79b9_7f4a_7c15;
    let mut coin = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        stall_seed.is_some() && (s >> 33).is_multiple_of(4)
    };
    let flat: Vec<i16> = x.iter().flatten().copied().collect();
    let t_steps = x.len();
    let mut outs: Vec<i16> = Vec::with_capacity(t_steps * h_out);
    let mut step_cycles = Vec::new();
    let mut next_in = 0usize;
    uut.reset.next = true;
    uut.start_sequence.next = false;
    uut.in_valid.next = false;
    uut.out_ready.next = false;
    for _ in 0..2 {
        tick(uut);
    }
    uut.reset.next = false;
    let mut last_steps = 0u64;
    let mut cycles = 0u64;
    while outs.len() < t_steps * h_out || (last_steps as usize) < t_steps {
        assert!(cycles < max_cycles, "timeout after {cycles} cycles");
        uut.set_clock(false);
        let valid = next_in < flat.len() && !coin();
        uut.in_valid.next = valid;
        uut.in_data.next = Signed::<16>::from(if next_in < flat.len() {
            flat[next_in] as i64
        } else {
            0
        });
        let ready = !coin();
        uut.out_ready.next = ready;
        settle(uut);
        if valid && uut.in_ready.val() {
            next_in += 1;
        }
        if ready && uut.out_valid.val() {
            outs.push(to_i64(uut.out_data.val()) as i16);
        }
        uut.set_clock(true);
        settle(uut);
        cycles += 1;
        let steps = uut.stat_steps.val().to_u64();
        if steps != last_steps {
            step_cycles.push(uut.stat_step_cycles.val().to_u64());
            last_steps = steps;
        }
    }
    RunResult {
        h: outs.chunks(h_out).map(|c| c.to_vec()).collect(),
        step_cycles,
        stat_cycles: uut.stat_cycles.val().to_u64(),
        stat_deltas: uut.stat_deltas.val().to_u64(),
        wall_cycles: cycles,
    }
}
