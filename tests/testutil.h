/* clforge tests — helpers shared by the op-level test programs.
 *
 * The heart is the op table (tu_ops[] in testutil.c): for every forward or
 * standalone op it knows how to build a random valid instance ("case") in
 * several variants (odd sizes 1, 3, 7, 33; stride/pad variants; every
 * activation; optional tensors present and absent), and how the op's
 * backward ops are fed from it. test_gradcheck and test_parity both draw
 * their cases from it, so a new op needs exactly one table entry.
 *
 * Randomness: one seed per process, CF_TEST_SEED if set, else from the clock;
 * every failure message carries it (tu_seed()) so a run can be repeated. */
#ifndef CLFORGE_TESTUTIL_H
#define CLFORGE_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "clforge/clforge.h"

#define TU_SLOTS 5

/* ---- seed and random data -------------------------------------------------- */

/* The process seed (read/drawn once; call it in cf_test_suite so forked
 * tests share it). */
uint64_t tu_seed(void);
/* An independent stream for one test (a, b: e.g. op kind and variant). */
cf_rng tu_rng(uint64_t a, uint64_t b);
void tu_uniform(float *p, size_t n, cf_rng *r, double lo, double hi);

/* ---- host tensors and cases ------------------------------------------------- */

typedef struct tu_tensor {
    int ndim; /* 0: slot unused */
    int shape[CF_MAX_DIMS];
    float *data; /* inputs: values; outputs: initial contents (NaN unless set) */
} tu_tensor;

size_t tu_numel(const tu_tensor *t);
/* Give t a shape (ndim ints follow) and fresh storage filled with NaN. */
float *tu_new(tu_tensor *t, int ndim, ...);

typedef struct tu_case {
    cf_op op; /* kind, params and accumulate; tensor pointers are set by tu_run */
    tu_tensor in[TU_SLOTS], out[TU_SLOTS];
    int nonsmooth; /* inputs sit on kinks or ties: skip finite differences */
    char desc[384];
} tu_case;

void tu_case_free(tu_case *c);
void tu_case_copy(tu_case *dst, const tu_case *src);

/* ---- backends ---------------------------------------------------------------- */

/* The process-wide registry (created on first use; NULL with err set on failure). */
cf_registry *tu_registry(cf_error *err);
/* Open a backend by name with default config. */
cf_status tu_open(const char *name, cf_backend **b, cf_error *err);

/* Run one case on b through the backend's own exec (no fallback): upload
 * inputs and output initial contents, exec, download every used output into
 * outs[i] (malloc'ed, free with tu_outs_free). CF_ERR_UNSUPPORTED when the
 * backend's supports_op() says no. */
cf_status tu_run(cf_backend *b, const tu_case *c, float *outs[TU_SLOTS], cf_error *err);
void tu_outs_free(float *outs[TU_SLOTS]);

/* ---- comparison ------------------------------------------------------------------ */

/* Checks |got - want| <= atol + rtol |want| elementwise (NaN only matches NaN).
 * Returns 1 when all pass; else 0 and msg names the worst index. */
int tu_compare(const float *got, const float *want, size_t n, double rtol, double atol,
               char *msg, size_t msg_size);

/* ---- the op table ------------------------------------------------------------------ */

typedef enum tu_src {
    TU_NONE = 0,
    TU_FWD_IN,  /* forward input slot (for a backward output: the gradient of it) */
    TU_FWD_OUT, /* forward output slot */
    TU_DY       /* upstream gradient of a forward output slot */
} tu_src;

typedef struct tu_ref {
    tu_src src;
    int slot;
} tu_ref;

/* A backward op of a forward op: where each input comes from, and which
 * forward input each output is the gradient of (present only when that
 * forward input is). Params are copied from the forward op. */
typedef struct tu_bwd {
    cf_op_kind kind;
    tu_ref in[TU_SLOTS];
    tu_ref out[TU_SLOTS];
} tu_bwd;

typedef struct tu_op_def {
    cf_op_kind kind;
    int n_variants;
    /* Fill variant v (0 <= v < n_variants) of the op with fresh random data
     * from r; c arrives zeroed with c->op.kind set. */
    void (*make)(tu_case *c, int v, cf_rng *r);
    int n_bwd;
    tu_bwd bwd[2];
    /* Loss ops: the backward ops take no dy; they are the gradient of
     * op.p.loss.scale * sum(out[1]). Others: the gradient flows from the
     * outputs in diff_out (a bitmask of slots). */
    int is_loss;
    unsigned diff_out;
    double rtol, atol; /* parity tolerances (0: defaults) */
} tu_op_def;

extern const tu_op_def tu_ops[];
extern const int tu_n_ops;

/* The entry that makes ops of kind k: its own (bwd_index = -1) or that of
 * its forward op (bwd_index = which of def->bwd). NULL: no entry. */
const tu_op_def *tu_def_for(cf_op_kind k, int *bwd_index);
int tu_n_variants(cf_op_kind k);
int tu_is_backward(cf_op_kind k);
void tu_tolerance(cf_op_kind k, double *rtol, double *atol);

/* Build variant v of op k. Backward ops are fed by running their forward op
 * on `ref` (so probs, masks and saved statistics are real) with random dy;
 * with accumulate their outputs start with random values, else with NaN. */
cf_status tu_make_case(cf_backend *ref, cf_op_kind k, int v, int accumulate, cf_rng *r,
                       tu_case *c, cf_error *err);

/* Build the backward case bi of def from a forward case, its outputs and the
 * upstream gradients dys[slot] (unused for loss ops). */
void tu_make_bwd_case(const tu_op_def *def, int bi, const tu_case *fwd,
                      float *const fwd_outs[TU_SLOTS], float *const dys[TU_SLOTS], tu_case *c);

#endif
