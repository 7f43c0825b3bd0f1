/* `clforge im2rec [options] PREFIX ROOT`: the options of MXNet's
 * tools/im2rec.py (argparse style: options anywhere, --exts takes several
 * values). Prints im2rec's progress lines on stdout, errors on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/im2rec.h"

int cf_cmd_im2rec(int argc, char **argv);

static const char *const help =
    "usage: clforge im2rec [options] PREFIX ROOT\n"
    "\n"
    "MXNet's im2rec.py. With --list: walk ROOT and write PREFIX.lst (with ratios\n"
    "PREFIX_train.lst, PREFIX_val.lst, PREFIX_test.lst), lines 'index\\tlabel\\tpath'.\n"
    "Without: read every PREFIX*.lst and write its .rec and .idx (MXNet RecordIO)\n"
    "from the images under ROOT.\n"
    "\n"
    "making lists:\n"
    "  --list              make image list(s) instead of a .rec\n"
    "  --recursive         one label per sub-folder, numbered in sorted order\n"
    "                      (else only ROOT's own images, label 0)\n"
    "  --exts EXT...       image extensions (default .jpeg .jpg .png)\n"
    "  --chunks N          split the list into N chunks (PREFIX_0.lst ...; default 1)\n"
    "  --train-ratio F     fraction for PREFIX_train.lst (default 1.0)\n"
    "  --test-ratio F      fraction for PREFIX_test.lst (default 0)\n"
    "  --no-shuffle        keep walk order (default: shuffled with im2rec.py's seed 100,\n"
    "                      the same order it writes); --shuffle says the default\n"
    "making records:\n"
    "  --pass-through      store the image files as they are\n"
    "  --resize N          shorter side to N pixels (default 0: keep)\n"
    "  --center-crop       crop the centred square first\n"
    "  --quality Q         JPEG quality 1-100, or PNG compression 1-9 (default 95)\n"
    "  --num-thread N      encoding threads (default 1; the output is the same)\n"
    "  --color C           1 colour (default), 0 grayscale, -1 as stored\n"
    "  --encoding E        .jpg (default) or .png\n"
    "  --pack-label        store every label of multi-label lines in the header\n"
    "  -h, --help          this help\n";

static int bad(const char *opt, const char *v, const char *want)
{
    fprintf(stderr, "clforge im2rec: %s %s: expected %s\n", opt, v ? v : "(missing)", want);
    return 2;
}

static int to_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    if (!s || !*s) return 0;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) return 0;
    *out = (int)v;
    return 1;
}

static int to_frac(const char *s, double *out)
{
    char *end;
    if (!s || !*s) return 0;
    double v = strtod(s, &end);
    if (*end || !(v >= 0 && v <= 1)) return 0;
    *out = v;
    return 1;
}

int cf_cmd_im2rec(int argc, char **argv)
{
    cf_im2rec_opts o;
    cf_im2rec_defaults(&o);
    o.log = stdout;
    int list = 0, user_exts = 0;
    const char *pos[2] = {0};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char opt[64];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        if (a[0] == '-' && a[1] == '-' && eq && (size_t)(eq - a) < sizeof opt) {
            snprintf(opt, sizeof opt, "%.*s", (int)(eq - a), a);
            val = eq + 1;
        } else {
            snprintf(opt, sizeof opt, "%s", a);
        }
#define VAL() (val ? val : (i + 1 < argc ? argv[++i] : NULL))
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            fputs(help, stdout);
            return 0;
        } else if (!strcmp(opt, "--list")) list = 1;
        else if (!strcmp(opt, "--recursive")) o.recursive = 1;
        else if (!strcmp(opt, "--no-shuffle")) o.shuffle = 0;
        else if (!strcmp(opt, "--shuffle")) o.shuffle = 1;
        else if (!strcmp(opt, "--pass-through")) o.pass_through = 1;
        else if (!strcmp(opt, "--center-crop")) o.center_crop = 1;
        else if (!strcmp(opt, "--pack-label")) o.pack_label = 1;
        else if (!strcmp(opt, "--exts")) {
            if (!user_exts) o.n_exts = 0;
            user_exts = 1;
            if (val) o.exts[o.n_exts++] = val;
            while (!val && i + 1 < argc && argv[i + 1][0] == '.' && o.n_exts < CF_IM2REC_MAX_EXTS)
                o.exts[o.n_exts++] = argv[++i];
            if (!o.n_exts) return bad("--exts", NULL, "one or more extensions like .jpg");
            for (int k = 0; k < o.n_exts; k++) {
                char *low = strdup(o.exts[k]);
                for (char *p = low; *p; p++)
                    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
                o.exts[k] = low;
            }
        } else if (!strcmp(opt, "--chunks")) {
            const char *v = VAL();
            if (!to_int(v, 1, 1000000, &o.chunks)) return bad(opt, v, "a whole number >= 1");
        } else if (!strcmp(opt, "--train-ratio")) {
            const char *v = VAL();
            if (!to_frac(v, &o.train_ratio)) return bad(opt, v, "a fraction from 0 to 1");
        } else if (!strcmp(opt, "--test-ratio")) {
            const char *v = VAL();
            if (!to_frac(v, &o.test_ratio)) return bad(opt, v, "a fraction from 0 to 1");
        } else if (!strcmp(opt, "--resize")) {
            const char *v = VAL();
            if (!to_int(v, 0, 65500, &o.resize)) return bad(opt, v, "a whole number of pixels (0: keep)");
        } else if (!strcmp(opt, "--quality")) {
            const char *v = VAL();
            if (!to_int(v, 0, 100, &o.quality)) return bad(opt, v, "1-100 (JPEG) or 1-9 (PNG)");
        } else if (!strcmp(opt, "--num-thread")) {
            const char *v = VAL();
            if (!to_int(v, 1, 256, &o.num_thread)) return bad(opt, v, "a whole number from 1 to 256");
        } else if (!strcmp(opt, "--color")) {
            const char *v = VAL();
            if (!to_int(v, -1, 1, &o.color)) return bad(opt, v, "-1, 0 or 1");
        } else if (!strcmp(opt, "--encoding")) {
            const char *v = VAL();
            if (!v || (strcmp(v, ".jpg") && strcmp(v, ".png"))) return bad(opt, v, ".jpg or .png");
            o.encoding = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "clforge im2rec: unknown option '%s' (see clforge im2rec --help)\n", a);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "clforge im2rec: unexpected argument '%s'\n", a);
            return 2;
        }
#undef VAL
    }
    if (npos != 2) {
        fputs(help, stderr);
        return 2;
    }
    cf_error err = {0};
    cf_status s = list ? cf_im2rec_list(pos[0], pos[1], &o, &err) : cf_im2rec_pack(pos[0], pos[1], &o, &err);
    fflush(stdout);
    if (s != CF_OK) {
        fprintf(stderr, "clforge: error: %s\n", err.msg);
        return 1;
    }
    return 0;
}
