// uart_tx - 8N1 UART transmitter (part of the spartus-gen UART board top, docs/board.md).
//
// Ports:  clk; rst (synchronous, active high); data[7:0] / valid / ready: a byte is taken
//         when valid & ready (ready is a register, it does not depend on valid); tx (the
//         pin, idle high).
// Parameter: CLKS_PER_BIT = clock / baud, rounded (>= 4).
// Latency: the start bit begins on the clock edge after the handshake.
// Throughput: one byte per 10 * CLKS_PER_BIT + 1 cycles (the stop bit of back-to-back
//         bytes lasts one cycle longer than a bit).
module uart_tx #(
    parameter integer CLKS_PER_BIT = 104
) (
    input  wire       clk,
    input  wire       rst,
    input  wire [7:0] data,
    input  wire       valid,
    output reg        ready = 1'b1,
    output reg        tx = 1'b1
);
    localparam integer CW = $clog2(CLKS_PER_BIT + 1);
    localparam integer FULL_I = CLKS_PER_BIT - 1;
    localparam [CW-1:0] FULL = FULL_I[CW-1:0];

    reg [CW-1:0] count = {CW{1'b0}};
    reg [3:0]    left = 4'd0;       // bits still to send after the current one
    reg [8:0]    shift = 9'h1ff;    // {stop, data[7:1..]} still to send, LSB first

    always @(posedge clk) begin
        if (rst) begin
            ready <= 1'b1;
            tx    <= 1'b1;
        end else if (ready) begin
            if (valid) begin
                ready <= 1'b0;
                tx    <= 1'b0;             // start bit
                shift <= {1'b1, data};
                left  <= 4'd9;
                count <= FULL;
            end
        end else if (count != {CW{1'b0}}) begin
            count <= count - 1'b1;
        end else if (left == 4'd0) begin
            ready <= 1'b1;                 // stop bit done
        end else begin
            tx    <= shift[0];
            shift <= {1'b1, shift[8:1]};
            left  <= left - 1'b1;
            count <= FULL;
        end
    end
endmodule
