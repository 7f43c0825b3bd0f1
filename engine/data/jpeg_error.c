/* clforge — libjpeg's error manager (see jpeg_error.h). */
#include <stdio.h>

#include "data/jpeg_error.h"

static void error_exit(j_common_ptr c)
{
    cf_jpeg_error *e = (cf_jpeg_error *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jb, 1);
}

static void emit_fatal(j_common_ptr c, int level)
{
    if (level < 0) error_exit(c);
}

struct jpeg_error_mgr *cf_jpeg_error_init(cf_jpeg_error *e, int warnings_fatal)
{
    struct jpeg_error_mgr *m = jpeg_std_error(&e->mgr);
    m->error_exit = error_exit;
    if (warnings_fatal) m->emit_message = emit_fatal;
    snprintf(e->msg, sizeof e->msg, "unknown error");
    return m;
}
