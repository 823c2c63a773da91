/*
 * Driving R's own serializer into Rust sinks.
 *
 * serialize(x, NULL) runs R_Serialize twice through R's public stream API
 * (Rinternals.h): a counting pass, then a writing pass whose OutBytes copies
 * into the result raw vector, allocated once at its exact final size. The
 * bytes are R's own, so they are identical to base::serialize's by
 * construction.
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
#include <string.h>

#include "lowmem.h"
#include "lowmem_c.h"

/* How many bytes may pass between two interrupt checks (R 4.2 does not
   check interrupts inside R_Serialize; newer R versions do). */
#define LM_INTERRUPT_EVERY (16 * 1024 * 1024)

typedef struct {
    SEXP object;
    R_pstream_format_t type; /* the format asked for */
    int version;             /* 0 = R's default */
    SEXP hook_state;         /* R_NilValue, or see make_hook_state() */
    Stream *stream;          /* owned; freed by call_cleanup() */
    double since_check;      /* bytes since the last interrupt check */
} lm_call;

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
    if (lowmem_stream_message(stream, msg, sizeof msg))
        lm_abort("lowmem_error_internal", msg);
}

/* ---- stream callbacks -------------------------------------------------- */

static void out_bytes(R_outpstream_t out, void *buf, int n)
{
    lm_call *c = (lm_call *) out->data;
    if (lowmem_stream_write(c->stream, (const unsigned char *) buf, n) != 0)
        check_stream(c->stream); /* stop at the first failure */
    c->since_check += n;
    if (c->since_check >= LM_INTERRUPT_EVERY) {
        c->since_check = 0;
        R_CheckUserInterrupt(); /* also enforces setTimeLimit() */
    }
}

static void out_char(R_outpstream_t out, int ch)
{
    unsigned char byte = (unsigned char) ch;
    out_bytes(out, &byte, 1);
}

/* ---- the refhook: called in the first pass, replayed in the second ----- */

/* A list(fun, head, cursor): head is a sentinel cell of a pairlist of the
   hook's answers; cursor is the last cell appended (recording) or read
   (replaying). */
static SEXP make_hook_state(SEXP fun)
{
    if (fun == R_NilValue) return R_NilValue;
    SEXP state = PROTECT(Rf_allocVector(VECSXP, 3));
    SEXP head = Rf_cons(R_NilValue, R_NilValue);
    SET_VECTOR_ELT(state, 0, fun);
    SET_VECTOR_ELT(state, 1, head);
    SET_VECTOR_ELT(state, 2, head);
    UNPROTECT(1);
    return state;
}

/* As base R's CallHook: evaluates fun(x) in the global environment. */
static SEXP hook_record(SEXP x, SEXP state)
{
    SEXP call = PROTECT(Rf_lcons(VECTOR_ELT(state, 0), Rf_lcons(x, R_NilValue)));
    SEXP val = PROTECT(Rf_eval(call, R_GlobalEnv));
    SEXP cell = Rf_cons(val, R_NilValue);
    SETCDR(VECTOR_ELT(state, 2), cell);
    SET_VECTOR_ELT(state, 2, cell);
    UNPROTECT(2);
    return val;
}

static SEXP hook_replay(SEXP x, SEXP state)
{
    SEXP next = CDR(VECTOR_ELT(state, 2));
    if (next == R_NilValue)
        lm_abort("lowmem_error_internal",
                 "internal error: the refhook was asked more often in the writing pass than in the counting pass");
    SET_VECTOR_ELT(state, 2, next);
    return CAR(next);
}

static void hook_rewind(SEXP state)
{
    if (state != R_NilValue) SET_VECTOR_ELT(state, 2, VECTOR_ELT(state, 1));
}

static void hook_check_consumed(SEXP state)
{
    if (state != R_NilValue && CDR(VECTOR_ELT(state, 2)) != R_NilValue)
        lm_abort("lowmem_error_internal",
                 "internal error: the refhook was asked less often in the writing pass than in the counting pass");
}

/* ---- passes ------------------------------------------------------------ */

static void run_pass(lm_call *c, R_pstream_format_t type, SEXP (*hook)(SEXP, SEXP))
{
    struct R_outpstream_st out;
    int has_hook = c->hook_state != R_NilValue;
    R_InitOutPStream(&out, (R_pstream_data_t) c, type, c->version,
                     out_char, out_bytes, has_hook ? hook : NULL,
                     has_hook ? c->hook_state : R_NilValue);
    R_Serialize(c->object, &out);
    if (lowmem_stream_finish(c->stream) != 0) check_stream(c->stream);
}

/* The counting pass. XDR is counted in native binary: the same byte count,
   but R hands over pointers into the vectors instead of encoding them. */
static double count_pass(lm_call *c)
{
    R_pstream_format_t type =
        c->type == R_pstream_xdr_format ? R_pstream_binary_format : c->type;
    c->stream = lowmem_stream_count_new();
    run_pass(c, type, hook_record);
    double n = lowmem_stream_bytes(c->stream);
    lowmem_stream_free(c->stream);
    c->stream = NULL;
    return n;
}

static SEXP size_body(void *data)
{
    lm_call *c = (lm_call *) data;
    /* Plain data: sized by the native writer (native.c), O(nodes). */
    SEXP native = lm_native_size(c->object, c->type, c->version, c->hook_state != R_NilValue);
    if (native != NULL) return native;
    return Rf_ScalarReal(count_pass(c));
}

static SEXP raw_body(void *data)
{
    lm_call *c = (lm_call *) data;
    /* Plain data: written by the native writer (native.c). */
    SEXP native = lm_native_raw(c->object, c->type, c->version, c->hook_state != R_NilValue);
    if (native != NULL) return native;
    double n = count_pass(c);
    if (n > (double) R_XLEN_T_MAX)
        lm_abort("lowmem_error_size", "the serialized object is larger than the longest raw vector R can allocate");
    SEXP result = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) n));
    c->stream = lowmem_stream_slice_new(RAW(result), (size_t) n);
    c->since_check = 0;
    hook_rewind(c->hook_state);
    run_pass(c, c->type, hook_replay);
    hook_check_consumed(c->hook_state);
    UNPROTECT(1);
    return result;
}

static void call_cleanup(void *data, Rboolean jump)
{
    lm_call *c = (lm_call *) data;
    lowmem_stream_free(c->stream);
    c->stream = NULL;
}

/* ---- arguments --------------------------------------------------------- */

/* The format code computed by the R wrapper, exactly as base::serialize. */
static R_pstream_format_t format_of(SEXP type)
{
    switch (Rf_asInteger(type)) {
    case 1: return R_pstream_ascii_format;
    case 2: return R_pstream_asciihex_format;
    case 3: return R_pstream_binary_format;
    default: return R_pstream_xdr_format;
    }
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

static SEXP run(SEXP object, SEXP type, SEXP version, SEXP refhook,
                SEXP (*body)(void *))
{
    lm_call c = {object, format_of(type), version_of(version), R_NilValue, NULL, 0};
    c.hook_state = PROTECT(make_hook_state(refhook));
    SEXP token = PROTECT(R_MakeUnwindCont());
    SEXP result = R_UnwindProtect(body, &c, call_cleanup, &c, token);
    UNPROTECT(2);
    return result;
}

SEXP lowmem_serialize_raw(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    return run(object, type, version, refhook, raw_body);
}

SEXP lowmem_serialized_size(SEXP object, SEXP type, SEXP version, SEXP refhook)
{
    return run(object, type, version, refhook, size_body);
}
