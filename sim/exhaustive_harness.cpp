// Verilator harness of sim/exhaustive.py: streams a contiguous block of the exhaustive sweep (or of
// the seeded random (x, grad) pair sweep) through the exported unit, one input per lane and clock,
// with the stimulus generated here (no per-cycle Python), and folds the outputs, in input order,
// into one zlib CRC-32 per range of 2**range_bits inputs.
//
// Compile-time parameters (-CFLAGS -D...): IN_W, OUT_W (bits per lane), LANES, HAS_GRAD,
// HAS_ALPHA, HAS_FLAG; the model class is Vdut (verilator --prefix Vdut).
//
// Usage: harness --sweep x|pairs --start S --end E --range-bits B --latency L
//                [--grad G] [--alpha A] [--seed SEED] [--dump FILE]
//   x sweep: input k (S <= k < E) is x = k, grad = G, alpha = A.
//   pairs:   input k is z = splitmix64(SEED + (k + 1) * GOLDEN) with x = z mod 2**IN_W,
//            grad = (z >> 32) mod 2**IN_W (sim/exhaustive.py:pair_operands does the same in NumPy).
//   --dump FILE: also write every output as a little-endian uint32 to FILE (and the flags, one
//            byte per output, to FILE.flag).
// Output, one line per range once its last result is out (ranges are k >> B):
//   range <index> <crc of y> <crc of flag> <inputs> <cycles so far> <wall s so far> <cpu s so far>
// and at the end:
//   done <inputs> <cycles> <wall s> <cpu s> <measured latency> <1 if the fast eval was used>
// Errors: "error: <message>" on stderr and exit status 1.
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <type_traits>

#include "Vdut.h"
#include "verilated.h"

// Fast evaluation: Vdut::eval() wraps the model's evaluation in per-call bookkeeping (deferred
// deletes, the multithreaded message queue) that takes two mutexes, about half of the time of a
// small design's clock cycle. Neither is used here (no classes, no $display), so after the first
// eval() (which runs the initial blocks) the harness calls the model's evaluation function
// directly. The reference is weak: with a Verilator that names it differently it resolves to
// null and the harness falls back to eval().
#if __has_include("Vdut___024root.h")
#include "Vdut___024root.h"
void Vdut___024root___eval(Vdut___024root* vlSelf) __attribute__((weak));
#define FAST_EVAL_AVAILABLE 1
#else
#define FAST_EVAL_AVAILABLE 0
#endif

#ifndef IN_W
#error "IN_W undefined"
#endif
#ifndef OUT_W
#error "OUT_W undefined"
#endif
#ifndef LANES
#define LANES 1
#endif
#ifndef HAS_GRAD
#define HAS_GRAD 0
#endif
#ifndef HAS_ALPHA
#define HAS_ALPHA 0
#endif
#ifndef HAS_FLAG
#define HAS_FLAG 0
#endif

static constexpr uint64_t IN_MASK = (IN_W >= 64) ? ~0ULL : ((1ULL << IN_W) - 1);
static constexpr uint64_t OUT_MASK = (OUT_W >= 64) ? ~0ULL : ((1ULL << OUT_W) - 1);
static constexpr uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL;

// ---- CRC-32 (zlib: reflected polynomial 0xEDB88320), slicing by 4 ----------------------------
static uint32_t crc_table[4][256];

static void crc_init() {
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
        for (int t = 1; t < 4; ++t)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

// State is kept inverted (start 0xFFFFFFFF, final xor 0xFFFFFFFF), like zlib.
static inline uint32_t crc_word(uint32_t crc, uint32_t word) {  // 4 bytes, little-endian
    crc ^= word;
    return crc_table[3][crc & 0xff] ^ crc_table[2][(crc >> 8) & 0xff] ^
           crc_table[1][(crc >> 16) & 0xff] ^ crc_table[0][crc >> 24];
}

static inline uint32_t crc_byte(uint32_t crc, uint8_t byte) {
    return crc_table[0][(crc ^ byte) & 0xff] ^ (crc >> 8);
}

// ---- PRNG of the pair sweep (counter-based splitmix64) ----------------------------------------
static inline uint64_t splitmix64(uint64_t seed, uint64_t k) {
    uint64_t z = seed + (k + 1) * GOLDEN;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// ---- Lane packing into Verilator port types ----------------------------------------------------
static inline void put_bits(uint32_t* words, unsigned off, unsigned width, uint64_t value) {
    for (unsigned done = 0; done < width;) {
        unsigned bit = off + done, word = bit / 32, shift = bit % 32;
        unsigned take = 32 - shift < width - done ? 32 - shift : width - done;
        uint32_t mask = (take == 32 ? 0xFFFFFFFFu : ((1u << take) - 1)) << shift;
        words[word] = (words[word] & ~mask) | ((uint32_t)(value >> done) << shift & mask);
        done += take;
    }
}

static inline uint64_t get_bits(const uint32_t* words, unsigned off, unsigned width) {
    uint64_t value = 0;
    for (unsigned done = 0; done < width;) {
        unsigned bit = off + done, word = bit / 32, shift = bit % 32;
        unsigned take = 32 - shift < width - done ? 32 - shift : width - done;
        uint64_t part = (words[word] >> shift) & (take == 32 ? 0xFFFFFFFFu : ((1u << take) - 1));
        value |= part << done;
        done += take;
    }
    return value;
}

template <typename T>
static inline void set_port(T& port, const uint64_t* lanes, unsigned width) {
    if constexpr (std::is_integral<T>::value) {
        if (LANES == 1) {
            port = (T)lanes[0];
        } else {
            uint64_t v = 0;
            for (unsigned l = 0; l < LANES; ++l) v |= lanes[l] << (l * width);
            port = (T)v;
        }
    } else {
        for (unsigned l = 0; l < LANES; ++l) put_bits(port.data(), l * width, width, lanes[l]);
    }
}

template <typename T>
static inline uint64_t get_lane(const T& port, unsigned lane, unsigned width) {
    if constexpr (std::is_integral<T>::value) {
        return LANES == 1 ? (uint64_t)port : ((uint64_t)port >> (lane * width));
    } else {
        return get_bits(port.data(), lane * width, width);
    }
}

// ---- Timing -----------------------------------------------------------------------------------
static double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

[[noreturn]] static void fail(const std::string& message) {
    std::fprintf(stderr, "error: %s\n", message.c_str());
    std::fflush(stdout);
    std::exit(1);
}

static uint64_t parse_u64(const char* text, const char* name) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(text, &end, 0);
    if (!*text || *end) fail(std::string("bad value for ") + name + ": " + text);
    return v;
}

int main(int argc, char** argv) {
    std::string sweep = "x", dump_path;
    uint64_t start = 0, end = 0, grad = 0, alpha = 0, seed = 0, latency = 0;
    unsigned range_bits = 24;
    bool have_end = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) fail("missing value after " + a);
        const char* v = argv[++i];
        if (a == "--sweep") sweep = v;
        else if (a == "--start") start = parse_u64(v, "--start");
        else if (a == "--end") { end = parse_u64(v, "--end"); have_end = true; }
        else if (a == "--range-bits") range_bits = (unsigned)parse_u64(v, "--range-bits");
        else if (a == "--grad") grad = parse_u64(v, "--grad") & IN_MASK;
        else if (a == "--alpha") alpha = parse_u64(v, "--alpha") & IN_MASK;
        else if (a == "--seed") seed = parse_u64(v, "--seed");
        else if (a == "--latency") latency = parse_u64(v, "--latency");
        else if (a == "--dump") dump_path = v;
        else fail("unknown option " + a);
    }
    if (sweep != "x" && sweep != "pairs") fail("--sweep must be x or pairs");
    if (!have_end || end <= start) fail("need --start S --end E with S < E");
    if (range_bits > 40) fail("--range-bits too large");
    const bool pairs = sweep == "pairs";
    crc_init();

    FILE* dump = nullptr;
    FILE* dump_flag = nullptr;
    if (!dump_path.empty()) {
        dump = std::fopen(dump_path.c_str(), "wb");
        if (!dump) fail("cannot write " + dump_path);
        if (HAS_FLAG) {
            dump_flag = std::fopen((dump_path + ".flag").c_str(), "wb");
            if (!dump_flag) fail("cannot write " + dump_path + ".flag");
        }
    }

    auto context = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vdut>(context.get(), "dut");
    uint64_t x_lanes[LANES] = {0};
    uint64_t grad_lanes[LANES] = {0};
    uint64_t alpha_lanes[LANES] = {0};
    for (unsigned l = 0; l < LANES; ++l) { grad_lanes[l] = grad; alpha_lanes[l] = alpha; }
    (void)grad_lanes;
    (void)alpha_lanes;

#if FAST_EVAL_AVAILABLE
    const bool fast = Vdut___024root___eval != nullptr && !std::getenv("EXHAUSTIVE_SLOW_EVAL");
    Vdut___024root* const root = top->rootp;
#else
    const bool fast = false;
#endif
    auto eval = [&]() {
#if FAST_EVAL_AVAILABLE
        if (fast) { Vdut___024root___eval(root); return; }
#endif
        top->eval();
    };

    // Reset: two cycles with rst high and nothing valid (the first eval() runs the initial blocks).
    top->clk = 0;
    top->rst = 1;
    top->in_valid = 0;
    top->out_ready = 1;
    top->eval();
    for (int c = 0; c < 2; ++c) {
        top->clk = 1; eval();
        top->clk = 0; eval();
    }
    top->rst = 0;
    eval();

    const uint64_t total = end - start;
    uint64_t next_in = start;        // index of the next input to offer
    uint64_t next_out = start;       // index of the next result expected
    uint64_t cycles = 0, first_in_cycle = 0, measured_latency = 0;
    bool first_out_seen = false;
    uint64_t last_out_cycle = 0, last_in_cycle = 0;
    const uint64_t watchdog = latency + 1000;
    uint64_t range = start >> range_bits;
    uint32_t crc_y = 0xFFFFFFFFu, crc_f = 0xFFFFFFFFu;
    uint64_t range_inputs = 0;
    auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    auto wall = [&]() {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    static uint32_t dump_buf[1 << 16];
    static uint8_t flag_buf[1 << 16];
    unsigned dump_fill = 0;

    while (next_out < end) {
        // Offer the next LANES inputs (indices past the end carry don't-care values).
        const bool offer = next_in < end;
        top->in_valid = offer;
        if (offer) {
            for (unsigned l = 0; l < LANES; ++l) {
                const uint64_t k = next_in + l;
                if (pairs) {
                    const uint64_t z = splitmix64(seed, k);
                    x_lanes[l] = z & IN_MASK;
                    grad_lanes[l] = (z >> 32) & IN_MASK;
                } else {
                    x_lanes[l] = k & IN_MASK;
                }
            }
            set_port(top->in_x, x_lanes, IN_W);
#if HAS_GRAD
            set_port(top->in_grad, grad_lanes, IN_W);
#endif
#if HAS_ALPHA
            set_port(top->in_alpha, alpha_lanes, IN_W);
#endif
        }
        eval();  // settle the combinational logic of the new inputs (clk low)
        const bool in_fire = offer && top->in_ready;
        const bool out_fire = top->out_valid;  // out_ready is held high
        if (out_fire) {
            if (!first_out_seen) {
                first_out_seen = true;
                measured_latency = cycles - first_in_cycle;
            }
            for (unsigned l = 0; l < LANES && next_out < end; ++l, ++next_out) {
                const uint32_t y = (uint32_t)(get_lane(top->out_y, l, OUT_W) & OUT_MASK);
                crc_y = crc_word(crc_y, y);
#if HAS_FLAG
                const uint8_t f = (uint8_t)get_lane(top->out_flag, l, 1) & 1;
                crc_f = crc_byte(crc_f, f);
#else
                const uint8_t f = 0;
#endif
                if (dump) {
                    dump_buf[dump_fill] = y;  // little-endian hosts only (x86, arm64)
                    flag_buf[dump_fill] = f;
                    if (++dump_fill == (1u << 16)) {
                        std::fwrite(dump_buf, 4, dump_fill, dump);
                        if (dump_flag) std::fwrite(flag_buf, 1, dump_fill, dump_flag);
                        dump_fill = 0;
                    }
                }
                ++range_inputs;
                const uint64_t k = next_out + 1;
                if (k == end || (k >> range_bits) != range) {
                    std::printf("range %" PRIu64 " %08x %08x %" PRIu64 " %" PRIu64 " %.3f %.3f\n",
                                range, crc_y ^ 0xFFFFFFFFu, crc_f ^ 0xFFFFFFFFu, range_inputs,
                                cycles, wall(), cpu_seconds() - cpu0);
                    std::fflush(stdout);
                    range = k >> range_bits;
                    crc_y = crc_f = 0xFFFFFFFFu;
                    range_inputs = 0;
                }
            }
            last_out_cycle = cycles;
        } else if (cycles - last_out_cycle > watchdog &&
                   (next_out != next_in || cycles - last_in_cycle > watchdog)) {
            fail(std::string(next_out != next_in ? "no result" : "input not accepted") + " for " +
                 std::to_string(watchdog) + " cycles (index " + std::to_string(next_out) + ")");
        }
        if (in_fire) {
            if (next_in == start) { first_in_cycle = cycles; last_out_cycle = cycles; }
            last_in_cycle = cycles;
            next_in += LANES;
            if (next_in > end) next_in = end;
        }
        top->clk = 1; eval();
        top->clk = 0;
        ++cycles;
    }
    if (dump) {
        std::fwrite(dump_buf, 4, dump_fill, dump);
        if (dump_flag) std::fwrite(flag_buf, 1, dump_fill, dump_flag);
        if (std::fclose(dump) != 0) fail("write error on " + dump_path);
        if (dump_flag && std::fclose(dump_flag) != 0) fail("write error on " + dump_path + ".flag");
    }
    top->final();
    std::printf("done %" PRIu64 " %" PRIu64 " %.3f %.3f %" PRIu64 " %d\n", total, cycles, wall(),
                cpu_seconds() - cpu0, measured_latency, fast ? 1 : 0);
    return 0;
}
