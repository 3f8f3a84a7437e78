// uart_rx - 8N1 UART receiver (part of the spartus-gen UART board top, docs/board.md).
//
// Ports:  clk; rst (synchronous, active high); rx (the pin: asynchronous, idle high; a
//         two-flop synchronizer is inside); data[7:0] + valid (1-cycle pulse per byte with a
//         good stop bit); frame_err (1-cycle pulse when the stop bit was 0: the byte is
//         dropped and the receiver waits for the line to go high again).
// Parameter: CLKS_PER_BIT = clock / baud, rounded (>= 4).
// Sampling: the start bit is checked CLKS_PER_BIT/2 cycles after the falling edge (a
//         shorter low pulse is ignored), then every bit is sampled once, CLKS_PER_BIT apart.
// Latency: valid rises 2 + CLKS_PER_BIT/2 + 9*CLKS_PER_BIT cycles after the start edge
//         (in the middle of the stop bit).
// Throughput: back-to-back bytes (one per 10 bit times): after the stop bit's middle the
//         receiver already waits for the next start edge.
module uart_rx #(
    parameter integer CLKS_PER_BIT = 104
) (
    input  wire       clk,
    input  wire       rst,
    input  wire       rx,
    output reg  [7:0] data = 8'd0,
    output reg        valid = 1'b0,
    output reg        frame_err = 1'b0
);
    localparam integer CW = $clog2(CLKS_PER_BIT + 1);
    localparam integer FULL_I = CLKS_PER_BIT - 1;
    localparam integer HALF_I = CLKS_PER_BIT / 2 - 1;
    localparam [CW-1:0] FULL = FULL_I[CW-1:0];
    localparam [CW-1:0] HALF = HALF_I[CW-1:0];
    localparam [1:0] IDLE = 2'd0, START = 2'd1, BITS = 2'd2, STOP = 2'd3;

    reg [1:0]    sync = 2'b11;
    reg [1:0]    state = IDLE;
    reg [CW-1:0] count = {CW{1'b0}};
    reg [2:0]    nbit = 3'd0;
    reg [7:0]    shift = 8'd0;
    reg          wait_high = 1'b0;
    wire         line = sync[1];

    always @(posedge clk) begin
        sync      <= {sync[0], rx};
        valid     <= 1'b0;
        frame_err <= 1'b0;
        if (rst) begin
            state     <= IDLE;
            wait_high <= 1'b0;
        end else begin
            case (state)
                IDLE: begin
                    if (line) wait_high <= 1'b0;
                    else if (!wait_high) begin
                        state <= START;
                        count <= HALF;
                    end
                end
                START: begin
                    if (count != {CW{1'b0}}) count <= count - 1'b1;
                    else if (line) state <= IDLE;      // glitch, not a start bit
                    else begin
                        state <= BITS;
                        count <= FULL;
                        nbit  <= 3'd0;
                    end
                end
                BITS: begin
                    if (count != {CW{1'b0}}) count <= count - 1'b1;
                    else begin
                        shift <= {line, shift[7:1]};   // LSB first
                        count <= FULL;
                        nbit  <= nbit + 1'b1;
                        if (nbit == 3'd7) state <= STOP;
                    end
                end
                default: begin                         // STOP
                    if (count != {CW{1'b0}}) count <= count - 1'b1;
                    else begin
                        state <= IDLE;
                        if (line) begin
                            data  <= shift;
                            valid <= 1'b1;
                        end else begin
                            frame_err <= 1'b1;
                            wait_high <= 1'b1;
                        end
                    end
                end
            endcase
        end
    end
endmodule
