/* Fuzz target: the tune journal as `clforge tune --resume` replays it
 * (tune/journal.c: torn last lines; study_open.c: events; jsonl.c: the flat
 * JSON reading), the resumed study's trials.csv and best.cfg (report.c),
 * and each line as a trial's event line (runner_local.c's parser). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "fuzz.h"
#include "tune/tune.h"

static cf_tune_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const char text[] =
        "tune = { strategy = \"random\"; max_trials = 8; seed = 3;\n"
        "  objective = { function = \"branin\"; curve = 5.0; };\n"
        "  parameters = (\n"
        "    { key = \"x1\"; type = \"continuous\"; min = -5.0; max = 10.0; },\n"
        "    { key = \"x2\"; type = \"continuous\"; min = 0.0; max = 15.0; } ); };\n";
    const char *p = cf_fuzz_file("tune.cfg", text, sizeof text - 1);
    cf_error err = {0};
    if (!p || cf_tune_config_load(p, &cfg, &err) != CF_OK) {
        fprintf(stderr, "fuzz_journal: %s\n", err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/study", cf_fuzz_dir());
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    cf_study_opts o = {0};
    o.dir = dir;
    o.resume = 1;
    o.in_process = 1;
    cf_study *s = NULL;
    cf_error err = {0};
    cf_status st = cf_study_open(&s, &cfg, &o, &err);
    cf_fuzz_note("journal", st, &err);
    if (st == CF_OK) {
        snprintf(path, sizeof path, "%s/trials.csv", dir);
        cf_tune_write_csv(s, path, &err);
        snprintf(path, sizeof path, "%s/best.cfg", dir);
        cf_tune_write_best_cfg(s, path, &err);
        cf_study_close(s);
    }
    /* Each line as a trial process's event line. */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        cf_tune_event ev;
        cf_tune_parse_event_line(l, &ev, &err);
    }
    free(text);
    return 0;
}
