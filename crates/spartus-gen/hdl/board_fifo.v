// board_fifo - synchronous first-word-fall-through FIFO (part of the spartus-gen UART board
// top, docs/board.md): buffers the x words of one time step between the UART receiver and
// the accelerator.
//
// Ports:  clk; rst (synchronous: empties the FIFO); wdata / wvalid / wready (write side;
//         wready = not full; a write while full is dropped and pulses `overflow`);
//         rdata / rvalid / rready (read side; rdata is the oldest word whenever rvalid).
// Parameters: WIDTH bits per word; AW: depth 2^AW words (AW >= 1).
// Latency: a written word is readable on the next cycle. Throughput: one write and one
//         read per cycle. rvalid and wready are registers-only functions (no path from
//         rready or wvalid).
module board_fifo #(
    parameter integer WIDTH = 16,
    parameter integer AW = 2
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] wdata,
    input  wire             wvalid,
    output wire             wready,
    output reg              overflow = 1'b0,
    output wire [WIDTH-1:0] rdata,
    output wire             rvalid,
    input  wire             rready
);
    reg [WIDTH-1:0] mem [0:(1 << AW) - 1];
    reg [AW:0]      wp = {(AW + 1){1'b0}};
    reg [AW:0]      rp = {(AW + 1){1'b0}};

    assign rvalid = wp != rp;
    assign wready = !((wp[AW] != rp[AW]) && (wp[AW-1:0] == rp[AW-1:0]));
    assign rdata  = mem[rp[AW-1:0]];

    always @(posedge clk) begin
        overflow <= 1'b0;
        if (rst) begin
            wp <= {(AW + 1){1'b0}};
            rp <= {(AW + 1){1'b0}};
        end else begin
            if (wvalid && wready) begin
                mem[wp[AW-1:0]] <= wdata;
                wp <= wp + 1'b1;
            end
            if (wvalid && !wready) overflow <= 1'b1;
            if (rvalid && rready) rp <= rp + 1'b1;
        end
    end
endmodule
