/* clforge — sanitizer defaults for a program's main file (include it once,
 * from tools/clforge.c and tests/check_main.c). Under --enable-sanitizers the
 * leak suppressions (third-party runtimes only, tests/lsan.supp) and the
 * allocator setting the out-of-memory tests need are built into the program,
 * so they hold in every process: mpirun's ranks and trial children too. The
 * sanitizer runtime looks these functions up in the executable. */
#ifndef CLFORGE_CORE_SANITIZER_OPTIONS_H
#define CLFORGE_CORE_SANITIZER_OPTIONS_H

#ifdef __SANITIZE_ADDRESS__
const char *__lsan_default_options(void);
const char *__asan_default_options(void);
/* fast_unwind_on_malloc=0: Open MPI's components have no frame pointers and
 * are unloaded before the leak check; only full stacks reach the libmpi
 * frames the suppressions name. */
const char *__lsan_default_options(void) { return "suppressions=" CF_LSAN_SUPP ":fast_unwind_on_malloc=0"; }
const char *__asan_default_options(void) { return "allocator_may_return_null=1:detect_leaks=1"; }
#endif

#endif
