/* Local trial runner: one child process per trial, in its own process group
 * (a Ctrl-C at the terminal reaches the tuner only, which then decides what
 * happens to the trials). The child's stdout is a pipe carrying JSON lines;
 * its stderr goes to <trial dir>/stderr.log. A trial that crashes, exits
 * non-zero or runs past trial_timeout ends with CF_TEV_FAILED and a reason;
 * a trial asked to stop gets SIGTERM (SIGKILL after a grace period) and ends
 * with CF_TEV_STOPPED.
 *
 * Training trials run `EXE train CONFIG --set k=v ... --set train.epochs=E
 * --run-dir DIR/run --no-test --json`; a continued promotion copies the
 * parent's run to DIR/run and runs `EXE train --resume DIR/run --epochs E
 * --no-test --json` (a copy, not links: the resumed run appends to its
 * metrics files). Synthetic trials evaluate the function in the forked child
 * without exec. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "tune/tune.h"

#define STOP_GRACE_S 10.0

typedef struct child {
    int trial_id;
    pid_t pid;
    int fd;
    char *buf;
    size_t len, cap;
    double t_start, t_stop;
    int stop_requested, timed_out, killed;
    int have_end;
    cf_tune_event end;
    char errlog[CF_TUNE_PATH_MAX];
} child;

typedef struct local {
    const cf_tune_config *cfg;
    char exe[CF_TUNE_PATH_MAX];
    int final_test;
    child *ch;
    int n, cap;
    cf_tune_event *q;
    int qlen, qcap;
} local;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Copies the directory tree src to dst (regular files and directories). */
static cf_status copy_tree(const char *src, const char *dst, cf_error *err)
{
    CF_TRY(cf_mkdir_p(dst, err));
    DIR *d = opendir(src);
    if (!d) return cf_error_set(err, CF_ERR_IO, "%s: %s", src, strerror(errno));
    cf_status st = CF_OK;
    struct dirent *de;
    while (st == CF_OK && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char a[CF_TUNE_PATH_MAX + 300], b[CF_TUNE_PATH_MAX + 300];
        snprintf(a, sizeof a, "%s/%s", src, de->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, de->d_name);
        struct stat sb;
        if (stat(a, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            st = copy_tree(a, b, err);
            continue;
        }
        if (!S_ISREG(sb.st_mode)) continue;
        int in = open(a, O_RDONLY | O_CLOEXEC), out = -1;
        if (in >= 0) out = open(b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char buf[1 << 16];
        ssize_t n = 0;
        while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n) {
                n = -1;
                break;
            }
        if (in < 0 || out < 0 || n < 0)
            st = cf_error_set(err, CF_ERR_IO, "copying %s to %s: %s", a, b, strerror(errno));
        if (in >= 0) close(in);
        if (out >= 0 && close(out) != 0 && st == CF_OK)
            st = cf_error_set(err, CF_ERR_IO, "%s: %s", b, strerror(errno));
    }
    closedir(d);
    return st;
}

static int push(local *L, const cf_tune_event *ev)
{
    if (L->qlen == L->qcap) {
        int nc = L->qcap ? L->qcap * 2 : 16;
        cf_tune_event *q = realloc(L->q, sizeof *q * (size_t)nc);
        if (!q) return -1;
        L->q = q;
        L->qcap = nc;
    }
    L->q[L->qlen++] = *ev;
    return 0;
}

static int loc_capacity(void *ctx)
{
    local *L = ctx;
    return L->cfg->max_parallel - L->n;
}

static cf_status loc_launch(void *ctx, const cf_tune_job *job, cf_error *err)
{
    local *L = ctx;
    CF_TRY(cf_mkdir_p(job->dir, err));
    if (L->n == L->cap) {
        int nc = L->cap ? L->cap * 2 : 8;
        child *c = realloc(L->ch, sizeof *c * (size_t)nc);
        if (!c) return cf_error_set(err, CF_ERR_NOMEM, "runner: out of memory");
        L->ch = c;
        L->cap = nc;
    }
    child *c = &L->ch[L->n];
    memset(c, 0, sizeof *c);
    c->trial_id = job->trial_id;
    snprintf(c->errlog, sizeof c->errlog, "%s/stderr.log", job->dir);

    /* argv for a training trial, built before fork (no malloc in the child) */
    char **argv = NULL;
    char *strs = NULL;
    int cont = job->start_epoch > 0 && !L->cfg->objective.function;
    if (cont) {
        char src[CF_TUNE_PATH_MAX + 16], dst[CF_TUNE_PATH_MAX + 16];
        snprintf(src, sizeof src, "%s/run", job->continue_from);
        snprintf(dst, sizeof dst, "%s/run", job->dir);
        CF_TRY(copy_tree(src, dst, err));
    }
    if (!L->cfg->objective.function) {
        int na = 3 + 2 * (job->n + 1) + 6;
        argv = calloc((size_t)na, sizeof *argv);
        size_t total = 64 + strlen(job->dir);
        for (int i = 0; i < job->n; i++) total += strlen(job->keys[i]) + strlen(job->values[i]) + 2;
        strs = malloc(total);
        if (!argv || !strs) {
            free(argv);
            free(strs);
            return cf_error_set(err, CF_ERR_NOMEM, "runner: out of memory");
        }
        int a = 0;
        size_t o = 0;
        argv[a++] = L->exe;
        argv[a++] = "train";
        if (cont) { /* the copied run's config.cfg already holds the overrides */
            argv[a++] = "--resume";
            argv[a++] = strs + o;
            o += (size_t)sprintf(strs + o, "%s/run", job->dir) + 1;
            argv[a++] = "--epochs";
            argv[a++] = strs + o;
            o += (size_t)sprintf(strs + o, "%d", job->epochs) + 1;
        } else {
            argv[a++] = (char *)L->cfg->config_path;
        }
        for (int i = 0; i < job->n && !cont; i++) {
            argv[a++] = "--set";
            argv[a++] = strs + o;
            o += (size_t)sprintf(strs + o, "%s=%s", job->keys[i], job->values[i]) + 1;
        }
        if (job->epochs > 0 && !cont) {
            argv[a++] = "--set";
            argv[a++] = strs + o;
            o += (size_t)sprintf(strs + o, "train.epochs=%d", job->epochs) + 1;
        }
        if (!cont) {
            argv[a++] = "--run-dir";
            argv[a++] = strs + o;
            o += (size_t)sprintf(strs + o, "%s/run", job->dir) + 1;
        }
        if (!L->final_test) argv[a++] = "--no-test";
        argv[a++] = "--json";
        argv[a] = NULL;
    }

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        free(argv);
        free(strs);
        return cf_error_set(err, CF_ERR_IO, "runner: pipe failed: %s", strerror(errno));
    }
    int efd = open(c->errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (efd < 0) {
        close(pfd[0]);
        close(pfd[1]);
        free(argv);
        free(strs);
        return cf_error_set(err, CF_ERR_IO, "%s: %s", c->errlog, strerror(errno));
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        close(efd);
        free(argv);
        free(strs);
        return cf_error_set(err, CF_ERR_IO, "runner: fork failed: %s", strerror(errno));
    }
    if (pid == 0) {
        /* A trial dies with its tuner (kill -9 included) instead of running
         * on until its next write; the getppid check closes the race with a
         * tuner that died before prctl. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        setpgid(0, 0);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        dup2(pfd[1], 1);
        dup2(efd, 2);
        if (L->cfg->objective.function) {
            cf_tune_synthetic_child(L->cfg, job, 1);
            _exit(0);
        }
        execv(L->exe, argv);
        dprintf(2, "clforge tune: cannot run %s: %s\n", L->exe, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent: no race with an early stop() */
    close(pfd[1]);
    close(efd);
    free(argv);
    free(strs);
    fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->fd = pfd[0];
    c->t_start = now_s();
    L->n++;
    return CF_OK;
}

/* Last non-empty line of the child's stderr, for failure reasons. */
static void last_err_line(const char *path, char *out, size_t n)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char tail[512];
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, sz > (long)sizeof tail - 1 ? sz - (long)sizeof tail + 1 : 0, SEEK_SET);
    size_t r = fread(tail, 1, sizeof tail - 1, f);
    fclose(f);
    tail[r] = 0;
    while (r > 0 && (tail[r - 1] == '\n' || tail[r - 1] == '\r' || tail[r - 1] == ' ')) tail[--r] = 0;
    char *nl = strrchr(tail, '\n');
    snprintf(out, n, "%.*s", (int)(n > 0 ? n - 1 : 0), nl ? nl + 1 : tail);
}

static void take_line(local *L, child *c, const char *line)
{
    cf_tune_event ev;
    if (cf_tune_parse_event_line(line, &ev, NULL) != CF_OK) return;
    ev.trial_id = c->trial_id;
    if (ev.kind == CF_TEV_EPOCH) {
        push(L, &ev);
    } else {
        c->end = ev;
        c->have_end = 1;
    }
}

static void drain(local *L, child *c)
{
    for (;;) {
        if (c->cap - c->len < 4096) {
            size_t nc = c->cap ? c->cap * 2 : 8192;
            char *b = realloc(c->buf, nc);
            if (!b) return;
            c->buf = b;
            c->cap = nc;
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            close(c->fd);
            c->fd = -1;
        }
        if (r <= 0) break;
        c->len += (size_t)r;
        size_t start = 0;
        for (size_t i = 0; i < c->len; i++) {
            if (c->buf[i] != '\n') continue;
            c->buf[i] = 0;
            take_line(L, c, c->buf + start);
            start = i + 1;
        }
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
    }
}

/* The child has exited (status from waitpid): emit its final event. */
static void finish(local *L, int idx, int status)
{
    child *c = &L->ch[idx];
    cf_tune_event ev;
    memset(&ev, 0, sizeof ev);
    if (c->have_end) ev = c->end;
    ev.trial_id = c->trial_id;
    char tail[CF_TUNE_REASON_MAX];
    if (c->stop_requested) {
        ev.kind = CF_TEV_STOPPED;
    } else if (c->timed_out) {
        ev.kind = CF_TEV_FAILED;
        snprintf(ev.reason, sizeof ev.reason, "timeout after %gs", L->cfg->trial_timeout);
    } else if (WIFSIGNALED(status)) {
        ev.kind = CF_TEV_FAILED;
        last_err_line(c->errlog, tail, sizeof tail);
        snprintf(ev.reason, sizeof ev.reason, "crashed: killed by signal %d (%s)%s%.160s",
                 WTERMSIG(status), strsignal(WTERMSIG(status)), tail[0] ? ": " : "", tail);
    } else if (WEXITSTATUS(status) != 0) {
        ev.kind = CF_TEV_FAILED;
        if (c->have_end && c->end.reason[0])
            snprintf(tail, sizeof tail, "%s", c->end.reason);
        else
            last_err_line(c->errlog, tail, sizeof tail);
        snprintf(ev.reason, sizeof ev.reason, "exit code %d%s%.200s", WEXITSTATUS(status),
                 tail[0] ? ": " : "", tail);
    } else if (!c->have_end) {
        ev.kind = CF_TEV_FAILED;
        snprintf(ev.reason, sizeof ev.reason, "exited without an 'end' event");
    }
    /* else: the end event as reported (ok, or error with its message) */
    push(L, &ev);
    free(c->buf);
    L->ch[idx] = L->ch[--L->n];
}

static void check_clock(local *L)
{
    double t = now_s();
    for (int i = 0; i < L->n; i++) {
        child *c = &L->ch[i];
        if (c->killed) continue;
        if (!c->stop_requested && L->cfg->trial_timeout > 0 && t - c->t_start > L->cfg->trial_timeout) {
            c->timed_out = 1;
            c->killed = 1;
            kill(-c->pid, SIGKILL);
        } else if (c->stop_requested && t - c->t_stop > STOP_GRACE_S) {
            c->killed = 1;
            kill(-c->pid, SIGKILL);
        }
    }
}

static int loc_poll(void *ctx, cf_tune_event *ev, int timeout_ms, cf_error *err)
{
    local *L = ctx;
    double deadline = now_s() + timeout_ms / 1000.0;
    for (;;) {
        if (L->qlen > 0) {
            *ev = L->q[0];
            memmove(L->q, L->q + 1, sizeof *L->q * (size_t)(--L->qlen));
            return 1;
        }
        check_clock(L);
        /* reap children whose output has ended */
        for (int i = 0; i < L->n; i++) {
            if (L->ch[i].fd >= 0) continue;
            int status;
            pid_t r = waitpid(L->ch[i].pid, &status, WNOHANG);
            if (r == L->ch[i].pid) {
                finish(L, i, status);
                i--;
            }
        }
        if (L->qlen > 0) continue;
        double left = deadline - now_s();
        if (left <= 0) return 0;
        struct pollfd pf[256];
        int idx[256], np = 0;
        for (int i = 0; i < L->n && np < 256; i++)
            if (L->ch[i].fd >= 0) {
                pf[np].fd = L->ch[i].fd;
                pf[np].events = POLLIN;
                idx[np++] = i;
            }
        int wait_ms = (int)(left * 1000) + 1;
        if (wait_ms > 100) wait_ms = 100; /* also the clock for timeouts and reaping */
        int r = poll(pf, (nfds_t)np, wait_ms);
        if (r < 0 && errno != EINTR) {
            cf_error_set(err, CF_ERR_IO, "runner: poll failed: %s", strerror(errno));
            return -1;
        }
        for (int k = 0; k < np && r > 0; k++)
            if (pf[k].revents) drain(L, &L->ch[idx[k]]);
    }
}

static cf_status loc_stop(void *ctx, int trial_id, cf_error *err)
{
    local *L = ctx;
    for (int i = 0; i < L->n; i++) {
        child *c = &L->ch[i];
        if (c->trial_id != trial_id || c->stop_requested) continue;
        c->stop_requested = 1;
        c->t_stop = now_s();
        kill(-c->pid, SIGTERM);
    }
    return CF_OK;
}

static void loc_destroy(void *ctx)
{
    local *L = ctx;
    for (int i = 0; i < L->n; i++) {
        kill(-L->ch[i].pid, SIGKILL);
        waitpid(L->ch[i].pid, NULL, 0);
        if (L->ch[i].fd >= 0) close(L->ch[i].fd);
        free(L->ch[i].buf);
    }
    free(L->ch);
    free(L->q);
    free(L);
}

cf_status cf_tune_runner_local(cf_tune_runner *out, const cf_tune_config *cfg, const char *exe,
                               int final_test, cf_error *err)
{
    local *L = calloc(1, sizeof *L);
    if (!L) return cf_error_set(err, CF_ERR_NOMEM, "runner: out of memory");
    L->cfg = cfg;
    L->final_test = final_test;
    snprintf(L->exe, sizeof L->exe, "%s", exe ? exe : "/proc/self/exe");
    out->ctx = L;
    out->capacity = loc_capacity;
    out->launch = loc_launch;
    out->poll = loc_poll;
    out->stop = loc_stop;
    out->destroy = loc_destroy;
    return CF_OK;
}
