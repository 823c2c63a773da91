/*
 * R's own serializer (R_Serialize, through R's public stream API), driven
 * into Rust sinks: the universal path, for whatever the native writer
 * (native.c) does not cover. The bytes are R's own, so they are identical
 * to base::serialize's by construction.
 *
 * serialize(x, NULL) runs R_Serialize twice: a counting pass, then a
 * writing pass whose OutBytes copies into the result raw vector, allocated
 * once at its exact final size. With a refhook it runs once, as in base R,
 * into released-as-copied blocks (see one_pass_result); so does a call
 * whose object changed between the passes (see raw_two_passes). Streams
 * run once (twice with a progress bar).
 *
 * Every pass runs under R_UnwindProtect, whose cleanup frees the one
 * thing Rust owns here, the stream (the unwind rule: lowmem.h).
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <stdio.h>
#include <string.h>

#include "lowmem_c.h"

/* A connection's chunk vector starts at this size if the chunk is larger,
   and doubles up to a chunk only as the stream fills it: a short stream
   with a huge chunk_size allocates only what it uses. */
#define LM_FIRST_CHUNK ((size_t) 1048576)

typedef struct r_call r_call;
struct r_call {
    const lm_args *a;
    Stream *stream;          /* owned; freed by cleanup() */
    R_pstream_format_t pass_type; /* the format of the pass quiet_pass() runs */
    int tolerant;            /* a stream that disagrees with its count sets `mismatch` */
    int mismatch;            /* ... instead of raising an internal error */
    lm_output *out;          /* a stream's: a chunk stream drained into out->con,
                                progress; NULL otherwise */
    lm_clock clock;
    /* A quiet pass handed to R (quiet_pass): the pass is due, and the call
       below it among those with a pass handed to R (see lowmem_write_pass). */
    int pass_due;
    r_call *below;
};

/* ---- stream callbacks -------------------------------------------------- */

static int draining(r_call *c)
{
    return c->out != NULL && c->out->con != R_NilValue;
}

/* A chunk stream's buffer is full short of a chunk: moves it into a
   vector twice as long (at most a chunk). */
static void grow_chunk_vec(r_call *c)
{
    lm_output *out = c->out;
    size_t have = (size_t) XLENGTH(out->chunk_vec);
    if (have >= out->chunk) lm_raise(LM_KIND_INTERNAL, "internal error: the chunk buffer is full");
    size_t want = have >= out->chunk / 2 ? out->chunk : 2 * have;
    SEXP bigger = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) want));
    if (lowmem_stream_chunks_move(c->stream, RAW(bigger), want) != LM_DONE) lm_raise_stream(c->stream);
    lm_output_use_vec(out, bigger);
    UNPROTECT(1);
}

/* Writes out what the chunk stream holds, if due (or all of it if last). */
static void drain_chunks(r_call *c, int last)
{
    const unsigned char *p = NULL;
    size_t n;
    while ((n = lowmem_stream_pending(c->stream, last, &p)) > 0) {
        lm_output_write(c->out, p, n);
        lowmem_stream_clear(c->stream);
    }
}

static void out_bytes(R_outpstream_t stream, void *buf, int n)
{
    r_call *c = (r_call *) stream->data;
    if (draining(c)) {
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
    } else if (lowmem_stream_write(c->stream, (const unsigned char *) buf, n) != LM_DONE) {
        if (c->tolerant) c->mismatch = 1;
        else lm_raise_stream(c->stream); /* stop at the first failure */
    }
    lm_check_interrupts_after(&c->clock, (size_t) n);
    if (c->out != NULL) lm_output_progress(c->out, lowmem_stream_bytes(c->stream));
}

static void out_char(R_outpstream_t stream, int ch)
{
    unsigned char byte = (unsigned char) ch;
    out_bytes(stream, &byte, 1);
}

/* As base R's CallHook: evaluates fun(x) in the global environment. */
static SEXP call_hook(SEXP x, SEXP fun)
{
    SEXP call = PROTECT(Rf_lcons(fun, Rf_lcons(x, R_NilValue)));
    SEXP val = Rf_eval(call, R_GlobalEnv);
    UNPROTECT(1);
    return val;
}

/* ---- passes ------------------------------------------------------------ */

static void run_pass(r_call *c, R_pstream_format_t type)
{
    struct R_outpstream_st out;
    int has_hook = c->a->refhook != R_NilValue;
    R_InitOutPStream(&out, (R_pstream_data_t) c, type, c->a->version,
                     out_char, out_bytes, has_hook ? call_hook : NULL, c->a->refhook);
    R_Serialize(c->a->object, &out);
    if (lowmem_stream_finish(c->stream) != LM_DONE) {
        if (c->tolerant) c->mismatch = 1;
        else lm_raise_stream(c->stream);
    }
}

/* When R's serializer runs more than once for one call, only one of its
   passes may give the serializer's own warnings (e.g. "'package:x' may
   not be available when loading"), so that they come once, as in base R;
   the others run with warnings muffled. Muffling needs a calling handler,
   which only R code can establish, so C calls
   lowmem:::write_pass_quietly(<the call>), which comes back through
   .Call(lowmem_write_pass) to run the pass in c->pass_type.

   The external pointer handed to R code points to a call on C's stack, so
   lowmem_write_pass trusts nothing R hands it: the pointer must carry the
   tag of these pointers (a symbol of lowmem's, compared by identity), and
   its address must be a call whose pass is due, found among the calls
   that handed a pass to R and have not returned (`handed`, a stack: quiet
   passes nest only through R code that a pass runs, such as a refhook
   that serializes). A pointer kept by R code after its pass, one of
   another kind, or one made elsewhere is an argument error, never
   dereferenced. */
static r_call *handed = NULL;

static SEXP pass_tag(void)
{
    static SEXP tag = NULL;
    if (tag == NULL) tag = Rf_install("lowmem_serializer_pass");
    return tag;
}

/* Takes c off the stack of calls that handed a pass to R (with any call
   above it, which an unwind has ended already). */
static void unhand(r_call *c)
{
    for (r_call *p = handed; p != NULL; p = p->below) {
        if (p == c) {
            handed = c->below;
            break;
        }
    }
    c->pass_due = 0;
    c->below = NULL;
}

SEXP lowmem_write_pass(SEXP call_ptr)
{
    r_call *c = NULL;
    if (TYPEOF(call_ptr) == EXTPTRSXP && R_ExternalPtrTag(call_ptr) == pass_tag()) {
        void *addr = R_ExternalPtrAddr(call_ptr);
        for (r_call *p = handed; p != NULL && c == NULL; p = p->below)
            if ((void *) p == addr && p->pass_due) c = p;
    }
    if (c == NULL)
        lm_raise(LM_KIND_ARGUMENT, "`call_ptr` must be the pass lowmem's serializer handed to R, while it is due");
    c->pass_due = 0; /* runs once */
    run_pass(c, c->pass_type);
    return R_NilValue;
}

static void quiet_pass(r_call *c, R_pstream_format_t type)
{
    c->pass_type = type;
    SEXP ptr = PROTECT(R_MakeExternalPtr(c, pass_tag(), R_NilValue));
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("lowmem"))));
    SEXP fun = PROTECT(Rf_findFun(Rf_install("write_pass_quietly"), ns));
    SEXP call = PROTECT(Rf_lang2(fun, ptr));
    c->below = handed;
    handed = c;
    c->pass_due = 1;
    Rf_eval(call, ns); /* on a jump, cleanup() takes c off the stack */
    unhand(c);
    R_ClearExternalPtr(ptr);
    UNPROTECT(5);
}

static void pass(r_call *c, R_pstream_format_t type, int quiet)
{
    if (quiet) quiet_pass(c, type);
    else run_pass(c, type);
}

/* The counting pass, quiet or not (see quiet_pass). XDR is counted in
   native binary: the same byte count, but R hands over pointers into the
   vectors instead of encoding them. */
static double count_pass(r_call *c, int quiet)
{
    R_pstream_format_t type = c->a->type == R_pstream_xdr_format ? R_pstream_binary_format : c->a->type;
    lm_output *out = c->out;
    c->out = NULL; /* no progress reports while counting */
    c->stream = lowmem_stream_count_new();
    pass(c, type, quiet);
    double n = lowmem_stream_bytes(c->stream);
    lowmem_stream_free(c->stream);
    c->stream = NULL;
    c->out = out;
    return n;
}

static void check_size(double n)
{
    if (n > (double) R_XLEN_T_MAX)
        lm_raise(LM_KIND_SIZE, "the serialized object is larger than the longest raw vector R can allocate");
}

/* One pass of R's serializer into blocks that are released as they are
   moved into the exactly-sized result (peak: the output plus one block):
   what R writes once, whatever R code runs during the pass. */
static SEXP one_pass_result(r_call *c, int quiet)
{
    c->stream = lowmem_stream_blocks_new();
    pass(c, c->a->type, quiet);
    double n = lowmem_stream_bytes(c->stream);
    check_size(n);
    SEXP result = PROTECT(lm_result_alloc((R_xlen_t) n));
    if (lowmem_stream_blocks_move(c->stream, RAW(result), (size_t) n) != LM_DONE)
        lm_raise_stream(c->stream);
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
static SEXP raw_two_passes(r_call *c)
{
    double n = count_pass(c, 0);
    check_size(n);
    SEXP result = PROTECT(lm_result_alloc((R_xlen_t) n));
    c->stream = lowmem_stream_slice_new(RAW(result), (size_t) n);
    c->tolerant = 1;
    quiet_pass(c, c->a->type);
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
static SEXP raw_body(void *data)
{
    r_call *c = (r_call *) data;
    if (c->a->refhook != R_NilValue) return one_pass_result(c, 0);
    return raw_two_passes(c);
}

static SEXP size_body(void *data)
{
    return Rf_ScalarReal(count_pass((r_call *) data, 0));
}

/* ---- streaming --------------------------------------------------------- */

typedef struct {
    r_call *c;
    const lm_dest *d;
} stream_call;

/* Streams the object to a connection, a file or a hash in one pass (two with a
   progress bar: its total comes from a counting pass; the entry points
   give none with a refhook, which must run once, in the pass that
   writes). */
static SEXP stream_body(void *data)
{
    stream_call *s = (stream_call *) data;
    r_call *c = s->c;
    lm_output *out = c->out;
    if (out->progress != R_NilValue) {
        /* Quiet: the writing pass below gives the serializer's warnings. */
        out->total = count_pass(c, 1);
        out->next_report = 0;
    }
    if (s->d->path) {
        c->stream = lowmem_stream_file_new(s->d->path, s->d->codec, s->d->level, s->d->chunk);
    } else if (s->d->digest) {
        c->stream = lowmem_stream_digest_new(s->d->digest);
    } else {
        size_t first = out->chunk < LM_FIRST_CHUNK ? out->chunk : LM_FIRST_CHUNK;
        lm_output_reserve(out);
        lm_output_use_vec(out, Rf_allocVector(RAWSXP, (R_xlen_t) first));
        c->stream = lowmem_stream_chunks_new(RAW(out->chunk_vec), first, out->chunk);
    }
    lm_raise_stream(c->stream); /* e.g. the file could not be created */
    run_pass(c, c->a->type);
    if (draining(c)) drain_chunks(c, 1);
    lm_output_done(out, lowmem_stream_bytes(c->stream));
    if (!s->d->path && !s->d->digest) UNPROTECT(2); /* chunk_vec, write_call */
    return R_NilValue;
}

static void cleanup(void *data, Rboolean jump)
{
    r_call *c = (r_call *) data;
    unhand(c);
    lowmem_stream_free(c->stream);
    c->stream = NULL;
}

static SEXP run(r_call *c, SEXP (*body)(void *), void *data)
{
    SEXP token = PROTECT(R_MakeUnwindCont());
    SEXP result = R_UnwindProtect(body, data, cleanup, c, token);
    UNPROTECT(1);
    return result;
}

SEXP lm_r_raw(const lm_args *a)
{
    r_call c = {a, NULL, R_pstream_any_format, 0, 0, NULL, {0, 0}, 0, NULL};
    return run(&c, raw_body, &c);
}

SEXP lm_r_size(const lm_args *a)
{
    r_call c = {a, NULL, R_pstream_any_format, 0, 0, NULL, {0, 0}, 0, NULL};
    return run(&c, size_body, &c);
}

void lm_r_stream(const lm_args *a, const lm_dest *d, lm_output *out)
{
    r_call c = {a, NULL, R_pstream_any_format, 0, 0, out, {0, 0}, 0, NULL};
    stream_call s = {&c, d};
    run(&c, stream_body, &s);
}
