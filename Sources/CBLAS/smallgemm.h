/* C = alpha·A·Bᵀ + beta·C for a few rows of A: the product of a linear layer (B is its (out, in) weight, row-major)
   on a decoding step's activations. OpenBLAS packs all of B for every call, which for 1-16 rows costs more than
   the product itself; this kernel reads B in place, three weight rows at a time, and forms each output as a dot
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

/* Row r of C, columns j..<j+nj (nj ≤ 3): the tile's sums s, plus the k tail, alpha and beta. */
static inline void gtr_small_store(__m128 s, long nj, long k8, long k, const float *x, const float *const *w,
                                   float alpha, float beta, float *c) {
    float v[4];
    _mm_storeu_ps(v, s);
    for (long q = 0; q < nj; q++) {
        float t = v[q];
        for (long p = k8; p < k; p++) t = __builtin_fmaf(x[p], w[q][p], t);
        t = alpha == 1.0f ? t : alpha * t;
        c[q] = beta == 0.0f ? t : t + beta * c[q];
    }
}

/* Rows r..<r+R (R = 4, 2 or 1) against weight rows w[0..2]: 3R accumulators of 8 lanes (a fourth, zero column
   makes every output take the same reduction), the three weight vectors loaded once per k step. Written out with
   named registers, not arrays and loops: Swift's importer compiles these inline functions without unrolling. */
#define GTR_SMALL_ROW(i)                                                                                               \
    { const __m256 x = _mm256_loadu_ps(x##i + p);                                                                      \
      c##i##0 = _mm256_fmadd_ps(x, b0, c##i##0); c##i##1 = _mm256_fmadd_ps(x, b1, c##i##1);                            \
      c##i##2 = _mm256_fmadd_ps(x, b2, c##i##2); }
#define GTR_SMALL_LOADS                                                                                                \
    const __m256 b0 = _mm256_loadu_ps(w[0] + p), b1 = _mm256_loadu_ps(w[1] + p), b2 = _mm256_loadu_ps(w[2] + p);
#define GTR_SMALL_OUT(i)                                                                                               \
    gtr_small_store(gtr_small_hsum4(c##i##0, c##i##1, c##i##2, z), nj, k8, k, x##i, w, alpha, beta, c + i * ldc);

static inline void gtr_small_tile4(long nj, long k8, long k, const float *x0, long lda, const float *const *w,
                                   float alpha, float beta, float *c, long ldc) {
    const float *x1 = x0 + lda, *x2 = x1 + lda, *x3 = x2 + lda;
    const __m256 z = _mm256_setzero_ps();
    __m256 c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;
    for (long p = 0; p < k8; p += 8) { GTR_SMALL_LOADS GTR_SMALL_ROW(0) GTR_SMALL_ROW(1) GTR_SMALL_ROW(2) GTR_SMALL_ROW(3) }
    GTR_SMALL_OUT(0) GTR_SMALL_OUT(1) GTR_SMALL_OUT(2) GTR_SMALL_OUT(3)
}

static inline void gtr_small_tile2(long nj, long k8, long k, const float *x0, long lda, const float *const *w,
                                   float alpha, float beta, float *c, long ldc) {
    const float *x1 = x0 + lda;
    const __m256 z = _mm256_setzero_ps();
    __m256 c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z;
    for (long p = 0; p < k8; p += 8) { GTR_SMALL_LOADS GTR_SMALL_ROW(0) GTR_SMALL_ROW(1) }
    GTR_SMALL_OUT(0) GTR_SMALL_OUT(1)
}

static inline void gtr_small_tile1(long nj, long k8, long k, const float *x0, long lda, const float *const *w,
                                   float alpha, float beta, float *c, long ldc) {
    (void)lda;
    const __m256 z = _mm256_setzero_ps();
    __m256 c00 = z, c01 = z, c02 = z;
    for (long p = 0; p < k8; p += 8) { GTR_SMALL_LOADS GTR_SMALL_ROW(0) }
    GTR_SMALL_OUT(0)
}
#undef GTR_SMALL_ROW
#undef GTR_SMALL_LOADS
#undef GTR_SMALL_OUT

/* C (m × n, ldc) = alpha·A (m × k, lda)·B (n × k, ldb)ᵀ + beta·C; C is not read when beta is 0. Columns go three
   at a time (their weight rows stay in L1 while every row tile passes over them), rows four at a time. */
static inline void gtr_sgemm_nt_small(long m, long n, long k, float alpha, const float *a, long lda,
                                      const float *b, long ldb, float beta, float *c, long ldc) {
    const long k8 = k & ~7L;
    for (long j = 0; j < n; j += 3) {
        const long nj = n - j < 3 ? n - j : 3;
        /* columns past n repeat column j; their sums are computed and dropped */
        const float *w[3];
        for (long q = 0; q < 3; q++) w[q] = b + (j + (q < nj ? q : 0)) * ldb;
        long r = 0;
        for (; r + 4 <= m; r += 4) gtr_small_tile4(nj, k8, k, a + r * lda, lda, w, alpha, beta, c + r * ldc + j, ldc);
        if (r + 2 <= m) { gtr_small_tile2(nj, k8, k, a + r * lda, lda, w, alpha, beta, c + r * ldc + j, ldc); r += 2; }
        if (r < m) gtr_small_tile1(nj, k8, k, a + r * lda, lda, w, alpha, beta, c + r * ldc + j, ldc);
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
