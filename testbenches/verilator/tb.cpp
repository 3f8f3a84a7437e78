// tb.cpp - the one generic Verilator testbench for every spartus-gen configuration.
//
// Contract: docs/interfaces.md ("Top-level ports" and "Testbench protocol").
// Build (from hdl_out/<name>/):
//   verilator --cc rtl/<top>.v --top-module <top> --exe <abs>/tb.cpp --build -j 2 -O3
//             --prefix Vtop -Mdir sim/obj -o tb
// Run (from hdl_out/<name>/):
//   sim/obj/tb +vectors=vectors +seed=1 +in_gap=0.2 +out_stall=0.3 +max_cycles=1000000
//              +result=sim/result.txt
//
// Plusargs (all optional; defaults in brackets):
//   +vectors=DIR      folder with params.txt, x_q.hex, h_q.hex                  [vectors]
//   +seed=S           PRNG seed (64-bit); the run is a pure function of it        [1]
//   +in_gap=P         probability in [0,1) that the TB leaves in_valid low in a
//                     cycle in which it has an input to offer                     [0]
//   +out_stall=P      probability in [0,1) that out_ready is low in a cycle       [0]
//   +max_cycles=N     all T*H outputs must have been accepted within N cycles     [10000000]
//   +result=FILE      result file (its folder must exist)                         [sim/result.txt]
//   +drain=N          after the last output: up to N more cycles (out_ready=1) to
//                     wait for stat_steps to reach T and to catch extra outputs   [1000]
//   +check_comb=N     in the first N cycles, check that in_ready does not depend
//                     combinationally on in_valid, nor out_valid on out_ready
//                     (two extra evals per cycle; 0 = off)                       [1000000]
//   +max_report=N     print at most N mismatches / protocol errors each          [10]
//   +trace=FILE       VCD trace (only when built with --trace)                    [off]
//   +verilator+...    passed to Verilator (e.g. +verilator+rand+reset+2)
//   +dut_...          left to the design's own $value$plusargs (test hooks)
//
// Mid-run restart (all off unless +restart_after or +restart_after_outputs is given):
//   +restart_after=K          arm the restart once K inputs of the first sequence (A)
//                             have been accepted, 0 <= K <= T_A*I
//   +restart_after_outputs=M  arm it once M outputs of A have been accepted instead,
//                             0 <= M <= T_A*H (M = T_A*H, delay 0: back-to-back sequences)
//   +restart_delay=D          once armed, wait d cycles, d uniform in [0, D] (own PRNG
//                             stream of +seed), then pulse                          [0]
//   +restart_kind=start|reset pulse start_sequence or reset                        [start]
//   +restart_len=N            the pulse lasts N cycles (>= 1)                        [1]
//   +vectors2=DIR             vectors of the second sequence (B): same I, H, layers;
//                             T may differ                                          [= +vectors]
// Until the pulse the TB streams A (inputs with gaps, outputs with stalls) exactly as in a
// plain run, also during the pulse cycles. Every transfer up to and including the last
// pulse edge belongs to A: A's outputs must match A's h_q.hex from its start (a prefix of A;
// fewer than T_A*H is fine, more is a protocol error). An input offered when the pulse ends
// is withdrawn (the restart abandons it). From the cycle after the pulse the TB streams B
// from its first input and compares B's outputs with B's h_q.hex from reset; the run passes
// only if all T_B*H outputs of B match and A's prefix matched. The counters are
// checked relative to their values right after the pulse: `stat_cycles`, `stat_deltas`,
// `steps` and the `step` lines of the result file are B's (for reset, the counters must be
// 0 right after the pulse - a protocol error otherwise).
//
// Multi-case mode (off unless +cases is given; exclusive with the restart options):
//   +cases=FILE       one sequence length T_c per line (blank lines ignored); x_q.hex and
//                     h_q.hex of +vectors hold the cases back to back, so params.txt's
//                     timesteps must equal the sum of the T_c (the `train vectors` layout:
//                     FILE = seq_lens.txt)
//   +case_gap=D       between two cases wait d cycles, d uniform in [0, D] (own PRNG
//                     stream of +seed), before the start_sequence pulse              [0]
// Case c streams only its own T_c*I inputs (random gaps) and accepts its T_c*H outputs
// (random stalls), compared bit-exact with its part of h_q.hex. Once all its outputs were
// accepted the TB waits until stat_steps has counted the case's T_c steps (at most +drain
// cycles; a protocol error otherwise), then the optional gap, then pulses start_sequence
// for one cycle with in_valid low, so the next case starts from the zero state exactly like
// the golden model (the first case starts from reset). An output of case c after its T_c*H
// is a protocol error. The counters are not cleared by start_sequence: each case's figures
// are the differences of the raw counters between its start and its pulse decision, so they
// add up to the run's totals. Result file: the usual keys over the whole run (timesteps =
// ΣT_c, `step` lines indexed by global step ΣT_<c + t), plus `cases N`, `cases_passed N`
// and one line per case:
//   case c T_c pass mismatches outputs stat_cycles stat_deltas steps start_cycle end_cycle
// (pass 1 = all T_c*H outputs matched and steps = T_c; start_cycle = first cycle after
// the previous case's pulse (0 for case 0), end_cycle = cycle of its last output).
//
// RTL output dump (any mode): +h_out=FILE writes every output of the (final) sequence the TB
// accepted, in order, one 4-digit hex word per line (the layout of h_q.hex and of
// `train eval --rtl-h`); written even when the run fails, so a failing case can be inspected.
//
// Clocking: every cycle the TB sets its inputs with clock low and evaluates (the
// negedge-equivalent point, so TB inputs never race the DUT's posedge logic), samples
// the handshakes (valid & ready), then raises the clock and evaluates. Cycle n is the
// n-th rising edge after reset was released; a transfer "at cycle n" happens on edge n.
//
// Result file: `key value` lines, then one `step t compute_cycles end_cycle` line per
// step t = 0..T-1 (compute_cycles = stat_step_cycles seen when stat_steps became t+1,
// end_cycle = cycle of the handshake of step t's last output; -1 when never seen).
// Keys: pass, mismatches (all, A's prefix included), outputs, expected_outputs,
// extra_outputs, inputs, cycles, stat_cycles, stat_deltas, steps, protocol_errors, timeout,
// seed, in_gap, out_stall, max_cycles, timesteps, input_size, output_size, layers (of the
// final sequence: B when restarting). With a restart also: restart_kind, restart_cycle
// (edge of the first pulse cycle), restart_inputs / restart_outputs / restart_mismatches
// (A's transfers and mismatches), restart_stat_cycles / restart_stat_deltas /
// restart_steps (raw counters right after the pulse), restart_step_cycles (A's
// stat_step_cycles per completed step, comma-separated, `-` when none).
//
// Exit code: 0 = every output matched and all T*H arrived within max_cycles and no
// protocol rule was broken; 1 = the DUT failed; 2 = the TB could not run (bad
// plusarg, missing or malformed vector file, result file not writable).

#include "Vtop.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_vcd_c.h"
#endif

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int EXIT_PASS = 0;
constexpr int EXIT_FAIL = 1;
constexpr int EXIT_SETUP = 2;

[[noreturn]] void setup_error(const char* fmt, const std::string& a, const std::string& b = "") {
    std::fprintf(stderr, "tb: error: ");
    std::fprintf(stderr, fmt, a.c_str(), b.c_str());
    std::fprintf(stderr, "\n");
    std::exit(EXIT_SETUP);
}

// ---------------------------------------------------------------------------------------
// Deterministic PRNG: splitmix64 to seed, xorshift64* to draw. Independent streams for
// the input side, the output side, the don't-care input data and the restart delay, so
// changing out_stall does not change the input gap pattern and vice versa, and a run
// without a restart is the same as before the restart option existed.
struct Rng {
    uint64_t s;
    static uint64_t splitmix(uint64_t& x) {
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    Rng(uint64_t seed, uint64_t stream) {
        uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
        s = splitmix(x);
        if (s == 0) s = 1;
    }
    uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
    }
    // true with probability p (p = 0 never draws true, and still advances the stream)
    bool chance(double p) { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0) < p; }
};

// ---------------------------------------------------------------------------------------
struct Args {
    std::string vectors = "vectors";
    uint64_t seed = 1;
    double in_gap = 0.0;
    double out_stall = 0.0;
    uint64_t max_cycles = 10000000;
    std::string result = "sim/result.txt";
    uint64_t drain = 1000;
    uint64_t check_comb = 1000000;
    uint64_t max_report = 10;
    std::string trace;
    // restart
    bool restart = false;
    bool restart_on_outputs = false;  // trigger counts A's outputs (else A's inputs)
    uint64_t restart_after = 0;
    uint64_t restart_delay = 0;
    bool restart_reset = false;  // pulse reset instead of start_sequence
    uint64_t restart_len = 1;
    std::string vectors2;
    bool restart_option_seen = false;  // any +restart_* / +vectors2 besides the trigger
    // multi-case mode
    std::string cases;
    uint64_t case_gap = 0;
    bool case_gap_seen = false;
    // RTL output dump
    std::string h_out;
};

uint64_t parse_u64(const std::string& key, const std::string& v) {
    if (v.empty()) setup_error("+%s= needs a value", key);
    char* end = nullptr;
    errno = 0;
    unsigned long long x = std::strtoull(v.c_str(), &end, 0);
    if (errno != 0 || *end != '\0' || v[0] == '-') setup_error("+%s=%s is not an unsigned integer", key, v);
    return static_cast<uint64_t>(x);
}

double parse_prob(const std::string& key, const std::string& v) {
    char* end = nullptr;
    errno = 0;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || errno != 0 || *end != '\0' || !(x >= 0.0 && x < 1.0))
        setup_error("+%s=%s must be a probability in [0, 1)", key, v);
    return x;
}

Args parse_args(int argc, char** argv) {
    Args a;
    bool trig_in = false, trig_out = false;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        if (s.rfind("+verilator+", 0) == 0) continue;  // handled by Verilator
        if (s.rfind("+dut_", 0) == 0) continue;        // for the design's $value$plusargs
        if (s.size() < 2 || s[0] != '+') setup_error("unexpected argument '%s' (plusargs look like +key=value)", s);
        size_t eq = s.find('=');
        std::string key = s.substr(1, eq == std::string::npos ? std::string::npos : eq - 1);
        std::string val = eq == std::string::npos ? "" : s.substr(eq + 1);
        if (key == "vectors") a.vectors = val;
        else if (key == "seed") a.seed = parse_u64(key, val);
        else if (key == "in_gap") a.in_gap = parse_prob(key, val);
        else if (key == "out_stall") a.out_stall = parse_prob(key, val);
        else if (key == "max_cycles") a.max_cycles = parse_u64(key, val);
        else if (key == "result") a.result = val;
        else if (key == "drain") a.drain = parse_u64(key, val);
        else if (key == "check_comb") a.check_comb = parse_u64(key, val);
        else if (key == "max_report") a.max_report = parse_u64(key, val);
        else if (key == "trace") a.trace = val;
        else if (key == "restart_after") {
            a.restart_after = parse_u64(key, val);
            trig_in = true;
        } else if (key == "restart_after_outputs") {
            a.restart_after = parse_u64(key, val);
            trig_out = true;
        } else if (key == "restart_delay") {
            a.restart_delay = parse_u64(key, val);
            a.restart_option_seen = true;
        } else if (key == "restart_len") {
            a.restart_len = parse_u64(key, val);
            if (a.restart_len == 0) setup_error("+%s=%s must be at least 1", key, val);
            a.restart_option_seen = true;
        } else if (key == "restart_kind") {
            if (val == "start") a.restart_reset = false;
            else if (val == "reset") a.restart_reset = true;
            else setup_error("+%s=%s must be start or reset", key, val);
            a.restart_option_seen = true;
        } else if (key == "vectors2") {
            a.vectors2 = val;
            a.restart_option_seen = true;
        } else if (key == "cases") {
            a.cases = val;
        } else if (key == "case_gap") {
            a.case_gap = parse_u64(key, val);
            a.case_gap_seen = true;
        } else if (key == "h_out") {
            a.h_out = val;
        } else setup_error("unknown plusarg '%s'%s", s);
        if ((key == "vectors" || key == "result" || key == "vectors2" || key == "cases" || key == "h_out") &&
            val.empty())
            setup_error("+%s= needs a value", key);
    }
    if (trig_in && trig_out) setup_error("+%s and +%s are exclusive", "restart_after", "restart_after_outputs");
    a.restart = trig_in || trig_out;
    a.restart_on_outputs = trig_out;
    if (a.restart_option_seen && !a.restart)
        setup_error("+restart_delay, +restart_len, +restart_kind and +vectors2 need +%s or +%s", "restart_after",
                    "restart_after_outputs");
    if (a.vectors2.empty()) a.vectors2 = a.vectors;
    if (!a.cases.empty() && a.restart) setup_error("+cases cannot be combined with +%s%s", "restart_after*", "");
    if (a.case_gap_seen && a.cases.empty()) setup_error("+case_gap needs +%s%s", "cases", "");
    return a;
}

// ---------------------------------------------------------------------------------------
// Vector files.
std::map<std::string, std::string> read_params(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) setup_error("cannot open %s: %s", path, std::strerror(errno));
    std::map<std::string, std::string> kv;
    char line[1024];
    while (std::fgets(line, sizeof line, f)) {
        char key[256], val[512];
        if (line[0] == '#') continue;
        if (std::sscanf(line, "%255s %511s", key, val) == 2) kv[key] = val;
    }
    std::fclose(f);
    return kv;
}

uint64_t param(const std::map<std::string, std::string>& kv, const std::string& file, const std::string& key) {
    auto it = kv.find(key);
    if (it == kv.end()) setup_error("%s: missing key '%s'", file, key);
    return parse_u64(key, it->second);
}

// One 16-bit hex word per line; blank lines are ignored; anything else is an error.
std::vector<uint16_t> read_hex16(const std::string& path, uint64_t expected) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) setup_error("cannot open %s: %s", path, std::strerror(errno));
    std::vector<uint16_t> v;
    char line[256];
    unsigned lineno = 0;
    while (std::fgets(line, sizeof line, f)) {
        ++lineno;
        char* p = line;
        while (*p == ' ' || *p == '\t') ++p;
        if (*p == '\n' || *p == '\r' || *p == '\0') continue;
        char* end = nullptr;
        unsigned long x = std::strtoul(p, &end, 16);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') ++end;
        if (end == p || *end != '\0' || x > 0xFFFFul) {
            std::fclose(f);
            setup_error("%s: line %s is not a 16-bit hex word", path, std::to_string(lineno));
        }
        v.push_back(static_cast<uint16_t>(x));
    }
    std::fclose(f);
    if (v.size() != expected)
        setup_error("%s: wrong number of words (%s)", path,
                    std::to_string(v.size()) + " found, " + std::to_string(expected) + " expected");
    return v;
}

// One sequence: its sizes, inputs and expected outputs.
struct Seq {
    uint64_t T = 0, I = 0, H = 0, L = 0;
    std::vector<uint16_t> x, h;
};

Seq load_seq(const std::string& dir) {
    Seq q;
    const std::string pfile = dir + "/params.txt";
    auto kv = read_params(pfile);
    q.T = param(kv, pfile, "timesteps");
    q.I = param(kv, pfile, "input_size");
    q.H = param(kv, pfile, "output_size");
    q.L = kv.count("layers") ? param(kv, pfile, "layers") : 1;
    if (q.T == 0 || q.I == 0 || q.H == 0) setup_error("%s: timesteps, input_size, output_size must be > 0", pfile);
    q.x = read_hex16(dir + "/x_q.hex", q.T * q.I);
    q.h = read_hex16(dir + "/h_q.hex", q.T * q.H);
    return q;
}

// One positive decimal sequence length per line; blank lines are ignored.
std::vector<uint64_t> read_cases(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) setup_error("cannot open %s: %s", path, std::strerror(errno));
    std::vector<uint64_t> v;
    char line[256];
    unsigned lineno = 0;
    while (std::fgets(line, sizeof line, f)) {
        ++lineno;
        char* p = line;
        while (*p == ' ' || *p == '\t') ++p;
        if (*p == '\n' || *p == '\r' || *p == '\0') continue;
        char* end = nullptr;
        errno = 0;
        unsigned long long x = std::strtoull(p, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') ++end;
        if (end == p || *end != '\0' || errno != 0 || x == 0 || *p == '-') {
            std::fclose(f);
            setup_error("%s: line %s is not a sequence length >= 1", path, std::to_string(lineno));
        }
        v.push_back(x);
    }
    std::fclose(f);
    if (v.empty()) setup_error("%s: no cases%s", path);
    return v;
}

// ---------------------------------------------------------------------------------------
struct StepRec {
    int64_t compute_cycles = -1;  // stat_step_cycles when stat_steps became t+1
    int64_t end_cycle = -1;       // cycle of the handshake of the step's last output
};

// Where a run is: streaming the only / final sequence, streaming A before the restart,
// or inside the restart pulse (still A).
enum class Phase { Final, BeforeRestart, Pulse };

struct Harness {
    Args args;
    Seq seq_a, seq_b;
    Seq* cur = nullptr;  // the sequence being streamed and compared now
    Phase phase = Phase::Final;

    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vtop> top;
#if VM_TRACE
    std::unique_ptr<VerilatedVcdC> tfp;
#endif
    uint64_t cycle = 0;  // rising edges since reset was released

    uint64_t mismatches = 0;  // all sequences
    uint64_t protocol_errors = 0;
    uint64_t outputs = 0;  // of the current sequence
    uint64_t inputs = 0;   // of the current sequence
    uint64_t last_output_cycle = 0;
    bool timeout = false;
    std::vector<StepRec> steps;  // of the final sequence

    // restart bookkeeping
    bool armed = false;
    uint64_t delay_left = 0;
    uint64_t pulse_left = 0;
    uint64_t restart_cycle = 0;
    uint64_t restart_inputs = 0, restart_outputs = 0, restart_mismatches = 0;
    uint32_t base_cycles = 0, base_deltas = 0, base_steps = 0;  // counters right after the pulse
    std::vector<int64_t> a_step_cycles;                         // A's steps seen before/at the pulse

    // multi-case bookkeeping (+cases)
    struct CaseRec {
        uint64_t T = 0;
        uint64_t mismatches = 0, outputs = 0;
        uint32_t stat_cycles = 0, stat_deltas = 0, steps = 0;
        uint64_t start_cycle = 0, end_cycle = 0;
        bool closed = false;
    };
    bool cases_mode = false;
    std::vector<CaseRec> cases;
    size_t ci = 0;                           // current case
    uint64_t case_in_end = 0, case_out_end = 0;  // global input / output index after case ci
    uint64_t case_step0 = 0;                 // global index of case ci's first step
    uint32_t case_base_cycles = 0, case_base_deltas = 0, case_base_steps = 0;
    uint64_t case_wait = 0;      // cycles waited for the case's steps to complete
    bool case_settled = false;   // its steps completed (or the wait gave up)
    uint64_t case_gap_left = 0;  // random gap before the pulse
    std::vector<uint16_t> h_dump;  // outputs of the final sequence, for +h_out

    bool case_passed(const CaseRec& c) const {
        return c.closed && c.mismatches == 0 && c.outputs == c.T * seq_a.H && c.steps == c.T;
    }
    // Record the figures of case ci from the raw counters now (its pulse decision / the end).
    void close_case() {
        CaseRec& c = cases[ci];
        c.stat_cycles = static_cast<uint32_t>(top->stat_cycles) - case_base_cycles;
        c.stat_deltas = static_cast<uint32_t>(top->stat_deltas) - case_base_deltas;
        c.steps = static_cast<uint32_t>(top->stat_steps) - case_base_steps;
        c.closed = true;
    }
    // Move on to case ci + 1 (after its pulse); the raw counters now are its base.
    void open_next_case() {
        case_step0 += cases[ci].T;
        ++ci;
        case_base_cycles = top->stat_cycles;
        case_base_deltas = top->stat_deltas;
        case_base_steps = top->stat_steps;
        last_steps = case_base_steps;
        case_in_end += cases[ci].T * seq_a.I;
        case_out_end += cases[ci].T * seq_a.H;
        case_wait = 0;
        case_settled = false;
        cases[ci].start_cycle = cycle;
    }

    void dump() {
#if VM_TRACE
        if (tfp) tfp->dump(ctx->time());
#endif
    }
    void eval_low() {  // clock low: settle combinational logic for the current inputs
        top->clock = 0;
        top->eval();
    }
    void rise() {
        ctx->timeInc(1);
        dump();
        top->clock = 1;
        top->eval();
        ctx->timeInc(1);
        dump();
    }
    void protocol(const char* fmt, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
        if (protocol_errors++ < args.max_report) {
            std::printf("tb: PROTOCOL cycle %" PRIu64 ": ", cycle + 1);
            std::printf(fmt, a, b, c);
            std::printf("\n");
        }
    }

    // Sample stat_steps after a rising edge; record the step's compute cycles.
    uint32_t last_steps = 0;
    void sample_stats() {
        uint32_t s = top->stat_steps;
        if (s == last_steps) return;
        if (phase == Phase::Pulse) {
            // A step of A may complete on the pulse edge; a reset clears the counter.
            if (!args.restart_reset && s == last_steps + 1) a_step_cycles.push_back(top->stat_step_cycles);
            last_steps = s;
            return;
        }
        if (s != last_steps + 1)
            protocol("stat_steps went from %" PRIu64 " to %" PRIu64 " (must count up by one)", last_steps, s);
        if (cases_mode) {
            const uint32_t rel_c = s - case_base_steps;
            if (rel_c >= 1 && rel_c <= cases[ci].T)
                steps[case_step0 + rel_c - 1].compute_cycles = top->stat_step_cycles;
            else
                protocol("case %" PRIu64 ": stat_steps counted %" PRIu64 " steps, T = %" PRIu64, ci, rel_c, cases[ci].T);
            last_steps = s;
            return;
        }
        const uint32_t rel = s - base_steps;
        if (phase == Phase::BeforeRestart) {
            if (rel > seq_a.T)
                protocol("stat_steps = %" PRIu64 " exceeds T = %" PRIu64 " of the first sequence", rel, seq_a.T);
            else
                a_step_cycles.push_back(top->stat_step_cycles);
        } else if (rel >= 1 && rel <= cur->T) {
            steps[rel - 1].compute_cycles = top->stat_step_cycles;
        } else if (rel > cur->T) {
            protocol("stat_steps = %" PRIu64 " exceeds T = %" PRIu64, rel, cur->T);
        }
        last_steps = s;
    }

    // The pulse is over: from now on the TB streams sequence B.
    void switch_to_b() {
        restart_inputs = inputs;
        restart_outputs = outputs;
        base_cycles = top->stat_cycles;
        base_deltas = top->stat_deltas;
        base_steps = top->stat_steps;
        last_steps = base_steps;
        if (args.restart_reset && (base_cycles != 0 || base_deltas != 0 || base_steps != 0))
            protocol("counters not cleared by reset: stat_cycles %" PRIu64 ", stat_deltas %" PRIu64
                     ", stat_steps %" PRIu64,
                     base_cycles, base_deltas, base_steps);
        cur = &seq_b;
        inputs = 0;
        outputs = 0;
        phase = Phase::Final;
    }

    int run(int argc, char** argv) {
        args = parse_args(argc, argv);
        seq_a = load_seq(args.vectors);
        if (args.restart) {
            seq_b = load_seq(args.vectors2);
            if (seq_b.I != seq_a.I || seq_b.H != seq_a.H || seq_b.L != seq_a.L)
                setup_error("%s: input_size, output_size and layers must equal those of %s", args.vectors2,
                            args.vectors);
            const uint64_t limit = args.restart_on_outputs ? seq_a.T * seq_a.H : seq_a.T * seq_a.I;
            if (args.restart_after > limit)
                setup_error("+restart_after%s exceeds the transfers of the first sequence (%s)",
                            args.restart_on_outputs ? "_outputs" : "", std::to_string(limit));
            phase = Phase::BeforeRestart;
        }
        cur = &seq_a;
        const Seq& fin = args.restart ? seq_b : seq_a;
        steps.assign(fin.T, StepRec{});
        if (!args.cases.empty()) {
            cases_mode = true;
            uint64_t sum = 0;
            for (uint64_t t : read_cases(args.cases)) {
                CaseRec c;
                c.T = t;
                cases.push_back(c);
                sum += t;
            }
            if (sum != seq_a.T)
                setup_error("%s: the sequence lengths add up to %s", args.cases,
                            std::to_string(sum) + ", but timesteps in " + args.vectors +
                                "/params.txt is " + std::to_string(seq_a.T));
            case_in_end = cases[0].T * seq_a.I;
            case_out_end = cases[0].T * seq_a.H;
        }
        FILE* hf = nullptr;
        if (!args.h_out.empty()) {
            hf = std::fopen(args.h_out.c_str(), "w");
            if (!hf) setup_error("cannot write %s: %s", args.h_out, std::strerror(errno));
        }

        // Check that the result file can be written before spending time simulating.
        FILE* rf = std::fopen(args.result.c_str(), "w");
        if (!rf) setup_error("cannot write result file %s: %s", args.result, std::strerror(errno));

        ctx.reset(new VerilatedContext);
        ctx->commandArgs(argc, argv);
#if VM_TRACE
        if (!args.trace.empty()) ctx->traceEverOn(true);  // before the model is built
#endif
        top.reset(new Vtop{ctx.get(), "top"});
#if VM_TRACE
        if (!args.trace.empty()) {
            tfp.reset(new VerilatedVcdC);
            top->trace(tfp.get(), 99);
            tfp->open(args.trace.c_str());
        }
#else
        if (!args.trace.empty()) std::fprintf(stderr, "tb: warning: +trace ignored (build with --trace)\n");
#endif
        Rng rin(args.seed, 1), rout(args.seed, 2), rdata(args.seed, 3), rrestart(args.seed, 4), rcase(args.seed, 5);

        // Reset: 2 cycles.
        top->clock = 0;
        top->reset = 1;
        top->start_sequence = 0;
        top->in_valid = 0;
        top->in_data = 0;
        top->out_ready = 0;
        eval_low();
        dump();
        for (int i = 0; i < 2; ++i) {
            rise();
            eval_low();
        }
        top->reset = 0;
        last_steps = top->stat_steps;
        if (last_steps != 0) protocol("stat_steps = %" PRIu64 " right after reset", last_steps);

        bool offering = false;        // the TB asserts in_valid (and must hold it until accepted)
        bool prev_out_valid = false;  // DUT side, previous cycle
        bool prev_out_fire = false;
        bool prev_pulse = false;  // the previous cycle was a restart pulse cycle
        uint16_t prev_out_data = 0;
        uint64_t drain_cycles = 0;
        bool dep_in_reported = false, dep_out_reported = false;

        while (!ctx->gotFinish()) {
            const uint64_t n_out = cur->T * cur->H;
            // inputs the TB may offer now: all of the sequence, or only the current case's
            const uint64_t n_in = cases_mode ? case_in_end : cur->T * cur->I;
            const bool last_case = !cases_mode || ci + 1 == cases.size();
            const bool done = phase == Phase::Final && last_case && outputs >= n_out;
            if (!done && cycle >= args.max_cycles) {
                timeout = true;
                break;
            }
            if (done) {
                const bool steps_done = cases_mode ? last_steps - case_base_steps >= cases[ci].T
                                                   : last_steps - base_steps >= cur->T;
                if (drain_cycles >= args.drain) break;
                if (drain_cycles >= 16 && steps_done) break;
                ++drain_cycles;
            }

            // ---- multi-case schedule: pulse start_sequence between cases ----
            bool case_pulse = false;
            if (cases_mode && !last_case && outputs >= case_out_end) {
                if (!case_settled) {
                    if (last_steps - case_base_steps >= cases[ci].T) {
                        case_settled = true;
                    } else if (case_wait >= args.drain) {
                        protocol("case %" PRIu64 ": stat_steps counted %" PRIu64
                                 " steps %" PRIu64 " cycles after its last output",
                                 ci, last_steps - case_base_steps, case_wait);
                        case_settled = true;
                    } else {
                        ++case_wait;
                    }
                    if (case_settled)
                        case_gap_left = args.case_gap == 0 ? 0 : rcase.next() % (args.case_gap + 1);
                }
                if (case_settled) {
                    if (case_gap_left == 0) {
                        case_pulse = true;
                        close_case();
                    } else {
                        --case_gap_left;
                    }
                }
            }

            // ---- restart schedule ----
            if (phase == Phase::BeforeRestart) {
                if (!armed && (args.restart_on_outputs ? outputs : inputs) >= args.restart_after) {
                    armed = true;
                    delay_left = args.restart_delay == 0 ? 0 : rrestart.next() % (args.restart_delay + 1);
                }
                if (armed) {
                    if (delay_left == 0) {
                        phase = Phase::Pulse;
                        pulse_left = args.restart_len;
                        restart_cycle = cycle + 1;
                    } else {
                        --delay_left;
                    }
                }
            }
            const bool pulse = phase == Phase::Pulse || case_pulse;

            // ---- drive inputs with the clock low ----
            if (!offering && inputs < n_in) offering = !rin.chance(args.in_gap);
            const bool ready = done ? true : !rout.chance(args.out_stall);
            const uint16_t junk = static_cast<uint16_t>(rdata.next());
            top->start_sequence = pulse && !args.restart_reset;  // (case pulses: in_valid is low)
            top->reset = pulse && args.restart_reset;
            top->in_valid = offering;
            // When not offering, in_data carries junk: the DUT must not look at it.
            top->in_data = offering ? cur->x[inputs] : junk;
            top->out_ready = ready;

            if (cycle < args.check_comb) {
                // in_ready must not depend on in_valid; out_valid not on out_ready. Flip one
                // input at a time: other combinational paths (e.g. in_ready from out_ready)
                // are allowed.
                top->in_valid = !offering;
                eval_low();
                const bool ir_alt = top->in_ready;
                top->in_valid = offering;
                top->out_ready = !ready;
                eval_low();
                const bool ov_alt = top->out_valid;
                top->out_ready = ready;
                eval_low();
                if (ir_alt != static_cast<bool>(top->in_ready) && !dep_in_reported) {
                    dep_in_reported = true;
                    protocol("in_ready depends combinationally on in_valid (in_valid=%" PRIu64 ")", offering);
                }
                if (ov_alt != static_cast<bool>(top->out_valid) && !dep_out_reported) {
                    dep_out_reported = true;
                    protocol("out_valid depends combinationally on out_ready (out_ready=%" PRIu64 ")", ready);
                }
            } else {
                eval_low();
            }

            // ---- sample handshakes (what the rising edge will see) ----
            const bool in_fire = offering && top->in_ready;
            const bool out_valid = top->out_valid;
            const uint16_t out_data = top->out_data;
            const bool out_fire = out_valid && ready;

            // DUT producer rules: once out_valid is high it stays high with stable data
            // until the handshake (a restart pulse may drop it: it empties the DUT).
            if (prev_out_valid && !prev_out_fire && !prev_pulse) {
                if (!out_valid)
                    protocol("out_valid dropped without a handshake (out_data was 0x%04" PRIx64 ")", prev_out_data);
                else if (out_data != prev_out_data)
                    protocol("out_data changed from 0x%04" PRIx64 " to 0x%04" PRIx64 " while stalled", prev_out_data,
                             out_data);
            }
            prev_out_valid = out_valid;
            prev_out_fire = out_fire;
            prev_out_data = out_data;
            prev_pulse = pulse;

            // ---- rising edge ----
            rise();
            ++cycle;
            if (out_fire) {
                const bool final_seq = phase == Phase::Final;
                if (cases_mode && outputs >= case_out_end && outputs < n_out) {
                    protocol("case %" PRIu64 ": extra output (0x%04" PRIx64 ") after its T*H outputs, before the "
                             "start_sequence pulse",
                             ci, out_data);
                } else if (outputs < n_out) {
                    const uint64_t t = outputs / cur->H, k = outputs % cur->H;
                    const uint16_t exp = cur->h[outputs];
                    if (out_data != exp) {
                        if (mismatches < args.max_report)
                            std::printf("tb: MISMATCH %st=%" PRIu64 " k=%" PRIu64
                                        " got=%d (0x%04x) expected=%d (0x%04x) at cycle %" PRIu64 "\n",
                                        final_seq ? "" : "(sequence A, before the restart) ", t, k,
                                        static_cast<int>(static_cast<int16_t>(out_data)), out_data,
                                        static_cast<int>(static_cast<int16_t>(exp)), exp, cycle);
                        ++mismatches;
                        if (!final_seq) ++restart_mismatches;
                        if (cases_mode) ++cases[ci].mismatches;
                    }
                    if (final_seq) h_dump.push_back(out_data);
                    if (cases_mode) {
                        ++cases[ci].outputs;
                        cases[ci].end_cycle = cycle;
                    }
                    if (final_seq) {
                        if (k == cur->H - 1) steps[t].end_cycle = static_cast<int64_t>(cycle);
                        last_output_cycle = cycle;
                    }
                } else {
                    protocol("extra output #%" PRIu64 " (0x%04" PRIx64 ") after all T*H were received", outputs + 1,
                             out_data);
                }
                if (!(cases_mode && outputs >= case_out_end && outputs < n_out)) ++outputs;
            }
            if (in_fire) {
                ++inputs;
                offering = false;
            }
            sample_stats();
            if (case_pulse) {
                open_next_case();
            } else if (pulse && --pulse_left == 0) {
                switch_to_b();
                offering = false;  // an input still offered belongs to the abandoned sequence
            }
            eval_low();
        }
        if (cases_mode && !cases[ci].closed) close_case();

        const Seq& q = *cur;
        const uint64_t n_out = q.T * q.H;
        const bool final_reached = phase == Phase::Final;
        const bool all_out = final_reached && outputs >= n_out;
        uint64_t cases_passed = 0;
        for (const CaseRec& c : cases) cases_passed += case_passed(c);
        const bool pass = all_out && mismatches == 0 && protocol_errors == 0 && !timeout &&
                          cases_passed == cases.size();
        const uint64_t cycles = all_out ? last_output_cycle : cycle;
        const uint64_t out_final = final_reached ? std::min(outputs, n_out) : 0;
        const uint64_t in_final = final_reached ? inputs : 0;
        if (!final_reached) {
            // Timed out before the restart: A's transfers so far are the restart_* figures.
            restart_inputs = inputs;
            restart_outputs = outputs;
        }
        const uint32_t steps_b = static_cast<uint32_t>(top->stat_steps) - base_steps;
        if (mismatches > args.max_report)
            std::printf("tb: ... %" PRIu64 " mismatches in total\n", mismatches);
        if (protocol_errors > args.max_report)
            std::printf("tb: ... %" PRIu64 " protocol errors in total\n", protocol_errors);
        if (steps_b != fin.T)
            std::printf("tb: warning: stat_steps = %u at the end, expected T = %" PRIu64 "\n", steps_b, fin.T);

        std::fprintf(rf, "pass %d\n", pass ? 1 : 0);
        std::fprintf(rf, "mismatches %" PRIu64 "\n", mismatches);
        std::fprintf(rf, "outputs %" PRIu64 "\n", out_final);
        std::fprintf(rf, "expected_outputs %" PRIu64 "\n", fin.T * fin.H);
        std::fprintf(rf, "extra_outputs %" PRIu64 "\n", final_reached && outputs > n_out ? outputs - n_out : 0);
        std::fprintf(rf, "inputs %" PRIu64 "\n", in_final);
        std::fprintf(rf, "cycles %" PRIu64 "\n", cycles);
        std::fprintf(rf, "stat_cycles %u\n", static_cast<unsigned>(static_cast<uint32_t>(top->stat_cycles) - base_cycles));
        std::fprintf(rf, "stat_deltas %u\n", static_cast<unsigned>(static_cast<uint32_t>(top->stat_deltas) - base_deltas));
        std::fprintf(rf, "steps %u\n", static_cast<unsigned>(steps_b));
        std::fprintf(rf, "protocol_errors %" PRIu64 "\n", protocol_errors);
        std::fprintf(rf, "timeout %d\n", timeout ? 1 : 0);
        std::fprintf(rf, "seed %" PRIu64 "\n", args.seed);
        std::fprintf(rf, "in_gap %g\n", args.in_gap);
        std::fprintf(rf, "out_stall %g\n", args.out_stall);
        std::fprintf(rf, "max_cycles %" PRIu64 "\n", args.max_cycles);
        std::fprintf(rf, "timesteps %" PRIu64 "\n", fin.T);
        std::fprintf(rf, "input_size %" PRIu64 "\n", fin.I);
        std::fprintf(rf, "output_size %" PRIu64 "\n", fin.H);
        std::fprintf(rf, "layers %" PRIu64 "\n", fin.L);
        if (args.restart) {
            std::fprintf(rf, "restart_kind %s\n", args.restart_reset ? "reset" : "start");
            std::fprintf(rf, "restart_cycle %" PRIu64 "\n", restart_cycle);
            std::fprintf(rf, "restart_inputs %" PRIu64 "\n", restart_inputs);
            std::fprintf(rf, "restart_outputs %" PRIu64 "\n", restart_outputs);
            std::fprintf(rf, "restart_mismatches %" PRIu64 "\n", restart_mismatches);
            std::fprintf(rf, "restart_stat_cycles %u\n", static_cast<unsigned>(base_cycles));
            std::fprintf(rf, "restart_stat_deltas %u\n", static_cast<unsigned>(base_deltas));
            std::fprintf(rf, "restart_steps %u\n", static_cast<unsigned>(base_steps));
            std::string sc;
            for (size_t i = 0; i < a_step_cycles.size(); ++i) {
                if (i) sc += ',';
                sc += std::to_string(a_step_cycles[i]);
            }
            std::fprintf(rf, "restart_step_cycles %s\n", sc.empty() ? "-" : sc.c_str());
        }
        if (cases_mode) {
            std::fprintf(rf, "cases %zu\n", cases.size());
            std::fprintf(rf, "cases_passed %" PRIu64 "\n", cases_passed);
            for (size_t c = 0; c < cases.size(); ++c) {
                const CaseRec& r = cases[c];
                std::fprintf(rf,
                             "case %zu %" PRIu64 " %d %" PRIu64 " %" PRIu64 " %u %u %u %" PRIu64 " %" PRIu64 "\n", c,
                             r.T, case_passed(r) ? 1 : 0, r.mismatches, r.outputs, static_cast<unsigned>(r.stat_cycles),
                             static_cast<unsigned>(r.stat_deltas), static_cast<unsigned>(r.steps), r.start_cycle,
                             r.end_cycle);
            }
        }
        for (uint64_t t = 0; t < fin.T; ++t)
            std::fprintf(rf, "step %" PRIu64 " %" PRId64 " %" PRId64 "\n", t, steps[t].compute_cycles,
                         steps[t].end_cycle);
        const bool write_ok = std::fflush(rf) == 0;
        std::fclose(rf);
        bool h_ok = true;
        if (hf) {
            for (uint16_t v : h_dump) std::fprintf(hf, "%04x\n", v);
            h_ok = std::fflush(hf) == 0;
            std::fclose(hf);
        }

        top->final();
#if VM_TRACE
        if (tfp) tfp->close();
#endif
        std::printf("tb: %s: %" PRIu64 "/%" PRIu64 " outputs, %" PRIu64 " mismatches, %" PRIu64
                    " protocol errors, %" PRIu64 " cycles%s (seed %" PRIu64 ", in_gap %g, out_stall %g)\n",
                    pass ? "PASS" : "FAIL", out_final, fin.T * fin.H, mismatches, protocol_errors, cycles,
                    timeout ? ", TIMEOUT" : "", args.seed, args.in_gap, args.out_stall);
        if (args.restart)
            std::printf("tb: restart (%s) at cycle %" PRIu64 " after %" PRIu64 " inputs / %" PRIu64
                        " outputs of the first sequence\n",
                        args.restart_reset ? "reset" : "start_sequence", restart_cycle, restart_inputs,
                        restart_outputs);
        if (cases_mode)
            std::printf("tb: %" PRIu64 "/%zu cases passed\n", cases_passed, cases.size());
        if (!write_ok) setup_error("writing %s failed", args.result);
        if (!h_ok) setup_error("writing %s failed", args.h_out);
        return pass ? EXIT_PASS : EXIT_FAIL;
    }
};

}  // namespace

int main(int argc, char** argv) {
    Harness h;
    return h.run(argc, argv);
}
