/* clforge — TensorBoard event files, written without TensorFlow.
 *
 * A file is a sequence of TFRecords: [u64 length LE][u32 masked CRC-32C of
 * the 8 length bytes][data][u32 masked CRC-32C of data], each data a
 * serialized tensorboard.Event (tensorboard/compat/proto/event.proto:
 * 1 wall_time double, 2 step int64, 3 file_version string, 5 summary,
 * 7 session_log; summary.proto: Summary{1 repeated Value}, Value{1 tag,
 * 2 simple_value float, 8 tensor, 9 metadata}). The first event carries
 * file_version "brain.Event:2". Field numbers were checked against
 * tensorboard 2.21's compiled protos. */
#ifndef CF_TFEVENTS_H
#define CF_TFEVENTS_H

#include <stdio.h>

#include "clforge/error.h"

typedef struct cf_tfevents {
    FILE *f;
    char path[1400];
} cf_tfevents;

/* Creates DIR (if needed) and DIR/events.out.tfevents.<unix time>.<host>
 * (".N" appended when that name is taken), and writes the version event. */
cf_status cf_tfevents_open(cf_tfevents *w, const char *dir, double wall_time, cf_error *err);
/* One event holding n scalars at step. */
cf_status cf_tfevents_scalars(cf_tfevents *w, double wall_time, long step, const char *const *tags,
                              const double *values, int n, cf_error *err);
/* A text summary (TensorBoard's text plugin renders it as markdown). */
cf_status cf_tfevents_text(cf_tfevents *w, double wall_time, long step, const char *tag, const char *text,
                           cf_error *err);
/* The hparams plugin's session_start_info: n "key=value" settings; values
 * that parse as numbers or true/false are typed so, the rest are strings. */
cf_status cf_tfevents_hparams(cf_tfevents *w, double wall_time, const char *const *kv, int n, cf_error *err);
/* SessionLog START at step: a resumed run; TensorBoard then drops what an
 * earlier file logged at this step and later (epochs after the checkpoint). */
cf_status cf_tfevents_restart(cf_tfevents *w, double wall_time, long step, cf_error *err);
cf_status cf_tfevents_close(cf_tfevents *w, cf_error *err);

/* The TFRecord framing of one record, to w's file (for tests: any FILE). */
cf_status cf_tfrecord_write(FILE *f, const void *data, size_t n, const char *path, cf_error *err);

#endif
