/*
 * The C ABI of the Rust core (src/rust/src/ffi/): the sinks R's serializer
 * writes into (serialize.c) and the native writer (native.c). The codes
 * below are mirrored once in Rust (src/rust/src/codes.rs, whose test reads
 * this file).
 *
 * The unwind rule: neither an R error nor a panic crosses a Rust frame.
 * Rust never calls R code that can jump, runs every entry point under
 * catch_unwind and keeps its errors in the handle; C calls R only where no
 * Rust frame is below (a callback that Rust calls catches R's jumps itself:
 * native.c's connection write), raises the error from the handle's kind
 * once the Rust call has returned (errors.c), and frees every handle in an
 * R_UnwindProtect cleanup, jump or not. Other comments point here.
 */
#ifndef LOWMEM_H
#define LOWMEM_H

#include <stddef.h>
#include <stdint.h>

/* What an entry point reports. */
typedef enum {
    LM_DONE = 0,
    LM_MORE = 1,      /* a step: more to do */
    LM_UNCOVERED = 2, /* the native writer does not cover the object: R's writes it */
    LM_FAILED = -1,   /* the handle carries the error */
} lm_status;

/* The kind of an error: which condition errors.c raises for it. */
typedef enum {
    LM_KIND_NONE = 0,
    LM_KIND_INTERNAL = 1,    /* lowmem_error_internal */
    LM_KIND_IO = 2,          /* lowmem_error_io */
    LM_KIND_MEMORY = 3,      /* lowmem_error_memory */
    LM_KIND_STOPPED = 4,     /* R stopped a write C made for Rust: R's own condition */
    LM_KIND_MISCOUNTED = 5,  /* a writing pass disagrees with its count */
    LM_KIND_ARGUMENT = 6,    /* lowmem_error_argument (C only, as the two below) */
    LM_KIND_SIZE = 7,        /* lowmem_error_size */
    LM_KIND_UNSUPPORTED = 8, /* lowmem_error_unsupported */
} lm_error_kind;

/* R's stream formats, with R_pstream_format_t's values (checked in
   errors.c): what R/args.R computes, passed through C unchanged. */
typedef enum {
    LM_FORMAT_ASCII = 1,
    LM_FORMAT_BINARY = 2,
    LM_FORMAT_XDR = 3,
    LM_FORMAT_ASCIIHEX = 4,
} lm_format;

/* ---- streams (src/rust/src/ffi/stream.rs) ------------------------------ */

typedef struct Stream Stream;

Stream *lowmem_stream_count_new(void);
Stream *lowmem_stream_slice_new(unsigned char *buf, size_t len);
/* A stream of unknown length, kept in blocks of anonymous memory until
   moved into its final buffer of exactly its length (blocks are released as
   they are copied). */
Stream *lowmem_stream_blocks_new(void);
lm_status lowmem_stream_blocks_move(Stream *stream, unsigned char *buf, size_t len);
/* A file stream: writes (compressed: codec 0 none, 1 gzip, 2 bzip2, 3 xz,
   as R/file.R's codec_code) to a temporary file next to `path`, renamed
   over it by lowmem_stream_finish(); freeing it unfinished removes the
   temporary file. If the file cannot be created the handle carries the
   error. */
Stream *lowmem_stream_file_new(const char *path, int codec, int level, size_t chunk);
/* A chunk stream of `chunk`-byte chunks, over len bytes at buf (which must
   outlive the handle, or until moved): C fills it and drains it into an R
   connection. When fill takes nothing, the buffer is full short of a chunk:
   C moves it into a larger one. */
Stream *lowmem_stream_chunks_new(unsigned char *buf, size_t len, size_t chunk);
lm_status lowmem_stream_chunks_move(Stream *stream, unsigned char *buf, size_t len);
size_t lowmem_stream_fill(Stream *stream, const unsigned char *buf, size_t len);
/* Bytes due for writing (buffer full, or `last` and non-empty); 0 if none. */
size_t lowmem_stream_pending(Stream *stream, int last, const unsigned char **out);
void lowmem_stream_clear(Stream *stream);

/* LM_DONE, or LM_FAILED once the stream has failed (the first error is kept). */
lm_status lowmem_stream_write(Stream *stream, const unsigned char *buf, int len);
lm_status lowmem_stream_finish(Stream *stream);
double lowmem_stream_bytes(Stream *stream);
/* Copies the error message (NUL-terminated); returns its kind. */
lm_error_kind lowmem_stream_message(Stream *stream, char *out, size_t size);
void lowmem_stream_free(Stream *stream);

/* ---- the native writer (src/rust/src/ffi/job.rs) ----------------------- */

typedef struct Job NativeJob;

/* A job for `object` (a SEXP the caller keeps protected), with the header
   read off `capture`, R's native-binary serialization of NULL; *tap is set
   to 1 if the job must tap R's writer before its passes (native.c), 3 if
   before a binary size too, else 0. NULL
   if the capture is not understood, or, unless `probe` is non-zero, if the
   format probes have not found that the native writer writes what this R
   writes (lowmem_session_refusal() says why). */
NativeJob *lowmem_native_new(void *object, const unsigned char *capture, size_t capture_len,
                             int probe, int *tap);
/* Starts a pass in `format`: counting if `buf` is NULL, else writing
   exactly `len` bytes at `buf`. DONE or FAILED. */
lm_status lowmem_native_begin(NativeJob *job, lm_format format, unsigned char *buf, size_t len);
/* Streaming passes: DONE or FAILED. To a file: a temporary file next to
   `path` (codec as for lowmem_stream_file_new), synced and renamed over
   `path` when the pass is done, removed if the job is freed before. Or in
   chunks of exactly `chunk` bytes (the last one shorter) to write(ctx,
   bytes, len), which returns non-zero if R stopped the write (the step then
   fails with LM_KIND_STOPPED); it must never jump. */
lm_status lowmem_native_begin_file(NativeJob *job, lm_format format, const char *path, int codec,
                                   int level, size_t chunk);
typedef int (*lowmem_write_fn)(void *ctx, const unsigned char *bytes, size_t len);
lm_status lowmem_native_begin_callback(NativeJob *job, lm_format format, size_t chunk,
                                       lowmem_write_fn write, void *ctx);
/* Does about `budget` bytes of the pass (DONE, MORE, UNCOVERED or FAILED)
   and stores the bytes done so far in *bytes. */
lm_status lowmem_native_step(NativeJob *job, size_t budget, double *bytes);
/* The i-th ALTREP state that R may drop while R code runs (a deferred
   string's) met by the last finished pass, or NULL past the last: C keeps
   them protected until the job is freed. */
void *lowmem_native_pin(NativeJob *job, size_t i);
/* Copies why the object is not covered, or the error (NUL-terminated;
   empty if neither); returns the error's kind. */
lm_error_kind lowmem_native_message(NativeJob *job, char *out, size_t size);
void lowmem_native_free(NativeJob *job);
/* The tap (src/rust/src/format/tap.rs): tap_begin (`capture` as for
   lowmem_native_new, of version 3), R's native-binary version-3 stream of
   the object into tap_bytes (which never fails: failures are kept), and
   tap_end: DONE (the native passes write the bits R wrote), UNCOVERED (the
   streams differ otherwise: the message says where) or FAILED. */
lm_status lowmem_native_tap_begin(NativeJob *job, const unsigned char *capture, size_t capture_len);
void lowmem_native_tap_bytes(NativeJob *job, const unsigned char *buf, size_t len);
lm_status lowmem_native_tap_end(NativeJob *job);

/* What the format probes (R/probe.R) found: whether this R writes the
   GROWABLE bit, and NULL if the native writer may run, else why not. */
void lowmem_session_set(int writes_growable, const char *reason);
/* 1 with the reason in `out` if the native writer may not run, else 0. */
int lowmem_session_refusal(char *out, size_t size);
/* 1 with the reason in `out` if R's writer writes the ASCII formats on this
   platform (its printf is not glibc's), else 0. */
int lowmem_ascii_refusal(char *out, size_t size);
/* XDR-encodes n doubles into 8n bytes (the benchmark's floor). */
void lowmem_xdr_doubles(const double *src, size_t n, unsigned char *dst);

/* ---- digest()'s hash (src/rust/src/ffi/digest.rs) ------------------------ */

typedef struct DigestStream DigestStream;

/* A hash in the making, for digest's algorithm code `algo` (digest's
   algo_int: 1 md5, 2 sha1, 3 crc32, 4 sha256, 5 sha512, 6 xxhash32,
   7 xxhash64, 8 murmur32, 9 spookyhash, 10 blake3, 11 crc32c, 12 xxh3_64, 13 xxh3_128)
   and `seed`: the first `skip` bytes of
   the stream are not hashed (none if skip <= 0) or, if `ascii_header`,
   the ASCII header up to its fourth newline; then at most `length` bytes
   (all if length < 0). NULL for an unknown algorithm. */
DigestStream *lowmem_digest_new(int algo, int seed, int skip, int ascii_header, int length);
/* A stream for R's serializer whose bytes go to the hash. */
Stream *lowmem_stream_digest_new(DigestStream *d);
/* Starts the job's streaming pass into the hash (DONE or FAILED). */
lm_status lowmem_native_begin_digest(NativeJob *job, lm_format format, DigestStream *d);
/* The result into `out`: the hash's bytes (*is_raw = 1) if `raw`, else
   its hex text (not NUL-terminated). Its length, or -1 if it does not fit
   in `size` bytes. */
ptrdiff_t lowmem_digest_result(DigestStream *d, int raw, unsigned char *out, size_t size, int *is_raw);
void lowmem_digest_free(DigestStream *d);
/* digest's serialize = FALSE: `len` bytes into the hash, windowed by its
   skip and length (DONE, or FAILED for a dead handle). */
lm_status lowmem_digest_bytes(DigestStream *d, const unsigned char *bytes, size_t len);
/* digest's file = TRUE: the file at `path` (`path_len` bytes), from byte
   `skip` on, read in chunks (the handle made with no skip). FAILED with a
   message in `msg` and `*why` 1 (cannot open), 2 (read error), 3 (other). */
lm_status lowmem_digest_file(DigestStream *d, const char *path, size_t path_len, int skip,
                             char *msg, size_t msg_size, int *why);

#endif
