/*
 * digest(): the hash of a serialized stream, without the stream.
 *
 * digest::digest() hashes serialize(x, NULL) after it is complete. Here
 * the same bytes go to the hash as they are made (src/rust/src/hash/):
 * from the native writer for plain data, in staged chunks, or from R's
 * serializer through the OutBytes callback below, gathered into a small
 * buffer. Nothing grows with the object.
 *
 * As in serialize.c: R_Serialize and every R call that can jump run in C
 * under R_UnwindProtect; the Rust code is reached only through calls that
 * return; the two handles Rust owns (the hash, the native job) live in
 * `digest_call` and are freed by the cleanup, jump or not.
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <string.h>

#include "hash.h"
#include "lowmem.h"
#include "lowmem_c.h"

/* Bytes hashed between two interrupt checks: at hashing speed (0.5 to
   2 GB/s), a few tens of milliseconds. */
#define LM_DIGEST_STEP ((size_t) 16 * 1024 * 1024)

/* R's serializer hands over many pieces of a few bytes (lengths, short
   strings): they are gathered here and hashed a buffer at a time; large
   pieces (vector data) are hashed as they come. */
#define LM_DIGEST_BUFFER ((size_t) 64 * 1024)

typedef struct {
    SEXP object;
    R_pstream_format_t type;
    int version;             /* 0 = R's default */
    SEXP refhook;            /* R_NilValue, or the user's refhook */
    int algo, seed, skip, ascii_header, length, raw;
    DigestStream *digest;    /* owned; freed by digest_cleanup() */
    NativeJob *job;          /* owned; freed by digest_cleanup() */
    size_t since_check;
    size_t len;              /* bytes gathered in buf */
    unsigned char buf[LM_DIGEST_BUFFER];
} digest_call;

/* ---- R's serializer into the hash ---------------------------------------- */

static void hash_now(digest_call *c, const unsigned char *p, size_t n)
{
    if (lowmem_digest_write(c->digest, p, n) != 0)
        lm_abort("lowmem_error_internal", "internal error: the hash failed");
}

static void hash_gathered(digest_call *c)
{
    if (c->len > 0) hash_now(c, c->buf, c->len);
    c->len = 0;
}

static void digest_out_bytes(R_outpstream_t out, void *buf, int n)
{
    digest_call *c = (digest_call *) out->data;
    if (n <= 0) return;
    if ((size_t) n >= LM_DIGEST_BUFFER / 4) {
        hash_gathered(c); /* in order */
        hash_now(c, (const unsigned char *) buf, (size_t) n);
    } else {
        if (c->len + (size_t) n > LM_DIGEST_BUFFER) hash_gathered(c);
        memcpy(c->buf + c->len, buf, (size_t) n);
        c->len += (size_t) n;
    }
    c->since_check += (size_t) n;
    if (c->since_check >= LM_DIGEST_STEP) {
        c->since_check = 0;
        R_CheckUserInterrupt(); /* no Rust frame below: see the file's head */
    }
}

static void digest_out_char(R_outpstream_t out, int ch)
{
    unsigned char byte = (unsigned char) ch;
    digest_out_bytes(out, &byte, 1);
}

/* As base R's CallHook: evaluates fun(x) in the global environment. */
static SEXP digest_call_hook(SEXP x, SEXP fun)
{
    SEXP call = PROTECT(Rf_lcons(fun, Rf_lcons(x, R_NilValue)));
    SEXP val = Rf_eval(call, R_GlobalEnv);
    UNPROTECT(1);
    return val;
}

static void serializer_digest(digest_call *c)
{
    struct R_outpstream_st out;
    int has_hook = c->refhook != R_NilValue;
    R_InitOutPStream(&out, (R_pstream_data_t) c, c->type, c->version, digest_out_char,
                     digest_out_bytes, has_hook ? digest_call_hook : NULL, c->refhook);
    R_Serialize(c->object, &out);
    hash_gathered(c);
}

/* ---- the native writer into the hash ------------------------------------- */

/* Hashes a covered object's stream with the native writer: a counting pass
   (binary, O(nodes), with the tap where the session needs it) finds out
   whether it covers the object before anything is hashed. Returns 1 if
   the object was hashed, 0 if it is left to R's writer. */
static int native_digest(digest_call *c)
{
    char reason[256];
    double total;
    c->job = lm_native_job(c->object, c->version, reason, sizeof reason);
    if (c->job == NULL) return 0;
    if (!lm_native_count(c->job, c->object, R_pstream_binary_format, 0, &total, reason,
                         sizeof reason)) {
        lowmem_native_free(c->job);
        c->job = NULL;
        return 0;
    }
    PROTECT(lm_native_pins(c->job));
    if (lowmem_native_begin_digest(c->job, (int) c->type, c->digest) != LM_NATIVE_DONE)
        lm_native_raise(c->job, "digest");
    for (;;) {
        int status = lm_native_step(c->job, LM_DIGEST_STEP);
        if (status == LM_NATIVE_DONE) break;
        if (status == LM_NATIVE_UNCOVERED)
            lm_abort("lowmem_error_internal",
                     "internal error: the native writer covered the object when counting but not when hashing");
        if (status != LM_NATIVE_MORE) lm_native_raise(c->job, "digest");
        R_CheckUserInterrupt();
    }
    UNPROTECT(1);
    return 1;
}

/* ---- the call -------------------------------------------------------------- */

/* What digest::digest() returns: a raw vector or one string. */
static SEXP digest_value(digest_call *c)
{
    unsigned char out[160];
    int is_raw = 0;
    ssize_t n = lowmem_digest_result(c->digest, c->raw, out, sizeof out, &is_raw);
    if (n < 0) lm_abort("lowmem_error_internal", "internal error: no hash");
    if (is_raw) {
        SEXP value = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) n));
        memcpy(RAW(value), out, (size_t) n);
        UNPROTECT(1);
        return value;
    }
    return Rf_ScalarString(Rf_mkCharLen((const char *) out, (int) n));
}

static SEXP digest_body(void *data)
{
    digest_call *c = (digest_call *) data;
    c->digest = lowmem_digest_new(c->algo, c->seed, c->skip, c->ascii_header, c->length);
    if (c->digest == NULL) lm_abort("lowmem_error_unsupported", "unsupported hash algorithm");
    /* With a refhook, R's serializer, which calls it, as base R does. */
    if (c->refhook != R_NilValue || !native_digest(c)) serializer_digest(c);
    return digest_value(c);
}

static void digest_cleanup(void *data, Rboolean jump)
{
    digest_call *c = (digest_call *) data;
    lowmem_native_free(c->job);
    c->job = NULL;
    lowmem_digest_free(c->digest);
    c->digest = NULL;
}

/* As base R's R_serialize(): NULL means R's default (0 here). */
static int digest_version(SEXP version)
{
    if (version == R_NilValue) return 0;
    int v = Rf_asInteger(version);
    if (v == NA_INTEGER || v <= 0) Rf_error("bad version value"); /* base R's message */
    return v;
}

/* The arguments come checked and converted by R/digest.R (digest's own
   as.integer() conversions). */
SEXP lowmem_digest(SEXP object, SEXP algo, SEXP type, SEXP version, SEXP skip,
                   SEXP ascii_header, SEXP length, SEXP seed, SEXP raw, SEXP refhook)
{
    /* Large (the gathering buffer): allocated by R, released when .Call
       returns or jumps. */
    digest_call *c = (digest_call *) R_alloc(1, sizeof(digest_call));
    memset(c, 0, sizeof *c);
    c->object = object;
    c->type = lm_format(Rf_asInteger(type));
    c->version = digest_version(version);
    c->refhook = refhook; /* protected as an argument of .Call */
    c->algo = Rf_asInteger(algo);
    c->seed = Rf_asInteger(seed);
    c->skip = Rf_asInteger(skip);
    c->ascii_header = Rf_asLogical(ascii_header) == TRUE;
    c->length = Rf_asInteger(length);
    c->raw = Rf_asLogical(raw) == TRUE;
    SEXP token = PROTECT(R_MakeUnwindCont());
    SEXP value = R_UnwindProtect(digest_body, c, digest_cleanup, c, token);
    UNPROTECT(1);
    return value;
}
