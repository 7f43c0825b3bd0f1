/* An LD_PRELOAD allocator interposer for the allocation-failure sweep
 * (tests/test_fault_alloc.sh, `make fault-sweep`), SQLite's way: the N-th
 * allocation made by clforge's own code fails.
 *
 *   CF_FAILALLOC_AT=N      the N-th counted malloc/calloc/realloc/strdup/
 *                          strndup/posix_memalign/aligned_alloc returns NULL
 *                          (ENOMEM); later ones succeed again, unless
 *   CF_FAILALLOC_PERSIST=1 every one from the N-th on fails.
 *   CF_FAILALLOC_TRACE=1   print the stack of the failing call on stderr.
 *   CF_FAILALLOC_COUNT=F   at exit, append "pid count" to file F (how many
 *                          were counted: the sweep's range).
 *
 * Only calls made directly from clforge's objects count (the CLI, libclforge,
 * its plugins, by dladdr of the caller): the C library, the dynamic loader and
 * third-party libraries allocate before main and from places that cannot
 * fail cleanly (and their failures are not clforge's to handle). Counting is
 * process-wide and atomic; with worker threads the N-th call may differ from
 * run to run, which only widens the sweep. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caller.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_long counter;
static long fail_at = -1; /* -1: not read yet; 0: off */
static int persist;

static void read_env(void)
{
    const char *a = getenv("CF_FAILALLOC_AT"), *p = getenv("CF_FAILALLOC_PERSIST");
    persist = p && *p == '1';
    fail_at = a && atol(a) > 0 ? atol(a) : 0;
}

/* 1: this call must fail. */
static int should_fail(const void *caller)
{
    if (fail_at < 0) read_env();
    if (!from_clforge(caller)) return 0;
    long n = atomic_fetch_add(&counter, 1) + 1;
    if (!fail_at) return 0;
    int fail = persist ? n >= fail_at : n == fail_at;
    const char *tr = getenv("CF_FAILALLOC_TRACE");
    if (fail && tr && *tr == '1' && !inside) {
        void *st[24];
        inside = 1;
        int k = backtrace(st, 24);
        fprintf(stderr, "failalloc: allocation %ld fails here:\n", n);
        backtrace_symbols_fd(st, k, 2);
        inside = 0;
    }
    return fail;
}


void *malloc(size_t n)
{
    if (should_fail(CALLER)) return errno = ENOMEM, NULL;
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (should_fail(CALLER)) return errno = ENOMEM, NULL;
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (should_fail(CALLER)) return errno = ENOMEM, NULL;
    return __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (should_fail(CALLER)) return ENOMEM;
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (should_fail(CALLER)) return errno = ENOMEM, NULL;
    return __libc_memalign(align, n);
}

char *strdup(const char *s)
{
    if (should_fail(CALLER)) return errno = ENOMEM, NULL;
    size_t n = strlen(s) + 1;
    char *d = __libc_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

char *strndup(const char *s, size_t max)
{
    if (should_fail(CALLER)) return errno = ENOMEM, NULL;
    size_t n = strnlen(s, max);
    char *d = __libc_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

__attribute__((destructor)) static void report(void)
{
    const char *f = getenv("CF_FAILALLOC_COUNT");
    if (!f || !*f) return;
    int fd = open(f, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof line, "%ld %ld\n", (long)getpid(), (long)atomic_load(&counter));
    if (write(fd, line, (size_t)n) < 0) { /* nothing to do */ }
    close(fd);
}
