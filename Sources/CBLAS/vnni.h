/* The quantised block kernels of QuantKernels.swift for CPUs with AVX-VNNI and AVX-512 (Sapphire Rapids and later,
   Zen 5): vpdpbusd forms each lane's four int8 products in one instruction where AVX2 needs vpmaddubsw and
   vpmaddwd. Swift cannot inline a C function compiled for more features than its caller, so the whole row loop
   lives here, one call per chunk of output rows. The integer sums are exact and every float operation happens in
   the Swift kernels' order (one FMA per block into 8 lanes, the min term by one FMA per block, hsum_float_8 at the end),
   so the results equal theirs, and ggml's, bit for bit. Types: Q4_0, Q4_1, Q8_0 (the others stay in Swift). */
#ifndef GTR_VNNI_H
#define GTR_VNNI_H
#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avxvnni,avx512f,avx512vl,avx512bw,avx512vnni"))), apply_to = function)

#ifndef GTR_VNNI_PREFETCH
#define GTR_VNNI_PREFETCH 1024
#endif
enum { GTR_VNNI_Q4_0 = 2, GTR_VNNI_Q4_1 = 3, GTR_VNNI_Q8_0 = 8 };

static inline float gtr_vnni_half(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return _cvtsh_ss(h); }

/* hsum_float_8: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)). */
static inline float gtr_vnni_hsum(__m256 a) {
    __m128 s4 = _mm_add_ps(_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(a));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(s2) + _mm_cvtss_f32(_mm_shuffle_ps(s2, s2, 1));
}

/* 16 bytes of nibbles as 32 unsigned bytes in element order (low nibbles first). */
static inline __m256i gtr_vnni_nibbles(const uint8_t *p) {
    __m128i raw = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
}

static inline __attribute__((always_inline)) int gtr_vnni_bytes(int type) { return type == GTR_VNNI_Q4_0 ? 18 : type == GTR_VNNI_Q4_1 ? 20 : 34; }

/* A weight block as unsigned bytes u with w = u − c (Q4_1: c = 0; Q4_0: nibbles, c = 8; Q8_0: w ⊕ 0x80, c = 128), so
   that Σ w·x = Σ u·x − c·Σ x: vpdpbusd started from −c·Σx (per lane, from the activations' quad sums) gives the
   exact lane sums with one instruction per pair and no sign steps. */
static inline __attribute__((always_inline)) __m256i gtr_vnni_unsigned(int type, const uint8_t *p, float *d, float *m) {
    if (type == GTR_VNNI_Q4_1) { *d = gtr_vnni_half(p); *m = gtr_vnni_half(p + 2); return gtr_vnni_nibbles(p + 4); }
    *d = gtr_vnni_half(p); *m = 0;
    if (type == GTR_VNNI_Q4_0) return gtr_vnni_nibbles(p + 2);
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 2)), _mm256_set1_epi8((char)0x80));
}

/* Tile of RM weight rows (from w, rowBytes apart) × RN activation rows (from i): y[i + j, r + k] for each pair,
   every output summed over the blocks in the order of the one-row kernels. s4: (n, blocks, 8) −128 times the
   activations' sums of each four adjacent values. */
static inline __attribute__((always_inline)) void gtr_vnni_tile(int type, int RM, int RN, const uint8_t *w, long rowBytes,
        long blocks, const int8_t *xq, const float *xd, const float *xs, const int32_t *s4, long i, float *y, long rows, long r) {
    const int bb = gtr_vnni_bytes(type), sums = type == GTR_VNNI_Q4_1;
    __m256 acc[4][4];
    __m128 mins[4];  /* Q4_1: Σ m_w·s_x of weight row k against activation row j in lane j */
    _Pragma("clang loop unroll(full)") for (int k = 0; k < RM; k++) {
        mins[k] = _mm_setzero_ps();
        _Pragma("clang loop unroll(full)") for (int j = 0; j < RN; j++) acc[k][j] = _mm256_setzero_ps();
    }
    for (long b = 0; b < blocks; b++) {
        __m256i x[4], c[4];
        float dx[4] = {0, 0, 0, 0}, sx[4] = {0, 0, 0, 0};
        _Pragma("clang loop unroll(full)") for (int j = 0; j < RN; j++) {
            long a = (i + j) * blocks + b;
            x[j] = _mm256_loadu_si256((const __m256i *)(xq + a * 32));
            dx[j] = xd[a];
            if (sums) sx[j] = xs[a];
            /* −c·Σx: s4 holds −128·Σx (exact: −8·Σx·16 for Q4_0) */
            if (type == GTR_VNNI_Q8_0) c[j] = _mm256_loadu_si256((const __m256i *)(s4 + a * 8));
            else if (type == GTR_VNNI_Q4_0) c[j] = _mm256_srai_epi32(_mm256_loadu_si256((const __m256i *)(s4 + a * 8)), 4);
            else c[j] = _mm256_setzero_si256();
        }
        /* the activation scales side by side: one product d_w·d_x per weight row for all RN rows (the same float
           products as one at a time), each broadcast to its pair's lanes */
        __m128 dx4 = _mm_setr_ps(dx[0], dx[1], dx[2], dx[3]), sx4 = _mm_setr_ps(sx[0], sx[1], sx[2], sx[3]);
        _Pragma("clang loop unroll(full)") for (int k = 0; k < RM; k++) {
            float d, m;
            if (GTR_VNNI_PREFETCH) _mm_prefetch((const char *)(w + k * rowBytes + b * bb + GTR_VNNI_PREFETCH), _MM_HINT_T0);
            __m256i u = gtr_vnni_unsigned(type, w + k * rowBytes + b * bb, &d, &m);
            __m256 sc = _mm256_castps128_ps256(_mm_mul_ps(_mm_set1_ps(d), dx4));
            _Pragma("clang loop unroll(full)") for (int j = 0; j < RN; j++) {
                __m256 t = _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(c[j], u, x[j]));
                __m256 scale = RN == 1 ? _mm256_set1_ps(d * dx[0]) : _mm256_permutexvar_ps(_mm256_set1_epi32(j), sc);
                acc[k][j] = _mm256_fmadd_ps(scale, t, acc[k][j]);
            }
            if (sums) mins[k] = _mm_fmadd_ps(_mm_set1_ps(m), sx4, mins[k]);  /* lane j: fmaf(m, s_x[j], ·) */
        }
    }
    _Pragma("clang loop unroll(full)") for (int k = 0; k < RM; k++)
        _Pragma("clang loop unroll(full)") for (int j = 0; j < RN; j++)
            y[(i + j) * rows + r + k] = sums ? gtr_vnni_hsum(acc[k][j]) + mins[k][j] : gtr_vnni_hsum(acc[k][j]);
}

#define GTR_VNNI_TILES(RM) \
    for (; i + 4 <= n; i += 4) gtr_vnni_tile(type, RM, 4, w, rowBytes, blocks, xq, xd, xs, s4, i, y, rows, r); \
    switch (n - i) { \
    case 3: gtr_vnni_tile(type, RM, 3, w, rowBytes, blocks, xq, xd, xs, s4, i, y, rows, r); break; \
    case 2: gtr_vnni_tile(type, RM, 2, w, rowBytes, blocks, xq, xd, xs, s4, i, y, rows, r); break; \
    case 1: gtr_vnni_tile(type, RM, 1, w, rowBytes, blocks, xq, xd, xs, s4, i, y, rows, r); break; \
    }

/* Output rows r0..<r1 of y: (n, rows) = x · Wᵀ, W's rows rowBytes apart from base; x as Q8 blocks: q (n, blocks,
   32), d, s and s4. Tiles of 4 weight rows × 4 activation rows for a prompt, 2 × 1 for a decoding step (n < 4);
   the edges in smaller tiles. */
static inline __attribute__((always_inline)) void gtr_vnni_tiles(int type, const uint8_t *base, long rowBytes, long r0, long r1,
        long blocks, const int8_t *xq, const float *xd, const float *xs, const int32_t *s4, long n, float *y, long rows) {
    long r = r0;
    if (n < 4) for (; r + 2 <= r1; r += 2) { const uint8_t *w = base + r * rowBytes; long i = 0; GTR_VNNI_TILES(2) }
    for (; r + 4 <= r1; r += 4) { const uint8_t *w = base + r * rowBytes; long i = 0; GTR_VNNI_TILES(4) }
    for (; r < r1; r++) { const uint8_t *w = base + r * rowBytes; long i = 0; GTR_VNNI_TILES(1) }
}

static inline void gtr_vnni_rows_q4_0(const uint8_t *base, long rowBytes, long r0, long r1, long blocks, const int8_t *xq,
        const float *xd, const float *xs, const int32_t *s4, long n, float *y, long rows) {
    gtr_vnni_tiles(GTR_VNNI_Q4_0, base, rowBytes, r0, r1, blocks, xq, xd, xs, s4, n, y, rows);
}
static inline void gtr_vnni_rows_q4_1(const uint8_t *base, long rowBytes, long r0, long r1, long blocks, const int8_t *xq,
        const float *xd, const float *xs, const int32_t *s4, long n, float *y, long rows) {
    gtr_vnni_tiles(GTR_VNNI_Q4_1, base, rowBytes, r0, r1, blocks, xq, xd, xs, s4, n, y, rows);
}
static inline void gtr_vnni_rows_q8_0(const uint8_t *base, long rowBytes, long r0, long r1, long blocks, const int8_t *xq,
        const float *xd, const float *xs, const int32_t *s4, long n, float *y, long rows) {
    gtr_vnni_tiles(GTR_VNNI_Q8_0, base, rowBytes, r0, r1, blocks, xq, xd, xs, s4, n, y, rows);
}

#pragma clang attribute pop

/* 1 when this CPU has AVX-VNNI and the AVX2, FMA, F16C and AVX-512 (F, VL, BW, VNNI: 32 vector registers for the
   tiles) the kernels above are compiled for: Sapphire Rapids and later, Zen 5. */
static inline int gtr_cpu_has_avxvnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
        && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}
#endif
#endif
