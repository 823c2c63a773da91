/* Registration of the package's native routines. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

#include "lowmem_c.h"

/* The entry points written with extendr (src/rust/src/entry.rs): the
   wrappers it generates, registered here under the names R calls. They go
   in this table because R keeps only one per package (the last
   R_registerRoutines call wins): extendr's own registration is not used. */
SEXP wrap__lowmem_rss_status(void);
SEXP wrap__lowmem_rss_reset_peak(void);
SEXP wrap__lowmem_timeline_start(SEXP interval, SEXP max_rows);
SEXP wrap__lowmem_timeline_stop(SEXP handle);
SEXP wrap__lowmem_native_status(void);
SEXP wrap__lowmem_tap_mode(SEXP mode);

static const R_CallMethodDef call_methods[] = {
    {"lowmem_serialize_raw", (DL_FUNC) &lowmem_serialize_raw, 4},
    {"lowmem_serialized_size", (DL_FUNC) &lowmem_serialized_size, 4},
    {"lowmem_write_pass", (DL_FUNC) &lowmem_write_pass, 1},
    {"lowmem_serialize_conn", (DL_FUNC) &lowmem_serialize_conn, 8},
    {"lowmem_serialize_file", (DL_FUNC) &lowmem_serialize_file, 9},
    {"lowmem_last_stream_path", (DL_FUNC) &lowmem_last_stream_path, 0},
    {"lowmem_rss_status", (DL_FUNC) &wrap__lowmem_rss_status, 0},
    {"lowmem_rss_reset_peak", (DL_FUNC) &wrap__lowmem_rss_reset_peak, 0},
    {"lowmem_timeline_start", (DL_FUNC) &wrap__lowmem_timeline_start, 2},
    {"lowmem_timeline_stop", (DL_FUNC) &wrap__lowmem_timeline_stop, 1},
    {"lowmem_serialize_path", (DL_FUNC) &lowmem_serialize_path, 4},
    {"lowmem_bench_floor", (DL_FUNC) &lowmem_bench_floor, 2},
    {"lowmem_result_info", (DL_FUNC) &lowmem_result_info, 1},
    {"lowmem_native_probe", (DL_FUNC) &lowmem_native_probe, 3},
    {"lowmem_session_configure", (DL_FUNC) &lowmem_session_configure, 2},
    {"lowmem_native_status", (DL_FUNC) &wrap__lowmem_native_status, 0},
    {"lowmem_result_test_collect", (DL_FUNC) &lowmem_result_test_collect, 1},
    {"lowmem_tap_mode", (DL_FUNC) &wrap__lowmem_tap_mode, 1},
    {NULL, NULL, 0}
};

void R_init_lowmem(DllInfo *dll)
{
    R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
    lm_result_init(dll);
}
