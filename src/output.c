/*
 * What a call does with R while it writes, for both writers (serialize.c,
 * native.c): interrupt checks by the clock, chunks written to an R
 * connection, progress reports. Everything here may jump: the callers run
 * it where no Rust frame is below (see the unwind rule in lowmem.h).
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <string.h>
#include <time.h>

#include "lowmem_c.h"

/* ---- interrupt checks ----------------------------------------------------- */

/* Interrupt checks go by time, not bytes: a stream runs at the speed of
   its slowest part (xz at level 9 takes about a second per MB; memory takes
   a millisecond). R looks at the clock for setTimeLimit() only at every
   sixth R_CheckUserInterrupt(), and at most every 50 ms
   (R_CheckTimeLimits): after 16 MB between checks, a time limit was
   honoured after 96 MB. So every LM_CHECK_SECONDS, R is asked
   LM_R_CHECKS times in a row, which honours an interrupt or a time limit
   within LM_CHECK_SECONDS plus the longest stretch without a chance to look
   at the clock: one piece of R's serializer (vectors come in pieces of at
   most 64 KB), one native step (LM_STEP_BYTES, native.c), or one chunk
   written to a connection, through whatever codec. (R 4.2 does not check
   interrupts inside R_Serialize; newer R versions do.) */
#define LM_CHECK_SECONDS 0.05
#define LM_R_CHECKS 6
/* R's serializer hands over many pieces of a few bytes: the clock is read
   once per LM_CLOCK_EVERY bytes (and at least once per large piece). */
#define LM_CLOCK_EVERY 4096

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

void lm_check_interrupts(lm_clock *clock)
{
    double t = now();
    int forced = lm_test_interrupt_due(); /* a test hook (testhook.c) */
    if (!forced && t - clock->checked_at < LM_CHECK_SECONDS) return;
    clock->checked_at = t;
    for (int i = 0; i < LM_R_CHECKS; i++)
        R_CheckUserInterrupt(); /* also enforces setTimeLimit() */
}

void lm_check_interrupts_after(lm_clock *clock, size_t bytes)
{
    clock->since_check += (double) bytes;
    if (clock->since_check >= LM_CLOCK_EVERY || bytes >= LM_CLOCK_EVERY / 4) {
        clock->since_check = 0;
        lm_check_interrupts(clock);
    }
}

/* ---- writes to a connection ----------------------------------------------- */

/* The call lowmem:::write_chunk(bytes, con, text), evaluated in lowmem's
   namespace: built once per chunk vector, so that a chunk costs R one call
   and no allocation of ours. */
static SEXP write_chunk_call(lm_output *out, SEXP bytes)
{
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("lowmem"))));
    SEXP fun = PROTECT(Rf_findFun(Rf_install("write_chunk"), ns));
    SEXP call = Rf_lang4(fun, bytes, out->con, PROTECT(Rf_ScalarLogical(out->con_text)));
    UNPROTECT(4);
    return call;
}

void lm_output_reserve(lm_output *out)
{
    out->chunk_vec = R_NilValue;
    out->write_call = R_NilValue;
    PROTECT_WITH_INDEX(out->chunk_vec, &out->chunk_ipx);
    PROTECT_WITH_INDEX(out->write_call, &out->call_ipx);
}

/* Both are kept at the slots lm_output_reserve() reserved; the old vector
   stays protected until v replaces it. */
void lm_output_use_vec(lm_output *out, SEXP v)
{
    PROTECT(v);
    SEXP call = PROTECT(write_chunk_call(out, v));
    REPROTECT(out->chunk_vec = v, out->chunk_ipx);
    REPROTECT(out->write_call = call, out->call_ipx);
    UNPROTECT(2);
}

/* lowmem:::write_chunk() (R/connection.R) calls writeBin() for binary-mode
   connections and cat() for text-mode ones, which take ASCII only
   (printable bytes and newlines), as text. Going through R keeps to R's
   API; with 1 MiB chunks it is one call per MiB. Full chunks go in the
   chunk vector (p may already be in it), allocated at the first full chunk
   if it is not yet a chunk long. */
void lm_output_write(lm_output *out, const unsigned char *p, size_t n)
{
    if (n < out->chunk) { /* the last, partial chunk */
        SEXP bytes = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t) n));
        memcpy(RAW(bytes), p, n);
        Rf_eval(PROTECT(write_chunk_call(out, bytes)), R_BaseEnv);
        UNPROTECT(2);
        return;
    }
    if (out->chunk_vec == R_NilValue || (size_t) XLENGTH(out->chunk_vec) != out->chunk)
        lm_output_use_vec(out, Rf_allocVector(RAWSXP, (R_xlen_t) out->chunk));
    if (p != RAW(out->chunk_vec)) memcpy(RAW(out->chunk_vec), p, n);
    Rf_eval(out->write_call, R_BaseEnv);
}

/* ---- progress --------------------------------------------------------------- */

static void report(lm_output *out, double done)
{
    SEXP call = PROTECT(Rf_lang3(out->progress, PROTECT(Rf_ScalarReal(done)),
                                 PROTECT(Rf_ScalarReal(out->total))));
    Rf_eval(call, R_GlobalEnv);
    UNPROTECT(3);
}

void lm_output_progress(lm_output *out, double done)
{
    if (out->progress == R_NilValue || done < out->next_report) return;
    out->next_report = done + (out->total / 100 > 1048576 ? out->total / 100 : 1048576);
    report(out, done);
}

typedef struct {
    lm_output *out;
    double done;
} final_report;

static void run_final_report(void *data)
{
    final_report *r = (final_report *) data;
    report(r->out, r->done);
}

/* The last report (100 %) comes once the stream is complete, the file
   already in place: an error or interrupt in the progress bar then must not
   turn a finished write into a failure, so it runs apart (R_ToplevelExec,
   which stops every jump) and its failure is ignored. */
void lm_output_done(lm_output *out, double done)
{
    if (out->progress == R_NilValue) return;
    final_report r = {out, done};
    (void) R_ToplevelExec(run_final_report, &r);
}

/* ---- which writer a stream took ------------------------------------------ */

/* The writer the last streaming call chose (before it wrote anything), for
   lowmem:::last_stream_path(). */
static char last_path[320] = "none";

void lm_note_path(int native, const char *reason)
{
    snprintf(last_path, sizeof last_path, "%s%s%s", native ? "native" : "universal",
             reason[0] ? ":" : "", reason);
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
