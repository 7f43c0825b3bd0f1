/* clforge — libjpeg's error manager for decoding and encoding: its error exit
 * formats the message and longjmps back to the caller's setjmp, so a libjpeg
 * failure is an error, never libjpeg's exit(). */
#ifndef CLFORGE_DATA_JPEG_ERROR_H
#define CLFORGE_DATA_JPEG_ERROR_H

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */

#include <jpeglib.h>

typedef struct cf_jpeg_error {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} cf_jpeg_error;

/* Set e up (message "unknown error") and return the manager for c.err.
 * warnings_fatal: libjpeg's warnings (a truncated or corrupt stream, which it
 * fills with grey) end decoding as errors too. */
struct jpeg_error_mgr *cf_jpeg_error_init(cf_jpeg_error *e, int warnings_fatal);

#endif
