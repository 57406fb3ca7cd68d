/* C = alpha·A·Bᵀ + beta·C for a few rows of A: the product of a linear layer (B is its (out, in) weight, row-major)
   on a decoding step's activations. OpenBLAS packs all of B for every call, which for 1-16 rows costs more than
   the product itself; this kernel reads B in place, four weight rows at a time, and forms each output as a dot
   product: 8 lanes of FMAs over k in order, one fixed reduction tree, the k % 8 tail, then alpha and beta. Every
   output goes through the same operations whatever m, n and the tile it falls in, so a row's result does not
   depend on the other rows of the batch or on how the columns are split over threads. */
#ifndef GTR_SMALLGEMM_H
#define GTR_SMALLGEMM_H
#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

/* The sums of four 8-lane accumulators: ((x0+x1) + (x2+x3)) + ((x4+x5) + (x6+x7)) for each. */
static inline __m128 gtr_small_hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* Row r of C, columns j..<j+nj (nj ≤ 4): the tile's sums s, plus the k tail, alpha and beta. Four whole columns
   with no tail, alpha 1 and beta 0 or 1 take one vector store (t + 1·c is t + c, so the bits are the same). */
static inline void gtr_small_store(__m128 s, long nj, long k8, long k, const float *x, const float *const *w,
                                   float alpha, float beta, float *c) {
    if (nj == 4 && k8 == k && alpha == 1.0f) {
        if (beta == 0.0f) { _mm_storeu_ps(c, s); return; }
        if (beta == 1.0f) { _mm_storeu_ps(c, _mm_add_ps(s, _mm_loadu_ps(c))); return; }
    }
    float v[4];
    _mm_storeu_ps(v, s);
    for (long q = 0; q < nj; q++) {
        float t = v[q];
        for (long p = k8; p < k; p++) t = __builtin_fmaf(x[p], w[q][p], t);
        t = alpha == 1.0f ? t : alpha * t;
        c[q] = beta == 0.0f ? t : t + beta * c[q];
    }
}

/* The tiles, written out with named registers, not arrays and loops: Swift's importer compiles these inline
   functions without unrolling. Columns past n repeat an earlier column; their sums are computed and dropped. */

/* Rows r..r+2 against weight rows w[0..3]: 12 accumulators, the three rows' vectors held, each weight vector
   loaded once per k step and used three times (16 registers in all). */
static inline void gtr_small_tile3(long nj, long k8, long k, const float *x0, long lda, const float *const *w,
                                   float alpha, float beta, float *c, long ldc) {
    const float *x1 = x0 + lda, *x2 = x1 + lda;
    const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00,
           a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    for (long p = 0; p < k8; p += 8) {
        const __m256 u = _mm256_loadu_ps(x0 + p), v = _mm256_loadu_ps(x1 + p), t = _mm256_loadu_ps(x2 + p);
        __m256 b = _mm256_loadu_ps(w0 + p);
        a00 = _mm256_fmadd_ps(u, b, a00); a10 = _mm256_fmadd_ps(v, b, a10); a20 = _mm256_fmadd_ps(t, b, a20);
        b = _mm256_loadu_ps(w1 + p);
        a01 = _mm256_fmadd_ps(u, b, a01); a11 = _mm256_fmadd_ps(v, b, a11); a21 = _mm256_fmadd_ps(t, b, a21);
        b = _mm256_loadu_ps(w2 + p);
        a02 = _mm256_fmadd_ps(u, b, a02); a12 = _mm256_fmadd_ps(v, b, a12); a22 = _mm256_fmadd_ps(t, b, a22);
        b = _mm256_loadu_ps(w3 + p);
        a03 = _mm256_fmadd_ps(u, b, a03); a13 = _mm256_fmadd_ps(v, b, a13); a23 = _mm256_fmadd_ps(t, b, a23);
    }
    gtr_small_store(gtr_small_hsum4(a00, a01, a02, a03), nj, k8, k, x0, w, alpha, beta, c);
    gtr_small_store(gtr_small_hsum4(a10, a11, a12, a13), nj, k8, k, x1, w, alpha, beta, c + ldc);
    gtr_small_store(gtr_small_hsum4(a20, a21, a22, a23), nj, k8, k, x2, w, alpha, beta, c + 2 * ldc);
}

/* Rows r, r+1 against weight rows w[0..3]. */
static inline void gtr_small_tile2(long nj, long k8, long k, const float *x0, long lda, const float *const *w,
                                   float alpha, float beta, float *c, long ldc) {
    const float *x1 = x0 + lda;
    const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    for (long p = 0; p < k8; p += 8) {
        const __m256 b0 = _mm256_loadu_ps(w0 + p), b1 = _mm256_loadu_ps(w1 + p), b2 = _mm256_loadu_ps(w2 + p),
                     b3 = _mm256_loadu_ps(w3 + p);
        const __m256 u = _mm256_loadu_ps(x0 + p), v = _mm256_loadu_ps(x1 + p);
        a00 = _mm256_fmadd_ps(u, b0, a00); a01 = _mm256_fmadd_ps(u, b1, a01); a02 = _mm256_fmadd_ps(u, b2, a02); a03 = _mm256_fmadd_ps(u, b3, a03);
        a10 = _mm256_fmadd_ps(v, b0, a10); a11 = _mm256_fmadd_ps(v, b1, a11); a12 = _mm256_fmadd_ps(v, b2, a12); a13 = _mm256_fmadd_ps(v, b3, a13);
    }
    gtr_small_store(gtr_small_hsum4(a00, a01, a02, a03), nj, k8, k, x0, w, alpha, beta, c);
    gtr_small_store(gtr_small_hsum4(a10, a11, a12, a13), nj, k8, k, x1, w, alpha, beta, c + ldc);
}

/* One row against weight rows w[0..7] (two groups of four, nj0 and nj1 of them real): eight independent FMA
   chains, where a 1×4 tile would wait on the FMA latency. */
static inline void gtr_small_tile1(long nj0, long nj1, long k8, long k, const float *x0, const float *const *w,
                                   float alpha, float beta, float *c) {
    const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3], *w4 = w[4], *w5 = w[5], *w6 = w[6], *w7 = w[7];
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (long p = 0; p < k8; p += 8) {
        const __m256 u = _mm256_loadu_ps(x0 + p);
        a0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w0 + p), a0); a1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w1 + p), a1);
        a2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w2 + p), a2); a3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w3 + p), a3);
        a4 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w4 + p), a4); a5 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w5 + p), a5);
        a6 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w6 + p), a6); a7 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w7 + p), a7);
    }
    gtr_small_store(gtr_small_hsum4(a0, a1, a2, a3), nj0, k8, k, x0, w, alpha, beta, c);
    if (nj1 > 0) gtr_small_store(gtr_small_hsum4(a4, a5, a6, a7), nj1, k8, k, x0, w + 4, alpha, beta, c + 4);
}

/* C (m × n, ldc) = alpha·A (m × k, lda)·B (n × k, ldb)ᵀ + beta·C; C is not read when beta is 0. One row: eight
   columns at a time. More: four columns at a time (their weight rows stay in L1 while every row tile passes over
   them), rows three at a time, then two, then one. */
static inline void gtr_sgemm_nt_small(long m, long n, long k, float alpha, const float *a, long lda,
                                      const float *b, long ldb, float beta, float *c, long ldc) {
    const long k8 = k & ~7L;
    if (m == 1) {
        for (long j = 0; j < n; j += 8) {
            const long left = n - j, nj0 = left < 4 ? left : 4, nj1 = left <= 4 ? 0 : (left - 4 < 4 ? left - 4 : 4);
            const float *w[8];
            for (long q = 0; q < 8; q++) w[q] = b + (j + (q < left ? q : 0)) * ldb;
            gtr_small_tile1(nj0, nj1, k8, k, a, w, alpha, beta, c + j);
        }
        return;
    }
    for (long j = 0; j < n; j += 4) {
        const long nj = n - j < 4 ? n - j : 4;
        const float *w[8];
        for (long q = 0; q < 8; q++) w[q] = b + (j + (q < nj ? q : 0)) * ldb;
        long r = 0;
        for (; r + 3 <= m; r += 3) gtr_small_tile3(nj, k8, k, a + r * lda, lda, w, alpha, beta, c + r * ldc + j, ldc);
        if (r + 2 <= m) { gtr_small_tile2(nj, k8, k, a + r * lda, lda, w, alpha, beta, c + r * ldc + j, ldc); r += 2; }
        if (r < m) gtr_small_tile1(nj, 0, k8, k, a + r * lda, w, alpha, beta, c + r * ldc + j);
    }
}

#pragma clang attribute pop
#else
/* Other CPUs: the same sums in the same order, without vectors. */
static inline void gtr_sgemm_nt_small(long m, long n, long k, float alpha, const float *a, long lda,
                                      const float *b, long ldb, float beta, float *c, long ldc) {
    const long k8 = k & ~7L;
    for (long r = 0; r < m; r++) for (long j = 0; j < n; j++) {
        const float *x = a + r * lda, *w = b + j * ldb;
        float l[8] = {0};
        for (long p = 0; p < k8; p += 8) for (int q = 0; q < 8; q++) l[q] = __builtin_fmaf(x[p + q], w[p + q], l[q]);
        float t = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
        for (long p = k8; p < k; p++) t = __builtin_fmaf(x[p], w[p], t);
        t = alpha == 1.0f ? t : alpha * t;
        c[r * ldc + j] = beta == 0.0f ? t : t + beta * c[r * ldc + j];
    }
}
#endif
#endif
