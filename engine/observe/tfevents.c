/* clforge — TensorBoard event files (see tfevents.h). */
#include "observe/tfevents.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/crc32c.h"
#include "core/protobuf.h"

enum { EV_WALL = 1, EV_STEP = 2, EV_VERSION = 3, EV_SUMMARY = 5, EV_SESSION_LOG = 7 };
enum { SUM_VALUE = 1 };
enum { VAL_TAG = 1, VAL_SIMPLE = 2, VAL_TENSOR = 8, VAL_METADATA = 9 };
enum { META_PLUGIN_DATA = 1, PLUGIN_NAME = 1, PLUGIN_CONTENT = 2 };
enum { TENSOR_DTYPE = 1, TENSOR_SHAPE = 2, TENSOR_STRING_VAL = 8, SHAPE_DIM = 2, DT_FLOAT = 1, DT_STRING = 7 };
enum { SESSION_STATUS = 1, SESSION_START = 1 };
/* tensorboard/plugins/hparams/plugin_data.proto, google/protobuf/struct.proto */
enum { HP_SESSION_START_INFO = 3, SSI_HPARAMS = 1, MAP_KEY = 1, MAP_VALUE = 2 };
enum { PV_NUMBER = 2, PV_STRING = 3, PV_BOOL = 4 };

static void le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

cf_status cf_tfrecord_write(FILE *f, const void *data, size_t n, const char *path, cf_error *err)
{
    unsigned char head[12], tail[4];
    le(head, n, 8);
    le(head + 8, cf_crc32c_mask(cf_crc32c(head, 8)), 4);
    le(tail, cf_crc32c_mask(cf_crc32c(data, n)), 4);
    /* flushed per event: TensorBoard reads the file while the run goes on */
    if (fwrite(head, 1, 12, f) != 12 || fwrite(data, 1, n, f) != n || fwrite(tail, 1, 4, f) != 4 || fflush(f))
        return cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return CF_OK;
}

/* Event{wall_time, step, <body>} framed into the file. */
static cf_status write_event(cf_tfevents *w, double wall, long step, int field, const cf_pb *body, cf_error *err)
{
    cf_pb ev = {0};
    cf_pb_double(&ev, EV_WALL, wall);
    if (step) cf_pb_varint(&ev, EV_STEP, (uint64_t)step);
    cf_pb_msg(&ev, field, body);
    cf_status st = ev.oom ? cf_error_set(err, CF_ERR_NOMEM, "out of memory")
                          : cf_tfrecord_write(w->f, ev.p, ev.len, w->path, err);
    cf_pb_free(&ev);
    return st;
}

cf_status cf_tfevents_open(cf_tfevents *w, const char *dir, double wall_time, cf_error *err)
{
    memset(w, 0, sizeof *w);
    CF_TRY(cf_mkdir_p(dir, err));
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == '/') *p = '_';
    int fd = -1;
    for (int k = 0; k < 100 && fd < 0; k++) {
        if (k) snprintf(w->path, sizeof w->path, "%s/events.out.tfevents.%ld.%s.%d", dir, (long)wall_time, host, k);
        else snprintf(w->path, sizeof w->path, "%s/events.out.tfevents.%ld.%s", dir, (long)wall_time, host);
        fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 && errno != EEXIST) return cf_error_set(err, CF_ERR_IO, "%s: %s", w->path, strerror(errno));
    }
    if (fd < 0) return cf_error_set(err, CF_ERR_IO, "%s: too many event files", dir);
    if (!(w->f = fdopen(fd, "wb"))) {
        close(fd);
        return cf_error_set(err, CF_ERR_IO, "%s: %s", w->path, strerror(errno));
    }
    cf_pb ev = {0};
    cf_pb_double(&ev, EV_WALL, wall_time);
    cf_pb_str(&ev, EV_VERSION, "brain.Event:2");
    cf_status st = ev.oom ? cf_error_set(err, CF_ERR_NOMEM, "out of memory")
                          : cf_tfrecord_write(w->f, ev.p, ev.len, w->path, err);
    cf_pb_free(&ev);
    if (st) {
        fclose(w->f);
        w->f = NULL;
    }
    return st;
}

cf_status cf_tfevents_scalars(cf_tfevents *w, double wall_time, long step, const char *const *tags,
                              const double *values, int n, cf_error *err)
{
    cf_pb sum = {0};
    for (int i = 0; i < n; i++) {
        cf_pb v = {0};
        cf_pb_str(&v, VAL_TAG, tags[i]);
        cf_pb_float(&v, VAL_SIMPLE, (float)values[i]);
        cf_pb_msg(&sum, SUM_VALUE, &v);
        cf_pb_free(&v);
    }
    cf_status st = write_event(w, wall_time, step, EV_SUMMARY, &sum, err);
    cf_pb_free(&sum);
    return st;
}

/* Value{tag, metadata{plugin_data{plugin_name, content}}, tensor} */
static cf_status plugin_value(cf_tfevents *w, double wall, long step, const char *tag, const char *plugin,
                              const cf_pb *content, const cf_pb *tensor, cf_error *err)
{
    cf_pb pd = {0}, meta = {0}, v = {0}, sum = {0};
    cf_pb_str(&pd, PLUGIN_NAME, plugin);
    if (content) cf_pb_msg(&pd, PLUGIN_CONTENT, content);
    cf_pb_msg(&meta, META_PLUGIN_DATA, &pd);
    cf_pb_str(&v, VAL_TAG, tag);
    cf_pb_msg(&v, VAL_METADATA, &meta);
    cf_pb_msg(&v, VAL_TENSOR, tensor);
    cf_pb_msg(&sum, SUM_VALUE, &v);
    cf_status st = write_event(w, wall, step, EV_SUMMARY, &sum, err);
    cf_pb_free(&pd);
    cf_pb_free(&meta);
    cf_pb_free(&v);
    cf_pb_free(&sum);
    return st;
}

cf_status cf_tfevents_text(cf_tfevents *w, double wall_time, long step, const char *tag, const char *text,
                           cf_error *err)
{
    cf_pb t = {0}, shape = {0};
    cf_pb_varint(&t, TENSOR_DTYPE, DT_STRING);
    cf_pb_msg(&t, TENSOR_SHAPE, &shape); /* scalar: no dims */
    cf_pb_str(&t, TENSOR_STRING_VAL, text);
    cf_status st = plugin_value(w, wall_time, step, tag, "text", NULL, &t, err);
    cf_pb_free(&t);
    return st;
}

cf_status cf_tfevents_hparams(cf_tfevents *w, double wall_time, const char *const *kv, int n, cf_error *err)
{
    cf_pb ssi = {0}, data = {0}, t = {0}, shape = {0}, dim = {0};
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        if (!eq || eq == kv[i]) continue;
        char key[256], val[512];
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv[i]) < 255 ? (int)(eq - kv[i]) : 255, kv[i]);
        snprintf(val, sizeof val, "%s", eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') { /* a libconfig string */
            memmove(val, val + 1, vl - 2);
            val[vl - 2] = '\0';
        }
        cf_pb pv = {0}, entry = {0};
        char *end;
        double d = strtod(val, &end);
        if (!strcmp(val, "true") || !strcmp(val, "false")) cf_pb_varint(&pv, PV_BOOL, val[0] == 't');
        else if (val[0] && !*end && isfinite(d)) cf_pb_double(&pv, PV_NUMBER, d);
        else cf_pb_str(&pv, PV_STRING, val);
        cf_pb_str(&entry, MAP_KEY, key);
        cf_pb_msg(&entry, MAP_VALUE, &pv);
        cf_pb_msg(&ssi, SSI_HPARAMS, &entry);
        cf_pb_free(&pv);
        cf_pb_free(&entry);
    }
    cf_pb_double(&ssi, 5, wall_time); /* start_time_secs */
    cf_pb_msg(&data, HP_SESSION_START_INFO, &ssi);
    /* the plugin's "null tensor": DT_FLOAT of shape [0] (a dim whose size 0 is the default) */
    cf_pb_msg(&shape, SHAPE_DIM, &dim);
    cf_pb_varint(&t, TENSOR_DTYPE, DT_FLOAT);
    cf_pb_msg(&t, TENSOR_SHAPE, &shape);
    cf_status st = plugin_value(w, wall_time, 0, "_hparams_/session_start_info", "hparams", &data, &t, err);
    cf_pb_free(&ssi);
    cf_pb_free(&data);
    cf_pb_free(&t);
    cf_pb_free(&shape);
    cf_pb_free(&dim);
    return st;
}

cf_status cf_tfevents_restart(cf_tfevents *w, double wall_time, long step, cf_error *err)
{
    cf_pb log = {0};
    cf_pb_varint(&log, SESSION_STATUS, SESSION_START);
    cf_status st = write_event(w, wall_time, step, EV_SESSION_LOG, &log, err);
    cf_pb_free(&log);
    return st;
}

cf_status cf_tfevents_close(cf_tfevents *w, cf_error *err)
{
    if (!w->f) return CF_OK;
    int bad = fflush(w->f) != 0 || fsync(fileno(w->f)) != 0;
    int e = errno;
    bad |= fclose(w->f) != 0;
    w->f = NULL;
    if (bad) return cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", w->path, strerror(e ? e : errno));
    return CF_OK;
}
