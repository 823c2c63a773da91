/* Entry points and helpers shared by the package's C files. */
#ifndef LOWMEM_C_H
#define LOWMEM_C_H

#include <Rinternals.h>
#include <R_ext/Rdynload.h>

/* The stream format of a format code computed by the R wrappers (R/args.R,
   exactly as base::serialize): 0 XDR, 1 ASCII, 2 ASCII with hex doubles,
   3 native binary. */
static inline R_pstream_format_t lm_format(int code)
{
    switch (code) {
    case 1: return R_pstream_ascii_format;
    case 2: return R_pstream_asciihex_format;
    case 3: return R_pstream_binary_format;
    default: return R_pstream_xdr_format;
    }
}

/* Raises an R condition of class c(klass, "lowmem_error", "error", "condition"). */
void lm_abort(const char *klass, const char *msg);

/* The result vector (result.c): an exactly-sized raw vector; large ones are
   ALTREP vectors over lowmem's own memory map. */
void lm_result_init(DllInfo *dll);
/* Runs lowmem's garbage collection if due; called before a result's first
   pass, so that the finalizers it runs cannot change the object between
   the passes. */
void lm_result_prepare(void);
SEXP lm_result_alloc(R_xlen_t n);
int lm_result_is_own(SEXP x);
/* Unmaps a result nobody will use (a writing pass that found the object
   changed): its memory goes at once, not when R collects it. */
void lm_result_discard(SEXP x);
SEXP lowmem_result_info(SEXP x);
SEXP lowmem_result_test_collect(SEXP when);

/* The interrupt test hook (testhook.c): 1 when it has just raised SIGINT,
   then the caller must let R check for interrupts at once. */
int lm_test_interrupt_due(void);
SEXP lowmem_test_interrupt_at(SEXP n);

SEXP lowmem_serialize_raw(SEXP object, SEXP type, SEXP version, SEXP refhook);
SEXP lowmem_serialized_size(SEXP object, SEXP type, SEXP version, SEXP refhook);
SEXP lowmem_write_pass(SEXP call_ptr);
SEXP lowmem_serialize_conn(SEXP object, SEXP con, SEXP text, SEXP type, SEXP version,
                           SEXP refhook, SEXP chunk_size, SEXP progress);
SEXP lowmem_serialize_file(SEXP object, SEXP path, SEXP codec, SEXP level,
                           SEXP type, SEXP version, SEXP refhook,
                           SEXP chunk_size, SEXP progress);

/* The native writer (native.c): the result, or NULL if it does not cover
   the object (then R's writer is used). */
SEXP lm_native_raw(SEXP object, R_pstream_format_t type, int version, int has_hook);
SEXP lm_native_size(SEXP object, R_pstream_format_t type, int version, int has_hook);
SEXP lowmem_serialize_path(SEXP object, SEXP type, SEXP version, SEXP refhook);
/* A job for streaming `object` (kept protected by the caller) with the
   native writer, or NULL with the reason in `reason` (serialize.c). */
struct Job;
struct Job *lm_native_job(SEXP object, int version, char *reason, size_t size);
/* One step of the job's pass (lowmem_native_step). First it makes sure R's
   protect stack has room for the three objects R_mapAttrib protects while
   the step reads attributes (src/rust/src/rapi.rs): should it be full, the
   error is raised here, in C, never from under the step's Rust frames. */
int lm_native_step(struct Job *job, size_t budget);
/* The job's counting pass in `type`, checking for interrupts, and, where
   the session needs it, the tap (native.c; not for a binary size, which
   `size_only` says is all that is wanted): 1 if the native writer covers
   `object` (the job's), with the size in *bytes; 0 with the reason in
   `reason` if R's writer must write it. Raises the job's errors. */
int lm_native_count(struct Job *job, SEXP object, R_pstream_format_t type,
                    int size_only, double *bytes, char *reason, size_t size);
SEXP lowmem_last_stream_path(void);
/* The states the job's last finished pass must find alive in the next one
   (lowmem_native_pin), in a new list for the caller to protect. */
SEXP lm_native_pins(struct Job *job);
/* Raises the job's error (never returns): lowmem_error_io or
   lowmem_error_memory by its kind, else lowmem_error_internal naming the
   step `what`. */
void lm_native_raise(struct Job *job, const char *what);
SEXP lowmem_bench_floor(SEXP x, SEXP size);
/* The format probes' entry points (R/probe.R). */
SEXP lowmem_native_probe(SEXP object, SEXP type, SEXP version);
SEXP lowmem_session_configure(SEXP writes_growable, SEXP reason);
SEXP lowmem_native_status(void);
SEXP lowmem_tap_mode(SEXP mode);

#endif
