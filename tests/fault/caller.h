/* Shared by the fault interposers (failalloc.c, failwrite.c): whether a call
 * comes from clforge's own code (the CLI, libclforge, a cf_* plugin), by the
 * file name of the object holding the caller's address. */
#ifndef CF_FAULT_CALLER_H
#define CF_FAULT_CALLER_H

#include <dlfcn.h>
#include <string.h>

/* Set while the interposer itself runs (dladdr, backtrace may allocate). */
static __thread int inside;

static int from_clforge(const void *caller)
{
    Dl_info di;
    int r = 0;
    if (inside || !caller) return 0;
    inside = 1;
    if (dladdr(caller, &di) && di.dli_fname) {
        const char *b = strrchr(di.dli_fname, '/');
        b = b ? b + 1 : di.dli_fname;
        r = !strncmp(b, "clforge", 7) || !strncmp(b, "lt-clforge", 10) || !strncmp(b, "libclforge", 10) ||
            !strncmp(b, "cf_", 3);
    }
    inside = 0;
    return r;
}

#define CALLER __builtin_extract_return_addr(__builtin_return_address(0))

#endif
