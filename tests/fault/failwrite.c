/* An LD_PRELOAD interposer for the write-failure sweep (tests/fault/
 * write_sweep.sh): the N-th output call made by clforge's own code fails as
 * a full or failing disk would make it fail.
 *
 *   CF_FAILWRITE_AT=N        the N-th counted call fails (later ones succeed)
 *   CF_FAILWRITE_ERRNO=EIO   the error (default ENOSPC)
 *   CF_FAILWRITE_TRACE=1     print the stack of the failing call on stderr
 *   CF_FAILWRITE_COUNT=F     at exit, append "pid count" to file F
 *
 * Counted: write, pwrite, fwrite, fputs, fputc, putc, puts, printf, fprintf,
 * dprintf, fflush, fsync, fdatasync, ftruncate, rename, and close/fclose of a
 * file open for writing; never output to stderr (where the error is
 * reported). As with failalloc.c only calls from clforge's objects count. A
 * failed stdio call sets the stream's error flag, as a failed flush does; a
 * failed close or fclose still releases the descriptor. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caller.h"

static atomic_long counter;
static long fail_at = -1;
static int fail_errno = ENOSPC;

static int writable_fd(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fd != 2 && fl >= 0 && (fl & O_ACCMODE) != O_RDONLY;
}

/* 1: this call must fail (errno is set). */
static int should_fail(const void *caller, const char *what)
{
    if (fail_at < 0) {
        const char *a = getenv("CF_FAILWRITE_AT"), *e = getenv("CF_FAILWRITE_ERRNO");
        fail_at = a && atol(a) > 0 ? atol(a) : 0;
        fail_errno = e && !strcmp(e, "EIO") ? EIO : ENOSPC;
    }
    if (!from_clforge(caller)) return 0;
    long n = atomic_fetch_add(&counter, 1) + 1;
    if (!fail_at || n != fail_at) return 0;
    const char *tr = getenv("CF_FAILWRITE_TRACE");
    if (tr && *tr == '1') {
        void *st[24];
        inside = 1;
        int k = backtrace(st, 24);
        dprintf(2, "failwrite: call %ld (%s) fails here:\n", n, what);
        backtrace_symbols_fd(st, k, 2);
        inside = 0;
    }
    errno = fail_errno;
    return 1;
}

#define REAL(ret, name, ...)                                                              \
    static ret (*real)(__VA_ARGS__);                                                      \
    if (!real) real = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)
/* A stream that is not stderr; failing it sets its error flag. */
#define STREAM_FAILS(f, what) ((f) != stderr && should_fail(CALLER, what) && ((f)->_flags |= _IO_ERR_SEEN, 1))

ssize_t write(int fd, const void *b, size_t n)
{
    REAL(ssize_t, "write", int, const void *, size_t);
    if (fd != 2 && should_fail(CALLER, "write")) return -1;
    return real(fd, b, n);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
    REAL(ssize_t, "pwrite", int, const void *, size_t, off_t);
    if (should_fail(CALLER, "pwrite")) return -1;
    return real(fd, b, n, off);
}

size_t fwrite(const void *p, size_t sz, size_t n, FILE *f)
{
    REAL(size_t, "fwrite", const void *, size_t, size_t, FILE *);
    if (STREAM_FAILS(f, "fwrite")) return 0;
    return real(p, sz, n, f);
}

int fputs(const char *s, FILE *f)
{
    REAL(int, "fputs", const char *, FILE *);
    if (STREAM_FAILS(f, "fputs")) return EOF;
    return real(s, f);
}

int fputc(int c, FILE *f)
{
    REAL(int, "fputc", int, FILE *);
    if (STREAM_FAILS(f, "fputc")) return EOF;
    return real(c, f);
}

int putc(int c, FILE *f)
{
    REAL(int, "putc", int, FILE *);
    if (STREAM_FAILS(f, "putc")) return EOF;
    return real(c, f);
}

int puts(const char *s)
{
    REAL(int, "puts", const char *);
    if (STREAM_FAILS(stdout, "puts")) return EOF;
    return real(s);
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    REAL(int, "vfprintf", FILE *, const char *, va_list);
    if (STREAM_FAILS(f, "vfprintf")) return -1;
    return real(f, fmt, ap);
}

int fprintf(FILE *f, const char *fmt, ...)
{
    REAL(int, "vfprintf", FILE *, const char *, va_list);
    if (STREAM_FAILS(f, "fprintf")) return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = real(f, fmt, ap);
    va_end(ap);
    return r;
}

int printf(const char *fmt, ...)
{
    REAL(int, "vfprintf", FILE *, const char *, va_list);
    if (STREAM_FAILS(stdout, "printf")) return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = real(stdout, fmt, ap);
    va_end(ap);
    return r;
}

int dprintf(int fd, const char *fmt, ...)
{
    REAL(int, "vdprintf", int, const char *, va_list);
    if (fd != 2 && should_fail(CALLER, "dprintf")) return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = real(fd, fmt, ap);
    va_end(ap);
    return r;
}

int fflush(FILE *f)
{
    REAL(int, "fflush", FILE *);
    if (f && STREAM_FAILS(f, "fflush")) return EOF;
    return real(f);
}

int fclose(FILE *f)
{
    REAL(int, "fclose", FILE *);
    int w = f != stderr && writable_fd(fileno(f));
    if (w && should_fail(CALLER, "fclose")) {
        int e = errno;
        real(f);
        errno = e;
        return EOF;
    }
    return real(f);
}

int close(int fd)
{
    REAL(int, "close", int);
    if (writable_fd(fd) && should_fail(CALLER, "close")) {
        int e = errno;
        real(fd);
        errno = e;
        return -1;
    }
    return real(fd);
}

int fsync(int fd)
{
    REAL(int, "fsync", int);
    if (should_fail(CALLER, "fsync")) return -1;
    return real(fd);
}

int fdatasync(int fd)
{
    REAL(int, "fdatasync", int);
    if (should_fail(CALLER, "fdatasync")) return -1;
    return real(fd);
}

int ftruncate(int fd, off_t len)
{
    REAL(int, "ftruncate", int, off_t);
    if (should_fail(CALLER, "ftruncate")) return -1;
    return real(fd, len);
}

int rename(const char *a, const char *b)
{
    REAL(int, "rename", const char *, const char *);
    if (should_fail(CALLER, "rename")) return -1;
    return real(a, b);
}

__attribute__((destructor)) static void report(void)
{
    const char *f = getenv("CF_FAILWRITE_COUNT");
    if (!f || !*f) return;
    FILE *o = fopen(f, "a");
    if (!o) return;
    fprintf(o, "%ld %ld\n", (long)getpid(), (long)atomic_load(&counter));
    fclose(o);
}
