/* clforge — the run directory: where a run's files live. A fresh run gets
 * --run-dir, or OUTPUT.DIR/NAME (NAME-2, NAME-3, ... when taken); it holds
 * config.cfg (the expanded config, what --resume reads back) and
 * checkpoints/. The other files belong to the sinks (observe/sink.h). */
#ifndef CF_RUN_DIR_H
#define CF_RUN_DIR_H

#include <stddef.h>

#include "train/session.h"

/* Create s->run_dir for a fresh run (fills s->run_dir). */
cf_status cf_run_dir_create(cf_session *s, cf_error *err);
/* RUN_DIR/config.cfg from s->cfg (atomically). */
cf_status cf_run_dir_write_config(cf_session *s, cf_error *err);
/* RUN_DIR/checkpoints/, created if missing; its path in path[cap]. */
cf_status cf_run_dir_checkpoints(const cf_session *s, char *path, size_t cap, cf_error *err);

#endif
