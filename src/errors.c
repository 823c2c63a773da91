/*
 * Errors: every lowmem condition is raised here, from an error kind of
 * src/lowmem.h (the unwind rule there says when: once no Rust frame is
 * below), by lowmem:::abort_from_c() (R/errors.R), which gives it class
 * c(<the kind's class>, "lowmem_error", "error", "condition").
 */
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <string.h>

#include "lowmem_c.h"

static const char *class_of(lm_error_kind kind)
{
    switch (kind) {
    case LM_KIND_IO: return "lowmem_error_io";
    case LM_KIND_MEMORY: return "lowmem_error_memory";
    case LM_KIND_ARGUMENT: return "lowmem_error_argument";
    case LM_KIND_SIZE: return "lowmem_error_size";
    case LM_KIND_UNSUPPORTED: return "lowmem_error_unsupported";
    default: return "lowmem_error_internal";
    }
}

void lm_abort(const char *klass, const char *msg)
{
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("lowmem"))));
    SEXP fun = PROTECT(Rf_findFun(Rf_install("abort_from_c"), ns));
    SEXP call = PROTECT(Rf_lang3(fun, PROTECT(Rf_mkString(msg)),
                                 PROTECT(Rf_mkString(klass))));
    Rf_eval(call, ns);
    UNPROTECT(6); /* not reached */
    Rf_error("%s", msg);
}

void lm_raise(lm_error_kind kind, const char *msg)
{
    lm_abort(class_of(kind), msg);
}

void lm_raise_stream(Stream *stream)
{
    char msg[1024];
    lm_error_kind kind = lowmem_stream_message(stream, msg, sizeof msg);
    if (kind != LM_KIND_NONE) lm_raise(kind, msg);
}

void lm_raise_job(NativeJob *job, const char *what)
{
    char msg[1024], detail[768];
    lm_error_kind kind = lowmem_native_message(job, detail, sizeof detail);
    if (detail[0] == '\0') strcpy(detail, "unknown error");
    if (kind == LM_KIND_IO || kind == LM_KIND_MEMORY) lm_raise(kind, detail);
    snprintf(msg, sizeof msg, "internal error in the native writer (%s): %s", what, detail);
    lm_raise(LM_KIND_INTERNAL, msg);
}
