#include <cblas.h>
#include <malloc.h>

/* glibc returns blocks above 128 KiB to the OS on free, so a training loop that allocates the same activations
   every step would pay fresh page faults each time; keep them in the heap instead (Linux only). Returns 1 when
   both settings took (measured: a training step then touches no new page after its first step). */
static inline int gtr_keep_large_blocks_in_heap(void) {
#ifdef M_MMAP_THRESHOLD
    int a = mallopt(M_MMAP_THRESHOLD, 512 << 20);
    int b = mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return a == 1 && b == 1;
#else
    return 1;
#endif
}

/* Flush-to-zero and denormals-are-zero for SSE/AVX arithmetic on the calling thread. On Intel cores every
   operation on a subnormal float takes a microcode assist (~100x slower); training produces them (softmax tails,
   small gradients), which made sgemm-bound steps 10-15x slower on an Intel host than on an AMD one. */
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
static inline void gtr_flush_denormals(void) { _mm_setcsr(_mm_getcsr() | 0x8040); }
static inline int gtr_denormals_flushed(void) { return (_mm_getcsr() & 0x8040) == 0x8040; }
#else
static inline void gtr_flush_denormals(void) {}
static inline int gtr_denormals_flushed(void) { return 0; }
#endif

/* Whether this CPU has the vector unit the tensor core may have been compiled for (Package.swift, GTR_AVX2). */
#if defined(__x86_64__)
static inline int gtr_cpu_has_avx2_fma(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
static inline int gtr_cpu_has_avx2_fma(void) { return 1; }
#endif

/* A spin-wait hint for the tensor core's worker pool. */
#if defined(__x86_64__) || defined(__i386__)
static inline void gtr_cpu_relax(void) { _mm_pause(); }
#else
static inline void gtr_cpu_relax(void) {}
#endif

/* Exact sums of four adjacent int8 products per 32-bit lane, as floats (|w|, |x| <= 128, |sum| < 2^17): ggml's
   mul_sum_i8_pairs_float (abs and sign, vpmaddubsw, vpmaddwd with ones, vcvtdq2ps) and, for weights that are
   unsigned bytes below 128 (Q4_1, Q5_1), mul_sum_us8_pairs_float (no sign step); for the tensor core's quantised
   block kernels (QuantKernels.swift), which Swift cannot express with these instructions. */
#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2"))) static inline __m256 gtr_dot_i8_quads(__m256i w, __m256i x) {
    __m256i aw = _mm256_sign_epi8(w, w), sx = _mm256_sign_epi8(x, w);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), _mm256_set1_epi16(1)));
}
__attribute__((target("avx2"))) static inline __m256 gtr_dot_u8_quads(__m256i u, __m256i x) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
}
#endif
