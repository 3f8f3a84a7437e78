//! `gen testset <config> --weights W --vectors DIR`: run a whole test set (many independent
//! sequences, e.g. the JapaneseVowels test set written by `train vectors`) through the emitted
//! Verilog in Verilator, in one testbench run.
//!
//! 1. Emit `<out-dir>/<name>/` for the config and weights (as `gen emit`).
//! 2. Read the test set (`params.txt`, `seq_lens.txt`, `x_q.hex`, `h_q.hex`: the cases back
//!    to back), optionally only its first `--max-cases` cases, and check every case's golden
//!    h against this crate's own golden model run on the emitted design's weights (so vectors
//!    made for other weights or another config are refused, not "verified").
//! 3. Copy it to `<name>/testset/`, build the testbench and run it in multi-case mode
//!    (`+cases`: `start_sequence` between cases, random input gaps and output stalls, every
//!    output compared bit-exact, the RTL's h written to `testset/h_rtl.hex`).
//! 4. Compare the hardware counters with the cycle model per step (`stat_step_cycles`) and per
//!    case (`stat_cycles`, `stat_deltas`, `stat_steps`), and compute the report figures
//!    (delta and weight sparsity, measured cycles per step, effective speedup over the dense
//!    peak, MAC utilization) from the measured cycles.
//!
//! The JSON report (`--report`) is what `train eval --rtl-sim` reads for its "(d) RTL" row.

use crate::artifacts::sha256_hex;
use crate::vectors::VectorsOptions;
use crate::verilator::{self, BuildOptions, CasesRun, RunOptions, TbSource};
use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use spartus_model::cycles::{figures, useful_macs};
use spartus_model::golden::run as golden_run;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Options of `gen testset`.
#[derive(Debug, Clone)]
pub struct TestsetOptions {
    /// Config, weights and output parent (`inputs` is ignored: the test set is the input).
    pub vectors: VectorsOptions,
    /// Test-set folder (`train vectors --out`).
    pub cases_dir: PathBuf,
    /// Only the first N cases (None: all).
    pub max_cases: Option<usize>,
    /// Testbench PRNG seed.
    pub seed: u64,
    /// Probability per cycle that the TB withholds an input.
    pub in_gap: f64,
    /// Probability per cycle that the TB stalls the output.
    pub out_stall: f64,
    /// Random gap of up to this many cycles before each `start_sequence`.
    pub case_gap: u64,
    /// Also copy the RTL's h to this file.
    pub h_out: Option<PathBuf>,
    /// Write the JSON report here.
    pub report: Option<PathBuf>,
    /// Testbench source.
    pub tb: TbSource,
}

impl TestsetOptions {
    /// Defaults: all cases, seed 1, in_gap 0.2, out_stall 0.3, case_gap 3.
    pub fn new(config: PathBuf, weights: PathBuf, cases_dir: PathBuf) -> Self {
        Self {
            vectors: VectorsOptions {
                config,
                weights: Some(weights),
                inputs: None,
                out_dir: PathBuf::from("hdl_out"),
            },
            cases_dir,
            max_cases: None,
            seed: 1,
            in_gap: 0.2,
            out_stall: 0.3,
            case_gap: 3,
            h_out: None,
            report: None,
            tb: TbSource::Embedded,
        }
    }
}

/// A test set: quantized inputs and golden h per case.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSet {
    /// I.
    pub input_size: usize,
    /// H of the last layer.
    pub output_size: usize,
    /// `x[case][t][j]` (Q8.8).
    pub x: Vec<Vec<Vec<i16>>>,
    /// `h[case][t][k]` (Q8.8), the golden outputs.
    pub h: Vec<Vec<Vec<i16>>>,
}

impl TestSet {
    /// Σ T over the cases.
    pub fn steps(&self) -> usize {
        self.x.iter().map(Vec::len).sum()
    }
}

fn read_hex(path: &Path, n: usize) -> Result<Vec<i16>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            u16::from_str_radix(l.trim(), 16)
                .map(|v| v as i16)
                .with_context(|| {
                    format!(
                        "{}: line {} is not a 16-bit hex word",
                        path.display(),
                        i + 1
                    )
                })
        })
        .collect::<Result<Vec<i16>>>()?;
    ensure!(
        v.len() == n,
        "{}: {} words, expected {n} (from params.txt and seq_lens.txt)",
        path.display(),
        v.len()
    );
    Ok(v)
}

fn split_cases(flat: &[i16], lens: &[usize], width: usize) -> Vec<Vec<Vec<i16>>> {
    let mut it = flat.chunks(width).map(<[i16]>::to_vec);
    lens.iter()
        .map(|&t| (0..t).map(|_| it.next().expect("length checked")).collect())
        .collect()
}

/// Read a test-set folder (`params.txt` with `timesteps` = ΣT, `input_size`, `output_size`;
/// `seq_lens.txt`; `x_q.hex`; `h_q.hex`), keeping the first `max_cases` cases.
pub fn read_test_set(dir: &Path, max_cases: Option<usize>) -> Result<TestSet> {
    let pfile = dir.join("params.txt");
    let ptext = std::fs::read_to_string(&pfile)
        .with_context(|| format!("cannot read {}", pfile.display()))?;
    let get = |key: &str| -> Result<usize> {
        ptext
            .lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(k, _)| *k == key)
            .with_context(|| format!("{}: missing key `{key}`", pfile.display()))?
            .1
            .trim()
            .parse()
            .with_context(|| format!("{}: `{key}` is not an unsigned integer", pfile.display()))
    };
    let (steps, i, h) = (get("timesteps")?, get("input_size")?, get("output_size")?);
    let lfile = dir.join("seq_lens.txt");
    let lens = std::fs::read_to_string(&lfile)
        .with_context(|| format!("cannot read {}", lfile.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, l)| match l.trim().parse::<usize>() {
            Ok(t) if t > 0 => Ok(t),
            _ => bail!(
                "{}: line {} `{l}` is not a sequence length >= 1",
                lfile.display(),
                n + 1
            ),
        })
        .collect::<Result<Vec<usize>>>()?;
    ensure!(!lens.is_empty(), "{}: no cases", lfile.display());
    ensure!(
        lens.iter().sum::<usize>() == steps,
        "{}: the lengths add up to {}, params.txt says timesteps {steps}",
        lfile.display(),
        lens.iter().sum::<usize>()
    );
    let x = split_cases(&read_hex(&dir.join("x_q.hex"), steps * i)?, &lens, i);
    let hq = split_cases(&read_hex(&dir.join("h_q.hex"), steps * h)?, &lens, h);
    let keep = match max_cases {
        Some(0) => bail!("--max-cases must be at least 1"),
        Some(n) => n.min(lens.len()),
        None => lens.len(),
    };
    Ok(TestSet {
        input_size: i,
        output_size: h,
        x: x.into_iter().take(keep).collect(),
        h: hq.into_iter().take(keep).collect(),
    })
}

/// Write a test set in the layout [`read_test_set`] reads (and `tb.cpp +cases` runs).
pub fn write_test_set(dir: &Path, ts: &TestSet) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let hex = |c: &[Vec<Vec<i16>>]| {
        let mut s = String::new();
        for v in c.iter().flatten().flatten() {
            let _ = writeln!(s, "{:04x}", *v as u16);
        }
        s
    };
    let lens: String = ts.x.iter().map(|c| format!("{}\n", c.len())).collect();
    let params = format!(
        "timesteps {}\ninput_size {}\noutput_size {}\nlayers 1\nsequences {}\n",
        ts.steps(),
        ts.input_size,
        ts.output_size,
        ts.x.len()
    );
    for (name, text) in [
        ("x_q.hex", hex(&ts.x)),
        ("h_q.hex", hex(&ts.h)),
        ("seq_lens.txt", lens),
        ("params.txt", params),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

/// What `gen testset` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestsetReport {
    /// Design folder.
    pub dir: PathBuf,
    /// Top module.
    pub top: String,
    /// SHA-256 of the weights file.
    pub weights_sha256: String,
    /// Cases run.
    pub cases: usize,
    /// Cases the testbench passed (all outputs bit-exact, T steps counted).
    pub cases_passed: usize,
    /// Cases whose RTL h differs from the golden h anywhere.
    pub cases_differing: usize,
    /// Σ T.
    pub steps: u64,
    /// Outputs received / expected (Σ T·H).
    pub outputs: u64,
    /// Σ T·H.
    pub expected_outputs: u64,
    /// Output mismatches reported by the testbench.
    pub mismatches: u64,
    /// Protocol errors reported by the testbench.
    pub protocol_errors: u64,
    /// Testbench seed, stall rates and case gap.
    pub seed: u64,
    /// in_gap.
    pub in_gap: f64,
    /// out_stall.
    pub out_stall: f64,
    /// case_gap.
    pub case_gap: u64,
    /// The hardware's per-step overhead T_upd used by the cycle model (layer 0).
    pub t_upd: u64,
    /// Σ `stat_cycles` over the cases (compute cycles counted by the RTL).
    pub rtl_cycles: u64,
    /// The cycle model's total for the same cases (golden nonzero-delta counts).
    pub model_cycles: u64,
    /// rtl_cycles / steps.
    pub rtl_cycles_per_step: f64,
    /// model_cycles / steps.
    pub model_cycles_per_step: f64,
    /// Steps whose `stat_step_cycles` differ from the cycle model.
    pub step_cycle_mismatches: u64,
    /// Cases whose `stat_cycles`, `stat_deltas` or `stat_steps` differ from the model.
    pub case_counter_mismatches: u64,
    /// Σ `stat_deltas` (nonzero Δx + Δh counted by the RTL).
    pub rtl_deltas: u64,
    /// The golden model's nonzero Δx over the cases (all layers).
    pub nnz_x: u64,
    /// Nonzero Δh.
    pub nnz_h: u64,
    /// Fraction of zero Δx (golden; the RTL's total matches when `rtl_deltas == nnz_x + nnz_h`).
    pub zero_dx: f64,
    /// Fraction of zero Δh.
    pub zero_dh: f64,
    /// Fraction of zero entries of the pruned int8 W_x (layer 0).
    pub zero_wx: f64,
    /// The same for W_h.
    pub zero_wh: f64,
    /// Testbench cycles from reset release to the last output (with stalls, gaps, inits).
    pub wall_cycles: u64,
    /// Clock of the config (MHz), for the throughput figures.
    pub clock_mhz: f64,
    /// Dense-equivalent throughput over the measured compute cycles (GOp/s).
    pub eff_gops: f64,
    /// Peak `2·A·N·f` (GOp/s).
    pub peak_gops: f64,
    /// eff / peak: the effective speedup over the dense hardware peak.
    pub speedup_over_peak: f64,
    /// Useful MACs / (A·N · measured compute cycles).
    pub mac_utilization: f64,
    /// The RTL's h (every output, cases back to back).
    pub h_rtl: PathBuf,
    /// Seconds: testbench build and run.
    pub build_seconds: f64,
    /// Seconds of the simulation.
    pub sim_seconds: f64,
    /// Everything that went wrong (empty: passed).
    pub problems: Vec<String>,
}

impl TestsetReport {
    /// Every case bit-exact and every counter equal to the model.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// Human-readable summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: {} ({} cases, {} steps): {}/{} cases bit-exact, {} differ from golden; {}/{} outputs, {} mismatches, {} protocol errors (seed {}, in_gap {}, out_stall {}, case_gap {})",
            if self.passed() { "PASS" } else { "FAIL" },
            self.dir.display(),
            self.cases,
            self.steps,
            self.cases_passed,
            self.cases,
            self.cases_differing,
            self.outputs,
            self.expected_outputs,
            self.mismatches,
            self.protocol_errors,
            self.seed,
            self.in_gap,
            self.out_stall,
            self.case_gap
        );
        let _ = writeln!(
            s,
            "cycles (RTL counters): {} = {:.1}/step; cycle model (T_upd = {}): {} = {:.1}/step; {} step(s) and {} case(s) differ",
            self.rtl_cycles,
            self.rtl_cycles_per_step,
            self.t_upd,
            self.model_cycles,
            self.model_cycles_per_step,
            self.step_cycle_mismatches,
            self.case_counter_mismatches
        );
        let _ = writeln!(
            s,
            "deltas: RTL {} nonzero, golden {} (zero Δx {:.1}%, zero Δh {:.1}%); zero weights W_x {:.2}%, W_h {:.2}%",
            self.rtl_deltas,
            self.nnz_x + self.nnz_h,
            100.0 * self.zero_dx,
            100.0 * self.zero_dh,
            100.0 * self.zero_wx,
            100.0 * self.zero_wh
        );
        let _ = writeln!(
            s,
            "at {} MHz: effective {:.3} GOp/s vs dense peak {:.3} GOp/s = {:.2}x, MAC utilization {:.1}%; {} testbench cycles with stalls",
            self.clock_mhz,
            self.eff_gops,
            self.peak_gops,
            self.speedup_over_peak,
            100.0 * self.mac_utilization,
            self.wall_cycles
        );
        let _ = writeln!(s, "RTL h: {}", self.h_rtl.display());
        for p in self.problems.iter().take(20) {
            let _ = writeln!(s, "problem: {p}");
        }
        if self.problems.len() > 20 {
            let _ = writeln!(s, "... {} problems in total", self.problems.len());
        }
        s
    }
}

/// Run `gen testset`. `Err` only when it could not run; a failing RTL is a report with
/// problems.
pub fn run(opts: &TestsetOptions) -> Result<TestsetReport> {
    ensure!(
        opts.vectors.weights.is_some(),
        "gen testset needs --weights (the test set's golden h was computed for them)"
    );
    let weights = opts.vectors.weights.as_ref().expect("checked");
    let ts = read_test_set(&opts.cases_dir, opts.max_cases)?;
    let (design, dir, _) = crate::emit::write(&opts.vectors)?;
    let r = &design.resolved;
    ensure!(
        ts.input_size == r.i() && ts.output_size == r.h(),
        "test set {}: input_size {} / output_size {}, but the config has {} / {}",
        opts.cases_dir.display(),
        ts.input_size,
        ts.output_size,
        r.i(),
        r.h()
    );
    let top = r.top_name.clone();
    let mut problems = Vec::new();

    // Golden model of the emitted design on every case: h check, cycles, deltas, MACs.
    let last = design.qnet.layers.len() - 1;
    let (mut nnz_x, mut nnz_h, mut useful) = (0u64, 0u64, 0u64);
    let mut model_step = Vec::new(); // last layer's cycles per global step
    let mut model_case = Vec::new(); // (cycles all layers, deltas all layers) per case
    for (c, (x, h)) in ts.x.iter().zip(&ts.h).enumerate() {
        let traces = golden_run(&design.qnet, &design.params, x);
        if traces[last].h != *h {
            bail!(
                "test set {}: case {c}: its golden h differs from the golden model of {} with {} \
                 (vectors made for other weights or another config?)",
                opts.cases_dir.display(),
                opts.vectors.config.display(),
                weights.display()
            );
        }
        let (mut cyc, mut del) = (0u64, 0u64);
        for (l, (tr, p)) in traces.iter().zip(&design.cycle_params).enumerate() {
            let steps = p.trace_cycles(tr);
            cyc += steps.iter().sum::<u64>();
            if l == last {
                model_step.extend(steps);
            }
            for (&nx, &nh) in tr.nnz_x.iter().zip(&tr.nnz_h) {
                del += nx as u64 + nh as u64;
                nnz_x += nx as u64;
                nnz_h += nh as u64;
                useful += useful_macs(r.n(), p, nx as u64, nh as u64);
            }
        }
        model_case.push((cyc, del));
    }

    // Testbench.
    write_test_set(&dir.join("testset"), &ts)?;
    let extra_args = crate::verify::build_args_for(&dir, &top);
    let build = verilator::build_tb(
        &dir,
        &top,
        &BuildOptions {
            tb: opts.tb.clone(),
            extra_args,
            ..Default::default()
        },
    )?;
    let steps = ts.steps() as u64;
    let model_cycles: u64 = model_case.iter().map(|c| c.0).sum();
    let expected_outputs = steps * r.h() as u64;
    let run_opts = RunOptions {
        vectors: PathBuf::from("testset"),
        seed: opts.seed,
        in_gap: opts.in_gap,
        out_stall: opts.out_stall,
        max_cycles: 100 * (model_cycles + expected_outputs + steps * (r.i() as u64 + 64))
            + 1000 * ts.x.len() as u64 * (opts.case_gap + 100),
        result: PathBuf::from("sim/result_testset.txt"),
        extra_plusargs: Vec::new(),
    };
    let h_rel = PathBuf::from("testset/h_rtl.hex");
    let run: CasesRun = verilator::run_tb_cases(
        &dir,
        &build.exe,
        &run_opts,
        Path::new("testset/seq_lens.txt"),
        opts.case_gap,
        &h_rel,
    )?;
    let sim = &run.sim;
    if !run.passed() {
        problems.push(format!("testbench: {}", sim.summary()));
        problems.extend(sim.messages.iter().take(10).cloned());
    }
    if run.cases.len() != ts.x.len() {
        problems.push(format!(
            "{} case records for {} cases",
            run.cases.len(),
            ts.x.len()
        ));
    }

    // h: per case, against the golden h.
    let hw = r.h();
    let mut cases_differing = 0;
    let mut off = 0;
    for (c, h) in ts.h.iter().enumerate() {
        let n = h.len() * hw;
        let got = run.h.get(off..off + n);
        let want: Vec<i16> = h.iter().flatten().copied().collect();
        if got != Some(want.as_slice()) {
            cases_differing += 1;
            if cases_differing <= 10 {
                problems.push(format!("case {c}: RTL h differs from golden"));
            }
        }
        off += n;
    }
    if run.h.len() != off {
        problems.push(format!("RTL h has {} values, expected {off}", run.h.len()));
    }

    // Counters against the cycle model.
    let mut step_cycle_mismatches = 0u64;
    for (rec, want) in sim.steps.iter().zip(&model_step) {
        if rec.compute_cycles != Some(*want) {
            step_cycle_mismatches += 1;
            if step_cycle_mismatches <= 10 {
                problems.push(format!(
                    "global step {}: stat_step_cycles {:?}, cycle model {want}",
                    rec.t, rec.compute_cycles
                ));
            }
        }
    }
    if sim.steps.len() != model_step.len() {
        problems.push(format!(
            "{} step records for {} steps",
            sim.steps.len(),
            model_step.len()
        ));
    }
    let mut case_counter_mismatches = 0u64;
    for (rec, &(cyc, del)) in run.cases.iter().zip(&model_case) {
        if rec.stat_cycles != cyc || rec.stat_deltas != del || rec.steps != rec.timesteps {
            case_counter_mismatches += 1;
            if case_counter_mismatches <= 10 {
                problems.push(format!(
                    "case {}: stat_cycles {} (model {cyc}), stat_deltas {} (golden {del}), stat_steps {} (T {})",
                    rec.case, rec.stat_cycles, rec.stat_deltas, rec.steps, rec.timesteps
                ));
            }
        }
    }
    let rtl_cycles: u64 = run.cases.iter().map(|c| c.stat_cycles).sum();
    let rtl_deltas: u64 = run.cases.iter().map(|c| c.stat_deltas).sum();

    let h_rtl = match &opts.h_out {
        Some(p) => {
            if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::copy(dir.join(&h_rel), p)
                .with_context(|| format!("cannot write {}", p.display()))?;
            p.clone()
        }
        None => dir.join(&h_rel),
    };
    let ops: u64 = r.layers.iter().map(|d| d.ops_dense).sum();
    let fig = figures(
        ops,
        (r.a() * r.n()) as u64,
        r.config.target.clock_mhz * 1e6,
        steps,
        rtl_cycles as f64,
        useful as f64,
    );
    let elems_x: u64 = steps * r.layers.iter().map(|d| d.input_size as u64).sum::<u64>();
    let elems_h: u64 = steps * r.layers.iter().map(|d| d.hidden_size as u64).sum::<u64>();
    let (zero_wx, zero_wh) = design.weight_sparsity(0);
    let per_step = |c: u64| c as f64 / steps.max(1) as f64;
    let report = TestsetReport {
        dir: dir.clone(),
        top,
        weights_sha256: sha256_hex(
            &std::fs::read(weights)
                .with_context(|| format!("cannot read {}", weights.display()))?,
        ),
        cases: ts.x.len(),
        cases_passed: run.cases.iter().filter(|c| c.pass).count(),
        cases_differing,
        steps,
        outputs: sim.outputs,
        expected_outputs,
        mismatches: sim.mismatches,
        protocol_errors: sim.protocol_errors,
        seed: opts.seed,
        in_gap: opts.in_gap,
        out_stall: opts.out_stall,
        case_gap: opts.case_gap,
        t_upd: design.cycle_params[0].t_upd,
        rtl_cycles,
        model_cycles,
        rtl_cycles_per_step: per_step(rtl_cycles),
        model_cycles_per_step: per_step(model_cycles),
        step_cycle_mismatches,
        case_counter_mismatches,
        rtl_deltas,
        nnz_x,
        nnz_h,
        zero_dx: 1.0 - nnz_x as f64 / elems_x.max(1) as f64,
        zero_dh: 1.0 - nnz_h as f64 / elems_h.max(1) as f64,
        zero_wx,
        zero_wh,
        wall_cycles: sim.cycles,
        clock_mhz: r.config.target.clock_mhz,
        eff_gops: fig.eff_ops_per_s / 1e9,
        peak_gops: fig.peak_ops_per_s / 1e9,
        speedup_over_peak: fig.speedup_over_peak,
        mac_utilization: fig.mac_utilization,
        h_rtl,
        build_seconds: build.seconds,
        sim_seconds: sim.seconds,
        problems,
    };
    if let Some(p) = &opts.report {
        if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let tmp = p.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, p).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(report)
}
