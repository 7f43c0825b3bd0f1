/* Python's random.seed(int) + random.shuffle, so that im2rec's shuffled .lst
 * equals im2rec.py's (which seeds 100). MT19937 as in CPython's _randommodule.c. */
#include "data/im2rec.h"

enum { MT_N = 624, MT_M = 397 };

typedef struct mt {
    uint32_t s[MT_N];
    int i;
} mt;

static void init_genrand(mt *m, uint32_t seed)
{
    m->s[0] = seed;
    for (int i = 1; i < MT_N; i++) m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
    m->i = MT_N;
}

static void init_by_array(mt *m, const uint32_t *key, int len)
{
    init_genrand(m, 19650218u);
    int i = 1, j = 0;
    for (int k = MT_N > len ? MT_N : len; k; k--) {
        m->s[i] = (m->s[i] ^ ((m->s[i - 1] ^ (m->s[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= MT_N) {
            m->s[0] = m->s[MT_N - 1];
            i = 1;
        }
        if (j >= len) j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        m->s[i] = (m->s[i] ^ ((m->s[i - 1] ^ (m->s[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N) {
            m->s[0] = m->s[MT_N - 1];
            i = 1;
        }
    }
    m->s[0] = 0x80000000u;
}

static uint32_t next32(mt *m)
{
    static const uint32_t mag[2] = {0u, 0x9908b0dfu};
    if (m->i >= MT_N) {
        int k;
        uint32_t y;
        for (k = 0; k < MT_N - MT_M; k++) {
            y = (m->s[k] & 0x80000000u) | (m->s[k + 1] & 0x7fffffffu);
            m->s[k] = m->s[k + MT_M] ^ (y >> 1) ^ mag[y & 1u];
        }
        for (; k < MT_N - 1; k++) {
            y = (m->s[k] & 0x80000000u) | (m->s[k + 1] & 0x7fffffffu);
            m->s[k] = m->s[k + (MT_M - MT_N)] ^ (y >> 1) ^ mag[y & 1u];
        }
        y = (m->s[MT_N - 1] & 0x80000000u) | (m->s[0] & 0x7fffffffu);
        m->s[MT_N - 1] = m->s[MT_M - 1] ^ (y >> 1) ^ mag[y & 1u];
        m->i = 0;
    }
    uint32_t y = m->s[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* random._randbelow_with_getrandbits(n), n < 2^32 */
static uint32_t randbelow(mt *m, uint32_t n)
{
    int k = 0;
    while (k < 32 && (n >> k)) k++; /* n.bit_length() */
    uint32_t r;
    do r = next32(m) >> (32 - k);
    while (r >= n);
    return r;
}

void cf_py_shuffle(long *v, long n, uint32_t seed)
{
    mt m;
    init_by_array(&m, &seed, 1);
    for (long i = n - 1; i > 0; i--) {
        long j = (long)randbelow(&m, (uint32_t)(i + 1));
        long t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}
