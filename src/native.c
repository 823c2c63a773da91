/*
 * The native writer's C side (the Rust side: src/rust/src/format/, its C
 * ABI src/rust/src/ffi/job.rs).
 *
 * For an object made of plain data, lowmem does not drive R's serializer:
 * a Rust walker sizes the stream from lengths and string byte counts, and
 * encodes it straight into the raw vector C allocated once at that size
 * (serialize(x, NULL)), or streams it to a file or, through C, to an R
 * connection. The bytes are the ones R would write (see inst/notes/format.md);
 * anything the walker does not cover is left to R's own writer
 * (serialize.c), before anything is written.
 *
 * A job runs in passes, each to its end in steps (run_steps, the one step
 * loop); between steps C checks for interrupts and reports progress. The
 * job handle is freed by an unwind-protect cleanup (the unwind rule:
 * lowmem.h).
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "lowmem_c.h"

/* The output bytes of one step, for every pass: control comes back to C
   at least this often, whatever the sink (xz at level 9 takes about a
   second per MB: 64 ms a step). */
#define LM_STEP_BYTES ((size_t) 65536)

typedef enum { WANT_SIZE, WANT_RAW, WANT_PATH, WANT_STREAM } native_want;

typedef struct {
    const lm_args *a;
    native_want want;
    int probe;            /* a format probe's job: not refused by the session */
    NativeJob *job;       /* owned; freed by cleanup() */
    int tap;              /* the job taps R's writer first (see tap_pass): 1, 3 also for a size */
    double bytes;         /* done by the current pass so far */
    int covered;          /* the object is covered: set once counted */
    int changed;          /* the writing pass disagreed with the count */
    char reason[256];     /* why not covered */
    lm_clock clock;
    /* streams (WANT_STREAM) */
    const lm_dest *d;
    lm_output *out;
    SEXP token;           /* the condition that stopped a write to out->con */
    int stopped;          /* R stopped that write */
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

/* Makes the call's job, or leaves it NULL with the reason. */
static void make_job(native_call *c)
{
    capture header;
    int version = c->a->version;
    if (version != 0 && version != 2 && version != 3) {
        snprintf(c->reason, sizeof c->reason, "unsupported version (R's writer raises the error)");
        return;
    }
    if ((c->a->type == R_pstream_ascii_format || c->a->type == R_pstream_asciihex_format) &&
        lowmem_ascii_refusal(c->reason, sizeof c->reason))
        return;
    if (!capture_header(version, &header)) {
        snprintf(c->reason, sizeof c->reason, "unexpected header");
        return;
    }
    c->job = lowmem_native_new((void *) c->a->object, header.bytes, header.len, c->probe, &c->tap);
    if (c->job == NULL && (c->probe || !lowmem_session_refusal(c->reason, sizeof c->reason)))
        snprintf(c->reason, sizeof c->reason, "unexpected header");
}

/* Makes sure R's protect stack has room for the three objects R_mapAttrib
   protects while Rust reads attributes (src/rust/src/rapi.rs): should it
   be full, the error is raised here, in C, never under Rust's frames. */
static void protect_room(void)
{
    PROTECT(R_NilValue);
    PROTECT(R_NilValue);
    PROTECT(R_NilValue);
    UNPROTECT(3);
}

lm_status lm_native_step(NativeJob *job, size_t budget, double *bytes)
{
    protect_room();
    return lowmem_native_step(job, budget, bytes);
}

/* Raises the job's error: R's own condition if R stopped a write (see
   native_write), else a lowmem condition of the error's kind. */
static void raise_job(native_call *c, const char *what)
{
    if (c->stopped) R_ContinueUnwind(c->token);
    lm_raise_job(c->job, what);
}

/* ---- the tap ------------------------------------------------------------ */

/* R writes every gp bit of an object (the GROWABLE bit of vectors grown
   in place up to R 4.5, bits an object was unserialized with or a package
   set), and no API tells a package those bits. Where this build cannot
   read gp bits (lowmem_native_new's `tap`), R's own writer serializes the
   object once more, in native binary, into the tap
   (src/rust/src/format/tap.rs), which matches R's bytes against what the
   native writer would write and learns the flags R writes where they
   differ; the native passes then write them too. If the streams differ in
   any other way the object goes to R's writer. */

/* R hands over small pieces (two ints and the bytes of each string) and
   big ones (vector data): the small ones are gathered here and go to
   Rust a buffer at a time, the big ones as they come. */
#define LM_TAP_BUFFER (64 * 1024)

typedef struct {
    native_call *c;
    unsigned char *buf; /* LM_TAP_BUFFER bytes */
    size_t len;
} tap_call;

static void tap_feed(tap_call *t, const unsigned char *p, size_t n)
{
    protect_room();
    lowmem_native_tap_bytes(t->c->job, p, n);
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
    lm_check_interrupts_after(&t->c->clock, (size_t) n);
}

static void tap_char(R_outpstream_t out, int ch)
{
    unsigned char byte = (unsigned char) ch;
    tap_bytes(out, &byte, 1);
}

/* Runs the tap over the object with R's writer in native binary. Returns
   1 if R's stream is the native writer's (but for the flags it learnt), 0 with the reason if not; raises the job's error if it has one.
   The tap writes version 3 whatever version the job writes: flags words
   are the same in both, and in version 2 R's writer reads ALTREP vectors
   through their data pointers, which expands a compact sequence in memory
   (version 3 writes its state). */
static int tap_pass(native_call *c)
{
    struct R_outpstream_st out;
    tap_call t = {c, (unsigned char *) R_alloc(LM_TAP_BUFFER, 1), 0};
    capture header;
    if (!capture_header(3, &header)) {
        snprintf(c->reason, sizeof c->reason, "unexpected header");
        return 0;
    }
    if (lowmem_native_tap_begin(c->job, header.bytes, header.len) != LM_DONE) raise_job(c, "tap");
    R_InitOutPStream(&out, (R_pstream_data_t) &t, R_pstream_binary_format, 3,
                     tap_char, tap_bytes, NULL, R_NilValue);
    R_Serialize(c->a->object, &out);
    tap_flush(&t);
    switch (lowmem_native_tap_end(c->job)) {
    case LM_DONE:
        return 1;
    case LM_UNCOVERED:
        lowmem_native_message(c->job, c->reason, sizeof c->reason);
        if (c->reason[0] == '\0') snprintf(c->reason, sizeof c->reason, "the tap failed");
        return 0;
    default:
        raise_job(c, "tap");
        return 0; /* not reached */
    }
}

/* ---- the step loop ------------------------------------------------------ */

/* Faults in the pages of bytes [from, to) of the output with one system
   call, instead of one trap per 4 KB page as they are first written
   (Linux >= 5.14; elsewhere, or if the kernel refuses, nothing happens and
   the pages fault in as they are written). The raw vector's data was just
   allocated and is untouched (R does not initialise raw vectors), and all
   of it is about to be written. Done LM_PREFAULT bytes ahead of the writer
   rather than all at once, so that an interrupt is still seen every step.
   (THP through MADV_HUGEPAGE was tried and dropped: with defrag=madvise a
   fault may stall on compaction. The measurements behind both choices:
   inst/bench/results/history.md.) */
#define LM_PREFAULT ((size_t) 32 << 20)

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

/* Starts a pass in `type`: counting if `buf` is NULL, else writing `len`
   bytes at `buf`. */
static void begin(native_call *c, R_pstream_format_t type, unsigned char *buf, size_t len)
{
    if (lowmem_native_begin(c->job, (lm_format) type, buf, len) != LM_DONE) raise_job(c, "begin");
    c->bytes = 0;
}

/* Runs the current pass to its end, LM_STEP_BYTES at a time, checking for
   interrupts and reporting a stream's progress in between. Returns 1 when
   done, 0 if the object is not covered (why in c->reason), -1 if a writing
   pass found the object other than counted (a finalizer changed it; see
   raw_body). A writing pass into memory passes its output (`buf`, `len`),
   which is prefaulted ahead of the writer; `what` names the pass in an
   internal error. */
static int run_steps(native_call *c, const char *what, unsigned char *buf, size_t len)
{
    size_t faulted = 0;
    for (;;) {
        size_t pos = (size_t) c->bytes;
        if (buf != NULL && faulted < len && faulted < pos + LM_PREFAULT / 2) {
            size_t ahead = pos + LM_PREFAULT < len ? pos + LM_PREFAULT : len;
            prefault(buf, faulted > pos ? faulted : pos, ahead);
            faulted = ahead;
        }
        switch (lm_native_step(c->job, LM_STEP_BYTES, &c->bytes)) {
        case LM_DONE:
            return 1;
        case LM_MORE:
            break;
        case LM_UNCOVERED:
            lowmem_native_message(c->job, c->reason, sizeof c->reason);
            if (c->reason[0] == '\0') snprintf(c->reason, sizeof c->reason, "not covered");
            return 0;
        default:
            if (buf != NULL && lowmem_native_message(c->job, NULL, 0) == LM_KIND_MISCOUNTED) return -1;
            raise_job(c, what);
        }
        lm_check_interrupts(&c->clock);
        if (c->out != NULL) lm_output_progress(c->out, c->bytes);
    }
}

/* The counting pass in `type`, and, where the session needs it, the tap
   (for a binary size, which `size_only` says is all that is wanted, only
   where the job asks for it: c->tap 3): 1 if the object is covered, with
   the size in c->bytes; 0 with the reason if R's writer must write it. */
static int count(native_call *c, R_pstream_format_t type, int size_only)
{
    int ascii = type == R_pstream_ascii_format || type == R_pstream_asciihex_format;
    /* A binary size does not depend on flags words, but does on attribute
       cells' own attributes, which a build reading attributes through
       R_mapAttrib cannot see: only there does it need the tap. */
    int tap = (!size_only || ascii || c->tap == 3) && c->tap;
    /* Coverage first, in binary (O(nodes)): an object the native writer
       does not cover is not tapped. Binary sizes do not depend on flags
       words, ASCII ones do (decimal text): those count after the tap. */
    begin(c, tap ? R_pstream_binary_format : type, NULL, 0);
    if (run_steps(c, "sizing", NULL, 0) != 1) return 0;
    if (tap) {
        double n = c->bytes;
        if (!tap_pass(c)) return 0;
        if (ascii) {
            begin(c, type, NULL, 0);
            if (run_steps(c, "sizing", NULL, 0) != 1)
                lm_raise(LM_KIND_INTERNAL,
                         "internal error: the native writer covered the object before the tap but not after it");
        } else {
            c->bytes = n;
        }
    }
    c->covered = 1;
    return 1;
}

/* The droppable ALTREP states the counting pass met (deferred strings not
   yet expanded), in a list. R code that runs during the next pass (a
   connection's write, a progress callback, a finalizer run by a collection)
   may expand such a string, which drops its state; while the caller keeps
   this list protected, the state stays alive for the walker reading it. */
static SEXP pins(NativeJob *job)
{
    R_xlen_t n = 0;
    while (lowmem_native_pin(job, (size_t) n) != NULL) n++;
    SEXP list = PROTECT(Rf_allocVector(VECSXP, n));
    for (R_xlen_t i = 0; i < n; i++)
        SET_VECTOR_ELT(list, i, (SEXP) lowmem_native_pin(job, (size_t) i));
    UNPROTECT(1);
    return list;
}

/* ---- serialize(x, NULL), serialized_size() ------------------------------ */

/* Counts (which also finds out whether the object is covered, before
   anything is allocated), allocates the result, writes. */
static SEXP raw_body(native_call *c)
{
    if (!count(c, c->a->type, 0)) return R_NilValue;
    double n = c->bytes;
    if (n > (double) R_XLEN_T_MAX)
        lm_raise(LM_KIND_SIZE, "the serialized object is larger than the longest raw vector R can allocate");
    PROTECT(pins(c->job)); /* the result's allocation may collect */
    SEXP result = PROTECT(lm_result_alloc((R_xlen_t) n));
    begin(c, c->a->type, RAW(result), (size_t) n);
    int done = run_steps(c, "writing", RAW(result), (size_t) n);
    if (done < 0) {
        /* The allocation may have collected garbage, and a finalizer
           changed the object (expanded a deferred string): R's writer
           takes over (serialize.c), as for an object not covered. */
        lm_result_discard(result);
        c->covered = 0;
        UNPROTECT(2);
        return R_NilValue;
    }
    if (done == 0)
        lm_raise(LM_KIND_INTERNAL,
                 "internal error: the native writer covered the object when sizing it but not when writing it");
    UNPROTECT(2);
    return result;
}

/* ---- streams -------------------------------------------------------------- */

typedef struct {
    lm_output *out;
    const unsigned char *p;
    size_t n;
    lm_clock *clock;
} pending_write;

static SEXP write_pending(void *data)
{
    pending_write *w = (pending_write *) data;
    lm_output_write(w->out, w->p, w->n);
    lm_check_interrupts(w->clock); /* the connection may be slow: a chunk may take long */
    return R_NilValue;
}

static void jump_back(void *data, Rboolean jump)
{
    if (jump) longjmp(*(jmp_buf *) data, 1);
}

/* The native writer's way to a connection: Rust calls this with each
   chunk (lowmem_native_begin_callback), and R code writes it. An R error
   or interrupt there must not unwind through the Rust frames below this
   one: R_UnwindProtect's cleanup jumps back here instead (cpp11's
   unwind_protect does the same), the condition is kept in c->token, and
   Rust returns a failure; raise_job then continues the unwind, once
   every Rust frame has returned. Only C frames are jumped over: the
   cleanup's and R_UnwindProtect's, whose R context has already ended. */
static int native_write(void *ctx, const unsigned char *p, size_t n)
{
    native_call *c = (native_call *) ctx;
    pending_write w = {c->out, p, n, &c->clock};
    jmp_buf back;
    if (setjmp(back)) {
        c->stopped = 1;
        return 1;
    }
    R_UnwindProtect(write_pending, &w, jump_back, &back, c->token);
    return 0;
}

/* Streams a covered object (no refhook: see entrypoint.c). The counting
   pass (and the tap where needed) finds out whether the object is covered
   before anything is written; it counts in binary (O(nodes)) unless a
   progress bar needs the total of an ASCII stream. */
static SEXP stream_body(native_call *c)
{
    lm_output *out = c->out;
    R_pstream_format_t type = out->progress != R_NilValue ? c->a->type : R_pstream_binary_format;
    c->out = NULL; /* no progress reports while counting */
    if (!count(c, type, 0)) return R_NilValue;
    lm_note_path(1, "");
    c->out = out;
    PROTECT(pins(c->job));
    out->total = c->bytes;
    out->next_report = 0;
    lm_status status;
    if (c->d->path) {
        status = lowmem_native_begin_file(c->job, (lm_format) c->a->type, c->d->path, c->d->codec,
                                          c->d->level, c->d->chunk);
    } else if (c->d->digest) {
        status = lowmem_native_begin_digest(c->job, (lm_format) c->a->type, c->d->digest);
    } else {
        lm_output_reserve(out); /* allocated at the first full chunk */
        c->token = PROTECT(R_MakeUnwindCont());
        status = lowmem_native_begin_callback(c->job, (lm_format) c->a->type, out->chunk, native_write, c);
    }
    if (status != LM_DONE) raise_job(c, "begin");
    c->bytes = 0;
    lm_output_progress(out, 0);
    if (run_steps(c, "streaming", NULL, 0) != 1)
        lm_raise(LM_KIND_INTERNAL,
                 "internal error: the native writer covered the object when counting but not when writing");
    lm_output_done(out, c->bytes);
    UNPROTECT(c->d->path || c->d->digest ? 1 : 4); /* pins, and chunk_vec, write_call, token */
    return R_NilValue;
}

/* ---- a call --------------------------------------------------------------- */

static SEXP body(void *data)
{
    native_call *c = (native_call *) data;
    make_job(c);
    if (c->job == NULL) return R_NilValue;
    switch (c->want) {
    case WANT_RAW:
        return raw_body(c);
    case WANT_STREAM:
        return stream_body(c);
    default:
        /* Coverage does not depend on the format: the diagnostic counts in
           binary (O(nodes), no number formatting). */
        if (!count(c, c->want == WANT_PATH ? R_pstream_binary_format : c->a->type, c->want == WANT_SIZE))
            return R_NilValue;
        return Rf_ScalarReal(c->bytes);
    }
}

static void cleanup(void *data, Rboolean jump)
{
    native_call *c = (native_call *) data;
    lowmem_native_free(c->job); /* an unfinished file is removed */
    c->job = NULL;
}

/* Runs a call of the native writer; NULL if it does not cover the object. */
static SEXP run(native_call *c)
{
    SEXP token = PROTECT(R_MakeUnwindCont());
    SEXP result = R_UnwindProtect(body, c, cleanup, c, token);
    UNPROTECT(1);
    return c->covered ? result : NULL;
}

static native_call new_call(const lm_args *a, native_want want)
{
    native_call c;
    memset(&c, 0, sizeof c);
    c.a = a;
    c.want = want;
    c.token = R_NilValue;
    return c;
}

SEXP lm_native_raw(const lm_args *a)
{
    native_call c = new_call(a, WANT_RAW);
    return run(&c);
}

SEXP lm_native_size(const lm_args *a)
{
    native_call c = new_call(a, WANT_SIZE);
    return run(&c);
}

int lm_native_stream(const lm_args *a, const lm_dest *d, lm_output *out, char *reason, size_t size)
{
    native_call c = new_call(a, WANT_STREAM);
    c.d = d;
    c.out = out;
    run(&c);
    if (!c.covered) snprintf(reason, size, "%s", c.reason);
    return c.covered;
}

/* ---- diagnostics and the format probes (.Call) ---------------------------- */

/* lowmem:::serialize_path(): "native" or "universal" (with the reason as
   attribute "reason"): the path serialize() takes for these arguments
   (`type` and `version` as for lowmem_serialize_raw). */
SEXP lowmem_serialize_path(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    int v = version == R_NilValue ? 0 : Rf_asInteger(version);
    if (refhook != R_NilValue && !Rf_isFunction(refhook))
        lm_raise(LM_KIND_ARGUMENT, "`refhook` must be a function or NULL.");
    lm_args a = {object, lm_format_of(type), v, refhook};
    native_call c = new_call(&a, WANT_PATH);
    if (refhook != R_NilValue)
        strcpy(c.reason, "a refhook was given");
    else if (v == NA_INTEGER || v < 0)
        strcpy(c.reason, "bad version (R's writer raises the error)");
    else
        run(&c);
    SEXP path = PROTECT(Rf_mkString(c.covered ? "native" : "universal"));
    if (!c.covered)
        Rf_setAttrib(path, Rf_install("reason"), Rf_mkString(c.reason));
    UNPROTECT(1);
    return path;
}

/* The native writer's serialization of `object` (format code as
   lowmem_serialize_path's, version NULL or 2/3), whatever the session's
   state; NULL if it does not cover the object. */
SEXP lowmem_native_probe(SEXP object, SEXP type, SEXP version)
{
    int v = version == R_NilValue ? 0 : Rf_asInteger(version);
    lm_args a = {object, lm_format_of(type), v, R_NilValue};
    native_call c = new_call(&a, WANT_RAW);
    c.probe = 1;
    SEXP result = run(&c);
    return result != NULL ? result : R_NilValue;
}

/* Records what the probes found: `reason` NULL turns the native writer on
   for the session, a string turns it off with that reason. */
SEXP lowmem_session_configure(SEXP writes_growable, SEXP reason)
{
    if (reason != R_NilValue && !(TYPEOF(reason) == STRSXP && XLENGTH(reason) == 1 &&
                                  STRING_ELT(reason, 0) != NA_STRING))
        lm_raise(LM_KIND_ARGUMENT, "`reason` must be NULL or a string.");
    lowmem_session_set(Rf_asLogical(writes_growable) == 1,
                       reason == R_NilValue ? NULL : Rf_translateCharUTF8(STRING_ELT(reason, 0)));
    return R_NilValue;
}

/* The benchmark's floor: a raw vector of `size` bytes, its tail filled
   with the XDR encoding of the doubles `x`, the head zeroed. */
SEXP lowmem_bench_floor(SEXP x, SEXP size)
{
    if (TYPEOF(x) != REALSXP) lm_raise(LM_KIND_ARGUMENT, "`x` must be a double vector.");
    double n = Rf_asReal(size);
    R_xlen_t len = XLENGTH(x);
    if (!(n >= 8.0 * (double) len) || n > (double) R_XLEN_T_MAX)
        lm_raise(LM_KIND_ARGUMENT, "`size` must be a number of bytes, at least 8 per double of `x`.");
    SEXP result = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) n));
    size_t head = (size_t) n - 8 * (size_t) len;
    memset(RAW(result), 0, head);
    lowmem_xdr_doubles(REAL(x), (size_t) len, RAW(result) + head);
    UNPROTECT(1);
    return result;
}
