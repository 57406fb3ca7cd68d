#include <cblas.h>
#include <malloc.h>

/* glibc returns blocks above 128 KiB to the OS on free, so a training loop that allocates the same activations
   every step would pay fresh page faults each time; keep them in the heap instead (Linux only). */
static inline void gtr_keep_large_blocks_in_heap(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
