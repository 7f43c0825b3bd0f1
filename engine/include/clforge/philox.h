/* clforge — counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
 *
 * Every random decision (shuffle, split, init, augmentation, dropout mask) is
 * a pure function of (seed, purpose, a, b), so results do not depend on batch
 * size, thread count or backend. kernels.cl carries a line-for-line copy of
 * cf_philox4x32 and cf_philox_uniform; keep them identical. */
#ifndef CLFORGE_PHILOX_H
#define CLFORGE_PHILOX_H

#include <math.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Purposes, mixed into the counter so streams never collide. */
enum {
    CF_RNG_INIT = 1,
    CF_RNG_SPLIT = 2,
    CF_RNG_SHUFFLE = 3,
    CF_RNG_AUGMENT = 4,
    CF_RNG_DROPOUT = 5,
    CF_RNG_TUNE = 6,
    CF_RNG_BATCH_AUGMENT = 7 /* batch-level augmentations (ABI 2.1) */
};

static inline void cf_philox4x32(uint32_t ctr[4], const uint32_t key_in[2])
{
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
        uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        uint32_t n0 = hi1 ^ ctr[1] ^ k0;
        uint32_t n2 = hi0 ^ ctr[3] ^ k1;
        ctr[0] = n0;
        ctr[1] = lo1;
        ctr[2] = n2;
        ctr[3] = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

/* One 32-bit draw for element `i` of stream (seed, counter). */
static inline uint32_t cf_philox_u32(uint64_t seed, uint64_t counter, uint64_t i)
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)counter,
                       (uint32_t)(counter >> 32)};
    cf_philox4x32(ctr, key);
    return ctr[0];
}

/* Uniform in [0, 1) with 24 bits: exactly representable as float, so every
 * backend compares the same value against a threshold. */
static inline float cf_philox_uniform(uint64_t seed, uint64_t counter, uint64_t i)
{
    return (float)(cf_philox_u32(seed, counter, i) >> 8) * (1.0f / 16777216.0f);
}

/* A sequential stream for host-side code (augmentation, init, tuning). */
typedef struct cf_rng {
    uint64_t seed;
    uint64_t counter; /* identifies the stream: purpose, epoch, sample, ... */
    uint64_t i;       /* position within the stream */
} cf_rng;

static inline cf_rng cf_rng_make(uint64_t seed, uint32_t purpose, uint64_t a, uint64_t b)
{
    /* counter = purpose:8 | a:28 | b:28 — enough for epochs x samples. */
    cf_rng r;
    r.seed = seed;
    r.counter = ((uint64_t)purpose << 56) ^ ((a & 0xFFFFFFFull) << 28) ^ (b & 0xFFFFFFFull);
    r.i = 0;
    return r;
}
static inline uint32_t cf_rng_u32(cf_rng *r) { return cf_philox_u32(r->seed, r->counter, r->i++); }
/* Uniform double in [0, 1) with 53 bits. */
static inline double cf_rng_uniform(cf_rng *r)
{
    uint64_t a = cf_rng_u32(r) >> 5, b = cf_rng_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}
static inline double cf_rng_range(cf_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * cf_rng_uniform(r);
}
/* Unbiased integer in [0, n). */
static inline uint32_t cf_rng_below(cf_rng *r, uint32_t n)
{
    if (n <= 1) return 0;
    uint32_t lim = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = cf_rng_u32(r);
        if (x >= lim) return x % n;
    }
}
static inline double cf_rng_normal(cf_rng *r)
{
    double u1 = cf_rng_uniform(r), u2 = cf_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#ifdef __cplusplus
}
#endif
#endif
