/* The C ABI of the Rust core (src/rust/src/ffi.rs). */
#ifndef LOWMEM_H
#define LOWMEM_H

#include <stddef.h>
#include <stdint.h>

typedef struct Stream Stream;

/* Constructors. The caller owns the handle and frees it with
   lowmem_stream_free(), also when R jumps (see serialize.c). */
Stream *lowmem_stream_count_new(void);
Stream *lowmem_stream_slice_new(unsigned char *buf, size_t len);

/* 0 on success, -1 once the stream has failed (the first error is kept). */
int lowmem_stream_write(Stream *stream, const unsigned char *buf, int len);
int lowmem_stream_finish(Stream *stream);

double lowmem_stream_bytes(Stream *stream);
/* Copies the error message (NUL-terminated); returns 1 if there is one. */
int lowmem_stream_message(Stream *stream, char *out, size_t size);
void lowmem_stream_free(Stream *stream);

#endif
