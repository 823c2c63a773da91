/*
 * Memory tracking: R's side of the Rust sampler and /proc readers.
 *
 * The sampler thread lives in Rust and never calls R. Its handle is owned by
 * an R external pointer whose finalizer stops, joins and frees it, so even a
 * handle the R code loses (an error before its on.exit() is set) cannot leave
 * a thread running. The normal path, lowmem_timeline_stop(), frees it at once
 * and clears the pointer, so the finalizer then has nothing to do.
 *
 * Errors: the Rust calls return a status and a message; the R condition is
 * raised here, after they have returned (lm_abort, src/serialize.c).
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <unistd.h>

#include "lowmem_c.h"
#include "mem.h"

#define LM_MSG_SIZE 1024

/* ---- /proc/self/status ------------------------------------------------- */

static SEXP status_vector(const double *values)
{
    SEXP out = PROTECT(Rf_allocVector(REALSXP, 3));
    SEXP names = PROTECT(Rf_allocVector(STRSXP, 3));
    const char *keys[] = {"rss", "hwm", "threads"};
    for (int i = 0; i < 3; i++) {
        REAL(out)[i] = values[i];
        SET_STRING_ELT(names, i, Rf_mkChar(keys[i]));
    }
    Rf_setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(2);
    return out;
}

SEXP lowmem_rss_status(void)
{
    double values[3];
    char msg[LM_MSG_SIZE] = "";
    if (lowmem_mem_status(values, msg, sizeof msg) != 0)
        lm_abort("lowmem_error_unsupported", msg);
    return status_vector(values);
}

SEXP lowmem_rss_reset_peak(void)
{
    double values[3];
    char msg[LM_MSG_SIZE] = "";
    if (lowmem_mem_reset_peak(values, msg, sizeof msg) != 0)
        lm_abort("lowmem_error_unsupported", msg);
    return status_vector(values);
}

/* ---- the sampler --------------------------------------------------------- */

static SEXP sampler_tag(void)
{
    return Rf_install("lowmem_sampler");
}

static void sampler_finalize(SEXP handle)
{
    MemSampler *sampler = (MemSampler *) R_ExternalPtrAddr(handle);
    R_ClearExternalPtr(handle);
    lowmem_sampler_free(sampler);
}

static double page_size(void)
{
    long size = sysconf(_SC_PAGESIZE);
    return size > 0 ? (double) size : 4096.0;
}

SEXP lowmem_timeline_start(SEXP interval, SEXP max_rows)
{
    /* The pointer and its finalizer exist before the thread does. */
    SEXP handle = PROTECT(R_MakeExternalPtr(NULL, sampler_tag(), R_NilValue));
    R_RegisterCFinalizerEx(handle, sampler_finalize, TRUE);
    char msg[LM_MSG_SIZE] = "";
    int kind = 0;
    MemSampler *sampler = lowmem_sampler_start(Rf_asReal(interval), page_size(),
                                               Rf_asReal(max_rows), msg, sizeof msg, &kind);
    if (sampler == NULL)
        lm_abort(kind == 1 ? "lowmem_error_argument"
                 : kind == 3 ? "lowmem_error_memory" : "lowmem_error_unsupported", msg);
    R_SetExternalPtrAddr(handle, sampler);
    UNPROTECT(1);
    return handle;
}

/* list(time, rss, stride), or NULL if the sampler was already stopped. */
SEXP lowmem_timeline_stop(SEXP handle)
{
    if (TYPEOF(handle) != EXTPTRSXP || R_ExternalPtrTag(handle) != sampler_tag())
        Rf_error("not a lowmem sampler handle");
    MemSampler *sampler = (MemSampler *) R_ExternalPtrAddr(handle);
    if (sampler == NULL) return R_NilValue;

    double rows = lowmem_sampler_stop(sampler);
    if (rows < 0) {
        char msg[LM_MSG_SIZE] = "the sampler failed";
        lowmem_sampler_message(sampler, msg, sizeof msg);
        sampler_finalize(handle);
        lm_abort("lowmem_error_io", msg);
    }
    /* If an allocation fails here, the handle is still the pointer's and
       its finalizer frees it. */
    R_xlen_t n = (R_xlen_t) rows;
    SEXP out = PROTECT(Rf_allocVector(VECSXP, 3));
    SEXP names = PROTECT(Rf_allocVector(STRSXP, 3));
    SET_STRING_ELT(names, 0, Rf_mkChar("time"));
    SET_STRING_ELT(names, 1, Rf_mkChar("rss"));
    SET_STRING_ELT(names, 2, Rf_mkChar("stride"));
    Rf_setAttrib(out, R_NamesSymbol, names);
    SET_VECTOR_ELT(out, 0, Rf_allocVector(REALSXP, n));
    SET_VECTOR_ELT(out, 1, Rf_allocVector(REALSXP, n));
    double stride = lowmem_sampler_copy(sampler, REAL(VECTOR_ELT(out, 0)),
                                        REAL(VECTOR_ELT(out, 1)), (size_t) n);
    SET_VECTOR_ELT(out, 2, Rf_ScalarReal(stride));
    sampler_finalize(handle);
    UNPROTECT(2);
    return out;
}
