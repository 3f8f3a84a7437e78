//! Component tests in rust-hdl simulation against the golden model's arithmetic (docs/arithmetic.md §3),
//! on tiny configs: the MAC array (issue engine, queue, PEs, weight ROMs, M forwarding) and the
//! gate unit. (The delta encoder, FIFO and memories have tests in their own files; the whole
//! accelerator is in accel_rust_sim.rs; the emitted Verilog is proven in the gen crate.)

use rust_hdl::prelude::*;
use spartus_hw::gate_unit::GateUnit;
use spartus_hw::mac_array::MacArray;
use spartus_hw::sim::{settle, tick, to_i64};
use spartus_hw::spec::layer_specs;
use spartus_model::config::{load_str, Rounding};
use spartus_model::design::Design;
use spartus_model::fixed::{rq, sat16, wrap32};

#[derive(LogicBlock)]
struct ArrayTb {
    clock: Signal<In, Clock>,
    arr: MacArray,
}
impl Logic for ArrayTb {
    #[hdl_gen]
    fn update(&mut self) {
        self.arr.clock.next = self.clock.val();
    }
}
spartus_hw::impl_has_clock!(ArrayTb);

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Push random (x or h column, Δ) entries — including the same column twice in a row, which
/// exercises the M forwarding path — and run the array; every PE's M must equal
/// `bias + Σ W·Δ` (wrap32) computed from the pruned matrices.
#[test]
fn mac_array_accumulates_like_the_golden_model() {
    for (k_x, k_h) in [(1usize, 1usize), (3, 2), (16, 16)] {
        let toml = format!(
            "name = \"m\"\n[model]\ninput_size = 5\nhidden_size = 8\n[sparsity]\nk_x = {k_x}\nk_h = {k_h}\n\
             [hardware]\npe_count = 2\n"
        );
        let r = load_str(&toml).unwrap();
        let d = Design::prepare(&r, None, None).unwrap();
        let specs = layer_specs(&r, &d.pruned, &d.params.lut);
        let aspec = &specs[0].arrays[0];
        let mut tb = ArrayTb {
            clock: Default::default(),
            arr: MacArray::new(aspec),
        };
        tb.connect_all();
        let pl = &d.pruned[0];
        let (i, h) = (5usize, 8usize);
        let mut m: Vec<i64> = pl.bias.iter().map(|&b| b as i64).collect();
        // init M with the biases
        for ul in 0..h / 2 + 2 {
            tb.arr.init_valid.next = ul < h / 2;
            tb.arr.init_addr.next = (ul as u64).into();
            tick(&mut tb);
        }
        tb.arr.init_valid.next = false;
        let mut g = Lcg(k_x as u64 * 31 + k_h as u64);
        for round in 0..6 {
            // queue up to (I + H) entries, like one step
            let n_entries = 1 + g.next() as usize % (i + h);
            let mut last_col = None;
            for _ in 0..n_entries {
                let is_h = g.next().is_multiple_of(2);
                let cols = if is_h { h } else { i };
                let col = match last_col {
                    Some((lh, lc)) if lh == is_h && g.next().is_multiple_of(3) => lc,
                    _ => g.next() as usize % cols,
                };
                last_col = Some((is_h, col));
                let delta = (g.next() % 65536) as i64 - 32768;
                let (mat, kk) = if is_h { (&pl.wh, k_h) } else { (&pl.wx, k_x) };
                for (row, mr) in m.iter_mut().enumerate() {
                    *mr = wrap32(*mr + mat.values[row * cols + col] as i64 * delta) as i64;
                }
                tb.arr.push.next = true;
                tb.arr.push_kind.next = is_h;
                tb.arr.push_addr.next = ((col * kk) as u64).into();
                tb.arr.push_delta.next = Signed::<16>::from(delta);
                tick(&mut tb);
            }
            tb.arr.push.next = false;
            tb.arr.run.next = true;
            let mut cycles = 0;
            loop {
                tick(&mut tb);
                cycles += 1;
                if tb.arr.done.val() {
                    break;
                }
                assert!(cycles < 10_000);
            }
            tb.arr.run.next = false;
            tb.arr.clear.next = true;
            tick(&mut tb);
            tb.arr.clear.next = false;
            for (row, want) in m.iter().enumerate() {
                let (p, l) = (row % 2, row / 2);
                assert_eq!(
                    tb.arr.pes()[p].peek_m(l) as i64,
                    *want,
                    "k_x={k_x} k_h={k_h} round {round}: M of row {row}"
                );
            }
        }
    }
}

/// The overlapped schedule's array ([`spartus_hw::sparse_pe_ov::SparsePeOv`] PEs): MACs go
/// into the delta bank `acc_bank`; a gate pass then reads every (PE, address) once through the
/// chain with `fold`, which must show M = bias + Σ W·Δ of everything accumulated before the
/// pass, while new columns are pushed and multiplied into the other delta bank in the same
/// cycles. After each round every PE's M (A + B0 + B1) must equal the golden sum.
#[test]
fn overlap_array_folds_while_accumulating() {
    let toml = "name = \"o\"\n[model]\ninput_size = 5\nhidden_size = 8\n[sparsity]\nk_x = 3\n\
                k_h = 2\n[hardware]\npe_count = 2\noverlap = true\n";
    let r = load_str(toml).unwrap();
    let d = Design::prepare(&r, None, None).unwrap();
    let specs = layer_specs(&r, &d.pruned, &d.params.lut);
    let aspec = &specs[0].arrays[0];
    assert!(aspec.overlap && aspec.chain_first);
    let mut tb = ArrayTb {
        clock: Default::default(),
        arr: MacArray::new(aspec),
    };
    tb.connect_all();
    assert_eq!(tb.arr.pes_ov().len(), 2);
    let pl = &d.pruned[0];
    let (i, h, n) = (5usize, 8usize, 2usize);
    let units = h / n;
    let mut m: Vec<i64> = pl.bias.iter().map(|&b| b as i64).collect();
    for ul in 0..units + 2 {
        tb.arr.init_valid.next = ul < units;
        tb.arr.init_addr.next = (ul as u64).into();
        tick(&mut tb);
    }
    tb.arr.init_valid.next = false;
    let mut g = Lcg(77);
    let entry = |g: &mut Lcg, m: &mut Vec<i64>| -> (bool, u64, i64) {
        let is_h = g.next().is_multiple_of(2);
        let cols = if is_h { h } else { i };
        let col = g.next() as usize % cols;
        let delta = (g.next() % 65536) as i64 - 32768;
        let (mat, kk) = if is_h { (&pl.wh, 2) } else { (&pl.wx, 3) };
        for (row, mr) in m.iter_mut().enumerate() {
            *mr = wrap32(*mr + mat.values[row * cols + col] as i64 * delta) as i64;
        }
        (is_h, (col * kk) as u64, delta)
    };
    let push = |tb: &mut ArrayTb, e: Option<(bool, u64, i64)>| {
        tb.arr.push.next = e.is_some();
        if let Some((is_h, addr, delta)) = e {
            tb.arr.push_kind.next = is_h;
            tb.arr.push_addr.next = addr.into();
            tb.arr.push_delta.next = Signed::<16>::from(delta);
        }
    };
    let mut acc = false;
    for _ in 0..6 {
        let en = entry(&mut g, &mut m);
        push(&mut tb, Some(en));
        tick(&mut tb);
    }
    push(&mut tb, None);
    for round in 0..4 {
        // drain the queue into B[acc]
        tb.arr.run.next = true;
        let mut cycles = 0;
        while {
            tick(&mut tb);
            cycles += 1;
            !tb.arr.done.val()
        } {
            assert!(cycles < 10_000);
        }
        tb.arr.clear.next = true;
        tick(&mut tb);
        tb.arr.clear.next = false;
        // gate pass: flip the bank, read and fold every (PE, address); meanwhile new columns
        acc = !acc;
        tb.arr.acc_bank.next = acc;
        let want = m.clone();
        let mut got = Vec::new();
        for c in 0..=units * n {
            let e = if c < 5 {
                Some(entry(&mut g, &mut m))
            } else {
                None
            };
            push(&mut tb, e);
            tb.arr.rd_addr.next = ((c / n) as u64).into();
            // sel and fold belong to the read issued in the previous cycle
            tb.arr.fold.next = c > 0;
            tb.arr.sel.next = (((c + n - 1) % n) as u64).into();
            settle(&mut tb);
            if c > 0 {
                got.push([
                    to_i64(tb.arr.chain_out_i.val()),
                    to_i64(tb.arr.chain_out_f.val()),
                    to_i64(tb.arr.chain_out_g.val()),
                    to_i64(tb.arr.chain_out_o.val()),
                ]);
            }
            tick(&mut tb);
        }
        push(&mut tb, None);
        tb.arr.fold.next = false;
        for (k, words) in got.iter().enumerate() {
            let (ul, p) = (k / n, k % n);
            for (gate, w) in words.iter().enumerate() {
                let row = (gate * units + ul) * n + p;
                assert_eq!(*w, want[row], "round {round}: unit read {k}, gate {gate}");
            }
        }
        // the columns pushed during the pass are in B[acc] (or still queued): finish them
        // in the next round's drain; here, after draining, every M must be the golden sum
        tb.arr.run.next = true;
        while {
            tick(&mut tb);
            !tb.arr.done.val()
        } {}
        for (row, want) in m.iter().enumerate() {
            let (p, l) = (row % n, row / n);
            assert_eq!(
                tb.arr.pes_ov()[p].peek_m(l) as i64,
                *want,
                "round {round}: M of row {row}"
            );
        }
        tb.arr.run.next = false;
    }
}

#[derive(LogicBlock)]
struct GateTb {
    clock: Signal<In, Clock>,
    gate: GateUnit,
}
impl Logic for GateTb {
    #[hdl_gen]
    fn update(&mut self) {
        self.gate.clock.next = self.clock.val();
    }
}
spartus_hw::impl_has_clock!(GateTb);

/// Random M words (incl. saturating ones) through the gate unit, one unit per cycle, several
/// passes so c carries over; h and c must equal docs/arithmetic.md §3 steps 4–7 with the golden LUT.
#[test]
fn gate_unit_matches_spec_arithmetic() {
    for (wfrac, shift, frac, rounding) in [
        (7u32, 0u32, 8u32, Rounding::Rne),
        (3, 4, 4, Rounding::Floor),
    ] {
        let toml =
            format!(
            "name = \"g\"\n[model]\ninput_size = 2\nhidden_size = 6\n[hardware]\npe_count = 1\n\
             wfrac = {wfrac}\nlut_shift = {shift}\nlut_frac = {frac}\nrounding = \"{}\"\n",
            if rounding == Rounding::Rne { "rne" } else { "floor" }
        );
        let r = load_str(&toml).unwrap();
        let d = Design::prepare(&r, None, None).unwrap();
        let specs = layer_specs(&r, &d.pruned, &d.params.lut);
        let lut = &d.params.lut;
        let mut tb = GateTb {
            clock: Default::default(),
            gate: GateUnit::new(&specs[0].gate),
        };
        tb.connect_all();
        let h = 6usize;
        for u in 0..h {
            tb.gate.clr_valid.next = true;
            tb.gate.clr_addr.next = (u as u64).into();
            tick(&mut tb);
        }
        tb.gate.clr_valid.next = false;
        let mut c = vec![0i64; h];
        let mut g = Lcg(wfrac as u64);
        let mut expected = Vec::new();
        let mut got = Vec::new();
        for _pass in 0..20 {
            for (u, cu) in c.iter_mut().enumerate() {
                let mut mw = [0i64; 4];
                for w in mw.iter_mut() {
                    *w = match g.next() % 4 {
                        0 => (g.next() as u32 as i32) as i64,
                        _ => (g.next() % 4096) as i64 - 2048,
                    } << (wfrac as i64 / 2);
                    *w = wrap32(*w) as i64;
                }
                let pre = |v: i64| sat16(rq(v, wfrac, rounding));
                let (gi, gf) = (
                    lut.lookup_sig(pre(mw[0])) as i64,
                    lut.lookup_sig(pre(mw[1])) as i64,
                );
                let (gg, go) = (
                    lut.lookup_tanh(pre(mw[2])) as i64,
                    lut.lookup_sig(pre(mw[3])) as i64,
                );
                *cu = sat16(rq(gf * *cu + gi * gg, 8, rounding)) as i64;
                let hv = sat16(rq(go * lut.lookup_tanh(*cu as i16) as i64, 8, rounding)) as i64;
                expected.push((u as u64, hv));
                tb.gate.in_valid.next = true;
                tb.gate.in_u.next = (u as u64).into();
                tb.gate.m_i.next = Signed::<32>::from(mw[0]);
                tb.gate.m_f.next = Signed::<32>::from(mw[1]);
                tb.gate.m_g.next = Signed::<32>::from(mw[2]);
                tb.gate.m_o.next = Signed::<32>::from(mw[3]);
                tick(&mut tb);
                if tb.gate.out_valid.val() {
                    got.push((tb.gate.out_u.val().to_u64(), to_i64(tb.gate.out_h.val())));
                }
            }
        }
        tb.gate.in_valid.next = false;
        for _ in 0..spartus_hw::gate_unit::GATE_PIPE + 2 {
            tick(&mut tb);
            if tb.gate.out_valid.val() {
                got.push((tb.gate.out_u.val().to_u64(), to_i64(tb.gate.out_h.val())));
            }
        }
        assert_eq!(got, expected, "wfrac={wfrac} s={shift} q={frac}");
        for (u, cv) in c.iter().enumerate() {
            assert_eq!(tb.gate.peek_c(u), *cv);
        }
    }
}
