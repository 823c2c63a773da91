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
   else its kind: 1 internal, 2 I/O, 3 out of memory, 5 a stream that
   disagrees with its count. */
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

/* A chunk stream of `chunk`-byte chunks, over len bytes at buf (which must
   outlive the handle, or until moved): C fills it and drains it into an R
   connection. When fill takes nothing, the buffer is full short of a chunk:
   C moves it into a larger one (0, or -1 if that cannot hold it). */
Stream *lowmem_stream_chunks_new(unsigned char *buf, size_t len, size_t chunk);
int lowmem_stream_chunks_move(Stream *stream, unsigned char *buf, size_t len);
size_t lowmem_stream_fill(Stream *stream, const unsigned char *buf, size_t len);
/* Bytes due for writing (buffer full, or `last` and non-empty); 0 if none. */
size_t lowmem_stream_pending(Stream *stream, int last, const unsigned char **out);
void lowmem_stream_clear(Stream *stream);
/* ---- the native writer (src/rust/src/format/job.rs) ---- */

typedef struct Job NativeJob;

/* Status codes of the lowmem_native_* functions. */
#define LM_NATIVE_DONE 0
#define LM_NATIVE_MORE 1
#define LM_NATIVE_UNCOVERED 2
#define LM_NATIVE_FAILED (-1)

/* A job for `object` (a SEXP the caller keeps protected), with the header
   read off `capture`, R's native-binary serialization of NULL. NULL if the
   capture is not understood, or, unless `probe` is non-zero, if the format
   probes have not found that the native writer writes what this R writes
   (lowmem_session_refusal() says why). Freed with lowmem_native_free(). */
NativeJob *lowmem_native_new(void *object, const unsigned char *capture, size_t capture_len,
                             int probe);
/* What the format probes (R/probe.R) found: whether this R writes the
   GROWABLE bit, and NULL if the native writer may run, else why not. */
void lowmem_session_set(int writes_growable, const char *reason);
/* 1 with the reason in `out` if the native writer may not run, else 0. */
int lowmem_session_refusal(char *out, size_t size);
/* Bits: 1 gp bits from API predicates, 2 attributes through R_mapAttrib,
   4 the session's rules say this R writes the GROWABLE bit, 8 the session
   taps R's writer for it (1 and 4). */
int lowmem_native_build(void);
/* Starts a pass in `format` (R_pstream_format_t): counting if `buf` is
   NULL, else writing exactly `len` bytes at `buf`. */
int lowmem_native_begin(NativeJob *job, int format, unsigned char *buf, size_t len);
/* Does about `budget` bytes of the pass: DONE, MORE, UNCOVERED or FAILED. */
int lowmem_native_step(NativeJob *job, size_t budget);
double lowmem_native_bytes(NativeJob *job);
/* The i-th ALTREP state that R may drop while R code runs (a deferred
   string's) met by the last finished pass, or NULL past the last: C keeps
   them protected until the job is freed (lm_native_pins in native.c). */
void *lowmem_native_pin(NativeJob *job, size_t i);
/* Why the object is not covered, or the error (NUL-terminated); 1 if any. */
int lowmem_native_message(NativeJob *job, char *out, size_t size);
void lowmem_native_free(NativeJob *job);
/* Streaming passes (serialize.c): DONE or FAILED. To a file: a temporary
   file next to `path` (codec 0 none, 1 gzip, 2 bzip2, 3 xz), synced and
   renamed over `path` when the pass is done, removed if the job is freed
   before. Or in chunks of exactly `chunk` bytes (the last one shorter) to
   write(ctx, bytes, len), which returns non-zero if R stopped the write;
   it must never jump. */
int lowmem_native_begin_file(NativeJob *job, int format, const char *path, int codec,
                             int level, size_t chunk);
typedef int (*lowmem_write_fn)(void *ctx, const unsigned char *bytes, size_t len);
int lowmem_native_begin_callback(NativeJob *job, int format, size_t chunk,
                                 lowmem_write_fn write, void *ctx);
/* The tap (src/rust/src/format/tap.rs; native.c): 1 if the job learns the
   GROWABLE bits from R's own writer before its native passes. Then
   tap_begin (DONE or FAILED; `capture` as for lowmem_native_new, of
   version 3: the tap's version), R's native-binary version-3 stream of the object into
   tap_bytes (which never fails: failures are kept), and tap_end: DONE (the
   native passes write the bits R wrote), UNCOVERED (the streams differ
   otherwise: the message says where) or FAILED (an error). */
int lowmem_native_tap_wanted(NativeJob *job);
int lowmem_native_tap_begin(NativeJob *job, const unsigned char *capture, size_t capture_len);
void lowmem_native_tap_bytes(NativeJob *job, const unsigned char *buf, size_t len);
int lowmem_native_tap_end(NativeJob *job);
/* Taps run in this session; when taps run (0 where needed, 1 always, 2
   always and failing; other codes leave it): the previous mode. */
double lowmem_native_tap_passes(void);
int lowmem_native_tap_mode(int mode);
/* The kind of the job's error: 0 none, 1 internal, 2 I/O, 3 memory, 4 a
   write R stopped, 5 a writing pass that disagrees with its count. */
#define LM_KIND_MISCOUNTED 5
int lowmem_native_error_kind(NativeJob *job);
/* XDR-encodes n doubles into 8n bytes (the benchmark's floor). */
void lowmem_xdr_doubles(const double *src, size_t n, unsigned char *dst);

#endif
