// Property wrapper for the h output FIFO of the generated RTL (property P1, unbounded part).
//
// The FIFO module (a hierarchical name such as spartus_tiny$layers$0$ofifos$0, a StreamFifo of
// stream_fifo.rs) comes from the macro FIFO_MOD; D is its depth (= H), set by the .sby file.
// Its pointer registers are read through probes (yosys has no hierarchical references: the
// .sby script flattens the design and connects p_wptr = dut.wptr$q, p_rptr = dut.rptr$q).
//
// Environment assumption (the only one; `assume` below):
//   A3 the writer never overflows the FIFO: no push while it holds D words unless the head is
//      popped in the same cycle (stream_fifo.rs: "The writer must not overflow depth").
//      In the accelerator this is discharged by the assertion p1_fifo_no_overflow of
//      spartus_props.sv (the layer starts a GATE phase, which pushes H words, only with an
//      empty FIFO).
// Everything else (clear, push, push_data, out_ready) is free in every cycle.
`default_nettype none
`ifndef FIFO_MOD
`define FIFO_MOD spartus_tiny$layers$0$ofifos$0
`endif

module fifo_props #(
    parameter integer D = 8
) (
    input wire clock,
    input wire clear,
    input wire push,
    input wire signed [15:0] push_data,
    input wire out_ready
);
    wire out_valid;
    wire signed [15:0] out_data;
    wire [15:0] count;

    `FIFO_MOD dut (
        .clock(clock), .clear(clear), .push(push), .push_data(push_data),
        .out_valid(out_valid), .out_data(out_data), .out_ready(out_ready), .count(count)
    );

    (* keep *) wire [15:0] p_wptr;   // connected to the write pointer register by the script
    (* keep *) wire [15:0] p_rptr;   // connected to the read pointer register

    wire pop = out_valid & out_ready;

    always @(*) begin
        if (push) a3_no_overflow: assume (count < D || pop);
    end

    // ---- P1 at the FIFO's stream output ----
    reg stalled = 1'b0;
    reg signed [15:0] stalled_data = 16'sd0;
    always @(posedge clock) begin
        stalled <= out_valid & ~out_ready & ~clear;
        stalled_data <= out_data;
    end
    always @(*) begin
        if (stalled) begin
            p1_valid_held: assert (out_valid);
            p1_data_stable: assert (out_data == stalled_data);
        end
        // out_valid is the registered state "count != 0" (never a function of out_ready)
        p1_valid_is_count: assert (out_valid == (count != 16'd0));
    end

    // ---- structural invariants of the ring buffer (make the k-induction close) ----
    wire [16:0] rp_plus_cnt = {1'b0, p_rptr} + {1'b0, count};
    always @(*) begin
        inv_count_le_depth: assert (count <= D);
        inv_wptr_range: assert (p_wptr < D);
        inv_rptr_range: assert (p_rptr < D);
        inv_ring: assert (p_wptr == ((rp_plus_cnt >= D) ? rp_plus_cnt - D : rp_plus_cnt));
    end

    // ---- reachability ----
    always @(*) begin
        c_full_stall: cover (stalled && count == D);
        c_wrap_stall: cover (stalled && p_rptr == D - 1 && count >= 2);
        c_push_pop_full: cover (push && pop && count == D);
    end
endmodule
