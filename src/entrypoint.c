/*
 * The package's native routines, and the entry points of serialization:
 * each reads its arguments and hands the object to the native writer
 * (native.c) first, to R's own serializer (serialize.c) if the native
 * writer does not cover it.
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>
#include <string.h>

#include "lowmem_c.h"

/* The entry points written with extendr (src/rust/src/entry.rs): the
   wrappers it generates, registered here under the names R calls. They go
   in this table because R keeps only one per package (the last
   R_registerRoutines call wins): extendr's own registration is not used. */
SEXP wrap__lowmem_rss_status(void);
SEXP wrap__lowmem_rss_reset_peak(void);
SEXP wrap__lowmem_timeline_start(SEXP interval, SEXP max_rows);
SEXP wrap__lowmem_timeline_stop(SEXP handle);
SEXP wrap__lowmem_native_status(void);
SEXP wrap__lowmem_tap_mode(SEXP mode);

/* ---- arguments --------------------------------------------------------- */

/* As base R's R_serialize(): NULL means R's default (0 here). */
static int version_of(SEXP version)
{
    if (version == R_NilValue) return 0;
    int v = Rf_asInteger(version);
    if (v == NA_INTEGER || v <= 0)
        lm_raise(LM_KIND_ARGUMENT, "bad version value"); /* base R's message */
    return v;
}

/* R code calls what it is given: a refhook or a progress reporter must be
   a function (or NULL), as R/args.R checks before the .Call. */
static void check_function(SEXP f, const char *msg)
{
    if (f != R_NilValue && !Rf_isFunction(f)) lm_raise(LM_KIND_ARGUMENT, msg);
}

/* `refhook` is protected as an argument of .Call. */
static lm_args args_of(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    check_function(refhook, "`refhook` must be a function or NULL.");
    lm_args a = {object, lm_format_of(type), version_of(version), refhook};
    return a;
}

static size_t chunk_of(SEXP chunk_size)
{
    double n = Rf_asReal(chunk_size);
    if (!(n >= 1 && n <= 2147483647.0))
        lm_raise(LM_KIND_ARGUMENT, "`chunk_size` must be a number of bytes between 1 and 2^31 - 1.");
    return (size_t) n;
}

/* A stream's R side; no progress with a refhook, which must run once, in
   the pass that writes (a progress bar needs a counting pass first). */
static lm_output output_of(SEXP con, int text, size_t chunk, SEXP progress, SEXP refhook)
{
    check_function(progress, "`progress` must be a function or NULL.");
    lm_output out = {con, text, chunk, R_NilValue, R_NilValue, 0, 0,
                     refhook == R_NilValue ? progress : R_NilValue, 0, 0};
    return out;
}

/* ---- serialization ---------------------------------------------------------- */

SEXP lowmem_serialize_raw(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    lm_args a = args_of(object, type, version, refhook);
    lm_result_prepare(); /* lowmem's collection, if due: before any pass */
    if (refhook == R_NilValue) {
        SEXP native = lm_native_raw(&a);
        if (native != NULL) return native;
    }
    return lm_r_raw(&a);
}

SEXP lowmem_serialized_size(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    lm_args a = args_of(object, type, version, refhook);
    if (refhook == R_NilValue) {
        SEXP native = lm_native_size(&a); /* O(nodes) */
        if (native != NULL) return native;
    }
    return lm_r_size(&a);
}

static SEXP stream(const lm_args *a, const lm_dest *d, lm_output *out)
{
    char reason[256] = "a refhook was given";
    if (a->refhook == R_NilValue && lm_native_stream(a, d, out, reason, sizeof reason))
        return R_NilValue; /* it noted the path before writing */
    lm_note_path(0, reason);
    lm_r_stream(a, d, out);
    return R_NilValue;
}

SEXP lowmem_serialize_conn(SEXP object, SEXP con, SEXP text, SEXP type, SEXP version,
                           SEXP refhook, SEXP chunk_size, SEXP progress)
{
    lm_args a = args_of(object, type, version, refhook);
    /* what lowmem:::write_chunk() writes to: R/connection.R checked it */
    if (!Rf_inherits(con, "connection"))
        lm_raise(LM_KIND_ARGUMENT, "`con` must be a connection.");
    int text_mode = Rf_asLogical(text) == TRUE;
    if (text_mode && a.type != R_pstream_ascii_format && a.type != R_pstream_asciihex_format)
        lm_raise(LM_KIND_ARGUMENT, "only ascii format can be written to text mode connections");
    lm_dest d = {NULL, 0, 0, chunk_of(chunk_size)};
    lm_output out = output_of(con, text_mode, d.chunk, progress, refhook);
    return stream(&a, &d, &out);
}

/* A path as Rust takes it (src/rust/src/ffi/mod.rs, c_path): on Unix the
   bytes of the native encoding, on Windows (whose paths are UTF-16) UTF-8. */
#ifdef _WIN32
#define lm_path_chars Rf_translateCharUTF8
#else
#define lm_path_chars Rf_translateChar
#endif

SEXP lowmem_serialize_file(SEXP object, SEXP path, SEXP codec, SEXP level,
                           SEXP type, SEXP version, SEXP refhook,
                           SEXP chunk_size, SEXP progress)
{
    lm_args a = args_of(object, type, version, refhook);
    if (!Rf_isString(path) || XLENGTH(path) != 1 || STRING_ELT(path, 0) == NA_STRING)
        lm_raise(LM_KIND_ARGUMENT, "`path` must be a single file path.");
    lm_dest d = {lm_path_chars(STRING_ELT(path, 0)), Rf_asInteger(codec), Rf_asInteger(level),
                 chunk_of(chunk_size)};
    lm_output out = output_of(R_NilValue, 0, d.chunk, progress, refhook);
    return stream(&a, &d, &out);
}

/* ---- digest() ------------------------------------------------------------- */

/* digest::digest()'s hash of the stream, made as the stream is written:
   the hash is one more place a stream goes (lm_dest.digest). The chunk
   size only matters to connections; the native writer stages its own. */
#define LM_DIGEST_CHUNK ((size_t) 1 << 20)
typedef struct {
    lm_args a;
    lm_dest d;
    lm_output out;
    int raw;
} digest_call;

static SEXP digest_body(void *data)
{
    digest_call *c = (digest_call *) data;
    stream(&c->a, &c->d, &c->out);
    unsigned char hash[160];
    int is_raw = 0;
    ptrdiff_t n = lowmem_digest_result(c->d.digest, c->raw, hash, sizeof hash, &is_raw);
    if (n < 0) lm_raise(LM_KIND_INTERNAL, "internal error: no hash");
    if (!is_raw) return Rf_ScalarString(Rf_mkCharLen((const char *) hash, (int) n));
    SEXP value = Rf_allocVector(RAWSXP, (R_xlen_t) n);
    memcpy(RAW(value), hash, (size_t) n);
    return value;
}

static void digest_cleanup(void *data, Rboolean jump)
{
    digest_call *c = (digest_call *) data;
    lowmem_digest_free(c->d.digest);
    c->d.digest = NULL;
}

/* The arguments come checked and converted by R/digest.R (digest's own
   as.integer() conversions). */
SEXP lowmem_digest(SEXP object, SEXP algo, SEXP type, SEXP version, SEXP skip,
                   SEXP ascii_header, SEXP length, SEXP seed, SEXP raw, SEXP refhook)
{
    digest_call c = {args_of(object, type, version, refhook), {NULL, 0, 0, LM_DIGEST_CHUNK, NULL},
                     output_of(R_NilValue, 0, LM_DIGEST_CHUNK, R_NilValue, refhook), Rf_asInteger(raw) != 0};
    SEXP token = PROTECT(R_MakeUnwindCont()); /* before the hash: an allocation that fails leaks nothing */
    c.d.digest = lowmem_digest_new(Rf_asInteger(algo), Rf_asInteger(seed), Rf_asInteger(skip),
                                   Rf_asLogical(ascii_header) == TRUE, Rf_asInteger(length));
    if (c.d.digest == NULL) lm_raise(LM_KIND_UNSUPPORTED, "unsupported hash algorithm");
    SEXP value = R_UnwindProtect(digest_body, &c, digest_cleanup, &c, token);
    UNPROTECT(1);
    return value;
}

/* digest's serialize = FALSE (`file` FALSE: the bytes of a raw vector, or
   of a string as digest's C code reads it, CHAR(asChar(object)), up to
   its NUL) and file = TRUE (`object` the path). No R code runs while the
   handle lives: it is freed before any error is raised or value made. */
SEXP lowmem_digest_data(SEXP object, SEXP algo, SEXP file, SEXP skip, SEXP length, SEXP seed, SEXP raw)
{
    int in_file = Rf_asLogical(file) == TRUE;
    int n_skip = Rf_asInteger(skip);
    const char *text = NULL;
    const unsigned char *bytes = NULL;
    size_t len = 0;
    if (TYPEOF(object) == RAWSXP && !in_file) {
        bytes = RAW(object);
        len = (size_t) XLENGTH(object);
    } else {
        if (!Rf_isString(object) && !(TYPEOF(object) == RAWSXP))
            lm_raise(LM_KIND_ARGUMENT, "`object` must be a string or a raw vector.");
        text = CHAR(Rf_asChar(object));
        len = strlen(text);
    }
    /* digest skips in memory by offset, in a file by fseek(). */
    /* Every argument read before the handle exists: R code (a warning made
       an error) may run while they are coerced, and would jump over it. */
    int want_raw = Rf_asInteger(raw) != 0;
    DigestStream *d = lowmem_digest_new(Rf_asInteger(algo), Rf_asInteger(seed), in_file ? 0 : n_skip,
                                        0, Rf_asInteger(length));
    if (d == NULL) lm_raise(LM_KIND_UNSUPPORTED, "unsupported hash algorithm");
    char msg[1024] = "";
    int why = 0;
    lm_status status = in_file
        ? lowmem_digest_file(d, text, len, n_skip, msg, sizeof msg, &why)
        : lowmem_digest_bytes(d, bytes != NULL ? bytes : (const unsigned char *) text, len);
    unsigned char hash[160];
    int is_raw = 0;
    ptrdiff_t n = status == LM_DONE
        ? lowmem_digest_result(d, want_raw, hash, sizeof hash, &is_raw) : -1;
    lowmem_digest_free(d);
    if (status != LM_DONE) {
        if (why == 1 || why == 2) lm_raise(LM_KIND_IO, msg);
        lm_raise(LM_KIND_INTERNAL, why == 3 ? msg : "internal error: the hash failed");
    }
    if (n < 0) lm_raise(LM_KIND_INTERNAL, "internal error: no hash");
    if (!is_raw) return Rf_ScalarString(Rf_mkCharLen((const char *) hash, (int) n));
    SEXP value = Rf_allocVector(RAWSXP, (R_xlen_t) n);
    memcpy(RAW(value), hash, (size_t) n);
    return value;
}

/* ---- registration ----------------------------------------------------------- */

static const R_CallMethodDef call_methods[] = {
    {"lowmem_serialize_raw", (DL_FUNC) &lowmem_serialize_raw, 4},
    {"lowmem_serialized_size", (DL_FUNC) &lowmem_serialized_size, 4},
    {"lowmem_write_pass", (DL_FUNC) &lowmem_write_pass, 1},
    {"lowmem_serialize_conn", (DL_FUNC) &lowmem_serialize_conn, 8},
    {"lowmem_serialize_file", (DL_FUNC) &lowmem_serialize_file, 9},
    {"lowmem_last_stream_path", (DL_FUNC) &lowmem_last_stream_path, 0},
    {"lowmem_rss_status", (DL_FUNC) &wrap__lowmem_rss_status, 0},
    {"lowmem_rss_reset_peak", (DL_FUNC) &wrap__lowmem_rss_reset_peak, 0},
    {"lowmem_timeline_start", (DL_FUNC) &wrap__lowmem_timeline_start, 2},
    {"lowmem_timeline_stop", (DL_FUNC) &wrap__lowmem_timeline_stop, 1},
    {"lowmem_serialize_path", (DL_FUNC) &lowmem_serialize_path, 4},
    {"lowmem_bench_floor", (DL_FUNC) &lowmem_bench_floor, 2},
    {"lowmem_result_info", (DL_FUNC) &lowmem_result_info, 1},
    {"lowmem_native_probe", (DL_FUNC) &lowmem_native_probe, 3},
    {"lowmem_session_configure", (DL_FUNC) &lowmem_session_configure, 2},
    {"lowmem_native_status", (DL_FUNC) &wrap__lowmem_native_status, 0},
    {"lowmem_result_test_collect", (DL_FUNC) &lowmem_result_test_collect, 1},
    {"lowmem_tap_mode", (DL_FUNC) &wrap__lowmem_tap_mode, 1},
    {"lowmem_test_interrupt_at", (DL_FUNC) &lowmem_test_interrupt_at, 1},
    {"lowmem_digest", (DL_FUNC) &lowmem_digest, 10},
    {"lowmem_digest_data", (DL_FUNC) &lowmem_digest_data, 7},
    {NULL, NULL, 0}
};

void R_init_lowmem(DllInfo *dll)
{
    R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
    lm_result_init(dll);
}
