/*
 * Driving R's own serializer into Rust sinks.
 *
 * serialize(x, NULL) runs R_Serialize twice through R's public stream API
 * (Rinternals.h): a counting pass, then a writing pass whose OutBytes copies
 * into the result raw vector, allocated once at its exact final size. The
 * bytes are R's own, so they are identical to base::serialize's by
 * construction.
 *
 * With a refhook, R_Serialize runs once, as in base R, into released-as-
 * copied blocks (see raw_one_pass). So does a call whose object changed
 * between the passes (see raw_two_passes).
 *
 * Safety at the boundary: R_Serialize may raise R errors (a refhook that
 * errors, allocation failure, an interrupt). It is only ever called from C,
 * inside R_UnwindProtect; the Rust code is reached through callbacks that
 * always return before R can jump. The one thing Rust owns, the stream
 * handle, is kept in `lm_call` and freed by the cleanup, jump or not.
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lowmem.h"
#include "lowmem_c.h"

/* Interrupt checks go by time, not bytes: a stream runs at the speed of
   its slowest part (xz at level 9 takes about a second per MB; memory takes
   a millisecond). R looks at the clock for setTimeLimit() only at every
   sixth R_CheckUserInterrupt(), and at most every 50 ms
   (R_CheckTimeLimits): after 16 MB between checks, a time limit was
   honoured after 96 MB. So every LM_CHECK_SECONDS, R is asked
   LM_R_CHECKS times in a row, which honours an interrupt or a time limit
   within LM_CHECK_SECONDS plus the longest stretch without a chance to look
   at the clock: one piece of R's serializer
   (vectors come in pieces of at most 64 KB), one native step of
   LM_STREAM_STEP bytes, or one chunk written to a connection, through
   whatever codec. The clock itself is read once per LM_CLOCK_EVERY bytes
   (and at least once per piece): R's serializer hands over many pieces of
   a few bytes. (R 4.2 does not check interrupts inside R_Serialize; newer
   R versions do.) */
#define LM_CHECK_SECONDS 0.05
#define LM_R_CHECKS 6
#define LM_CLOCK_EVERY 4096
#define LM_STREAM_STEP ((size_t) 65536)

/* A connection's chunk vector starts at this size if the chunk is larger,
   and doubles up to a chunk only as the stream fills it: a short stream
   with a huge chunk_size allocates only what it uses. The default chunk. */
#define LM_FIRST_CHUNK ((size_t) 1048576)

typedef struct {
    SEXP object;
    R_pstream_format_t type; /* the format asked for */
    int version;             /* 0 = R's default */
    SEXP refhook;            /* R_NilValue, or the user's refhook */
    Stream *stream;          /* owned; freed by call_cleanup() */
    double since_check;      /* bytes since the clock was last read */
    double checked_at;       /* when R last checked for interrupts (lm_clock) */
    R_pstream_format_t pass_type; /* the format of the pass quiet_pass() runs */
    int tolerant;            /* a stream that disagrees with its count sets `mismatch` */
    int mismatch;            /* ... instead of raising an internal error */
    /* streaming only (see stream_body) */
    SEXP con;                /* an R connection, or R_NilValue */
    SEXP chunk_vec;          /* the chunk buffer: a raw vector of up to `chunk` bytes */
    SEXP write_call;         /* lowmem:::write_chunk(chunk_vec, con, text) */
    PROTECT_INDEX chunk_ipx, call_ipx; /* where the two are protected */
    int con_text;            /* a text-mode connection */
    int draining;            /* the stream is a chunk stream drained into con */
    int reporting;           /* progress is reported in this pass */
    const char *path;        /* a file path, or NULL */
    int codec, level;
    size_t chunk;
    SEXP progress;           /* R_NilValue, or function(done, total) */
    double total, next_report;
    /* the native writer (see native_stream) */
    NativeJob *job;          /* owned; freed by call_cleanup() */
    SEXP token;              /* the condition that stopped a native write */
    int stopped;             /* a native write was stopped by R */
} lm_call;

/* ---- interrupt checks --------------------------------------------------- */

static double lm_clock(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

/* Lets R check for interrupts and time limits if LM_CHECK_SECONDS have
   passed since it last did. May jump: call only where no Rust frame is
   below (or where the jump is caught, as in native_write). */
static void check_interrupt_due(lm_call *c)
{
    double now = lm_clock();
    int forced = lm_test_interrupt_due(); /* a test hook (testhook.c) */
    if (!forced && now - c->checked_at < LM_CHECK_SECONDS) return;
    c->checked_at = now;
    for (int i = 0; i < LM_R_CHECKS; i++)
        R_CheckUserInterrupt(); /* also enforces setTimeLimit() */
}

/* ---- errors ---------------------------------------------------------- */

void lm_abort(const char *klass, const char *msg)
{
    /* lowmem:::abort_from_c() raises a classed condition (R/errors.R). */
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("lowmem"))));
    SEXP fun = PROTECT(Rf_findFun(Rf_install("abort_from_c"), ns));
    SEXP call = PROTECT(Rf_lang3(fun, PROTECT(Rf_mkString(msg)),
                                 PROTECT(Rf_mkString(klass))));
    Rf_eval(call, ns);
    UNPROTECT(6); /* not reached */
    Rf_error("%s", msg);
}

/* Raises the stream's error, if it has one. */
static void check_stream(Stream *stream)
{
    char msg[1024];
    int kind = lowmem_stream_message(stream, msg, sizeof msg);
    if (kind != 0)
        lm_abort(kind == 2 ? "lowmem_error_io" : kind == 3 ? "lowmem_error_memory"
                                                          : "lowmem_error_internal", msg);
}

/* ---- stream callbacks -------------------------------------------------- */

/* The call lowmem:::write_chunk(bytes, con, text), evaluated in lowmem's
   namespace: write_to_connection builds it once per stream, for the chunk
   vector, so that a chunk costs R one call and no allocation of ours. */
static SEXP write_chunk_call(lm_call *c, SEXP bytes)
{
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("lowmem"))));
    SEXP fun = PROTECT(Rf_findFun(Rf_install("write_chunk"), ns));
    SEXP call = Rf_lang4(fun, bytes, c->con, PROTECT(Rf_ScalarLogical(c->con_text)));
    UNPROTECT(4);
    return call;
}

/* Makes v the chunk vector (and the write call's argument). Both are kept
   at the protect-stack slots reserved by reserve_chunk_vec(); the old
   vector stays protected until v replaces it. */
static void use_chunk_vec(lm_call *c, SEXP v)
{
    PROTECT(v);
    SEXP call = PROTECT(write_chunk_call(c, v));
    REPROTECT(c->chunk_vec = v, c->chunk_ipx);
    REPROTECT(c->write_call = call, c->call_ipx);
    UNPROTECT(2);
}

/* Reserves the protect-stack slots of the chunk vector and the write
   call (two PROTECTs, released by the caller), empty until a chunk needs
   them. */
static void reserve_chunk_vec(lm_call *c)
{
    c->chunk_vec = R_NilValue;
    c->write_call = R_NilValue;
    PROTECT_WITH_INDEX(c->chunk_vec, &c->chunk_ipx);
    PROTECT_WITH_INDEX(c->write_call, &c->call_ipx);
}

/* A chunk stream's buffer is full short of a chunk: moves it into a
   vector twice as long (at most a chunk). */
static void grow_chunk_vec(lm_call *c)
{
    size_t have = (size_t) XLENGTH(c->chunk_vec);
    if (have >= c->chunk) lm_abort("lowmem_error_internal", "internal error: the chunk buffer is full");
    size_t want = have >= c->chunk / 2 ? c->chunk : 2 * have;
    SEXP bigger = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) want));
    if (lowmem_stream_chunks_move(c->stream, RAW(bigger), want) != 0) check_stream(c->stream);
    use_chunk_vec(c, bigger);
    UNPROTECT(1);
}

/* Writes n bytes at p through R: lowmem:::write_chunk() (R/connection.R)
   calls writeBin() for binary-mode connections and cat() for text-mode
   ones, which take ASCII only (printable bytes and newlines), as text.
   Going through R keeps to R's API; with 1 MiB chunks it is one call per
   MiB. Full chunks go in the chunk vector (p may already be in it),
   allocated at the first full chunk if it is not yet a chunk long. */
static void write_to_connection(lm_call *c, const unsigned char *p, size_t n)
{
    if (n < c->chunk) { /* the last, partial chunk */
        SEXP bytes = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) n));
        memcpy(RAW(bytes), p, n);
        Rf_eval(PROTECT(write_chunk_call(c, bytes)), R_BaseEnv);
        UNPROTECT(2);
        return;
    }
    if (c->chunk_vec == R_NilValue || (size_t) XLENGTH(c->chunk_vec) != c->chunk)
        use_chunk_vec(c, Rf_allocVector(RAWSXP, (R_xlen_t) c->chunk));
    if (p != RAW(c->chunk_vec)) memcpy(RAW(c->chunk_vec), p, n);
    Rf_eval(c->write_call, R_BaseEnv);
}

/* Writes out what the chunk stream holds, if due (or all of it if last). */
static void drain_chunks(lm_call *c, int last)
{
    const unsigned char *p = NULL;
    size_t n;
    while ((n = lowmem_stream_pending(c->stream, last, &p)) > 0) {
        write_to_connection(c, p, n);
        lowmem_stream_clear(c->stream);
    }
}

static void report_progress(lm_call *c, double done)
{
    SEXP call = PROTECT(Rf_lang3(c->progress, PROTECT(Rf_ScalarReal(done)),
                                 PROTECT(Rf_ScalarReal(c->total))));
    Rf_eval(call, R_GlobalEnv);
    UNPROTECT(3);
}

typedef struct {
    lm_call *c;
    double done;
} final_report;

static void run_final_report(void *data)
{
    final_report *r = (final_report *) data;
    report_progress(r->c, r->done);
}

/* The last report (100 %) comes once the stream is complete, the file
   already in place: an error or interrupt in the progress bar then must not
   turn a finished write into a failure, so it runs apart (R_ToplevelExec,
   which stops every jump) and its failure is ignored. */
static void report_done(lm_call *c, double done)
{
    final_report r = {c, done};
    (void) R_ToplevelExec(run_final_report, &r);
}

static void out_bytes(R_outpstream_t out, void *buf, int n)
{
    lm_call *c = (lm_call *) out->data;
    if (c->draining) {
        const unsigned char *p = (const unsigned char *) buf;
        size_t left = (size_t) n;
        while (left > 0) {
            size_t took = lowmem_stream_fill(c->stream, p, left);
            p += took;
            left -= took;
            drain_chunks(c, 0);
            /* Nothing taken: the buffer is full short of a chunk (a full
               chunk was drained after the previous fill). */
            if (took == 0) grow_chunk_vec(c);
        }
    } else if (c->mismatch) {
        /* the rest of the pass is thrown away (see raw_two_passes) */
    } else if (lowmem_stream_write(c->stream, (const unsigned char *) buf, n) != 0) {
        if (c->tolerant) c->mismatch = 1;
        else check_stream(c->stream); /* stop at the first failure */
    }
    c->since_check += n;
    if (c->since_check >= LM_CLOCK_EVERY || n >= LM_CLOCK_EVERY / 4) {
        c->since_check = 0;
        check_interrupt_due(c);
    }
    if (c->reporting) {
        double done = lowmem_stream_bytes(c->stream);
        if (done >= c->next_report) {
            c->next_report = done + (c->total / 100 > 1048576 ? c->total / 100 : 1048576);
            report_progress(c, done);
        }
    }
}

static void out_char(R_outpstream_t out, int ch)
{
    unsigned char byte = (unsigned char) ch;
    out_bytes(out, &byte, 1);
}

/* ---- the refhook --------------------------------------------------------- */

/* As base R's CallHook: evaluates fun(x) in the global environment. */
static SEXP call_hook(SEXP x, SEXP fun)
{
    SEXP call = PROTECT(Rf_lcons(fun, Rf_lcons(x, R_NilValue)));
    SEXP val = Rf_eval(call, R_GlobalEnv);
    UNPROTECT(1);
    return val;
}

/* ---- passes ------------------------------------------------------------ */

static void run_pass(lm_call *c, R_pstream_format_t type)
{
    struct R_outpstream_st out;
    int has_hook = c->refhook != R_NilValue;
    R_InitOutPStream(&out, (R_pstream_data_t) c, type, c->version,
                     out_char, out_bytes, has_hook ? call_hook : NULL, c->refhook);
    R_Serialize(c->object, &out);
    if (lowmem_stream_finish(c->stream) != 0) {
        if (c->tolerant) c->mismatch = 1;
        else check_stream(c->stream);
    }
}

/* When R's serializer runs more than once for one call, only one of its
   passes may give the serializer's own warnings (e.g. "'package:x' may
   not be available when loading"), so that they come once, as in base R;
   the others run with warnings muffled. Muffling needs a calling handler,
   which only R code can establish, so C calls
   lowmem:::write_pass_quietly(<the call>), which comes back through
   .Call(lowmem_write_pass) to run the pass in c->pass_type. */
SEXP lowmem_write_pass(SEXP call_ptr)
{
    lm_call *c = (lm_call *) R_ExternalPtrAddr(call_ptr);
    run_pass(c, c->pass_type);
    return R_NilValue;
}

static void quiet_pass(lm_call *c, R_pstream_format_t type)
{
    c->pass_type = type;
    SEXP ptr = PROTECT(R_MakeExternalPtr(c, R_NilValue, R_NilValue));
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("lowmem"))));
    SEXP fun = PROTECT(Rf_findFun(Rf_install("write_pass_quietly"), ns));
    SEXP call = PROTECT(Rf_lang2(fun, ptr));
    Rf_eval(call, ns);
    UNPROTECT(5);
}

/* The counting pass, quiet or not (see quiet_pass). XDR is counted in
   native binary: the same byte count, but R hands over pointers into the
   vectors instead of encoding them. */
static double count_pass(lm_call *c, int quiet)
{
    R_pstream_format_t type =
        c->type == R_pstream_xdr_format ? R_pstream_binary_format : c->type;
    c->stream = lowmem_stream_count_new();
    if (quiet) quiet_pass(c, type);
    else run_pass(c, type);
    double n = lowmem_stream_bytes(c->stream);
    lowmem_stream_free(c->stream);
    c->stream = NULL;
    return n;
}

static SEXP size_body(void *data)
{
    lm_call *c = (lm_call *) data;
    /* Plain data: sized by the native writer (native.c), O(nodes). */
    SEXP native = lm_native_size(c->object, c->type, c->version, c->refhook != R_NilValue);
    if (native != NULL) return native;
    return Rf_ScalarReal(count_pass(c, 0));
}

/* One pass of R's serializer into blocks that are released as they are
   moved into the exactly-sized result (peak: the output plus one block):
   what R writes once, whatever R code runs during the pass. */
static SEXP one_pass_result(lm_call *c, int quiet)
{
    c->stream = lowmem_stream_blocks_new();
    c->since_check = 0;
    if (quiet) quiet_pass(c, c->type);
    else run_pass(c, c->type);
    double n = lowmem_stream_bytes(c->stream);
    if (n > (double) R_XLEN_T_MAX)
        lm_abort("lowmem_error_size", "the serialized object is larger than the longest raw vector R can allocate");
    SEXP result = PROTECT(lm_result_alloc((R_xlen_t) n));
    if (lowmem_stream_blocks_move(c->stream, RAW(result), (size_t) n) != 0)
        check_stream(c->stream);
    UNPROTECT(1);
    return result;
}

/* Counts, allocates the result at the count, writes (quietly: the count
   gave the warnings). R code may run between the passes: an allocation of
   R's (the result's, or one inside R's serializer) may collect garbage and
   run finalizers, which may change the object (remove an environment's
   binding, expand a deferred string). A writing pass that then disagrees
   with the count is not an error: it is thrown away and R's serializer
   runs once more, into blocks, which writes what base R would write at
   that moment (base R also serializes once). */
static SEXP raw_two_passes(lm_call *c)
{
    double n = count_pass(c, 0);
    if (n > (double) R_XLEN_T_MAX)
        lm_abort("lowmem_error_size", "the serialized object is larger than the longest raw vector R can allocate");
    SEXP result = PROTECT(lm_result_alloc((R_xlen_t) n));
    c->stream = lowmem_stream_slice_new(RAW(result), (size_t) n);
    c->since_check = 0;
    c->tolerant = 1;
    quiet_pass(c, c->type);
    c->tolerant = 0;
    if (c->mismatch) {
        c->mismatch = 0;
        lowmem_stream_free(c->stream);
        c->stream = NULL;
        lm_result_discard(result);
        UNPROTECT(1);
        return one_pass_result(c, 1);
    }
    UNPROTECT(1);
    return result;
}

/* With a refhook, one pass, as base R: the hook is user code that may
   change the object while it is written, so a second pass could write
   something else. */
static SEXP raw_one_pass(lm_call *c)
{
    return one_pass_result(c, 0);
}

static SEXP raw_body(void *data)
{
    lm_call *c = (lm_call *) data;
    lm_result_prepare(); /* lowmem's collection, if due: before any pass */
    if (c->refhook != R_NilValue) return raw_one_pass(c);
    /* Plain data: sized and written by the native writer (native.c). */
    SEXP native = lm_native_raw(c->object, c->type, c->version, 0);
    if (native != NULL) return native;
    return raw_two_passes(c);
}

/* ---- streaming with the native writer ---------------------------------- */

/* The writer the last streaming call chose (before it wrote anything), for
   lowmem:::last_stream_path(). */
static char last_path[320] = "none";

static int note_path(int native, const char *reason)
{
    snprintf(last_path, sizeof last_path, "%s%s%s", native ? "native" : "universal",
             reason[0] ? ":" : "", reason);
    return native;
}

SEXP lowmem_last_stream_path(void)
{
    const char *colon = strchr(last_path, ':');
    if (colon == NULL) return Rf_mkString(last_path);
    SEXP path = PROTECT(Rf_allocVector(STRSXP, 1));
    SET_STRING_ELT(path, 0, Rf_mkCharLen(last_path, (int) (colon - last_path)));
    SEXP reason = PROTECT(Rf_mkString(colon + 1));
    Rf_setAttrib(path, Rf_install("reason"), reason);
    UNPROTECT(2);
    return path;
}

/* Raises the native job's error: R's own condition if R stopped a write
   (see native_write), else a lowmem condition of the error's kind. */
static void raise_native(lm_call *c)
{
    if (c->stopped) R_ContinueUnwind(c->token);
    lm_native_raise(c->job, "streaming");
}

/* Runs the job's pass to its end in steps of `step` bytes, checking for
   interrupts in between when due, and reporting progress every hundredth
   of the total (at least 1 MiB). Returns 1 when done, 0 if the object is
   not covered. */
static int native_steps(lm_call *c, size_t step)
{
    double every = c->total / 100 > 1048576 ? c->total / 100 : 1048576;
    double next_report = every;
    for (;;) {
        int status = lm_native_step(c->job, step);
        if (status == LM_NATIVE_DONE) return 1;
        if (status == LM_NATIVE_UNCOVERED) return 0;
        if (status != LM_NATIVE_MORE) raise_native(c);
        check_interrupt_due(c);
        if (c->reporting) {
            double done = lowmem_native_bytes(c->job);
            if (done >= next_report) {
                next_report = done + every;
                report_progress(c, done);
            }
        }
    }
}

typedef struct {
    lm_call *c;
    const unsigned char *p;
    size_t n;
} pending_write;

static SEXP write_pending(void *data)
{
    pending_write *w = (pending_write *) data;
    write_to_connection(w->c, w->p, w->n);
    check_interrupt_due(w->c); /* the connection may be slow: a chunk may take long */
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
   Rust returns a failure; raise_native then continues the unwind, once
   every Rust frame has returned. Only C frames are jumped over: the
   cleanup's and R_UnwindProtect's, whose R context has already ended. */
static int native_write(void *ctx, const unsigned char *p, size_t n)
{
    lm_call *c = (lm_call *) ctx;
    pending_write w = {c, p, n};
    jmp_buf back;
    if (setjmp(back)) {
        c->stopped = 1;
        return 1;
    }
    R_UnwindProtect(write_pending, &w, jump_back, &back, c->token);
    return 0;
}

/* Streams a covered object with the native writer (no refhook: see
   stream_body). A counting pass (and the tap, where the session needs it:
   lm_native_count) comes first and finds out whether the native writer
   covers the object before anything is written; it counts in binary
   (O(nodes)) unless a progress bar needs the total of an ASCII stream. Returns 1 if the object was written, 0 if it is left to R's
   writer (nothing was written). */
static int native_stream(lm_call *c)
{
    char reason[256];
    c->job = lm_native_job(c->object, c->version, reason, sizeof reason);
    if (c->job == NULL) return note_path(0, reason);
    /* The total for a progress bar is the stream's size in its format. */
    R_pstream_format_t count = c->progress != R_NilValue ? c->type : R_pstream_binary_format;
    double total;
    if (!lm_native_count(c->job, c->object, count, 0, &total, reason, sizeof reason)) {
        lowmem_native_free(c->job);
        c->job = NULL;
        return note_path(0, reason);
    }
    note_path(1, "");
    PROTECT(lm_native_pins(c->job));
    c->total = total;
    c->reporting = c->progress != R_NilValue;
    int status;
    if (c->path) {
        status = lowmem_native_begin_file(c->job, (int) c->type, c->path, c->codec, c->level, c->chunk);
    } else {
        reserve_chunk_vec(c); /* allocated at the first full chunk */
        c->token = PROTECT(R_MakeUnwindCont());
        status = lowmem_native_begin_callback(c->job, (int) c->type, c->chunk, native_write, c);
    }
    if (status != LM_NATIVE_DONE) raise_native(c);
    if (c->reporting) report_progress(c, 0);
    if (!native_steps(c, LM_STREAM_STEP))
        lm_abort("lowmem_error_internal",
                 "internal error: the native writer covered the object when counting but not when writing");
    if (c->reporting) report_done(c, lowmem_native_bytes(c->job));
    UNPROTECT(c->path ? 1 : 4); /* pins, and chunk_vec, write_call, token */
    return 1;
}

/* ---- streaming --------------------------------------------------------- */

/* Streams the object to a connection or a file in one pass (two with a
   progress bar: its total comes from a counting pass; never with a refhook,
   which must run once, in the pass that writes). Plain data goes through
   the native writer (native_stream), anything else through R's. */
static SEXP stream_body(void *data)
{
    lm_call *c = (lm_call *) data;
    if (c->refhook == R_NilValue) {
        if (native_stream(c)) return R_NilValue;
    } else {
        note_path(0, "a refhook was given");
    }
    if (c->progress != R_NilValue) {
        /* Quiet: the writing pass below gives the serializer's warnings. */
        c->total = count_pass(c, 1);
        c->next_report = 0;
    }
    if (c->path) {
        c->stream = lowmem_stream_file_new(c->path, c->codec, c->level, c->chunk);
    } else {
        size_t first = c->chunk < LM_FIRST_CHUNK ? c->chunk : LM_FIRST_CHUNK;
        reserve_chunk_vec(c);
        use_chunk_vec(c, Rf_allocVector(RAWSXP, (R_xlen_t) first));
        c->stream = lowmem_stream_chunks_new(RAW(c->chunk_vec), first, c->chunk);
    }
    check_stream(c->stream); /* e.g. the file could not be created */
    c->since_check = 0;
    c->draining = c->con != R_NilValue;
    c->reporting = c->progress != R_NilValue;
    run_pass(c, c->type);
    if (c->draining) drain_chunks(c, 1);
    if (c->reporting) report_done(c, lowmem_stream_bytes(c->stream));
    if (!c->path) UNPROTECT(2); /* chunk_vec, write_call */
    return R_NilValue;
}

static void call_cleanup(void *data, Rboolean jump)
{
    lm_call *c = (lm_call *) data;
    lowmem_stream_free(c->stream);
    c->stream = NULL;
    lowmem_native_free(c->job); /* an unfinished file is removed */
    c->job = NULL;
}

/* ---- arguments --------------------------------------------------------- */

/* The format code computed by the R wrapper, exactly as base::serialize. */
static R_pstream_format_t format_of(SEXP type)
{
    return lm_format(Rf_asInteger(type));
}

/* As base R's R_serialize(): NULL means R's default (0 here). */
static int version_of(SEXP version)
{
    if (version == R_NilValue) return 0;
    int v = Rf_asInteger(version);
    if (v == NA_INTEGER || v <= 0)
        Rf_error("bad version value"); /* base R's message */
    return v;
}

static lm_call new_call(SEXP object, SEXP type, SEXP version)
{
    lm_call c;
    memset(&c, 0, sizeof c);
    c.object = object;
    c.type = format_of(type);
    c.version = version_of(version);
    c.refhook = R_NilValue;
    c.con = R_NilValue;
    c.chunk_vec = R_NilValue;
    c.write_call = R_NilValue;
    c.progress = R_NilValue;
    c.token = R_NilValue;
    return c;
}

static SEXP run(lm_call *c, SEXP refhook, SEXP (*body)(void *))
{
    c->refhook = refhook; /* protected as an argument of .Call */
    SEXP token = PROTECT(R_MakeUnwindCont());
    SEXP result = R_UnwindProtect(body, c, call_cleanup, c, token);
    UNPROTECT(1);
    return result;
}

static size_t chunk_of(SEXP chunk_size)
{
    double n = Rf_asReal(chunk_size);
    if (!(n >= 1 && n <= 2147483647.0))
        lm_abort("lowmem_error_argument", "`chunk_size` must be a number of bytes between 1 and 2^31 - 1.");
    return (size_t) n;
}

SEXP lowmem_serialize_raw(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    lm_call c = new_call(object, type, version);
    return run(&c, refhook, raw_body);
}

SEXP lowmem_serialized_size(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    lm_call c = new_call(object, type, version);
    return run(&c, refhook, size_body);
}

SEXP lowmem_serialize_conn(SEXP object, SEXP con, SEXP text, SEXP type, SEXP version,
                           SEXP refhook, SEXP chunk_size, SEXP progress)
{
    lm_call c = new_call(object, type, version);
    c.con = con;
    c.con_text = Rf_asLogical(text) == TRUE;
    c.chunk = chunk_of(chunk_size);
    c.progress = refhook == R_NilValue ? progress : R_NilValue; /* see stream_body */
    return run(&c, refhook, stream_body);
}

SEXP lowmem_serialize_file(SEXP object, SEXP path, SEXP codec, SEXP level,
                           SEXP type, SEXP version, SEXP refhook,
                           SEXP chunk_size, SEXP progress)
{
    lm_call c = new_call(object, type, version);
    if (!Rf_isString(path) || XLENGTH(path) != 1 || STRING_ELT(path, 0) == NA_STRING)
        lm_abort("lowmem_error_argument", "`path` must be a single file path.");
    c.path = Rf_translateChar(STRING_ELT(path, 0));
    c.codec = Rf_asInteger(codec);
    c.level = Rf_asInteger(level);
    c.chunk = chunk_of(chunk_size);
    c.progress = refhook == R_NilValue ? progress : R_NilValue; /* see stream_body */
    return run(&c, refhook, stream_body);
}
