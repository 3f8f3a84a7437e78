// Property wrapper for one delta encoder of the generated RTL (property P4), standalone.
//
// The encoder module (a hierarchical name such as spartus_tiny$layers$0$xenc) comes from the
// macro ENC_MOD; N (memory depth = I or H) and THETA (threshold in Q8.8 LSB) are parameters set
// by the .sby file. Its x-hat memory `store` is read through the probe vector `p_store`: the
// .sby script flattens the design, maps the memory to registers (memory_map) and connects
// p_store = {dut.mem.store[N-1], ..., dut.mem.store[0]} (yosys `connect`), because yosys has
// no hierarchical references. So every check below talks about the real memory contents.
//
// Reference semantics (docs/arithmetic.md §3 step 1, per element, in arrival order):
//   r = x - xhat[j] (17-bit exact); fire = |r| >= THETA && r != 0;
//   fire:  delta = sat16(r) is emitted, xhat[j] := xhat[j] + delta (16-bit);
//   else:  nothing is emitted, xhat unchanged.
// Pipeline (delta_encoder.rs): element accepted in cycle c (in_valid && !flush) is "in stage 1"
// in cycle c+1, where it writes the memory at the end of the cycle; its delta is on the
// outputs in cycle c+2. Every earlier element has written the memory by the start of c+1, so
// the architectural xhat seen by the element is the memory content in cycle c+1. (Whether the
// RTL reads that value from its read port or from its forwarding register is exactly what is
// being checked: back-to-back elements with the same index take the forwarding path.)
//
// Environment assumptions (what the layer guarantees; written as `assume`):
//   A1 in_index < N when in_valid; clr_addr < N when clr_valid   (layer: xj in 0..I-1, cnt < I)
//   A2 clr_valid never coincides with an element being accepted (in_valid && !flush) or with an
//      accepted element in stage 1 (unless flush): clears happen only in the layer's INIT
//      phase, elements only in its IN phase, and INIT is entered through `restart`, which
//      flushes the encoder.
// Nothing else is assumed: indices may come in any order with any repetition (stronger than
// the layer's 0..I-1 sweep), values, flush and tags are arbitrary in every cycle.
`default_nettype none
`ifndef ENC_MOD
`define ENC_MOD spartus_tiny$layers$0$xenc
`endif

module xenc_props #(
    parameter integer N = 4,        // entries of the x-hat memory
    parameter integer THETA = 16    // threshold, Q8.8 LSB
) (
    input wire clock,
    input wire flush,
    input wire in_valid,
    input wire [15:0] in_index,
    input wire signed [15:0] in_value,
    input wire [7:0] in_arr,
    input wire [15:0] in_addr,
    input wire clr_valid,
    input wire [15:0] clr_addr
);
    wire out_valid;
    wire signed [15:0] out_delta;
    wire [7:0] out_arr;
    wire [15:0] out_addr;

    `ENC_MOD dut (
        .clock(clock), .flush(flush),
        .in_valid(in_valid), .in_index(in_index), .in_value(in_value),
        .in_arr(in_arr), .in_addr(in_addr),
        .clr_valid(clr_valid), .clr_addr(clr_addr),
        .out_valid(out_valid), .out_delta(out_delta), .out_arr(out_arr), .out_addr(out_addr)
    );

    // probe: the encoder's memory, entry k at bits [16k +: 16] (connected by the .sby script)
    (* keep *) wire [16*N-1:0] p_store;

    // ---- reference model of the element in stage 1 ----
    reg s1_v = 1'b0;
    reg [15:0] s1_j = 16'd0;
    reg signed [15:0] s1_x = 16'sd0;
    reg [7:0] s1_arr = 8'd0;
    reg [15:0] s1_addr = 16'd0;
    wire accept = in_valid & ~flush;
    always @(posedge clock) begin
        s1_v <= accept;
        s1_j <= in_index;
        s1_x <= in_value;
        s1_arr <= in_arr;
        s1_addr <= in_addr;
    end

    wire signed [15:0] old = p_store[16*s1_j[7:0] +: 16];   // architectural xhat[j] (j < N)
    wire signed [16:0] r = {s1_x[15], s1_x} - {old[15], old};
    wire [16:0] r_abs = r[16] ? -r : r;
    wire fire_exp = (r_abs >= THETA) && (r != 17'sd0);
    wire signed [15:0] d_exp = (r > 17'sd32767) ? 16'sh7fff
                             : (r < -17'sd32768) ? 16'sh8000 : r[15:0];
    wire signed [15:0] upd_exp = old + d_exp;
    wire act = s1_v & ~flush;   // the element is processed (not dropped by flush)

    // ---- environment assumptions ----
    always @(*) begin
        if (in_valid) a1_index_in_range: assume (in_index < N);
        if (clr_valid) a1_clr_in_range: assume (clr_addr < N);
        if (clr_valid) a2_clr_not_with_element: assume (!accept && !act);
    end

    // ---- one cycle later: memory effect and emitted delta ----
    reg past_ok = 1'b0;               // a previous cycle exists
    reg p_act = 1'b0, p_fire = 1'b0, p_clr = 1'b0;
    reg [15:0] p_j = 16'd0, p_clr_addr = 16'd0;
    reg signed [15:0] p_upd = 16'sd0;
    reg [16*N-1:0] p_store_past = {16*N{1'b0}};
    reg s2_fire = 1'b0;
    reg signed [15:0] s2_d = 16'sd0;
    reg [7:0] s2_arr = 8'd0;
    reg [15:0] s2_addr = 16'd0;
    always @(posedge clock) begin
        past_ok <= 1'b1;
        p_act <= act;
        p_fire <= fire_exp;
        p_j <= s1_j;
        p_upd <= upd_exp;
        p_clr <= clr_valid;
        p_clr_addr <= clr_addr;
        p_store_past <= p_store;
        s2_fire <= act & fire_exp;
        s2_d <= d_exp;
        s2_arr <= s1_arr;
        s2_addr <= s1_addr;
    end

    // expected memory after a clear / after an emitted element (other entries unchanged)
    wire [16*N-1:0] exp_after_clr, exp_after_emit;
    genvar k;
    generate
        for (k = 0; k < N; k = k + 1) begin : entry
            assign exp_after_clr[16*k +: 16] = (k == p_clr_addr) ? 16'h0000 : p_store_past[16*k +: 16];
            assign exp_after_emit[16*k +: 16] = (k == p_j) ? p_upd : p_store_past[16*k +: 16];
        end
    endgenerate

    always @(*) begin
        if (past_ok) begin
            if (p_clr) begin
                // a clear writes 0 to its entry and nothing else
                p4_clear: assert (p_store == exp_after_clr);
            end else if (p_act && p_fire) begin
                // emitted: xhat[j] becomes xhat[j] + delta (16-bit), other entries unchanged
                p4_emit_updates_xhat: assert (p_store == exp_after_emit);
            end else begin
                // suppressed element (or no element, or one dropped by flush): xhat unchanged
                p4_suppressed_keeps_xhat: assert (p_store == p_store_past);
            end
        end
    end

    always @(*) begin
        if (past_ok) begin
            // the output: exactly the emitted deltas (unless flushed on the way out)
            p4_out_valid: assert (out_valid == (s2_fire & ~flush));
            if (out_valid) begin
                p4_delta_is_sat16: assert (out_delta == s2_d);
                p4_tags: assert (out_arr == s2_arr && out_addr == s2_addr);
            end
        end
    end

    // ---- reachability: emitted, suppressed, saturated and forwarded (same index) cases ----
    always @(*) begin
        c_emit: cover (act && fire_exp);
        c_suppress_nonzero: cover (act && !fire_exp && r != 0);
        c_saturate: cover (act && fire_exp && (r > 17'sd32767 || r < -17'sd32768));
        c_forward_emit_twice: cover (p_act && p_fire && act && fire_exp && s1_j == p_j);
        c_forward_emit_then_suppress: cover (p_act && p_fire && act && !fire_exp && s1_j == p_j && r != 0);
    end
endmodule
