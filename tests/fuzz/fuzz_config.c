/* Fuzz target: a training config (libconfig), its --set overrides and the
 * schema's validation, then the plugins' parameter tables and the model spec.
 * Input: the config text, optionally "\n====\n" and one --set per line. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "train/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *b;
    size_t al, bl;
    cf_fuzz_split(data, size, &b, &al, &bl);
    char *text = malloc(al + 1), *sets_text = malloc(bl + 1);
    const char *sets[16];
    int n_sets = 0;
    memcpy(text, data, al);
    text[al] = 0;
    if (bl) memcpy(sets_text, b, bl);
    sets_text[bl] = 0;
    for (char *save, *l = strtok_r(sets_text, "\n", &save); l && n_sets < 16; l = strtok_r(NULL, "\n", &save))
        sets[n_sets++] = l;
    cf_session s;
    cf_fuzz_session(&s);
    cf_train_opts o = *s.o; /* the quiet options, with this input's --set lines */
    o.sets = sets;
    o.n_sets = n_sets;
    s.o = &o;
    cf_error err = {0};
    cf_status st = cf_session_config_text(&s, text, "fuzz.cfg", &err);
    if (st == CF_OK) {
        s.c = 1, s.h = 28, s.w = 28, s.k = 10;
        st = cf_session_plugins(&s, &err);
        if (st == CF_OK) st = cf_session_model(&s, &err);
        char *back = cf_config_to_string(&s.cfg);
        free(back);
    }
    cf_fuzz_note("config", st, &err);
    cf_session_free(&s);
    free(text);
    free(sets_text);
    return 0;
}
