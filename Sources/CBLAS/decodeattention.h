/* The two products of one query's attention (a decoding step: one (batch row, head) per call), where OpenBLAS's
   gemv spends more on its call than on a few hundred keys of 32-64 dims: scores = scale·K·q and out = Vᵀ·p, with
   K and V rows read in place from the KV cache. Each score is one 8-lane FMA chain over d, the same reduction
   tree as smallgemm.h, then the d % 8 tail; out accumulates even and odd keys apart, each in order. */
#ifndef GTR_DECODE_ATTENTION_H
#define GTR_DECODE_ATTENTION_H
#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

static inline float gtr_attn_hsum(__m256 a) {
    __m256 s = _mm256_hadd_ps(a, a);
    s = _mm256_hadd_ps(s, s);
    return _mm_cvtss_f32(_mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
}

/* The sums of eight 8-lane accumulators as one vector, each by gtr_attn_hsum's tree. */
static inline __m256 gtr_attn_hsum8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6, __m256 a7) {
    __m256 l = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));  /* [0..3 of x0-3 | 4..7 of x0-3] */
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
    return _mm256_add_ps(_mm256_permute2f128_ps(l, h, 0x20), _mm256_permute2f128_ps(l, h, 0x31));
}

/* s[j] = scale · Σ_i q[i]·k[j·ldk + i] for j < n: eight keys at a time, one accumulator each. */
static inline void gtr_attn_scores(const float *q, const float *k, long ldk, long n, long d, float scale, float *s) {
    const long d8 = d & ~7L;
    const __m256 sc = _mm256_set1_ps(scale);
    long j = 0;
    if (d8 == d) {
        for (; j + 8 <= n; j += 8) {
            const float *kj = k + j * ldk;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (long i = 0; i < d; i += 8) {
                const __m256 x = _mm256_loadu_ps(q + i);
                a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(kj + i), a0);           a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(kj + ldk + i), a1);
                a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(kj + 2 * ldk + i), a2); a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(kj + 3 * ldk + i), a3);
                a4 = _mm256_fmadd_ps(x, _mm256_loadu_ps(kj + 4 * ldk + i), a4); a5 = _mm256_fmadd_ps(x, _mm256_loadu_ps(kj + 5 * ldk + i), a5);
                a6 = _mm256_fmadd_ps(x, _mm256_loadu_ps(kj + 6 * ldk + i), a6); a7 = _mm256_fmadd_ps(x, _mm256_loadu_ps(kj + 7 * ldk + i), a7);
            }
            _mm256_storeu_ps(s + j, _mm256_mul_ps(sc, gtr_attn_hsum8(a0, a1, a2, a3, a4, a5, a6, a7)));
        }
    }
    for (; j < n; j++) {
        const float *kj = k + j * ldk;
        __m256 acc = _mm256_setzero_ps();
        for (long i = 0; i < d8; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kj + i), acc);
        float t = gtr_attn_hsum(acc);
        for (long i = d8; i < d; i++) t = __builtin_fmaf(q[i], kj[i], t);
        s[j] = scale * t;
    }
}

/* o[i] = Σ_j p[j]·v[j·ldv + i] for i < dv, 32 outputs at a time: even and odd keys in two accumulator sets (each in
   key order), added at the end. */
static inline void gtr_attn_mix(const float *p, const float *v, long ldv, long n, long dv, float *o) {
    long i = 0;
    for (; i + 32 <= dv; i += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        long j = 0;
        for (; j + 2 <= n; j += 2) {
            const __m256 w = _mm256_set1_ps(p[j]), u = _mm256_set1_ps(p[j + 1]);
            const float *vj = v + j * ldv + i, *vk = vj + ldv;
            a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj), a0); a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 8), a1);
            a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 16), a2); a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 24), a3);
            b0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(vk), b0); b1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(vk + 8), b1);
            b2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(vk + 16), b2); b3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(vk + 24), b3);
        }
        if (j < n) {
            const __m256 w = _mm256_set1_ps(p[j]);
            const float *vj = v + j * ldv + i;
            a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj), a0); a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 8), a1);
            a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 16), a2); a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 24), a3);
        }
        _mm256_storeu_ps(o + i, _mm256_add_ps(a0, b0)); _mm256_storeu_ps(o + i + 8, _mm256_add_ps(a1, b1));
        _mm256_storeu_ps(o + i + 16, _mm256_add_ps(a2, b2)); _mm256_storeu_ps(o + i + 24, _mm256_add_ps(a3, b3));
    }
    for (; i + 8 <= dv; i += 8) {
        __m256 a0 = _mm256_setzero_ps(), b0 = a0;
        long j = 0;
        for (; j + 2 <= n; j += 2) {
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_loadu_ps(v + j * ldv + i), a0);
            b0 = _mm256_fmadd_ps(_mm256_set1_ps(p[j + 1]), _mm256_loadu_ps(v + (j + 1) * ldv + i), b0);
        }
        if (j < n) a0 = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_loadu_ps(v + j * ldv + i), a0);
        _mm256_storeu_ps(o + i, _mm256_add_ps(a0, b0));
    }
    for (; i < dv; i++) {
        float ta = 0, tb = 0;
        long j = 0;
        for (; j + 2 <= n; j += 2) { ta = __builtin_fmaf(p[j], v[j * ldv + i], ta); tb = __builtin_fmaf(p[j + 1], v[(j + 1) * ldv + i], tb); }
        if (j < n) ta = __builtin_fmaf(p[j], v[j * ldv + i], ta);
        o[i] = ta + tb;
    }
}

#pragma clang attribute pop
#else
static inline void gtr_attn_scores(const float *q, const float *k, long ldk, long n, long d, float scale, float *s) {
    const long d8 = d & ~7L;
    for (long j = 0; j < n; j++) {
        const float *kj = k + j * ldk;
        float l[8] = {0};
        for (long i = 0; i < d8; i += 8) for (int u = 0; u < 8; u++) l[u] = __builtin_fmaf(q[i + u], kj[i + u], l[u]);
        float t = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
        for (long i = d8; i < d; i++) t = __builtin_fmaf(q[i], kj[i], t);
        s[j] = scale * t;
    }
}
static inline void gtr_attn_mix(const float *p, const float *v, long ldv, long n, long dv, float *o) {
    for (long i = 0; i < dv; i++) {
        float ta = 0, tb = 0;
        long j = 0;
        for (; j + 2 <= n; j += 2) { ta = __builtin_fmaf(p[j], v[j * ldv + i], ta); tb = __builtin_fmaf(p[j + 1], v[(j + 1) * ldv + i], tb); }
        if (j < n) ta = __builtin_fmaf(p[j], v[j * ldv + i], ta);
        o[i] = ta + tb;
    }
}
#endif
#endif
