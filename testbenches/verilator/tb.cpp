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
// Clocking: every cycle the TB sets its inputs with clock low and evaluates (the
// negedge-equivalent point, so TB inputs never race the DUT's posedge logic), samples
// the handshakes (valid & ready), then raises the clock and evaluates. Cycle n is the
// n-th rising edge after reset was released; a transfer "at cycle n" happens on edge n.
//
// Result file: `key value` lines, then one `step t compute_cycles end_cycle` line per
// step t = 0..T-1 (compute_cycles = stat_step_cycles seen when stat_steps became t+1,
// end_cycle = cycle of the handshake of step t's last output; -1 when never seen).
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
// the input side, the output side and the don't-care input data, so changing out_stall
// does not change the input gap pattern and vice versa.
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
        else setup_error("unknown plusarg '%s'%s", s);
        if ((key == "vectors" || key == "result") && val.empty()) setup_error("+%s= needs a value", key);
    }
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

// ---------------------------------------------------------------------------------------
struct StepRec {
    int64_t compute_cycles = -1;  // stat_step_cycles when stat_steps became t+1
    int64_t end_cycle = -1;       // cycle of the handshake of the step's last output
};

struct Harness {
    Args args;
    uint64_t T = 0, I = 0, H = 0, L = 0;
    std::vector<uint16_t> x, h;

    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vtop> top;
#if VM_TRACE
    std::unique_ptr<VerilatedVcdC> tfp;
#endif
    uint64_t cycle = 0;  // rising edges since reset was released

    uint64_t mismatches = 0;
    uint64_t protocol_errors = 0;
    uint64_t outputs = 0;
    uint64_t inputs = 0;
    uint64_t last_output_cycle = 0;
    bool timeout = false;
    std::vector<StepRec> steps;

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
        if (s != last_steps + 1)
            protocol("stat_steps went from %" PRIu64 " to %" PRIu64 " (must count up by one)", last_steps, s);
        if (s >= 1 && s <= T) {
            steps[s - 1].compute_cycles = top->stat_step_cycles;
        } else if (s > T) {
            protocol("stat_steps = %" PRIu64 " exceeds T = %" PRIu64, s, T);
        }
        last_steps = s;
    }

    int run(int argc, char** argv) {
        args = parse_args(argc, argv);
        const std::string pfile = args.vectors + "/params.txt";
        auto kv = read_params(pfile);
        T = param(kv, pfile, "timesteps");
        I = param(kv, pfile, "input_size");
        H = param(kv, pfile, "output_size");
        L = kv.count("layers") ? param(kv, pfile, "layers") : 1;
        if (T == 0 || I == 0 || H == 0) setup_error("%s: timesteps, input_size, output_size must be > 0", pfile);
        x = read_hex16(args.vectors + "/x_q.hex", T * I);
        h = read_hex16(args.vectors + "/h_q.hex", T * H);
        steps.assign(T, StepRec{});

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
        Rng rin(args.seed, 1), rout(args.seed, 2), rdata(args.seed, 3);

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

        const uint64_t n_in = T * I, n_out = T * H;
        bool offering = false;        // the TB asserts in_valid (and must hold it until accepted)
        bool prev_out_valid = false;  // DUT side, previous cycle
        bool prev_out_fire = false;
        uint16_t prev_out_data = 0;
        uint64_t drain_cycles = 0;
        bool dep_in_reported = false, dep_out_reported = false;

        while (!ctx->gotFinish()) {
            const bool done = outputs >= n_out;
            if (!done && cycle >= args.max_cycles) {
                timeout = true;
                break;
            }
            if (done) {
                if (drain_cycles >= args.drain) break;
                if (drain_cycles >= 16 && last_steps >= T) break;
                ++drain_cycles;
            }

            // ---- drive inputs with the clock low ----
            if (!offering && inputs < n_in) offering = !rin.chance(args.in_gap);
            const bool ready = done ? true : !rout.chance(args.out_stall);
            const uint16_t junk = static_cast<uint16_t>(rdata.next());
            top->in_valid = offering;
            // When not offering, in_data carries junk: the DUT must not look at it.
            top->in_data = offering ? x[inputs] : junk;
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
            // until the handshake.
            if (prev_out_valid && !prev_out_fire) {
                if (!out_valid)
                    protocol("out_valid dropped without a handshake (out_data was 0x%04" PRIx64 ")", prev_out_data);
                else if (out_data != prev_out_data)
                    protocol("out_data changed from 0x%04" PRIx64 " to 0x%04" PRIx64 " while stalled", prev_out_data,
                             out_data);
            }
            prev_out_valid = out_valid;
            prev_out_fire = out_fire;
            prev_out_data = out_data;

            // ---- rising edge ----
            rise();
            ++cycle;
            if (out_fire) {
                if (outputs < n_out) {
                    const uint64_t t = outputs / H, k = outputs % H;
                    const uint16_t exp = h[outputs];
                    if (out_data != exp) {
                        if (mismatches < args.max_report)
                            std::printf("tb: MISMATCH t=%" PRIu64 " k=%" PRIu64 " got=%d (0x%04x) expected=%d (0x%04x)"
                                        " at cycle %" PRIu64 "\n",
                                        t, k, static_cast<int>(static_cast<int16_t>(out_data)), out_data,
                                        static_cast<int>(static_cast<int16_t>(exp)), exp, cycle);
                        ++mismatches;
                    }
                    if (k == H - 1) steps[t].end_cycle = static_cast<int64_t>(cycle);
                    last_output_cycle = cycle;
                } else {
                    protocol("extra output #%" PRIu64 " (0x%04" PRIx64 ") after all T*H were received", outputs + 1,
                             out_data);
                }
                ++outputs;
            }
            if (in_fire) {
                ++inputs;
                offering = false;
            }
            sample_stats();
            eval_low();
        }

        const bool all_out = outputs >= n_out;
        const bool pass = all_out && mismatches == 0 && protocol_errors == 0 && !timeout;
        const uint64_t cycles = all_out ? last_output_cycle : cycle;
        if (mismatches > args.max_report)
            std::printf("tb: ... %" PRIu64 " mismatches in total\n", mismatches);
        if (protocol_errors > args.max_report)
            std::printf("tb: ... %" PRIu64 " protocol errors in total\n", protocol_errors);
        if (last_steps != T)
            std::printf("tb: warning: stat_steps = %u at the end, expected T = %" PRIu64 "\n", last_steps, T);

        std::fprintf(rf, "pass %d\n", pass ? 1 : 0);
        std::fprintf(rf, "mismatches %" PRIu64 "\n", mismatches);
        std::fprintf(rf, "outputs %" PRIu64 "\n", std::min(outputs, n_out));
        std::fprintf(rf, "expected_outputs %" PRIu64 "\n", n_out);
        std::fprintf(rf, "extra_outputs %" PRIu64 "\n", outputs > n_out ? outputs - n_out : 0);
        std::fprintf(rf, "inputs %" PRIu64 "\n", inputs);
        std::fprintf(rf, "cycles %" PRIu64 "\n", cycles);
        std::fprintf(rf, "stat_cycles %u\n", static_cast<unsigned>(top->stat_cycles));
        std::fprintf(rf, "stat_deltas %u\n", static_cast<unsigned>(top->stat_deltas));
        std::fprintf(rf, "steps %u\n", static_cast<unsigned>(top->stat_steps));
        std::fprintf(rf, "protocol_errors %" PRIu64 "\n", protocol_errors);
        std::fprintf(rf, "timeout %d\n", timeout ? 1 : 0);
        std::fprintf(rf, "seed %" PRIu64 "\n", args.seed);
        std::fprintf(rf, "in_gap %g\n", args.in_gap);
        std::fprintf(rf, "out_stall %g\n", args.out_stall);
        std::fprintf(rf, "max_cycles %" PRIu64 "\n", args.max_cycles);
        std::fprintf(rf, "timesteps %" PRIu64 "\n", T);
        std::fprintf(rf, "input_size %" PRIu64 "\n", I);
        std::fprintf(rf, "output_size %" PRIu64 "\n", H);
        std::fprintf(rf, "layers %" PRIu64 "\n", L);
        for (uint64_t t = 0; t < T; ++t)
            std::fprintf(rf, "step %" PRIu64 " %" PRId64 " %" PRId64 "\n", t, steps[t].compute_cycles,
                         steps[t].end_cycle);
        const bool write_ok = std::fflush(rf) == 0;
        std::fclose(rf);

        top->final();
#if VM_TRACE
        if (tfp) tfp->close();
#endif
        std::printf("tb: %s: %" PRIu64 "/%" PRIu64 " outputs, %" PRIu64 " mismatches, %" PRIu64
                    " protocol errors, %" PRIu64 " cycles%s (seed %" PRIu64 ", in_gap %g, out_stall %g)\n",
                    pass ? "PASS" : "FAIL", std::min(outputs, n_out), n_out, mismatches, protocol_errors, cycles,
                    timeout ? ", TIMEOUT" : "", args.seed, args.in_gap, args.out_stall);
        if (!write_ok) setup_error("writing %s failed", args.result);
        return pass ? EXIT_PASS : EXIT_FAIL;
    }
};

}  // namespace

int main(int argc, char** argv) {
    Harness h;
    return h.run(argc, argv);
}
