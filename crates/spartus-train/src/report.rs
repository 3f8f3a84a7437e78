//! Evaluation report of one trained model: the accuracy table (float vs bit-exact golden,
//! dense vs CBTD vs CBTD + deltas), temporal and weight sparsity, predicted cycles; as JSON and
//! Markdown.

use crate::data::TsDataset;
use crate::eval::{float_eval, golden_eval, EvalStats};
use crate::export::{gen_config, AccelSpec, ExportError};
use crate::model::{Params, Pool};
use serde::{Deserialize, Serialize};
use spartus_model::config::Resolved;
use spartus_model::cycles::reference_t_upd;
use std::fmt::Write as _;

/// Evaluation errors.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Config could not be built.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Quantization / pruning failed.
    #[error(transparent)]
    Design(#[from] spartus_model::design::DesignError),
    /// Config did not resolve.
    #[error(transparent)]
    Config(#[from] spartus_model::config::ConfigError),
}

/// One row of the accuracy table: a parameter set evaluated at one (K, Θ) point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccRow {
    /// Row label.
    pub label: String,
    /// K_x used by the golden model (= R: dense).
    pub k_x: usize,
    /// K_h.
    pub k_h: usize,
    /// W_x sparsity 1 - K_x/R.
    pub sparsity_x: f64,
    /// W_h sparsity 1 - K_h/R.
    pub sparsity_h: f64,
    /// Θx on the Q8.8 grid (real units).
    pub theta_x: f64,
    /// Θh on the Q8.8 grid.
    pub theta_h: f64,
    /// Float64 model on the float parameters.
    pub float: EvalStats,
    /// Bit-exact golden model (int8 weights, Q8.8 activations, CBTD with K_x, K_h).
    pub golden: EvalStats,
    /// Fraction of zero entries in the quantized, pruned W_x / W_h (≥ the CBTD sparsity).
    pub zero_weights_x: f64,
    /// The same for W_h.
    pub zero_weights_h: f64,
}

/// Evaluate parameters at one accelerator point, float and golden.
pub fn eval_row(
    label: &str,
    p: &Params,
    a: &AccelSpec,
    test: &TsDataset,
    pool: Pool,
) -> Result<AccRow, ReportError> {
    let cfg = gen_config("eval", a, 1)?;
    let r: Resolved = cfg.resolve()?;
    let th_x = r.theta_x_q as f64 / 256.0;
    let th_h = r.theta_h_q as f64 / 256.0;
    let float = float_eval(p, test, th_x, th_h, pool);
    let (golden, _) = golden_eval(p, test, &r, pool)?;
    let (qnet, _) = crate::eval::quantized_net(p, &r)?;
    let zero = |w: &[i8]| w.iter().filter(|&&v| v == 0).count() as f64 / w.len() as f64;
    let d = &r.layers[0];
    Ok(AccRow {
        label: label.to_string(),
        k_x: d.k_x,
        k_h: d.k_h,
        sparsity_x: d.sparsity_x,
        sparsity_h: d.sparsity_h,
        theta_x: th_x,
        theta_h: th_h,
        float,
        golden,
        zero_weights_x: zero(&qnet.layers[0].wx),
        zero_weights_h: zero(&qnet.layers[0].wh),
    })
}

/// The whole report of one training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Dataset name.
    pub dataset: String,
    /// Training cases.
    pub train_cases: usize,
    /// Test cases (all rows are test-set figures).
    pub test_cases: usize,
    /// I.
    pub input_size: usize,
    /// H.
    pub hidden_size: usize,
    /// N.
    pub pe_count: usize,
    /// R = 4H/N.
    pub rows_per_pe: usize,
    /// Per-step overhead of the cycle figures in the rows (`golden.cycles`): the docs/arithmetic.md §6
    /// reference `T_upd = 4H/N`.
    pub t_upd: u64,
    /// The generated hardware's per-step overhead (`spartus_model::cycles::hw_t_upd`; `I + H + 19` when
    /// this was written). Cycles are linear in T_upd, so the hardware figure of a row is
    /// `cycles/step + (t_upd_hw - t_upd)`.
    pub t_upd_hw: u64,
    /// Pooling.
    pub pool: Pool,
    /// Rows: dense, CBTD, CBTD + Δ (and any extra rows).
    pub rows: Vec<AccRow>,
    /// Training wall time of all phases in seconds.
    pub train_seconds: f64,
    /// Evaluation wall time in seconds.
    pub eval_seconds: f64,
    /// The RTL's accuracy on the test set and the figures measured in Verilator (`train eval
    /// --rtl-h`, `--rtl-sim`); absent in reports written before the RTL was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtl: Option<RtlResult>,
}

/// The "(d) RTL" row: accuracy of the head on the h the generated Verilog produced in
/// Verilator for every test case, and what the simulation measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RtlResult {
    /// The RTL h file (`gen testset --h-out`).
    pub h: String,
    /// Accuracy counts on the RTL's h (cases, correct, steps; no delta counts).
    pub stats: EvalStats,
    /// Cases whose RTL h differs anywhere from the golden model's (required: 0).
    pub cases_differing: usize,
    /// What `gen testset --report` measured (None: only the h was given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<RtlSim>,
}

/// The figures of `gen testset --report` this report uses (that JSON has more keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RtlSim {
    /// SHA-256 of the weights the RTL was generated from.
    pub weights_sha256: String,
    /// Cases run.
    pub cases: usize,
    /// Cases the testbench passed bit-exact.
    pub cases_passed: usize,
    /// Σ T.
    pub steps: u64,
    /// Testbench seed.
    pub seed: u64,
    /// Input gap probability.
    pub in_gap: f64,
    /// Output stall probability.
    pub out_stall: f64,
    /// The hardware's T_upd in the cycle model.
    pub t_upd: u64,
    /// Σ stat_cycles (compute cycles counted by the RTL).
    pub rtl_cycles: u64,
    /// The cycle model's total.
    pub model_cycles: u64,
    /// Measured compute cycles per step.
    pub rtl_cycles_per_step: f64,
    /// Model cycles per step.
    pub model_cycles_per_step: f64,
    /// Steps whose stat_step_cycles differ from the model.
    pub step_cycle_mismatches: u64,
    /// Cases whose counters differ from the model.
    pub case_counter_mismatches: u64,
    /// Σ stat_deltas.
    pub rtl_deltas: u64,
    /// Golden nonzero Δx.
    pub nnz_x: u64,
    /// Golden nonzero Δh.
    pub nnz_h: u64,
    /// Zero Δx fraction.
    pub zero_dx: f64,
    /// Zero Δh fraction.
    pub zero_dh: f64,
    /// Zero W_x fraction (pruned int8).
    pub zero_wx: f64,
    /// Zero W_h fraction.
    pub zero_wh: f64,
    /// Testbench cycles including stalls, gaps and start_sequence inits.
    pub wall_cycles: u64,
    /// Clock (MHz) of the throughput figures.
    pub clock_mhz: f64,
    /// Dense-equivalent GOp/s over the measured compute cycles.
    pub eff_gops: f64,
    /// Peak 2·A·N·f GOp/s.
    pub peak_gops: f64,
    /// eff / peak.
    pub speedup_over_peak: f64,
    /// Useful MACs / (A·N · measured cycles).
    pub mac_utilization: f64,
}

impl EvalReport {
    /// The float-vs-golden-vs-RTL summary: (a) float dense, (b) float pruned, (c) golden
    /// (quantized + pruned + Δ), (d) RTL, and the measured hardware figures.
    pub fn rtl_markdown(&self) -> String {
        let mut s = String::new();
        let Some(rtl) = &self.rtl else {
            return s;
        };
        let dense = self.rows.first().filter(|r| r.label == "dense");
        let n = self.rows.len();
        let pruned = (n >= 2)
            .then(|| &self.rows[n - 2])
            .filter(|r| r.label != "dense");
        let last = self.rows.last();
        let _ = writeln!(
            s,
            "\n## Float → golden → RTL on the whole test set ({} cases)\n",
            rtl.stats.cases
        );
        let _ = writeln!(s, "| | model | arithmetic | test accuracy |");
        let _ = writeln!(s, "|---|---|---|---|");
        let acc = |st: &EvalStats| {
            format!(
                "{:.2}% ({}/{})",
                100.0 * st.accuracy(),
                st.correct,
                st.cases
            )
        };
        if let Some(r) = dense {
            let _ = writeln!(s, "| (a) | dense | float64 | {} |", acc(&r.float));
        }
        if let Some(r) = pruned {
            let _ = writeln!(s, "| (b) | {} | float64 | {} |", r.label, acc(&r.float));
        }
        if let Some(r) = last {
            let _ = writeln!(
                s,
                "| (c) | {} | golden: int8 weights, Q8.8, Θ on the Q8.8 grid (bit-exact model of docs/arithmetic.md) | {} |",
                r.label,
                acc(&r.golden)
            );
            let _ = writeln!(
                s,
                "| (d) | {} | emitted Verilog in Verilator | {} |",
                r.label,
                acc(&rtl.stats)
            );
        }
        let _ = writeln!(
            s,
            "\n(d) is the head applied to the h the RTL produced (`{}`); cases whose RTL h differs \
             from the golden h anywhere: **{}**.",
            rtl.h, rtl.cases_differing
        );
        if let Some(m) = &rtl.sim {
            let _ = writeln!(
                s,
                "\nVerilator run: {} cases back to back ({} steps), `start_sequence` between cases, \
                 random input gaps {} and output stalls {} (seed {}); {}/{} cases bit-exact.\n",
                m.cases, m.steps, m.in_gap, m.out_stall, m.seed, m.cases_passed, m.cases
            );
            let _ = writeln!(s, "| measured in the RTL | value |");
            let _ = writeln!(s, "|---|---|");
            let _ = writeln!(
                s,
                "| compute cycles/step (`stat_cycles`) | {:.1} (cycle model with hw T_upd = {}: {:.1}; steps differing: {}, cases differing: {}) |",
                m.rtl_cycles_per_step,
                m.t_upd,
                m.model_cycles_per_step,
                m.step_cycle_mismatches,
                m.case_counter_mismatches
            );
            let _ = writeln!(
                s,
                "| nonzero deltas (`stat_deltas`) | {} (golden Δx + Δh: {}) |",
                m.rtl_deltas,
                m.nnz_x + m.nnz_h
            );
            let _ = writeln!(
                s,
                "| temporal sparsity: zero Δx / zero Δh | {:.1}% / {:.1}% |",
                100.0 * m.zero_dx,
                100.0 * m.zero_dh
            );
            let _ = writeln!(
                s,
                "| weight sparsity: zero W_x / W_h (int8, pruned) | {:.2}% / {:.2}% |",
                100.0 * m.zero_wx,
                100.0 * m.zero_wh
            );
            let _ = writeln!(
                s,
                "| effective throughput at {} MHz (dense-equivalent ops) | {:.2} GOp/s vs dense peak {:.2} GOp/s = **{:.2}x** over peak |",
                m.clock_mhz, m.eff_gops, m.peak_gops, m.speedup_over_peak
            );
            let _ = writeln!(
                s,
                "| MAC utilization (useful MACs / (N · cycles)) | {:.1}% |",
                100.0 * m.mac_utilization
            );
            let _ = writeln!(
                s,
                "| testbench cycles incl. stalls, gaps, inits | {} ({:.1}/step) |",
                m.wall_cycles,
                m.wall_cycles as f64 / m.steps.max(1) as f64
            );
        }
        s
    }
}

impl EvalReport {
    /// Markdown: the accuracy table and the sparsity / cycle figures.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# {} — DeltaLSTM + CBTD classifier\n\nTest set: {} cases (train {}). LSTM I={}, H={}, head on {} h; \
             accelerator N={} PEs, R={} rows per PE. Golden = bit-exact integer model of docs/arithmetic.md \
             (int8 Q1.7 weights, Q8.8 activations, 4096-entry LUTs, RNE); head in f64 on h/256.\n",
            self.dataset,
            self.test_cases,
            self.train_cases,
            self.input_size,
            self.hidden_size,
            match self.pool {
                Pool::Last => "the last",
                Pool::Mean => "the mean",
            },
            self.pe_count,
            self.rows_per_pe
        );
        let _ = writeln!(
            s,
            "| model | K_x/K_h | W sparsity x/h | Θx/Θh | float acc | golden acc | zero Δx | zero Δh | cycles/step (T_upd={}) | cycles/step (hw T_upd={}) |",
            self.t_upd, self.t_upd_hw
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {}/{} | {:.2}%/{:.2}% | {}/{} | {:.2}% | {:.2}% | {:.1}% | {:.1}% | {:.1} | {:.1} |",
                r.label,
                r.k_x,
                r.k_h,
                100.0 * r.sparsity_x,
                100.0 * r.sparsity_h,
                r.theta_x,
                r.theta_h,
                100.0 * r.float.accuracy(),
                100.0 * r.golden.accuracy(),
                100.0 * r.golden.sparsity_x(),
                100.0 * r.golden.sparsity_h(),
                r.golden.cycles_per_step(),
                self.hw_cycles_per_step(r)
            );
        }
        let _ = writeln!(
            s,
            "\nzero Δx / Δh: fraction of suppressed deltas in the golden run (docs/arithmetic.md §3: Δ = 0 costs no \
             cycles; at Θ = 0 only unchanged values are zero, and Δh is always 0 at t = 0). \
             cycles/step: docs/arithmetic.md §6 model with M_arr = 1, K_x·nnz_x + K_h·nnz_h + T_upd, with the \
             docs/arithmetic.md §6 reference T_upd = 4H/N = {} and with the generated hardware's T_upd = {} \
             (Verilator measures the latter). Float accuracy with Θ > 0 uses the same \
             thresholds on float values.",
            self.t_upd, self.t_upd_hw
        );
        if let (Some(first), Some(last)) = (self.rows.first(), self.rows.last()) {
            let c0 = first.golden.cycles_per_step();
            let c1 = last.golden.cycles_per_step();
            if c1 > 0.0 {
                let _ = writeln!(
                    s,
                    "\nSpeedup of `{}` over `{}` (cycles/step): {:.1}x with the reference T_upd, \
                     {:.1}x with the hardware's. Measured zero weights after quantization: \
                     W_x {:.2}%, W_h {:.2}%.",
                    last.label,
                    first.label,
                    c0 / c1,
                    self.hw_cycles_per_step(first) / self.hw_cycles_per_step(last),
                    100.0 * last.zero_weights_x,
                    100.0 * last.zero_weights_h
                );
            }
        }
        s.push_str(&self.rtl_markdown());
        let _ = writeln!(
            s,
            "\nTraining {:.1} s, evaluation {:.1} s (this machine).",
            self.train_seconds, self.eval_seconds
        );
        s
    }
}

impl EvalReport {
    /// Cycles per step of a row with the hardware's T_upd instead of the reference one.
    pub fn hw_cycles_per_step(&self, r: &AccRow) -> f64 {
        r.golden.cycles_per_step() + self.t_upd_hw as f64 - self.t_upd as f64
    }
}

/// The generated hardware's T_upd for input size I and hidden size H
/// (`spartus_model::cycles::hw_t_upd`: I input cycles + 2 flush + 4 MAC-phase + H gate issue +
/// 13 gate latency = I + H + 19); `--t-upd-hw` overrides it.
pub fn default_hw_t_upd(input: usize, hidden: usize) -> u64 {
    spartus_model::cycles::hw_t_upd(input, hidden)
}

/// T_upd of the docs/arithmetic.md §6 reference for an accelerator shape.
pub fn reference_t_upd_for(a: &AccelSpec) -> Result<u64, ReportError> {
    let r = gen_config("eval", a, 1)?.resolve()?;
    Ok(reference_t_upd(&r.layers[0]))
}
