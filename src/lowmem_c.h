/*
 * What the package's C files share. Each file has one concern, and the
 * dependencies run one way: entrypoint.c -> native.c, serialize.c ->
 * output.c -> errors.c (result.c beside them).
 */
#ifndef LOWMEM_C_H
#define LOWMEM_C_H

#include <Rinternals.h>
#include <R_ext/Rdynload.h>

#include "lowmem.h"

/* ---- errors.c ------------------------------------------------------------ */

/* Raise an R condition of class c(<class of kind>, "lowmem_error", "error",
   "condition") with `msg`; never return. */
NORET void lm_raise(lm_error_kind kind, const char *msg);
/* The same with the class by name. */
NORET void lm_abort(const char *klass, const char *msg);
/* Raise the stream's error, if it has one. */
void lm_raise_stream(Stream *stream);
/* Raise the job's error: of its kind if I/O or memory, else an internal
   error of the step `what`. */
NORET void lm_raise_job(NativeJob *job, const char *what);

/* lm_format is R_pstream_format_t, value for value (a negative array size
   fails the build): R/args.R computes the code once, C checks it and
   passes it on unchanged. 0 (R_pstream_any_format) is R's default, XDR. */
typedef char lm_format_is_R_s[(LM_FORMAT_ASCII == (int) R_pstream_ascii_format &&
                               LM_FORMAT_BINARY == (int) R_pstream_binary_format &&
                               LM_FORMAT_XDR == (int) R_pstream_xdr_format &&
                               LM_FORMAT_ASCIIHEX == (int) R_pstream_asciihex_format) ? 1 : -1];

static inline R_pstream_format_t lm_format_of(SEXP type)
{
    int code = Rf_asInteger(type);
    if (code == (int) R_pstream_any_format) return R_pstream_xdr_format; /* R's default */
    if (code < LM_FORMAT_ASCII || code > LM_FORMAT_ASCIIHEX)
        lm_raise(LM_KIND_INTERNAL, "internal error: unknown format code");
    return (R_pstream_format_t) code;
}

/* ---- testhook.c --------------------------------------------------------- */

/* The interrupt test hook: 1 when it has just raised SIGINT, then the
   caller must let R check for interrupts at once. */
int lm_test_interrupt_due(void);
SEXP lowmem_test_interrupt_at(SEXP n);

/* ---- what a call serializes (entrypoint.c) ----------------------------- */

typedef struct {
    SEXP object;
    R_pstream_format_t type;
    int version; /* 0 = R's default */
    SEXP refhook; /* R_NilValue, or the user's refhook */
} lm_args;

/* Where a streaming call writes: a file (path non-NULL), a hash (digest
   non-NULL), or the output's connection. */
typedef struct {
    const char *path;
    int codec, level; /* as lowmem_stream_file_new's */
    size_t chunk;
    DigestStream *digest; /* digest(): the hash (no path, no connection) */
} lm_dest;

/* ---- output.c: what a call does with R while it writes ------------------ */

/* Interrupt checks by the clock (see output.c). */
typedef struct {
    double checked_at;  /* when R last checked */
    double since_check; /* bytes since the clock was last read */
} lm_clock;
/* Let R check for interrupts and time limits if due. May jump. */
void lm_check_interrupts(lm_clock *clock);
/* The same, reading the clock only every so many bytes (R's serializer
   hands over many pieces of a few bytes). */
void lm_check_interrupts_after(lm_clock *clock, size_t bytes);

/* A streaming call's R side: the connection it writes to (R_NilValue for a
   file), in chunks through an R call, and its progress reports. */
typedef struct {
    SEXP con;
    int con_text;   /* a text-mode connection */
    size_t chunk;
    SEXP chunk_vec; /* the chunk buffer: a raw vector of up to `chunk` bytes */
    SEXP write_call; /* lowmem:::write_chunk(chunk_vec, con, text) */
    PROTECT_INDEX chunk_ipx, call_ipx;
    SEXP progress;  /* R_NilValue, or function(done, total) */
    double total, next_report;
} lm_output;
/* Reserves the protect-stack slots of the chunk vector and the write call
   (two PROTECTs, released by the caller). */
void lm_output_reserve(lm_output *out);
/* Makes v the chunk vector. */
void lm_output_use_vec(lm_output *out, SEXP v);
/* Writes n bytes at p to the connection; may jump. */
void lm_output_write(lm_output *out, const unsigned char *p, size_t n);
/* Reports `done` bytes of `total` if a hundredth (at least 1 MiB) passed. */
void lm_output_progress(lm_output *out, double done);
/* The last report, whose failure is ignored. */
void lm_output_done(lm_output *out, double done);

/* The writer a streaming call chose, noted before it writes, for
   lowmem:::last_stream_path(). */
void lm_note_path(int native, const char *reason);
SEXP lowmem_last_stream_path(void);

/* ---- serialize.c: R's serializer --------------------------------------- */

SEXP lm_r_raw(const lm_args *a);
SEXP lm_r_size(const lm_args *a);
void lm_r_stream(const lm_args *a, const lm_dest *d, lm_output *out);
SEXP lowmem_write_pass(SEXP call_ptr);

/* ---- native.c: the native writer ---------------------------------------- */

/* The result, or NULL if the native writer does not cover the object. */
SEXP lm_native_raw(const lm_args *a);
SEXP lm_native_size(const lm_args *a);
/* One step of a job's pass (lowmem_native_step). First it makes sure R's
   protect stack has room for the three objects R_mapAttrib protects while
   the step reads attributes (src/rust/src/rapi.rs): should it be full, the
   error is raised here, in C, never from under the step's Rust frames. */
lm_status lm_native_step(NativeJob *job, size_t budget, double *bytes);
/* 1 if the object was streamed, 0 with the reason if it is left to R's
   writer (nothing was written). */
int lm_native_stream(const lm_args *a, const lm_dest *d, lm_output *out, char *reason, size_t size);
SEXP lowmem_serialize_path(SEXP object, SEXP type, SEXP version, SEXP refhook);
SEXP lowmem_native_probe(SEXP object, SEXP type, SEXP version);
SEXP lowmem_session_configure(SEXP writes_growable, SEXP reason);
SEXP lowmem_bench_floor(SEXP x, SEXP size);

/* ---- result.c: the result vector ---------------------------------------- */

/* An exactly-sized raw vector; large ones are ALTREP vectors over lowmem's
   own memory map. */
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

/* ---- entrypoint.c -------------------------------------------------------- */

SEXP lowmem_serialize_raw(SEXP object, SEXP type, SEXP version, SEXP refhook);
SEXP lowmem_serialized_size(SEXP object, SEXP type, SEXP version, SEXP refhook);
SEXP lowmem_serialize_conn(SEXP object, SEXP con, SEXP text, SEXP type, SEXP version,
                           SEXP refhook, SEXP chunk_size, SEXP progress);
SEXP lowmem_serialize_file(SEXP object, SEXP path, SEXP codec, SEXP level,
                           SEXP type, SEXP version, SEXP refhook,
                           SEXP chunk_size, SEXP progress);

#endif
