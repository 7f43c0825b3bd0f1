/* The study journal: append-only JSON lines, one event each, fsync'd before
 * the study acts on it, so after a SIGKILL every event that mattered is on
 * disk. Replay tolerates a torn last line (the kill landed mid-write) and
 * truncates it away before new events are appended. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tune/tune.h"

struct cf_journal {
    int fd;
    char path[CF_TUNE_PATH_MAX];
};

cf_status cf_journal_open(cf_journal **out, const char *path, cf_error *err)
{
    cf_journal *j = calloc(1, sizeof *j);
    if (!j) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        free(j);
        return cf_error_set(err, CF_ERR_IO, "%s: cannot open the journal: %s", path, strerror(errno));
    }
    snprintf(j->path, sizeof j->path, "%s", path);
    *out = j;
    return CF_OK;
}

cf_status cf_journal_append(cf_journal *j, const char *line, cf_error *err)
{
    size_t n = strlen(line);
    char *buf = malloc(n + 2);
    if (!buf) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", j->path);
    memcpy(buf, line, n);
    buf[n++] = '\n';
    /* One write() of the whole line: O_APPEND keeps lines whole. */
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(j->fd, buf + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            free(buf);
            return cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", j->path, strerror(errno));
        }
        off += (size_t)w;
    }
    free(buf);
    if (fdatasync(j->fd) != 0 && errno != EINVAL)
        return cf_error_set(err, CF_ERR_IO, "%s: fsync failed: %s", j->path, strerror(errno));
    return CF_OK;
}

void cf_journal_close(cf_journal *j)
{
    if (!j) return;
    if (j->fd >= 0) close(j->fd);
    free(j);
}

cf_status cf_journal_replay(const char *path,
                            cf_status (*fn)(void *user, const char *line, int lineno, cf_error *err),
                            void *user, cf_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: cannot read the journal: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    long good_end = 0;
    cf_status st = CF_OK;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') break; /* torn last line */
        line[len - 1] = 0;
        if (line[0]) {
            st = fn(user, line, lineno, err);
            if (st != CF_OK) break;
        }
        good_end = ftell(f);
    }
    free(line);
    fclose(f);
    if (st != CF_OK) return cf_error_prefix(err, "%s:%d", path, lineno);
    struct stat sb;
    if (stat(path, &sb) == 0 && sb.st_size > good_end && truncate(path, good_end) != 0)
        return cf_error_set(err, CF_ERR_IO, "%s: cannot cut the torn last line: %s", path, strerror(errno));
    return CF_OK;
}
