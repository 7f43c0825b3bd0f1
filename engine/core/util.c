/* Small host utilities: strings, time, files written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "config.h"
#include "core/util.h"

char *cf_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *cf_calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

double cf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cf_status cf_mkdir_p(const char *path, cf_error *err)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return cf_error_set(err, CF_ERR_INVALID, "%s: path too long", path);
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return cf_error_set(err, CF_ERR_IO, "%s: cannot create directory: %s", buf,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return cf_error_set(err, CF_ERR_IO, "%s: cannot create directory: %s", buf,
                            strerror(errno));
    return CF_OK;
}

cf_status cf_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return CF_OK;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char sub[4096];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                cf_rm_rf(sub);
            }
            closedir(d);
        }
        return rmdir(path) == 0 ? CF_OK : CF_ERR_IO;
    }
    return unlink(path) == 0 ? CF_OK : CF_ERR_IO;
}

cf_status cf_write_file_atomic(const char *path, const void *data, size_t len, cf_error *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return cf_error_set(err, CF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return cf_error_set(err, CF_ERR_IO, "%s: fsync/close failed: %s", path, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cf_error_set(err, CF_ERR_IO, "%s: rename failed: %s", path, strerror(e));
    }
    /* The rename itself is durable only once the directory is synced: a
     * power cut could otherwise leave the old file (or none). */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        int r = fsync(dfd);
        int e = errno;
        close(dfd);
        if (r != 0 && e != EINVAL) /* some filesystems cannot sync a directory */
            return cf_error_set(err, CF_ERR_IO, "%s: fsync of its directory failed: %s", path, strerror(e));
    }
    return CF_OK;
}

cf_status cf_read_file(const char *path, char **data, size_t *len, cf_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            fclose(f);
            return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory reading", path);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return cf_error_set(err, CF_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    if (len) *len = n;
    return CF_OK;
}

int cf_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void cf_sbuf_printf(cf_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->oom) return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 256;
        while (ncap < b->len + (size_t)n + 1) ncap *= 2;
        char *ns = realloc(b->s, ncap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = ncap;
        if (b->len == 0) b->s[0] = '\0';
    }
}

void cf_sbuf_free(cf_sbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

const char *cf_version(void) { return PACKAGE_VERSION; }
