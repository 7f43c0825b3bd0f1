/* `clforge tune CONFIG [options]`: runs a hyperparameter study described by
 * the config's `tune` group (docs/tuning.md). This file is the only part of
 * the tuner that prints or decides an exit code. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/util.h"
#include "dist/dist.h"
#include "tune/tune.h"

int cf_cmd_tune(int argc, char **argv);

static volatile int g_stop;

static void on_signal(int sig)
{
    if (g_stop) signal(sig, SIG_DFL); /* second Ctrl-C: leave now */
    g_stop = 1;
}

static void usage(FILE *f)
{
    fputs("usage: clforge tune CONFIG [options]\n"
          "Runs the hyperparameter study in CONFIG's `tune = { ... }` group; writes\n"
          "runs/<name>/ (journal.jsonl, trials.csv, best.cfg, tune_report.html).\n"
          "  --dir DIR          study directory (default runs/<tune.name or config name>)\n"
          "  --resume DIR       continue the study in DIR after an interruption or crash\n"
          "  --final-test       afterwards, retrain best.cfg once with test evaluation\n"
          "  --max-trials N     override tune.max_trials\n"
          "  --max-parallel N   override tune.max_parallel\n"
          "  --seed N           override tune.seed\n"
          "  --set KEY=VALUE    override any key, tune.* or training (repeatable), e.g.\n"
          "                     --set tune.max_trials=12 --set train.mini_batch_size=32;\n"
          "                     the trials train DIR/base.cfg, the config with these applied\n"
          "  --allow-unknown    unknown keys are warnings, not errors (as strict_keys = false;)\n"
          "  --trial-program P  program run as `P train ...` (default: this clforge)\n"
          "  --in-process       synthetic objectives: evaluate in this process (no isolation)\n"
          "  --quiet            print only the summary\n"
          "Under `mpirun -np N`, rank 0 runs the study and ranks 1..N-1 run one trial each\n"
          "at a time (max_parallel = N - 1); trials.csv names the worker (docs/distributed.md).\n"
          "See docs/tuning.md for the tune group's keys.\n",
          f);
}

typedef struct ui {
    int tty, quiet;
    int rows;
    const char *status; /* last status line printed on a TTY (to clear) */
} ui;

static void fmt_params(const cf_study *s, const cf_trial *t, char *out, size_t n)
{
    const cf_tune_config *c = cf_study_config(s);
    size_t o = 0;
    out[0] = 0;
    for (int k = 0; k < c->space.n && o + 8 < n; k++) {
        char v[128];
        cf_tune_format_value(&c->space.p[k], t->x[k], v, sizeof v);
        const char *key = strrchr(c->space.p[k].key, '.');
        key = key ? key + 1 : c->space.p[k].key;
        o += (size_t)snprintf(out + o, n - o, "%s%s=%s", k ? " " : "", key, v);
    }
}

static void status_line(ui *u, const cf_study *s)
{
    const cf_tune_config *c = cf_study_config(s);
    char best[64] = "-", epochs[48];
    int b = cf_study_best(s);
    if (b >= 0) snprintf(best, sizeof best, "#%d %.6g", b, cf_study_trial(s, b)->value);
    if (c->max_total_epochs > 0)
        snprintf(epochs, sizeof epochs, "%d/%ld epochs", cf_study_total_epochs(s), c->max_total_epochs);
    else
        snprintf(epochs, sizeof epochs, "%d epochs", cf_study_total_epochs(s));
    fprintf(stdout, "\r\033[K  [%d running | %d trials | %s | best %s | %.0fs]", cf_study_running(s),
            cf_study_count(s), epochs, best, cf_study_elapsed(s));
    fflush(stdout);
    u->status = "";
}

static void on_event(void *user, const cf_study *s, const cf_trial *t, cf_study_ev ev)
{
    ui *u = user;
    if (u->quiet) return;
    const cf_tune_config *c = cf_study_config(s);
    if (u->tty && u->status) fputs("\r\033[K", stdout);
    if (u->rows == 0 && ev != CF_STUDY_EV_TICK) {
        printf("%-6s %-8s %12s %12s %6s %7s  %s\n", "trial", "state", c->objective.metric, "best", "epochs",
               "seconds", "parameters");
        u->rows = 1;
    }
    char params[512];
    if (ev == CF_STUDY_EV_END) {
        int b = cf_study_best(s);
        char val[32] = "", best[32] = "";
        if (isfinite(t->value) && t->state != CF_TRIAL_FAILED) snprintf(val, sizeof val, "%.6g", t->value);
        if (b >= 0) snprintf(best, sizeof best, "%.6g%s", cf_study_trial(s, b)->value, b == t->id ? "*" : "");
        fmt_params(s, t, params, sizeof params);
        printf("%-6d %-8s %12s %12s %6d %7.1f  %s", t->id, cf_trial_state_name(t->state), val, best,
               t->n_curve, t->seconds, params);
        if (t->reason[0]) printf("  (%s)", t->reason);
        putchar('\n');
    } else if (ev == CF_STUDY_EV_LAUNCH && !u->tty) {
        fmt_params(s, t, params, sizeof params);
        printf("%-6d %-8s %12s %12s %6d %7s  %s\n", t->id, "started", "", "", t->epochs, "", params);
    }
    if (u->tty) status_line(u, s);
    fflush(stdout);
}

/* Runs best.cfg once with test evaluation: `EXE train best.cfg --run-dir DIR/final --json`. */
static int final_test(const cf_tune_config *cfg, const char *dir, const char *exe)
{
    cf_tune_config fc = *cfg;
    if (strlen(dir) + 10 >= sizeof fc.config_path) {
        fprintf(stderr, "clforge tune: %s: path too long\n", dir);
        return 1;
    }
    snprintf(fc.config_path, sizeof fc.config_path, "%.1000s/best.cfg", dir);
    fc.max_parallel = 1;
    fc.trial_timeout = 0;
    cf_tune_runner r;
    cf_error err = {0};
    if (cf_tune_runner_local(&r, &fc, exe, 1, &err) != CF_OK) {
        fprintf(stderr, "clforge tune: %s\n", err.msg);
        return 1;
    }
    char fdir[CF_TUNE_PATH_MAX + 16];
    snprintf(fdir, sizeof fdir, "%s/final", dir);
    cf_tune_job job = {0, 0, 0, NULL, NULL, NULL, fdir};
    if (fc.objective.function) {
        fprintf(stderr, "clforge tune: --final-test: a synthetic objective has no test set\n");
        r.destroy(r.ctx);
        return 1;
    }
    printf("final test: %s train %s --run-dir %s/run --json\n", exe, fc.config_path, fdir);
    fflush(stdout);
    if (r.launch(r.ctx, &job, &err) != CF_OK) {
        fprintf(stderr, "clforge tune: %s\n", err.msg);
        r.destroy(r.ctx);
        return 1;
    }
    int rc = 1;
    for (;;) {
        cf_tune_event ev;
        int got = r.poll(r.ctx, &ev, 1000, &err);
        if (got < 0) break;
        if (got == 0) continue;
        if (ev.kind == CF_TEV_EPOCH) {
            printf("  epoch %d", ev.epoch);
            for (int i = 0; i < ev.n_metrics; i++)
                if (strstr(ev.names[i], "accuracy") || strstr(ev.names[i], "loss"))
                    printf(" %s=%.4g", ev.names[i], ev.values[i]);
            putchar('\n');
            continue;
        }
        if (ev.kind == CF_TEV_OK) {
            printf("final test:");
            for (int i = 0; i < ev.n_metrics; i++)
                if (!strncmp(ev.names[i], "test", 4)) printf(" %s=%.6g", ev.names[i], ev.values[i]);
            printf("  (run directory %s/run)\n", fdir);
            rc = 0;
        } else {
            fprintf(stderr, "clforge tune: final test failed: %s\n", ev.reason);
        }
        break;
    }
    r.destroy(r.ctx);
    return rc;
}

static int tune_main(int argc, char **argv, const char **sets)
{
    const char *config = NULL, *dir = NULL, *program = NULL;
    int resume = 0, do_final = 0, quiet = 0, in_process = 0;
    long max_trials = -1, max_parallel = -1, seed = -1;
    int n_sets = 0, allow_unknown = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--dir") && has_val) {
            dir = argv[++i];
        } else if (!strcmp(a, "--resume") && has_val) {
            dir = argv[++i];
            resume = 1;
        } else if (!strcmp(a, "--final-test")) {
            do_final = 1;
        } else if (!strcmp(a, "--in-process")) {
            in_process = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--max-trials") && has_val) {
            max_trials = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(a, "--max-parallel") && has_val) {
            max_parallel = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(a, "--seed") && has_val) {
            seed = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(a, "--trial-program") && has_val) {
            program = argv[++i];
        } else if (!strcmp(a, "--set") && has_val) {
            sets[n_sets++] = argv[++i];
        } else if (!strncmp(a, "--set=", 6)) {
            sets[n_sets++] = a + 6;
        } else if (!strcmp(a, "--allow-unknown")) {
            allow_unknown = 1;
        } else if (a[0] == '-' || config) {
            fprintf(stderr, "clforge tune: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            config = a;
        }
    }
    if (!config) {
        usage(stderr);
        return 2;
    }
    if (max_trials == 0 || max_parallel == 0 || max_parallel > 256) {
        fprintf(stderr, "clforge tune: --max-trials and --max-parallel take a positive number (parallel <= 256)\n");
        return 2;
    }

    cf_tune_config cfg;
    cf_error err = {0};
    /* children get an absolute config path: their working directory is ours,
     * but the path ends up in journals and best.cfg headers too */
    char abs_config[CF_TUNE_PATH_MAX];
    if (!realpath(config, abs_config)) snprintf(abs_config, sizeof abs_config, "%s", config);
    /* Trials must be as lenient as the study: they train base.cfg with it. */
    if (allow_unknown) sets[n_sets++] = "strict_keys=false";
    char *resolved = NULL;
    cf_tune_load_opts lo = {sets, n_sets, allow_unknown, stderr, n_sets ? &resolved : NULL};
    cf_status ls = cf_tune_config_load_opts(abs_config, &lo, &cfg, &err);
    int world = cf_dist_size(), rank = cf_dist_rank();
    if (world > 1) { /* every rank loaded it, or rank 0 says which did not */
        char *text = NULL;
        size_t tn = 0;
        uint32_t crc = 0;
        if (!ls && cf_read_file(abs_config, &text, &tn, &err) == CF_OK) crc = cf_crc32c(text, tn);
        free(text);
        for (int i = 0; i < n_sets; i++) crc = cf_crc32c_extend(crc, sets[i], strlen(sets[i]) + 1);
        if (!(ls = cf_dist_agree(ls, &err))) ls = cf_dist_same(cf_dist_version(), crc, "tuning config", &err);
        if (ls) {
            if (rank == 0) fprintf(stderr, "clforge tune: %s\n", err.msg);
            return 1;
        }
    }
    if (ls != CF_OK) {
        /* name the file as the user typed it */
        const char *m = err.msg;
        size_t al = strlen(abs_config);
        if (!strncmp(m, abs_config, al)) fprintf(stderr, "clforge tune: %s%s\n", config, m + al);
        else fprintf(stderr, "clforge tune: %s\n", m);
        return 1;
    }
    if (max_trials > 0) cfg.max_trials = (int)max_trials;
    if (max_parallel > 0) cfg.max_parallel = (int)max_parallel;
    if (seed >= 0) cfg.seed = (uint64_t)seed;
    if (world > 1 && in_process) {
        if (rank == 0) fprintf(stderr, "clforge tune: --in-process runs trials in the tuner itself; under mpirun the workers run them\n");
        cf_tune_config_free(&cfg);
        return 2;
    }
    if (world > 1) cfg.max_parallel = world - 1; /* one trial per worker rank */

    char exe[CF_TUNE_PATH_MAX];
    if (program) {
        snprintf(exe, sizeof exe, "%s", program);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) snprintf(exe, sizeof exe, "/proc/self/exe");
        else exe[n] = 0;
    }
    char dbuf[CF_TUNE_PATH_MAX];
    if (!dir) {
        snprintf(dbuf, sizeof dbuf, "runs/%s", cfg.name);
        dir = dbuf;
    }

    ui u = {isatty(1), quiet, 0, NULL};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* With --set the trials train DIR/base.cfg: the config as overridden
     * (written once the study directory is known to be ours). */
    if (resolved) {
        char base[CF_TUNE_PATH_MAX + 16], abs_dir[CF_TUNE_PATH_MAX];
        char cwd[CF_TUNE_PATH_MAX / 2];
        if (realpath(dir, abs_dir)) {
        } else if (dir[0] != '/' && getcwd(cwd, sizeof cwd)) {
            snprintf(abs_dir, sizeof abs_dir, "%s/%.*s", cwd, (int)(sizeof abs_dir / 2 - 2), dir);
        } else {
            snprintf(abs_dir, sizeof abs_dir, "%s", dir);
        }
        snprintf(base, sizeof base, "%.*s/base.cfg", (int)(sizeof cfg.config_path - 10), abs_dir);
        snprintf(cfg.config_path, sizeof cfg.config_path, "%s", base);
    }
    if (world > 1 && rank > 0) { /* a worker: no study, no output; trials as rank 0 sends them */
        cf_status ws = cf_tune_worker_mpi(&cfg, exe, &err);
        cf_tune_config_free(&cfg);
        free(resolved);
        if (ws) fprintf(stderr, "clforge tune: rank %d: %s\n", rank, err.msg);
        return ws ? 1 : 0;
    }
    cf_tune_runner mpi_runner;
    if (world > 1 && cf_tune_runner_mpi(&mpi_runner, &cfg, &err)) {
        fprintf(stderr, "clforge tune: %s\n", err.msg);
        cf_tune_config_free(&cfg);
        free(resolved);
        return 1;
    }
    cf_study_opts o = {dir, resume, exe, on_event, &u, world > 1 ? &mpi_runner : NULL, in_process, &g_stop};
    cf_study *s = NULL;
    if (cf_study_open(&s, &cfg, &o, &err) != CF_OK) {
        fprintf(stderr, "clforge tune: %s\n", err.msg);
        if (world > 1) mpi_runner.destroy(mpi_runner.ctx); /* the workers leave */
        cf_tune_config_free(&cfg);
        free(resolved);
        return 1;
    }
    if (resolved) {
        char base[CF_TUNE_PATH_MAX + 16];
        snprintf(base, sizeof base, "%s/base.cfg", dir);
        cf_status ws = cf_write_file_atomic(base, resolved, strlen(resolved), &err);
        free(resolved);
        if (ws != CF_OK) {
            fprintf(stderr, "clforge tune: %s\n", err.msg);
            cf_study_close(s);
            if (world > 1) mpi_runner.destroy(mpi_runner.ctx);
            cf_tune_config_free(&cfg);
            return 1;
        }
    }
    if (!quiet) {
        printf("clforge tune: study '%s', %s search over %d parameter%s, objective %s (%s), up to %d parallel%s\n",
               cfg.name, cf_tune_strategy_name(cfg.strategy), cfg.space.n, cfg.space.n == 1 ? "" : "s",
               cfg.objective.metric, cfg.objective.maximize ? "maximize" : "minimize", cfg.max_parallel,
               resume ? " (resumed)" : "");
        if (resume) {
            int done = 0, again = 0;
            for (int i = 0; i < cf_study_count(s); i++) {
                cf_trial_state st = cf_study_trial(s, i)->state;
                done += st != CF_TRIAL_PENDING;
                again += st == CF_TRIAL_PENDING;
            }
            printf("  %d trials already complete, %d in flight at the interruption will run again\n", done, again);
        }
        printf("  directory %s\n", dir);
    }
    cf_status st = cf_study_run(s, &err);
    if (world > 1) mpi_runner.destroy(mpi_runner.ctx); /* done: the workers leave */
    if (u.tty && !quiet) fputs("\r\033[K", stdout);
    int rc = 0;
    int b = cf_study_best(s);
    printf("stopped: %s; %d trials, %d epochs, %.1f s\n", cf_study_stop_reason(s), cf_study_count(s),
           cf_study_total_epochs(s), cf_study_elapsed(s));
    if (b >= 0) {
        char params[1024];
        fmt_params(s, cf_study_trial(s, b), params, sizeof params);
        printf("best: trial %d  %s = %.6g  %s\n", b, cfg.objective.metric, cf_study_trial(s, b)->value, params);
        printf("wrote %s/best.cfg, %s/trials.csv, %s/tune_report.html\n", dir, dir, dir);
    }
    if (st != CF_OK) {
        fprintf(stderr, "clforge tune: %s\n", err.msg);
        rc = 1;
    } else if (g_stop) {
        printf("interrupted; continue with: clforge tune %s --resume %s\n", config, dir);
        rc = 130;
    } else if (do_final) {
        if (b < 0) {
            fprintf(stderr, "clforge tune: --final-test: no trial finished\n");
            rc = 1;
        } else {
            rc = final_test(&cfg, dir, exe);
        }
    }
    cf_study_close(s);
    cf_tune_config_free(&cfg);
    return rc;
}

int cf_cmd_tune(int argc, char **argv)
{
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "clforge tune: out of memory\n");
        return 1;
    }
    int rc = tune_main(argc, argv, sets);
    free(sets);
    return rc;
}
