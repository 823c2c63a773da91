/*
 * The C side of the native writer (src/rust/src/format/).
 *
 * For an object made of plain data, serialize(x, NULL) and
 * serialized_size() do not drive R's serializer: a Rust walker sizes the
 * stream from lengths and string byte counts, C allocates the raw vector
 * once at that size, and the walker encodes straight into it. The bytes
 * are the ones R would write (see notes/format.md); anything the
 * walker does not cover is left to the universal path in serialize.c,
 * which runs R's own writer.
 *
 * Only C calls R functions that can raise errors (allocation, interrupt
 * checks, R_Serialize for the header): the Rust code reached from here
 * only reads objects through accessors that cannot jump (rapi.rs). Its
 * one owned resource, the job handle, lives in `native_call` and is freed
 * by an unwind-protect cleanup, jump or not.
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <stdint.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "lowmem.h"
#include "lowmem_c.h"

/* Output bytes between two interrupt checks: written at memory speed, a
   few milliseconds (streams, which may be slow, check by time: see
   serialize.c). */
#define LM_NATIVE_STEP (16 * 1024 * 1024)

typedef enum { WANT_SIZE, WANT_RAW, WANT_PATH } native_want;

typedef struct {
    SEXP object;
    R_pstream_format_t type;
    int version;          /* 0 = R's default */
    native_want want;
    int probe;            /* a format probe's job: not refused by the session */
    NativeJob *job;       /* owned; freed by native_cleanup() */
    int covered;          /* set by native_body() */
    char reason[256];     /* why not covered */
    int changed;          /* the writing pass disagreed with the count */
} native_call;

/* ---- the header R writes in this session ------------------------------- */

typedef struct {
    unsigned char bytes[512];
    size_t len;
    int overflow;
} capture;

static void capture_bytes(R_outpstream_t out, void *buf, int n)
{
    capture *c = (capture *) out->data;
    if (n < 0 || c->len + (size_t) n > sizeof c->bytes) {
        c->overflow = 1;
        return;
    }
    memcpy(c->bytes + c->len, buf, (size_t) n);
    c->len += (size_t) n;
}

static void capture_char(R_outpstream_t out, int ch)
{
    unsigned char byte = (unsigned char) ch;
    capture_bytes(out, &byte, 1);
}

/* R's own native-binary serialization of NULL with `version` (0: R's
   default, resolved by R exactly as for the real call): its header holds
   the format version, R's version and the native encoding name, the three
   header fields that belong to the session rather than to the object. */
static int capture_header(int version, capture *c)
{
    struct R_outpstream_st out;
    c->len = 0;
    c->overflow = 0;
    R_InitOutPStream(&out, (R_pstream_data_t) c, R_pstream_binary_format, version,
                     capture_char, capture_bytes, NULL, R_NilValue);
    R_Serialize(R_NilValue, &out);
    return !c->overflow;
}

/* A job for `object` (which the caller keeps protected), or NULL with the
   reason in `reason`: for native_body below (`probe`: see
   lowmem_native_new) and, as lm_native_job, the streaming paths of
   serialize.c. */
static NativeJob *native_job(SEXP object, int version, int probe, char *reason, size_t size)
{
    capture header;
    if (version != 0 && version != 2 && version != 3) {
        snprintf(reason, size, "unsupported version (R's writer raises the error)");
        return NULL;
    }
    if (!capture_header(version, &header)) {
        snprintf(reason, size, "unexpected header");
        return NULL;
    }
    NativeJob *job = lowmem_native_new((void *) object, header.bytes, header.len, probe);
    if (job == NULL && (probe || !lowmem_session_refusal(reason, size)))
        snprintf(reason, size, "unexpected header");
    return job;
}

NativeJob *lm_native_job(SEXP object, int version, char *reason, size_t size)
{
    return native_job(object, version, 0, reason, size);
}

int lm_native_step(NativeJob *job, size_t budget)
{
    PROTECT(R_NilValue);
    PROTECT(R_NilValue);
    PROTECT(R_NilValue);
    UNPROTECT(3);
    return lowmem_native_step(job, budget);
}

/* The droppable ALTREP states the counting pass met (deferred strings not
   yet expanded), in a list. R code that runs during the next pass (a
   connection's write, a progress callback, a finalizer run by a collection)
   may expand such a string, which drops its state; while the caller keeps
   this list protected, the state stays alive for the walker reading it. */
SEXP lm_native_pins(NativeJob *job)
{
    R_xlen_t n = 0;
    while (lowmem_native_pin(job, (size_t) n) != NULL) n++;
    SEXP pins = PROTECT(Rf_allocVector(VECSXP, n));
    for (R_xlen_t i = 0; i < n; i++)
        SET_VECTOR_ELT(pins, i, (SEXP) lowmem_native_pin(job, (size_t) i));
    UNPROTECT(1);
    return pins;
}

/* ---- the tap ------------------------------------------------------------ */

/* R up to 4.5 writes the GROWABLE bit of vectors grown in place, and no
   API tells a package which vectors have it. Where this build cannot read
   gp bits and this R writes the bit (lowmem_native_tap_wanted), R's own
   writer serializes the object once more, in native binary, into the tap
   (src/rust/src/format/tap.rs), which matches R's bytes against what the
   native writer would write and learns which vectors R writes with the
   bit; the native passes then write it too. If the streams differ in any
   other way the object goes to R's writer. The callbacks never jump into
   or out of Rust: Rust returns before the interrupt check. */

/* R hands over small pieces (two ints and the bytes of each string) and
   big ones (vector data): the small ones are gathered here and go to
   Rust a buffer at a time, the big ones as they come. */
#define LM_TAP_BUFFER (64 * 1024)

typedef struct {
    NativeJob *job;
    size_t since_check;
    unsigned char *buf; /* LM_TAP_BUFFER bytes */
    size_t len;
} tap_call;

static void tap_feed(tap_call *t, const unsigned char *p, size_t n)
{
    /* The walker may read attributes through R_mapAttrib (see lm_native_step). */
    PROTECT(R_NilValue);
    PROTECT(R_NilValue);
    PROTECT(R_NilValue);
    UNPROTECT(3);
    lowmem_native_tap_bytes(t->job, p, n);
}

static void tap_flush(tap_call *t)
{
    if (t->len > 0) tap_feed(t, t->buf, t->len);
    t->len = 0;
}

static void tap_bytes(R_outpstream_t out, void *buf, int n)
{
    tap_call *t = (tap_call *) out->data;
    if (n <= 0) return;
    if ((size_t) n >= LM_TAP_BUFFER / 4) {
        tap_flush(t); /* in order */
        tap_feed(t, (const unsigned char *) buf, (size_t) n);
    } else {
        if (t->len + (size_t) n > LM_TAP_BUFFER) tap_flush(t);
        memcpy(t->buf + t->len, buf, (size_t) n);
        t->len += (size_t) n;
    }
    t->since_check += (size_t) n;
    if (t->since_check >= LM_NATIVE_STEP) {
        t->since_check = 0;
        (void) lm_test_interrupt_due(); /* a test hook (testhook.c) */
        R_CheckUserInterrupt(); /* also enforces setTimeLimit() */
    }
}

static void tap_char(R_outpstream_t out, int ch)
{
    unsigned char byte = (unsigned char) ch;
    tap_bytes(out, &byte, 1);
}

/* Runs the tap over `object` (the job's object) with R's writer in
   native binary. Returns 1 if R's stream is the native writer's (but for
   the GROWABLE bits it learnt), 0 with the reason if not; raises the
   job's error if it has one. The tap writes version 3 whatever version
   the job writes: flags words are the same in both, and in version 2
   R's writer reads ALTREP vectors through their data pointers, which
   expands a compact sequence in memory (version 3 writes its state). */
static int tap_pass(NativeJob *job, SEXP object, char *reason, size_t size)
{
    struct R_outpstream_st out;
    tap_call t = {job, 0, (unsigned char *) R_alloc(LM_TAP_BUFFER, 1), 0};
    capture header;
    if (!capture_header(3, &header)) {
        snprintf(reason, size, "unexpected header");
        return 0;
    }
    if (lowmem_native_tap_begin(job, header.bytes, header.len) != LM_NATIVE_DONE) lm_native_raise(job, "tap");
    R_InitOutPStream(&out, (R_pstream_data_t) &t, R_pstream_binary_format, 3,
                     tap_char, tap_bytes, NULL, R_NilValue);
    R_Serialize(object, &out);
    tap_flush(&t);
    switch (lowmem_native_tap_end(job)) {
    case LM_NATIVE_DONE:
        return 1;
    case LM_NATIVE_UNCOVERED:
        if (!lowmem_native_message(job, reason, size)) snprintf(reason, size, "the tap failed");
        return 0;
    default:
        lm_native_raise(job, "tap");
        return 0; /* not reached */
    }
}

/* ---- passes ------------------------------------------------------------ */

static int steps(NativeJob *job, const char *what, char *reason, size_t size,
                 unsigned char *buf, size_t len);

/* Runs the current pass, a counting one, to its end (see steps()). */
static int count_steps(NativeJob *job, char *reason, size_t size)
{
    return steps(job, "sizing", reason, size, NULL, 0);
}

static void count_begin(NativeJob *job, R_pstream_format_t type)
{
    if (lowmem_native_begin(job, (int) type, NULL, 0) != LM_NATIVE_DONE) lm_native_raise(job, "begin");
}

int lm_native_count(NativeJob *job, SEXP object, R_pstream_format_t type,
                    int size_only, double *bytes, char *reason, size_t size)
{
    int ascii = type == R_pstream_ascii_format || type == R_pstream_asciihex_format;
    /* A binary size does not depend on flags words: no tap for it. */
    int tap = (!size_only || ascii) && lowmem_native_tap_wanted(job);
    /* Coverage first, in binary (O(nodes)): an object the native writer
       does not cover is not tapped. Binary sizes do not depend on flags
       words, ASCII ones do (decimal text): those count after the tap. */
    count_begin(job, tap ? R_pstream_binary_format : type);
    if (!count_steps(job, reason, size)) return 0;
    *bytes = lowmem_native_bytes(job);
    if (tap) {
        if (!tap_pass(job, object, reason, size)) return 0;
        if (ascii) {
            count_begin(job, type);
            if (!count_steps(job, reason, size))
                lm_abort("lowmem_error_internal",
                         "internal error: the native writer covered the object before the tap but not after it");
            *bytes = lowmem_native_bytes(job);
        }
    }
    return 1;
}

/* Raises the job's error as a lowmem condition of its kind (an I/O or
   memory error from a stream's sink), else as an internal error of the
   step `what`. */
void lm_native_raise(NativeJob *job, const char *what)
{
    char msg[1024], detail[768];
    if (!lowmem_native_message(job, detail, sizeof detail))
        strcpy(detail, "unknown error");
    int kind = lowmem_native_error_kind(job);
    if (kind == 2 || kind == 3)
        lm_abort(kind == 2 ? "lowmem_error_io" : "lowmem_error_memory", detail);
    snprintf(msg, sizeof msg, "internal error in the native writer (%s): %s", what, detail);
    lm_abort("lowmem_error_internal", msg);
}

/* Faults in the pages of bytes [from, to) of the output with one system
   call, instead of one trap per 4 KB page as they are first written
   (Linux >= 5.14; elsewhere, or if the kernel refuses, nothing happens and
   the pages fault in as they are written). The raw vector's data was just
   allocated and is untouched (R does not initialise raw vectors), and all
   of it is about to be written. Done one step ahead of the writer rather
   than all at once, so that an interrupt is still seen every step.
   Measured on the seed data frame (400 MB, 8 interleaved fresh runs, mean
   elapsed): 0.277 -> 0.227 s (earlier, populating all at once: 0.240 ->
   0.205 s and 0.266 -> 0.208 s). Interrupt latency on a 2.4 GB output: 30 ms. (THP
   through MADV_HUGEPAGE was tried and dropped: with defrag=madvise a fault
   may stall on compaction; see the git log.) */
static void prefault(unsigned char *buf, size_t from, size_t to)
{
#ifdef __linux__
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
    static uintptr_t page = 0;
    if (page == 0) page = (uintptr_t) sysconf(_SC_PAGESIZE);
    if (page == 0 || (page & (page - 1)) != 0) return;
    uintptr_t start = ((uintptr_t) buf + from + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t) buf + to) & ~(page - 1);
    if (end > start + 16 * page)
        (void) madvise((void *) start, end - start, MADV_POPULATE_WRITE);
#else
    (void) buf;
    (void) from;
    (void) to;
#endif
}

/* Runs the current pass to its end, checking for interrupts every
   LM_NATIVE_STEP bytes. Returns 1 when done, 0 if the object is not
   covered (why in `reason`), -1 if a writing pass found the object other
   than counted (a finalizer changed it; see native_body). A writing pass
   passes its output (`buf`, `len`), which is prefaulted a step ahead of the
   writer; `what` names the pass in an internal error. */
static int steps(NativeJob *job, const char *what, char *reason, size_t size,
                 unsigned char *buf, size_t len)
{
    size_t faulted = 0;
    for (;;) {
        if (buf != NULL && faulted < len) {
            size_t pos = (size_t) lowmem_native_bytes(job);
            size_t ahead = pos + 2 * (size_t) LM_NATIVE_STEP;
            if (ahead > len) ahead = len;
            if (ahead > faulted) {
                prefault(buf, faulted > pos ? faulted : pos, ahead);
                faulted = ahead;
            }
        }
        switch (lm_native_step(job, LM_NATIVE_STEP)) {
        case LM_NATIVE_DONE:
            return 1;
        case LM_NATIVE_MORE:
            (void) lm_test_interrupt_due(); /* a test hook (testhook.c) */
            R_CheckUserInterrupt(); /* also enforces setTimeLimit() */
            break;
        case LM_NATIVE_UNCOVERED:
            if (!lowmem_native_message(job, reason, size)) snprintf(reason, size, "not covered");
            return 0;
        default:
            if (buf != NULL && lowmem_native_error_kind(job) == LM_KIND_MISCOUNTED) return -1;
            lm_native_raise(job, what);
        }
    }
}

/* A pass of the call's job (see steps()): 1 when done, 0 if not. */
static int run_pass(native_call *c, const char *what, unsigned char *buf, size_t len)
{
    int done = steps(c->job, what, c->reason, sizeof c->reason, buf, len);
    if (done < 0) c->changed = 1; /* see native_body */
    return done > 0;
}

static int begin_pass(native_call *c, R_pstream_format_t type, unsigned char *buf, size_t len)
{
    if (lowmem_native_begin(c->job, (int) type, buf, len) != LM_NATIVE_DONE)
        lm_native_raise(c->job, "begin");
    return 1;
}

static SEXP native_body(void *data)
{
    native_call *c = (native_call *) data;
    c->covered = 0;
    c->job = native_job(c->object, c->version, c->probe, c->reason, sizeof c->reason);
    if (c->job == NULL)
        return R_NilValue;

    /* Counting pass (and the tap where needed): also finds out whether
       the object is covered, before anything is allocated. Coverage does
       not depend on the format, so the diagnostic counts in binary
       (O(nodes), no number formatting). */
    double n;
    if (!lm_native_count(c->job, c->object,
                         c->want == WANT_PATH ? R_pstream_binary_format : c->type,
                         c->want == WANT_SIZE, &n, c->reason, sizeof c->reason))
        return R_NilValue;
    c->covered = 1;
    if (c->want != WANT_RAW)
        return Rf_ScalarReal(n);

    if (n > (double) R_XLEN_T_MAX)
        lm_abort("lowmem_error_size", "the serialized object is larger than the longest raw vector R can allocate");
    PROTECT(lm_native_pins(c->job)); /* the result's allocation may collect */
    SEXP result = PROTECT(lm_result_alloc((R_xlen_t) n));
    begin_pass(c, c->type, RAW(result), (size_t) n);
    if (!run_pass(c, "writing", RAW(result), (size_t) n)) {
        /* The allocation may have collected garbage, and a finalizer
           changed the object (expanded a deferred string): R's writer
           takes over (serialize.c), as for an object not covered. */
        if (c->changed) {
            lm_result_discard(result);
            c->covered = 0;
            UNPROTECT(2);
            return R_NilValue;
        }
        lm_abort("lowmem_error_internal",
                 "internal error: the native writer covered the object when sizing it but not when writing it");
    }
    UNPROTECT(2);
    return result;
}

static void native_cleanup(void *data, Rboolean jump)
{
    native_call *c = (native_call *) data;
    lowmem_native_free(c->job);
    c->job = NULL;
}

static SEXP native_run(native_call *c)
{
    SEXP token = PROTECT(R_MakeUnwindCont());
    SEXP result = R_UnwindProtect(native_body, c, native_cleanup, c, token);
    UNPROTECT(1);
    return result;
}

/* ---- entry points for serialize.c -------------------------------------- */

SEXP lm_native_raw(SEXP object, R_pstream_format_t type, int version, int has_hook)
{
    if (has_hook) return NULL;
    native_call c = {object, type, version, WANT_RAW, 0, NULL, 0, ""};
    SEXP result = native_run(&c);
    return c.covered ? result : NULL;
}

SEXP lm_native_size(SEXP object, R_pstream_format_t type, int version, int has_hook)
{
    if (has_hook) return NULL;
    native_call c = {object, type, version, WANT_SIZE, 0, NULL, 0, ""};
    SEXP result = native_run(&c);
    return c.covered ? result : NULL;
}

/* ---- diagnostics and benchmark helpers (.Call) ------------------------- */

/* lowmem:::serialize_path(): "native" or "universal" (with the reason as
   attribute "reason"): the path serialize() takes for these arguments.
   `type` and `version` are what R/serialize.R passes to
   lowmem_serialize_raw (format code 0-3; NULL or a positive version). */
SEXP lowmem_serialize_path(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    int code = Rf_asInteger(type);
    int v = version == R_NilValue ? 0 : Rf_asInteger(version);
    native_call c = {object, lm_format(code), v, WANT_PATH, 0, NULL, 0, ""};
    if (refhook != R_NilValue)
        strcpy(c.reason, "a refhook was given");
    else if (v == NA_INTEGER || v < 0)
        strcpy(c.reason, "bad version (R's writer raises the error)");
    else
        native_run(&c);
    SEXP path = PROTECT(Rf_mkString(c.covered ? "native" : "universal"));
    if (!c.covered)
        Rf_setAttrib(path, Rf_install("reason"), Rf_mkString(c.reason));
    UNPROTECT(1);
    return path;
}

/* ---- the format probes (R/probe.R) ----------------------------------- */

/* The native writer's serialization of `object` (format code as
   lowmem_serialize_path's, version NULL or 2/3), whatever the session's
   state; NULL if it does not cover the object. */
SEXP lowmem_native_probe(SEXP object, SEXP type, SEXP version)
{
    int v = version == R_NilValue ? 0 : Rf_asInteger(version);
    native_call c = {object, lm_format(Rf_asInteger(type)), v, WANT_RAW, 1, NULL, 0, ""};
    SEXP result = native_run(&c);
    return c.covered ? result : R_NilValue;
}

/* Records what the probes found: `reason` NULL turns the native writer on
   for the session, a string turns it off with that reason. */
SEXP lowmem_session_configure(SEXP writes_growable, SEXP reason)
{
    lowmem_session_set(Rf_asLogical(writes_growable) == 1,
                       reason == R_NilValue ? NULL : Rf_translateCharUTF8(STRING_ELT(reason, 0)));
    return R_NilValue;
}

/* lowmem:::native_status(): what the probes found and what this build
   reads R objects with. */
SEXP lowmem_native_status(void)
{
    char reason[1024];
    int bits = lowmem_native_build();
    const char *names[] = {"refusal", "writes_growable", "gp_bits", "attributes", "tap", "tap_passes", ""};
    SEXP status = PROTECT(Rf_mkNamed(VECSXP, names));
    if (lowmem_session_refusal(reason, sizeof reason))
        SET_VECTOR_ELT(status, 0, Rf_mkString(reason));
    SET_VECTOR_ELT(status, 1, Rf_ScalarLogical((bits & 4) != 0));
    SET_VECTOR_ELT(status, 2, Rf_mkString(bits & 1 ? "API predicates" : "LEVELS"));
    SET_VECTOR_ELT(status, 3, Rf_mkString(bits & 2 ? "R_mapAttrib" : "ATTRIB"));
    SET_VECTOR_ELT(status, 4, Rf_ScalarLogical((bits & 8) != 0));
    SET_VECTOR_ELT(status, 5, Rf_ScalarReal(lowmem_native_tap_passes()));
    UNPROTECT(1);
    return status;
}

/* lowmem:::tap_mode(): when the tap runs (0 where the session needs it, 1
   always, 2 always and failing: tests); NA leaves it. The previous mode. */
SEXP lowmem_tap_mode(SEXP mode)
{
    int m = Rf_asInteger(mode);
    return Rf_ScalarInteger(lowmem_native_tap_mode(m == NA_INTEGER ? -1 : m));
}

/* The benchmark's floor: a raw vector of `size` bytes, its tail filled
   with the XDR encoding of the doubles `x`, the head zeroed. */
SEXP lowmem_bench_floor(SEXP x, SEXP size)
{
    if (TYPEOF(x) != REALSXP) Rf_error("'x' must be a double vector");
    double n = Rf_asReal(size);
    R_xlen_t len = XLENGTH(x);
    if (!(n >= 8.0 * (double) len) || n > (double) R_XLEN_T_MAX) Rf_error("bad 'size'");
    SEXP result = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) n));
    size_t head = (size_t) n - 8 * (size_t) len;
    memset(RAW(result), 0, head);
    lowmem_xdr_doubles(REAL(x), (size_t) len, RAW(result) + head);
    UNPROTECT(1);
    return result;
}
