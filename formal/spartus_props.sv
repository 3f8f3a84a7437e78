// Property wrapper for the top level of a generated spartus accelerator (properties P1, P3).
//
// The DUT module name comes from the macro SPARTUS_TOP (default spartus_tiny); I and H are
// parameters (layer-0 input size, last-layer hidden size), set by the .sby file with chparam.
// Every DUT input is a free input of this wrapper: NO environment assumptions are made (the
// stream inputs may do anything at any time, reset/start_sequence may pulse at any time).
// Registers of the generated RTL carry `initial` values (rust-hdl DFFs), which is the power-up
// state; memories start with arbitrary contents.
`default_nettype none
`ifndef SPARTUS_TOP
`define SPARTUS_TOP spartus_tiny
`endif

module spartus_props #(
    parameter integer I = 4,   // elements per x_t (layer 0)
    parameter integer H = 8    // elements per h_t (last layer)
) (
    input wire clock,
    input wire reset,
    input wire start_sequence,
    input wire in_valid,
    input wire signed [15:0] in_data,
    input wire out_ready
);
    wire in_ready, out_valid;
    wire signed [15:0] out_data;
    wire [31:0] stat_cycles, stat_deltas, stat_steps, stat_step_cycles;

    `SPARTUS_TOP dut (
        .clock(clock), .reset(reset), .start_sequence(start_sequence),
        .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
        .out_valid(out_valid), .out_ready(out_ready), .out_data(out_data),
        .stat_cycles(stat_cycles), .stat_deltas(stat_deltas),
        .stat_steps(stat_steps), .stat_step_cycles(stat_step_cycles)
    );

    wire restart = reset | start_sequence;
    wire in_fire = in_valid & in_ready;
    wire out_fire = out_valid & out_ready;

    // ---- P1: out_valid holds and out_data is stable until out_valid && out_ready ----
    // A cycle with out_valid && !out_ready && !restart obliges the next cycle to show
    // out_valid = 1 with the same out_data.
    reg stalled = 1'b0;
    reg signed [15:0] stalled_data = 16'sd0;
    always @(posedge clock) begin
        stalled <= out_valid & ~out_ready & ~restart;
        stalled_data <= out_data;
    end
    always @(*) begin
        if (stalled) begin
            p1_valid_held: assert (out_valid);
            p1_data_stable: assert (out_data == stalled_data);
        end
    end

    // ---- P3: #h elements output <= H * floor(#x elements accepted / I), since restart ----
    // in_j = (#accepted mod I); credit = H * floor(#accepted / I) - #output, kept directly
    // (the absolute counts are unbounded; the difference is what the property is about).
    // `credit` is 16-bit signed: the first time the true difference becomes negative it is
    // -1 (it falls by at most 1 per cycle), so an assertion on the 16-bit value catches any
    // violation (and also any growth past 2^15-1, which would be a failure, never a miss).
    reg [15:0] in_j = 16'd0;
    reg signed [15:0] credit = 16'sd0;
    wire vec_done = in_fire && (in_j == I - 1);
    always @(posedge clock) begin
        if (restart) begin
            in_j <= 16'd0;
            credit <= 16'sd0;
        end else begin
            if (in_fire) in_j <= vec_done ? 16'd0 : in_j + 16'd1;
            credit <= credit + (vec_done ? H : 0) - (out_fire ? 1 : 0);
        end
    end
    always @(*) begin
        p3_no_output_without_input: assert (credit >= 0);
    end

    // ---- side conditions of the standalone proofs, checked in context (probes) ----
    // The .sby script connects these undriven wires to ports of DUT-internal instances after
    // flattening (yosys has no hierarchical references): the last layer's h FIFO, and the
    // input and hidden delta encoders of layer 0 (tiny has one layer).
    (* keep *) wire f_push;                  // <last layer>.ofifos$0.push
    (* keep *) wire [15:0] f_count;          // <last layer>.ofifos$0.count
    (* keep *) wire x_in_valid, x_flush, x_clr_valid;       // layers$0.xenc.*
    (* keep *) wire [15:0] x_in_index, x_clr_addr;
    (* keep *) wire h_in_valid, h_flush, h_clr_valid;       // layers$0.henc$0.*
    (* keep *) wire [15:0] h_in_index, h_clr_addr;
    reg x_s1 = 1'b0, h_s1 = 1'b0;   // an accepted element is in stage 1 of the encoder
    always @(posedge clock) begin
        x_s1 <= x_in_valid & ~x_flush;
        h_s1 <= h_in_valid & ~h_flush;
    end
    always @(*) begin
        // A3 of fifo_props.sv: the layer never overflows its h FIFO
        if (f_push) p1_fifo_no_overflow: assert (f_count < H || out_fire);
        // A1/A2 of xenc_props.sv for the input encoder (N = I) and the hidden encoder (N = H)
        if (x_in_valid) p4_env_x_index: assert (x_in_index < I);
        if (x_clr_valid) p4_env_x_clr: assert (x_clr_addr < I && !(x_in_valid && !x_flush) && !(x_s1 && !x_flush));
        if (h_in_valid) p4_env_h_index: assert (h_in_index < H);
        if (h_clr_valid) p4_env_h_clr: assert (h_clr_addr < H && !(h_in_valid && !h_flush) && !(h_s1 && !h_flush));
    end

    // ---- reachability (cover mode): the checks above are not vacuous ----
    reg [7:0] n_out = 8'd0;   // outputs since restart, saturating
    always @(posedge clock) begin
        if (restart) n_out <= 8'd0;
        else if (out_fire && n_out != 8'hff) n_out <= n_out + 8'd1;
    end
    always @(*) begin
        c_stall: cover (stalled);
        c_first_output: cover (out_fire);
        c_full_h_vector: cover (n_out == H && credit == 0 && !restart);
        c_input_while_output_pending: cover (in_fire && f_count != 0);
    end
endmodule
