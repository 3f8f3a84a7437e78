// tb_uart.cpp - end-to-end Verilator testbench of the UART board bridge `<top>_uart`
// (rtl/board_uart.v around the accelerator; protocol in docs/board.md).
//
// The testbench plays the host: it drives the `rx` pin bit-serially (8N1) with the golden
// inputs vectors/x_q.hex, one 'X' frame per time step, decodes the `tx` pin bit-serially and
// compares every h word with vectors/h_q.hex, bit-exact. Nothing is poked inside the design:
// the only stimulus is the rx pin (and rst_in, held low), the only observation the tx pin
// (plus the busy/err status outputs at the end).
//
// Build (from hdl_out/<name>/; `gen board` / spartus_gen::board::build_uart_tb do this):
//   verilator --cc rtl/<top>.v rtl/uart_rx.v rtl/uart_tx.v rtl/board_fifo.v rtl/board_uart.v
//             --top-module <top>_uart -GCLKS_PER_BIT=<div> --exe <abs>/tb_uart.cpp --build
//             --prefix Vtop -Mdir sim/uart_obj -o tb_uart
// With a board's pin top instead of the bridge (same checks through the board's port names):
//   ... rtl/board_icebreaker.v --top-module <top>_icebreaker -CFLAGS -DTB_BOARD_ICEBREAKER
//   ... rtl/board_ulx3s.v      --top-module <top>_ulx3s      -CFLAGS -DTB_BOARD_ULX3S
// Run (from hdl_out/<name>/):
//   sim/uart_obj/tb_uart +div=<div> +vectors=vectors +result=sim/uart_result.txt
//
// Plusargs (defaults in brackets):
//   +div=N          clock cycles per bit of the DUT (its CLKS_PER_BIT), required, >= 4
//   +vectors=DIR    params.txt, x_q.hex, h_q.hex                                  [vectors]
//   +seed=S         PRNG seed of the gaps                                         [1]
//   +gap=G          after each host byte, idle for a random 0..G bit times (real) [0]
//   +skew=F         the host's bit period is div*(1+F) (baud mismatch, |F| < 0.5)  [0]
//   +restart=0|1    after the run: a stalled 'X' frame (timeout flag), an unknown command,
//                   'S' and a replay of the first steps, 'R' (counters and flags cleared) [1]
//   +max_cycles=N   give up (timeout) after N cycles in total                     [200000000]
//   +result=FILE    result file                                                   [sim/uart_result.txt]
//   +max_report=N   print at most N mismatch lines                                [10]
//   +tcp=PORT       instead of the golden run: serve the UART on 127.0.0.1:PORT (0: any free
//                   port) for a host program such as scripts/spartus_uart.py with
//                   --port tcp:127.0.0.1:PORT. Bytes received on the socket are sent on rx
//                   bit-serially, bytes decoded from tx go back on the socket. Simulated time
//                   stands still while the bridge is idle and the socket has nothing. Ends
//                   when the client closes; result keys: pass (no framing error), bytes_sent,
//                   bytes_received, framing_errors, cycles, timeout.
//   +portfile=FILE  with +tcp: write the port number to FILE once listening
//
// Checks: the 'I' reply (magic 'S' 'P', I and H of params.txt, no flag), the 'S' / 'R' acks,
// every h word of every step, the stop bit of every byte the DUT sends (framing), no byte
// the protocol does not ask for (extra bytes, also after the last reply), the 'Q' counters
// (stat_steps = T; stat_cycles = params.txt `predicted_total_cycles` from the cycle model,
// when that key is there), busy and err low at the end; with +restart also the timeout flag
// of a stalled frame, '?' for an unknown command, outputs after 'S' equal to h_q.hex from
// t = 0 again, and all counters and flags 0 after 'R'.
//
// Result file: `key value` lines: pass, mismatches, outputs, expected_outputs, timesteps,
// input_size, output_size, extra_bytes, framing_errors, timeout, cycles, bytes_sent,
// bytes_received, id_ok, acks_ok, stat_cycles, stat_deltas, stat_steps, stat_step_cycles,
// predicted_cycles (-1 when not in params.txt), end_busy, end_err, errors; with +restart
// also restart_flags, restart_unknown_reply, restart_outputs, restart_mismatches,
// reset_stat_cycles, reset_stat_deltas, reset_stat_steps, reset_stat_step_cycles,
// reset_flags. `errors` counts every failed check (mismatches included).
//
// Exit code: 0 pass, 1 the DUT failed a check, 2 the testbench could not run (bad plusarg,
// missing or malformed vector file, result file not writable).

#include "Vtop.h"
#include "verilated.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// The DUT's pins. Default: the bridge <top>_uart. Built with -DTB_BOARD_ICEBREAKER or
// -DTB_BOARD_ULX3S the testbench drives that board's pin top instead (<top>_icebreaker /
// <top>_ulx3s, Verilated with -GCLKS_PER_BIT=<div>): its port names, the reset button held
// released and the LEDs (active low on the iCEBreaker) read as busy / err.
#if defined(TB_BOARD_ICEBREAKER)
#define PIN_CLK CLK
#define PIN_RX RX
#define PIN_TX TX
#define RELEASE_RESET() (dut->BTN_N = 1)
#define BUSY() (!dut->LEDG_N)
#define ERR() (!dut->LEDR_N)
#elif defined(TB_BOARD_ULX3S)
#define PIN_CLK clk_25mhz
#define PIN_RX ftdi_txd
#define PIN_TX ftdi_rxd
#define RELEASE_RESET() (dut->btn = 0)
#define BUSY() (dut->led & 1)
#define ERR() ((dut->led >> 1) & 1)
#else
#define PIN_CLK clk
#define PIN_RX rx
#define PIN_TX tx
#define RELEASE_RESET() (dut->rst_in = 0)
#define BUSY() (dut->busy)
#define ERR() (dut->err)
#endif

static Vtop* dut = nullptr;
static uint64_t cycle = 0;
static uint64_t max_cycles = 200000000ULL;
static bool gave_up = false;
static int div_ = 0;

// ---- TX decoder (runs every cycle) ---------------------------------------------------------
static std::deque<uint8_t> rxq;  // bytes decoded from the DUT's tx pin
static uint64_t framing_errors = 0, bytes_received = 0;
static int dec_bit = -1;  // -1 idle, 0 start, 1..8 data, 9 stop
static uint64_t dec_start = 0;
static uint8_t dec_shift = 0;
static int prev_tx = 1;

static void decode_tx() {
    int tx = dut->PIN_TX;
    if (dec_bit < 0) {
        if (prev_tx == 1 && tx == 0) {
            dec_bit = 0;
            dec_start = cycle;
        }
    } else {
        uint64_t at = dec_start + (uint64_t)dec_bit * div_ + div_ / 2;
        if (cycle == at) {
            if (dec_bit == 0) {
                if (tx != 0) dec_bit = -2;  // glitch: back to idle below
            } else if (dec_bit <= 8) {
                dec_shift = (uint8_t)((dec_shift >> 1) | (tx ? 0x80 : 0));
            } else {
                if (tx != 1) {
                    framing_errors++;
                    printf("tb: FRAMING error on tx at cycle %" PRIu64 "\n", cycle);
                }
                rxq.push_back(dec_shift);
                bytes_received++;
                dec_bit = -2;
            }
            dec_bit++;  // -2 + 1: idle again (mid stop bit, or after a glitch)
        }
    }
    prev_tx = tx;
}

static void tick() {
    dut->PIN_CLK = 0;
    dut->eval();
    dut->PIN_CLK = 1;
    dut->eval();
    cycle++;
    decode_tx();
    if (cycle >= max_cycles) gave_up = true;
}

// ---- host side -----------------------------------------------------------------------------
static std::mt19937_64 rng;
static double gap_bits = 0.0, skew = 0.0;
static uint64_t bytes_sent = 0;

static void idle_cycles(uint64_t n) {
    for (uint64_t i = 0; i < n && !gave_up; i++) tick();
}

static void send_byte(uint8_t b) {
    double period = div_ * (1.0 + skew);
    uint64_t t0 = cycle;
    for (int k = 0; k < 10 && !gave_up; k++) {
        int level = k == 0 ? 0 : (k == 9 ? 1 : (b >> (k - 1)) & 1);
        dut->PIN_RX = level;
        uint64_t end = t0 + (uint64_t)std::llround((k + 1) * period);
        while (cycle < end && !gave_up) tick();
    }
    dut->PIN_RX = 1;
    bytes_sent++;
    if (gap_bits > 0) {
        std::uniform_real_distribution<double> u(0.0, gap_bits);
        idle_cycles((uint64_t)std::llround(u(rng) * div_));
    }
}

static void send_word(uint16_t w) {
    send_byte((uint8_t)(w & 0xff));
    send_byte((uint8_t)(w >> 8));
}

// Waits until n bytes were decoded (or timeout); returns them, fewer on timeout.
static std::vector<uint8_t> recv(size_t n, uint64_t timeout) {
    uint64_t end = cycle + timeout;
    while (rxq.size() < n && cycle < end && !gave_up) tick();
    std::vector<uint8_t> out;
    while (!rxq.empty() && out.size() < n) {
        out.push_back(rxq.front());
        rxq.pop_front();
    }
    return out;
}

// ---- files ---------------------------------------------------------------------------------
static void die(const std::string& msg) {
    fprintf(stderr, "tb: error: %s\n", msg.c_str());
    exit(2);
}

static std::vector<uint16_t> read_hex(const std::string& path) {
    std::ifstream f(path);
    if (!f) die("cannot read " + path);
    std::vector<uint16_t> v;
    std::string line;
    int n = 0;
    while (std::getline(f, line)) {
        n++;
        if (line.empty()) continue;
        char* end = nullptr;
        unsigned long x = strtoul(line.c_str(), &end, 16);
        if (*end != 0 || x > 0xffff) die(path + ":" + std::to_string(n) + ": bad hex word `" + line + "`");
        v.push_back((uint16_t)x);
    }
    return v;
}

static std::map<std::string, std::string> read_params(const std::string& path) {
    std::ifstream f(path);
    if (!f) die("cannot read " + path);
    std::map<std::string, std::string> kv;
    std::string k, v;
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream ss(line);
        if (ss >> k >> v) kv[k] = v;
    }
    return kv;
}

// +tcp mode: a host program talks to the simulated UART over a socket.
static int serve_tcp(int port, const std::string& portfile, FILE* rf) {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) die("socket() failed");
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (bind(ls, (sockaddr*)&a, sizeof a) != 0 || listen(ls, 1) != 0) die("cannot listen on 127.0.0.1:" + std::to_string(port));
    socklen_t al = sizeof a;
    getsockname(ls, (sockaddr*)&a, &al);
    int bound = ntohs(a.sin_port);
    printf("tb: listening on 127.0.0.1:%d\n", bound);
    fflush(stdout);
    if (!portfile.empty()) {
        std::string tmp = portfile + ".tmp";
        FILE* pf = fopen(tmp.c_str(), "w");
        if (!pf) die("cannot write " + portfile);
        fprintf(pf, "%d\n", bound);
        fclose(pf);
        if (rename(tmp.c_str(), portfile.c_str()) != 0) die("cannot write " + portfile);
    }
    int cs = accept(ls, nullptr, nullptr);
    if (cs < 0) die("accept() failed");
    close(ls);
    setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // one byte per reply byte
    bool open_ = true;
    while (open_ && !gave_up) {
        while (!rxq.empty()) {
            uint8_t b = rxq.front();
            rxq.pop_front();
            if (send(cs, &b, 1, MSG_NOSIGNAL) != 1) open_ = false;
        }
        bool idle = !BUSY() && dec_bit < 0;
        pollfd p{cs, POLLIN, 0};
        int r = poll(&p, 1, idle ? 1000 : 0);
        if (r > 0) {
            uint8_t buf[256];
            ssize_t n = recv(cs, buf, sizeof buf, 0);
            if (n <= 0) break;  // client closed
            for (ssize_t i = 0; i < n && !gave_up; i++) send_byte(buf[i]);
        } else if (!idle) {
            idle_cycles((uint64_t)div_);
        }
    }
    while (!rxq.empty() && open_) {
        uint8_t b = rxq.front();
        rxq.pop_front();
        if (send(cs, &b, 1, MSG_NOSIGNAL) != 1) open_ = false;
    }
    close(cs);
    bool pass = framing_errors == 0 && !gave_up;
    fprintf(rf, "pass %d\nbytes_sent %" PRIu64 "\nbytes_received %" PRIu64 "\nframing_errors %" PRIu64
                "\ncycles %" PRIu64 "\ntimeout %d\n",
            pass ? 1 : 0, bytes_sent, bytes_received, framing_errors, cycle, gave_up ? 1 : 0);
    fclose(rf);
    printf("tb: tcp session closed: %" PRIu64 " bytes in, %" PRIu64 " out, %" PRIu64 " cycles\n", bytes_sent,
           bytes_received, cycle);
    dut->final();
    delete dut;
    return pass ? 0 : 1;
}

static uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
    return (uint32_t)b[at] | ((uint32_t)b[at + 1] << 8) | ((uint32_t)b[at + 2] << 16) |
           ((uint32_t)b[at + 3] << 24);
}

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    auto plus = [&](const char* name, std::string& out) -> bool {
        std::string pre = std::string("+") + name + "=";
        for (int i = 1; i < argc; i++)
            if (std::string(argv[i]).rfind(pre, 0) == 0) {
                out = argv[i] + pre.size();
                return true;
            }
        return false;
    };
    auto num = [&](const char* name, double dflt) -> double {
        std::string s;
        if (!plus(name, s)) return dflt;
        char* end = nullptr;
        double x = strtod(s.c_str(), &end);
        if (s.empty() || *end != 0 || !std::isfinite(x)) die(std::string("+") + name + "=" + s + " is not a number");
        return x;
    };
    std::string vectors = "vectors", result = "sim/uart_result.txt", s;
    plus("vectors", vectors);
    plus("result", result);
    if (!plus("div", s)) die("+div=N (the DUT's CLKS_PER_BIT) is required");
    div_ = (int)num("div", 0);
    if (div_ < 4 || div_ > 1000000) die("+div must be in [4, 1000000]");
    uint64_t seed = (uint64_t)num("seed", 1);
    gap_bits = num("gap", 0);
    skew = num("skew", 0);
    if (gap_bits < 0 || gap_bits > 1000) die("+gap must be in [0, 1000] bit times");
    if (std::fabs(skew) >= 0.5) die("+skew must be in (-0.5, 0.5)");
    bool restart = num("restart", 1) != 0;
    max_cycles = (uint64_t)num("max_cycles", 2e8);
    int max_report = (int)num("max_report", 10);
    rng.seed(seed);

    std::string tcp, portfile;
    if (plus("tcp", tcp)) {
        plus("portfile", portfile);
        int port = (int)num("tcp", 0);
        if (port < 0 || port > 65535) die("+tcp must be a port number");
        FILE* rf = fopen(result.c_str(), "w");
        if (!rf) die("cannot write " + result);
        dut = new Vtop;
        dut->PIN_RX = 1;
        RELEASE_RESET();
        dut->PIN_CLK = 0;
        dut->eval();
        idle_cycles(64);  // power-on reset
        return serve_tcp(port, portfile, rf);
    }

    auto params = read_params(vectors + "/params.txt");
    auto need = [&](const char* k) -> long {
        if (!params.count(k)) die(vectors + "/params.txt has no `" + k + "`");
        return atol(params[k].c_str());
    };
    long T = need("timesteps"), I = need("input_size"), H = need("output_size");
    long predicted = params.count("predicted_total_cycles") ? atol(params["predicted_total_cycles"].c_str()) : -1;
    if (T < 1 || I < 1 || H < 1 || I > 65535 || H > 65535) die("bad timesteps / input_size / output_size in params.txt");
    auto x = read_hex(vectors + "/x_q.hex");
    auto h = read_hex(vectors + "/h_q.hex");
    if ((long)x.size() != T * I) die("x_q.hex has " + std::to_string(x.size()) + " words, want T*I = " + std::to_string(T * I));
    if ((long)h.size() != T * H) die("h_q.hex has " + std::to_string(h.size()) + " words, want T*H = " + std::to_string(T * H));
    FILE* rf = fopen(result.c_str(), "w");
    if (!rf) die("cannot write " + result);

    dut = new Vtop;
    dut->PIN_RX = 1;
    RELEASE_RESET();
    dut->PIN_CLK = 0;
    dut->eval();
    idle_cycles(64);  // power-on reset

    uint64_t errors = 0;
    auto fail = [&](const std::string& what) {
        errors++;
        printf("tb: FAIL %s (cycle %" PRIu64 ")\n", what.c_str(), cycle);
    };
    // Timeouts: replies start within a few hundred accelerator cycles; allow plenty.
    const uint64_t byte_cycles = 10ULL * div_ + 2;
    auto reply_timeout = [&](size_t n) { return (n + 64) * byte_cycles + 200000; };

    // 'I': identify
    send_byte('I');
    auto id = recv(7, reply_timeout(7));
    bool id_ok = id.size() == 7 && id[0] == 'S' && id[1] == 'P' && (id[2] | (id[3] << 8)) == I &&
                 (id[4] | (id[5] << 8)) == H && id[6] == 0;
    if (!id_ok) fail("'I' reply (want 'S' 'P' I H flags=0)");

    // 'S': start a sequence
    bool acks_ok = true;
    auto ack = [&](uint8_t c) {
        send_byte(c);
        auto r = recv(1, reply_timeout(1));
        if (r.size() != 1 || r[0] != c) {
            acks_ok = false;
            fail(std::string("ack of '") + (char)c + "'");
        }
    };
    ack('S');

    // The sequence, one step at a time (lock-step: the next 'X' after the whole reply).
    uint64_t outputs = 0, mismatches = 0;
    bool timeout = false;
    for (long t = 0; t < T && !gave_up; t++) {
        send_byte('X');
        for (long j = 0; j < I; j++) send_word(x[t * I + j]);
        auto r = recv(2 * H, reply_timeout(2 * H));
        if ((long)r.size() != 2 * H) {
            timeout = true;
            fail("step " + std::to_string(t) + ": " + std::to_string(r.size()) + " of " + std::to_string(2 * H) + " reply bytes");
            break;
        }
        for (long k = 0; k < H; k++) {
            uint16_t got = (uint16_t)(r[2 * k] | (r[2 * k + 1] << 8)), want = h[t * H + k];
            outputs++;
            if (got != want) {
                mismatches++;
                errors++;
                if ((long)mismatches <= max_report)
                    printf("tb: MISMATCH t=%ld k=%ld got %04x want %04x\n", t, k, got, want);
            }
        }
    }
    if (gave_up) timeout = true;

    // 'Q': the counters
    uint32_t st[4] = {0, 0, 0, 0};
    send_byte('Q');
    auto q = recv(16, reply_timeout(16));
    if (q.size() == 16) {
        for (int i = 0; i < 4; i++) st[i] = le32(q, 4 * i);
        if ((long)st[2] != T) fail("stat_steps " + std::to_string(st[2]) + " != T " + std::to_string(T));
        if (predicted >= 0 && (long)st[0] != predicted)
            fail("stat_cycles " + std::to_string(st[0]) + " != predicted_total_cycles " + std::to_string(predicted));
    } else {
        fail("'Q' reply");
    }

    // Mid-use recovery: stalled frame, unknown command, restart, reset.
    std::map<std::string, long> rk;
    if (restart && !gave_up) {
        send_byte('X');
        for (long j = 0; j < (I + 1) / 2; j++) send_word(x[j]);  // about half a frame
        idle_cycles(700ULL * div_);                              // > 64 byte times
        send_byte('I');
        auto r = recv(7, reply_timeout(7));
        rk["restart_flags"] = r.size() == 7 ? r[6] : -1;
        if (r.size() != 7 || !(r[6] & 8)) fail("'I' after a stalled frame: timeout flag (8) not set");
        send_byte(0x00);
        r = recv(1, reply_timeout(1));
        rk["restart_unknown_reply"] = r.size() == 1 ? r[0] : -1;
        if (r.size() != 1 || r[0] != '?') fail("unknown command: no '?' reply");
        ack('S');
        long R = T < 8 ? T : 8, outs = 0, mism = 0;
        for (long t = 0; t < R && !gave_up; t++) {
            send_byte('X');
            for (long j = 0; j < I; j++) send_word(x[t * I + j]);
            auto rr = recv(2 * H, reply_timeout(2 * H));
            for (long k = 0; 2 * k + 1 < (long)rr.size(); k++) {
                outs++;
                uint16_t got = (uint16_t)(rr[2 * k] | (rr[2 * k + 1] << 8)), want = h[t * H + k];
                if (got != want) {
                    mism++;
                    if (mism <= max_report) printf("tb: MISMATCH after 'S' t=%ld k=%ld got %04x want %04x\n", t, k, got, want);
                }
            }
        }
        rk["restart_outputs"] = outs;
        rk["restart_mismatches"] = mism;
        if (mism != 0 || outs != R * H) fail("replay after 'S'");
        ack('R');
        send_byte('Q');
        auto qq = recv(16, reply_timeout(16));
        const char* names[4] = {"reset_stat_cycles", "reset_stat_deltas", "reset_stat_steps", "reset_stat_step_cycles"};
        for (int i = 0; i < 4; i++) {
            long v = qq.size() == 16 ? (long)le32(qq, 4 * i) : -1;
            rk[names[i]] = v;
            if (v != 0) fail(std::string(names[i]) + " = " + std::to_string(v) + " after 'R'");
        }
        send_byte('I');
        r = recv(7, reply_timeout(7));
        rk["reset_flags"] = r.size() == 7 ? r[6] : -1;
        if (r.size() != 7 || r[6] != 0) fail("flags not cleared by 'R'");
    }

    // Nothing more may come; the bridge must be idle and error-free.
    idle_cycles(40 * byte_cycles);
    uint64_t extra = rxq.size();
    if (extra) fail(std::to_string(extra) + " extra byte(s) on tx");
    if (framing_errors) errors += framing_errors;
    int end_busy = BUSY() ? 1 : 0, end_err = ERR() ? 1 : 0;
    if (end_busy) fail("busy still high at the end");
    if (end_err) fail("err high at the end");
    if (gave_up) fail("max_cycles reached");
    bool pass = errors == 0 && !timeout && outputs == (uint64_t)(T * H);

    fprintf(rf, "pass %d\nmismatches %" PRIu64 "\noutputs %" PRIu64 "\nexpected_outputs %ld\n", pass ? 1 : 0,
            mismatches, outputs, T * H);
    fprintf(rf, "timesteps %ld\ninput_size %ld\noutput_size %ld\n", T, I, H);
    fprintf(rf, "extra_bytes %" PRIu64 "\nframing_errors %" PRIu64 "\ntimeout %d\ncycles %" PRIu64 "\n", extra,
            framing_errors, timeout ? 1 : 0, cycle);
    fprintf(rf, "bytes_sent %" PRIu64 "\nbytes_received %" PRIu64 "\nid_ok %d\nacks_ok %d\n", bytes_sent,
            bytes_received, id_ok ? 1 : 0, acks_ok ? 1 : 0);
    fprintf(rf, "stat_cycles %u\nstat_deltas %u\nstat_steps %u\nstat_step_cycles %u\npredicted_cycles %ld\n", st[0],
            st[1], st[2], st[3], predicted);
    fprintf(rf, "end_busy %d\nend_err %d\nerrors %" PRIu64 "\n", end_busy, end_err, errors);
    fprintf(rf, "div %d\nseed %" PRIu64 "\ngap %g\nskew %g\n", div_, seed, gap_bits, skew);
    for (auto& kv : rk) fprintf(rf, "%s %ld\n", kv.first.c_str(), kv.second);
    fclose(rf);
    printf("tb: %s: %" PRIu64 "/%ld h words, %" PRIu64 " mismatches, %" PRIu64 " errors, %" PRIu64 " cycles\n",
           pass ? "PASS" : "FAIL", outputs, T * H, mismatches, errors, cycle);
    dut->final();
    delete dut;
    return pass ? 0 : 1;
}
