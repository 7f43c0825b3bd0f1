/* clforge — the run directory (see run_dir.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/run_dir.h"

cf_status cf_run_dir_create(cf_session *s, cf_error *err)
{
    if (s->o->run_dir) {
        snprintf(s->run_dir, sizeof s->run_dir, "%s", s->o->run_dir);
        return cf_mkdir_p(s->run_dir, err);
    }
    const char *parent = cf_params_str(s->pout, "dir");
    for (int k = 1; k < 10000; k++) {
        if (k == 1) snprintf(s->run_dir, sizeof s->run_dir, "%s/%s", parent, s->name);
        else snprintf(s->run_dir, sizeof s->run_dir, "%s/%s-%d", parent, s->name, k);
        if (!cf_file_exists(s->run_dir)) return cf_mkdir_p(s->run_dir, err);
    }
    return cf_error_set(err, CF_ERR_IO, "%s: too many runs named %s", parent, s->name);
}

cf_status cf_run_dir_write_config(cf_session *s, cf_error *err)
{
    char *txt = cf_config_to_string(&s->cfg), path[1300];
    if (!txt) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/config.cfg", s->run_dir);
    cf_status st = cf_write_file_atomic(path, txt, strlen(txt), err);
    free(txt);
    return st;
}

cf_status cf_run_dir_checkpoints(const cf_session *s, char *path, size_t cap, cf_error *err)
{
    snprintf(path, cap, "%s/checkpoints", s->run_dir);
    return cf_mkdir_p(path, err);
}
