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
/* Copies the error message (NUL-terminated); returns 0 if there is none,
   else its kind: 1 internal, 2 I/O, 3 out of memory. */
int lowmem_stream_message(Stream *stream, char *out, size_t size);
void lowmem_stream_free(Stream *stream);



/* A stream of unknown length, kept in blocks of anonymous memory until
   moved into its final buffer of exactly its length (blocks are released as
   they are copied). */
Stream *lowmem_stream_blocks_new(void);
int lowmem_stream_blocks_move(Stream *stream, unsigned char *buf, size_t len);

/* A file stream: writes (compressed: codec 0 none, 1 gzip, 2 bzip2, 3 xz)
   to a temporary file next to `path`, renamed over it by
   lowmem_stream_finish(); freeing it unfinished removes the temporary file.
   If the file cannot be created the handle carries the error. */
Stream *lowmem_stream_file_new(const char *path, int codec, int level, size_t chunk);

/* A chunk stream over len bytes at buf (which must outlive the handle):
   C fills it and drains it into an R connection. */
Stream *lowmem_stream_chunks_new(unsigned char *buf, size_t len);
size_t lowmem_stream_fill(Stream *stream, const unsigned char *buf, size_t len);
/* Bytes due for writing (buffer full, or `last` and non-empty); 0 if none. */
size_t lowmem_stream_pending(Stream *stream, int last, const unsigned char **out);
void lowmem_stream_clear(Stream *stream);
#endif
