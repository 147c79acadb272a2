// Example testbench for an exported isrlu-ip core: plain Verilog-2005, no cocotb, no Python
// while it runs.
//
// It streams the payloads of a $readmemh vector file through the core, with random gaps on the
// input side and random back-pressure on the output side, checks every result (and flag) against
// the expected one stored with it, checks that a stalled result stays put, checks the latency of
// the first payload, and prints a pass count. The vectors and `tb_config.vh` (the core's name,
// widths, operand ports and latency) come from the golden model:
//
//   $ python -m hw.vectors --format bf16 --function isru-grad --out run/    # tb_config.vh, *.hex
//   $ iverilog -g2005 -I run -o run/sim docs/examples/tb_stream.v export/isru_grad_bf16_a1_lut12_n1.v
//   $ (cd run && vvp sim)
//   $ verilator --binary -Irun --top-module tb_stream docs/examples/tb_stream.v \
//         export/isru_grad_bf16_a1_lut12_n1.v --Mdir run/obj && (cd run && obj/Vtb_stream)
//
// Plus-arguments (optional): +seed=N, +gap=P (percent of cycles with no new input),
// +stall=P (percent of cycles with out_ready low).
`timescale 1ns / 1ps
`include "tb_config.vh"

module tb_stream;
  localparam IN_BITS = `LANES * `IN_WIDTH;          // one operand port
  localparam OUT_BITS = `LANES * `OUT_WIDTH;        // out_y
`ifdef FLAG
  localparam FLAG_BITS = `LANES;                    // out_flag
`else
  localparam FLAG_BITS = 0;
`endif
  localparam OPERAND_BITS = `OPERANDS * IN_BITS;
  localparam RESULT_BITS = OUT_BITS + FLAG_BITS;
  localparam WORD = OPERAND_BITS + RESULT_BITS;     // one line of the vector file
  localparam WATCHDOG = 100 * `COUNT + 1000;        // cycles

  reg clk = 1'b0;
  always #5 clk = ~clk;

  reg [WORD-1:0] vectors [0:`COUNT-1];
  reg rst = 1'b1;
  reg in_valid = 1'b0;
  wire in_ready;
  reg [OPERAND_BITS-1:0] operands = {OPERAND_BITS{1'b0}};
  wire out_valid;
  reg out_ready = 1'b0;
  wire [OUT_BITS-1:0] out_y;
`ifdef FLAG
  wire [FLAG_BITS-1:0] out_flag;
  wire [RESULT_BITS-1:0] result = {out_y, out_flag};
`else
  wire [RESULT_BITS-1:0] result = out_y;
`endif

  // Operand k (0 = first) is field k of the vector word, counted from the most significant end.
  `DUT dut (
    .clk(clk),
    .rst(rst),
    .in_valid(in_valid),
    .in_ready(in_ready),
`ifdef FMA
    .in_a(operands[OPERAND_BITS-1 -: IN_BITS]),
    .in_b(operands[OPERAND_BITS-1-IN_BITS -: IN_BITS]),
    .in_c(operands[IN_BITS-1:0]),
`else
    .in_x(operands[OPERAND_BITS-1 -: IN_BITS]),
`ifdef GRAD
    .in_grad(operands[OPERAND_BITS-1-IN_BITS -: IN_BITS]),
`endif
`ifdef ALPHA
    .in_alpha(operands[IN_BITS-1:0]),
`endif
`endif
`ifdef FLAG
    .out_flag(out_flag),
`endif
    .out_valid(out_valid),
    .out_ready(out_ready),
    .out_y(out_y)
  );

  integer seed = 1;
  integer seed_in, seed_out;        // one random stream per side
  integer gap = 20;
  integer stall = 30;
  integer cycle = 0;
  integer sent = 0;                 // payloads the core has taken
  integer received = 0;             // results the testbench has taken
  integer errors = 0;
  integer first_in = -1;            // cycle the first payload was taken
  integer first_out = -1;           // cycle the first result was offered
  reg held_valid = 1'b0;            // last cycle ended with a result offered but not taken
  reg [RESULT_BITS-1:0] held = {RESULT_BITS{1'b0}};

  wire taken_in = in_valid & in_ready;
  wire taken_out = out_valid & out_ready;
  wire [31:0] next_in = sent + taken_in;

  initial begin
    if (!$value$plusargs("seed=%d", seed)) seed = 1;
    if (!$value$plusargs("gap=%d", gap)) gap = 20;
    if (!$value$plusargs("stall=%d", stall)) stall = 30;
    seed_in = seed;
    seed_out = seed + 1;
    $readmemh(`VECTORS, vectors);
    repeat (3) @(posedge clk);
    @(negedge clk) rst = 1'b0;      // release between clock edges: no race with the core
  end

  // Source: offer the next payload on a random subset of cycles, hold it until it is taken.
  always @(posedge clk) begin
    if (!rst) begin
      sent <= next_in;
      if (taken_in && first_in < 0) first_in <= cycle;
      if (!in_valid || in_ready) begin
        if (next_in < `COUNT && {$random(seed_in)} % 100 >= gap) begin
          in_valid <= 1'b1;
          operands <= vectors[next_in][WORD-1 -: OPERAND_BITS];
        end else begin
          in_valid <= 1'b0;
        end
      end
    end
  end

  // Sink: take results on a random subset of cycles and check each one.
  always @(posedge clk) begin
    if (!rst) begin
      out_ready <= {$random(seed_out)} % 100 >= stall;
      if (out_valid && first_out < 0) first_out <= cycle;
      if (held_valid && (!out_valid || result !== held)) begin
        errors <= errors + 1;
        $display("ERROR: cycle %0d: a stalled result changed or vanished", cycle);
      end
      held_valid <= out_valid && !out_ready;
      held <= result;
      if (taken_out) begin
        if (result !== vectors[received][RESULT_BITS-1:0]) begin
          errors <= errors + 1;
          if (errors < 10)
            $display("ERROR: result %0d: got %h, expected %h (operands %h)", received, result,
                     vectors[received][RESULT_BITS-1:0], vectors[received][WORD-1 -: OPERAND_BITS]);
        end
        received <= received + 1;
      end
    end
  end

  // Finish: every result in, or the watchdog.
  always @(posedge clk) begin
    cycle <= cycle + 1;
    if (received == `COUNT || cycle == WATCHDOG) begin
      if (received != `COUNT)
        $display("FAIL: timeout after %0d cycles, %0d of %0d results", cycle, received, `COUNT);
      else if (first_out - first_in != `LATENCY)
        $display("FAIL: first result after %0d cycles, expected latency %0d",
                 first_out - first_in, `LATENCY);
      else if (errors != 0)
        $display("FAIL: %0d of %0d results wrong", errors, `COUNT);
      else
        $display("PASS: %0d of %0d results match (%s, latency %0d, %0d cycles)", received,
                 `COUNT, `DUT_NAME, `LATENCY, cycle);
      $finish;
    end
  end
endmodule
