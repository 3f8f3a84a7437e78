//! `Delay<T>` / `ValidDelay`: fixed-length delay lines (shift registers) for pipeline tags.
//!
//! Ports: `d` in, `q` out (`q` = `d` delayed by `depth` cycles, depth ≥ 1). `ValidDelay` also
//! has `clear`, which empties every stage at once (a flushed pipeline emits nothing).
//! Throughput one value per cycle.

use rust_hdl::prelude::*;

/// Delay line for data.
#[derive(LogicBlock)]
pub struct Delay<T: Synth> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Input.
    pub d: Signal<In, T>,
    /// Input delayed by `depth` cycles.
    pub q: Signal<Out, T>,
    regs: Vec<DFF<T>>,
}

impl<T: Synth> Delay<T> {
    /// A delay of `depth` ≥ 1 cycles.
    pub fn new(depth: usize) -> Self {
        assert!(depth >= 1);
        Self {
            clock: Default::default(),
            d: Default::default(),
            q: Default::default(),
            regs: (0..depth).map(|_| DFF::default()).collect(),
        }
    }
}

impl<T: Synth> Logic for Delay<T> {
    #[hdl_gen]
    fn update(&mut self) {
        self.regs[0].d.next = self.d.val();
        for i in 0..self.regs.len() {
            self.regs[i].clock.next = self.clock.val();
            self.q.next = self.regs[i].q.val();
        }
        for i in 1..self.regs.len() {
            self.regs[i].d.next = self.regs[i - 1].q.val();
        }
    }
}

/// Delay line for a valid bit, with a synchronous clear of every stage.
#[derive(LogicBlock)]
pub struct ValidDelay {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Empty the line.
    pub clear: Signal<In, Bit>,
    /// Input.
    pub d: Signal<In, Bit>,
    /// Input delayed by `depth` cycles (0 for values cleared on the way).
    pub q: Signal<Out, Bit>,
    regs: Vec<DFF<Bit>>,
}

impl ValidDelay {
    /// A delay of `depth` ≥ 1 cycles.
    pub fn new(depth: usize) -> Self {
        assert!(depth >= 1);
        Self {
            clock: Default::default(),
            clear: Default::default(),
            d: Default::default(),
            q: Default::default(),
            regs: (0..depth).map(|_| DFF::default()).collect(),
        }
    }
}

impl Logic for ValidDelay {
    #[hdl_gen]
    fn update(&mut self) {
        self.regs[0].d.next = self.d.val() & !self.clear.val();
        for i in 0..self.regs.len() {
            self.regs[i].clock.next = self.clock.val();
            self.q.next = self.regs[i].q.val() & !self.clear.val();
        }
        for i in 1..self.regs.len() {
            self.regs[i].d.next = self.regs[i - 1].q.val() & !self.clear.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::tick;

    #[derive(LogicBlock)]
    struct Tb {
        clock: Signal<In, Clock>,
        dl: Delay<Bits<8>>,
        vl: ValidDelay,
    }
    impl Logic for Tb {
        #[hdl_gen]
        fn update(&mut self) {
            self.dl.clock.next = self.clock.val();
            self.vl.clock.next = self.clock.val();
        }
    }
    crate::impl_has_clock!(Tb);

    #[test]
    fn delays_by_depth_and_clears() {
        let mut tb = Tb {
            clock: Default::default(),
            dl: Delay::new(3),
            vl: ValidDelay::new(3),
        };
        tb.connect_all();
        let mut seen = Vec::new();
        for t in 0..10u64 {
            tb.dl.d.next = t.into();
            tb.vl.d.next = true;
            tb.vl.clear.next = t == 6;
            tick(&mut tb);
            seen.push((tb.dl.q.val().to_u64(), tb.vl.q.val()));
        }
        // q after the edge of cycle t shows d of cycle t-2 (depth 3: edges t-2, t-1, t)
        assert_eq!(seen[2].0, 0);
        assert_eq!(seen[5].0, 3);
        // the clear at t = 6 empties the line: valid is low for the next 3 outputs
        assert!(seen[5].1);
        assert!(!seen[6].1 && !seen[7].1 && !seen[8].1);
        assert!(seen[9].1);
    }
}
