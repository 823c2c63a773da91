/* Memory tracking: the C ABI of the Rust module
   src/rust/src/mem/ffi.rs, and the .Call entry points of src/mem.c. */
#ifndef LOWMEM_MEM_H
#define LOWMEM_MEM_H

#include <stddef.h>
#include <Rinternals.h>

/* ---- Rust ------------------------------------------------------------- */

typedef struct MemSampler MemSampler;

/* /proc/self/status: out[0] = VmRSS, out[1] = VmHWM (bytes), out[2] = Threads.
   0 on success; -1 with a NUL-terminated message in msg. */
int lowmem_mem_status(double *out, char *msg, size_t size);
/* Resets VmHWM (/proc/self/clear_refs) and checks it; out as above, read
   right after the reset. */
int lowmem_mem_reset_peak(double *out, char *msg, size_t size);

/* Starts the sampler thread (first sample taken at once); NULL with a
   message on failure, and in *kind its class: 1 a bad argument, 3 memory
   not had, 0 not supported here. The handle is freed with
   lowmem_sampler_free(). */
MemSampler *lowmem_sampler_start(double interval, double page_size,
                                 double max_rows, char *msg, size_t size, int *kind);
/* Stops and joins the thread, takes the last sample: the number of rows,
   or -1 (message from lowmem_sampler_message). Idempotent. */
double lowmem_sampler_stop(MemSampler *sampler);
/* Copies n rows after stop; returns the samples per row, or -1. */
double lowmem_sampler_copy(MemSampler *sampler, double *time, double *rss, size_t n);
int lowmem_sampler_message(MemSampler *sampler, char *out, size_t size);
/* Stops and joins the thread if needed, then frees (NULL is ignored). */
void lowmem_sampler_free(MemSampler *sampler);

/* ---- .Call entry points (src/mem.c) ------------------------------------ */

SEXP lowmem_rss_status(void);
SEXP lowmem_rss_reset_peak(void);
SEXP lowmem_timeline_start(SEXP interval, SEXP max_rows);
SEXP lowmem_timeline_stop(SEXP handle);

#endif
