/* The C ABI of digest()'s hashes (src/rust/src/hash/ffi.rs), and the
   entry point of src/digest.c. */
#ifndef LOWMEM_HASH_H
#define LOWMEM_HASH_H

#include <stddef.h>
#include <sys/types.h>
#include <Rinternals.h>

#include "lowmem.h"

typedef struct DigestStream DigestStream;

/* A hash in the making, for digest's algorithm code `algo` (digest's
   algo_int: 1 md5, 2 sha1, 3 crc32, 4 sha256, 5 sha512, 6 xxhash32,
   7 xxhash64, 8 murmur32, 10 blake3) and `seed`: the first `skip` bytes of
   the stream are not hashed (none if skip <= 0) or, if `ascii_header`,
   the ASCII header up to its fourth newline; then at most `length` bytes
   (all if length < 0). NULL for an unknown algorithm. Freed with
   lowmem_digest_free(), also when R jumps. */
DigestStream *lowmem_digest_new(int algo, int seed, int skip, int ascii_header, int length);
/* Hashes the next len bytes: 0, or -1 for a dead handle. */
int lowmem_digest_write(DigestStream *d, const unsigned char *buf, size_t len);
/* Starts the native job's streaming pass in `format` into the hash;
   LM_NATIVE_DONE or LM_NATIVE_FAILED (the job has the error). */
int lowmem_native_begin_digest(NativeJob *job, int format, DigestStream *d);
double lowmem_digest_bytes(DigestStream *d);
/* The result into `out`: the hash's bytes (*is_raw = 1) if `raw`, else
   its hex text (not NUL-terminated). Its length,
   or -1 if it does not fit in `size` bytes. */
ssize_t lowmem_digest_result(DigestStream *d, int raw, unsigned char *out, size_t size,
                             int *is_raw);
void lowmem_digest_free(DigestStream *d);

SEXP lowmem_digest(SEXP object, SEXP algo, SEXP type, SEXP version, SEXP skip,
                   SEXP ascii_header, SEXP length, SEXP seed, SEXP raw, SEXP refhook);

#endif
