/* The six products of one causal block of attention (Tensor.attention, forward and backward), with one side a head
   (32-64 wide) and another a block of 64 queries. OpenBLAS spent more time on such calls than on their
   multiplications: it packs both operands on every call (K and V once per block, four times over for T = 256) and
   zero-fills C in a pass of its own for beta 0 (sgemm_beta alone took 11 % of attention's time). Here the caller
   packs each (batch row, head)'s K, V, Kᵀ, Vᵀ, Q and output gradient once, into strips of 16 columns
   (gtr_attn_pack), which every block then reads a prefix of; the product (gtr_attn_block_gemm) packs only a
   transposed A, into panels of its row tiles. Register tile: 6 rows × 16 columns, 12 accumulators (so the FMA
   chains hide their latency: two B loads and six broadcasts per step of p), with 4-row, 1-row and masked-column
   edges. Every output is one FMA chain over p in order from 0, then ·alpha, then + C when beta is 1, whatever tile
   it falls in, so a row's bits do not depend on m or n. */
#ifndef GTR_ATTENTION_BLOCK_H
#define GTR_ATTENTION_BLOCK_H
#include <stdlib.h>
#include <string.h>

/* Packs B(p, j) = b[p·brs + j·bcs] (p < k, j < n) into strips of 16 columns, k rows each:
   dst[(j / 16)·k·16 + p·16 + j % 16], zeros past column n. Rows p0 ..< p0 + k' of the packed B are then
   dst + 16·p0 with strips 16·k apart. dst holds 16·k·⌈n / 16⌉ floats. */
static inline void gtr_attn_pack(long k, long n, const float *b, long brs, long bcs, float *dst) {
    for (long s = 0; s * 16 < n; s++) {
        const long j = s * 16, w = n - j < 16 ? n - j : 16;
        float *d = dst + s * k * 16;
        if (bcs == 1) {
            for (long p = 0; p < k; p++) {
                memcpy(d + p * 16, b + p * brs + j, sizeof(float) * (size_t)w);
                if (w < 16) memset(d + p * 16 + w, 0, sizeof(float) * (size_t)(16 - w));
            }
        } else {  /* columns of B contiguous (brs 1): each column's k values land 16 apart */
            for (long q = 0; q < 16; q++) {
                if (q < w) { const float *col = b + (j + q) * bcs; for (long p = 0; p < k; p++) d[p * 16 + q] = col[p * brs]; }
                else for (long p = 0; p < k; p++) d[p * 16 + q] = 0.0f;
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

/* Lanes 0 ..< w on (w ≤ 0: none, w ≥ 8: all). */
static inline __m256i gtr_ab_mask(long w) {
    const long c = w < 0 ? 0 : (w > 8 ? 8 : w);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Columns j ..< j+w (1 ≤ w ≤ 16) of one row of C from its two accumulators: alpha·acc, + C when beta is 1. */
static inline void gtr_ab_store2(__m256 lo, __m256 hi, float alpha, float beta, float *c, long w) {
    const __m256 al = _mm256_set1_ps(alpha);
    lo = _mm256_mul_ps(lo, al); hi = _mm256_mul_ps(hi, al);
    if (w == 16) {
        if (beta != 0.0f) { lo = _mm256_add_ps(_mm256_loadu_ps(c), lo); hi = _mm256_add_ps(_mm256_loadu_ps(c + 8), hi); }
        _mm256_storeu_ps(c, lo); _mm256_storeu_ps(c + 8, hi);
        return;
    }
    const __m256i m0 = gtr_ab_mask(w), m1 = gtr_ab_mask(w - 8);
    if (beta != 0.0f) { lo = _mm256_add_ps(_mm256_maskload_ps(c, m0), lo); hi = _mm256_add_ps(_mm256_maskload_ps(c + 8, m1), hi); }
    _mm256_maskstore_ps(c, m0, lo); _mm256_maskstore_ps(c + 8, m1, hi);
}

/* R (6, 4 or 1) rows of C against one packed strip (k rows of 16): A(r, p) = a[r·ars + p·acs]. The rows are
   spelled out by the X-macros below (an array of accumulators indexed in a loop was kept on the stack). */
#define GTR_AB_ACC(r) __m256 l##r = _mm256_setzero_ps(), h##r = l##r;
#define GTR_AB_FMA(r)                                                                                               \
    { const __m256 x = _mm256_broadcast_ss(a + (r) * ars + o);                                                      \
      l##r = _mm256_fmadd_ps(x, b0, l##r); h##r = _mm256_fmadd_ps(x, b1, h##r); }
#define GTR_AB_OUT(r) gtr_ab_store2(l##r, h##r, alpha, beta, c + (r) * ldc, w);
#define GTR_AB_TILE(R, EACH)                                                                                        \
static inline void gtr_ab_tile##R(long k, const float *a, long ars, long acs, const float *strip, float alpha,     \
                                  float beta, float *c, long ldc, long w) {                                        \
    EACH(GTR_AB_ACC)                                                                                                \
    for (long p = 0; p < k; p++) {                                                                                  \
        const __m256 b0 = _mm256_loadu_ps(strip + p * 16), b1 = _mm256_loadu_ps(strip + p * 16 + 8);               \
        const long o = p * acs;                                                                                     \
        EACH(GTR_AB_FMA)                                                                                            \
    }                                                                                                               \
    EACH(GTR_AB_OUT)                                                                                                \
}
#define GTR_AB_ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define GTR_AB_ROWS4(X) X(0) X(1) X(2) X(3)
#define GTR_AB_ROWS1(X) X(0)
GTR_AB_TILE(6, GTR_AB_ROWS6)
GTR_AB_TILE(4, GTR_AB_ROWS4)
GTR_AB_TILE(1, GTR_AB_ROWS1)
#undef GTR_AB_TILE
#undef GTR_AB_ACC
#undef GTR_AB_FMA
#undef GTR_AB_OUT

/* C (m × n) = alpha·A·B + beta·C, beta 0 (C is not read) or 1, with A(r, p) = a[r·ars + p·acs] and B (k × n) packed
   by gtr_attn_pack, strips ss floats apart. Strips outside, so a strip (k·16 floats) stays in L1 while the row tiles
   go by. A transposed A (ars 1: a row's k values far apart, a tile's six rows side by side) is first copied into
   panels, one per row tile, p-major. */
static inline void gtr_attn_block_gemm(long m, long n, long k, float alpha, const float *a, long ars, long acs,
                                       const float *bp, long ss, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    float *panels = NULL;
    if (acs != 1) {
        panels = (float *)malloc(sizeof(float) * (size_t)(m * k));
        long r = 0;
        while (r < m) {
            const long R = m - r >= 6 ? 6 : (m - r >= 4 ? 4 : 1);
            float *dst = panels + r * k;
            if (ars == 1) {  /* the tile's rows side by side: fixed-size copies the compiler turns into moves */
                const float *src = a + r;
                if (R == 6) for (long p = 0; p < k; p++) memcpy(dst + p * 6, src + p * acs, 6 * sizeof(float));
                else if (R == 4) for (long p = 0; p < k; p++) memcpy(dst + p * 4, src + p * acs, 4 * sizeof(float));
                else for (long p = 0; p < k; p++) dst[p] = src[p * acs];
            } else {
                for (long p = 0; p < k; p++) for (long q = 0; q < R; q++) dst[p * R + q] = a[(r + q) * ars + p * acs];
            }
            r += R;
        }
    }
    for (long j = 0; j < n; j += 16) {
        const long w = n - j < 16 ? n - j : 16;
        const float *strip = bp + (j / 16) * ss;
        long r = 0;
        while (r < m) {
            const long R = m - r >= 6 ? 6 : (m - r >= 4 ? 4 : 1);
            const float *ar = panels ? panels + r * k : a + r * ars;
            const long rs = panels ? 1 : ars, ps = panels ? R : acs;
            float *cr = c + r * ldc + j;
            if (R == 6) gtr_ab_tile6(k, ar, rs, ps, strip, alpha, beta, cr, ldc, w);
            else if (R == 4) gtr_ab_tile4(k, ar, rs, ps, strip, alpha, beta, cr, ldc, w);
            else gtr_ab_tile1(k, ar, rs, ps, strip, alpha, beta, cr, ldc, w);
            r += R;
        }
    }
    free(panels);
}

#pragma clang attribute pop
#else
/* Portable form: the same chains. */
static inline void gtr_attn_block_gemm(long m, long n, long k, float alpha, const float *a, long ars, long acs,
                                       const float *bp, long ss, float beta, float *c, long ldc) {
    for (long r = 0; r < m; r++) {
        for (long j = 0; j < n; j++) {
            float t = 0;
            for (long p = 0; p < k; p++) t = __builtin_fmaf(a[r * ars + p * acs], bp[(j / 16) * ss + p * 16 + j % 16], t);
            t *= alpha;
            c[r * ldc + j] = beta != 0.0f ? c[r * ldc + j] + t : t;
        }
    }
}
#endif
#endif
