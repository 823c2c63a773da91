/* Registration of the package's native routines. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

#include "hash.h"
#include "lowmem_c.h"
#include "mem.h"

static const R_CallMethodDef call_methods[] = {
    {"lowmem_serialize_raw", (DL_FUNC) &lowmem_serialize_raw, 4},
    {"lowmem_serialized_size", (DL_FUNC) &lowmem_serialized_size, 4},
    {"lowmem_write_pass", (DL_FUNC) &lowmem_write_pass, 1},
    {"lowmem_serialize_conn", (DL_FUNC) &lowmem_serialize_conn, 8},
    {"lowmem_serialize_file", (DL_FUNC) &lowmem_serialize_file, 9},
    {"lowmem_last_stream_path", (DL_FUNC) &lowmem_last_stream_path, 0},
    {"lowmem_rss_status", (DL_FUNC) &lowmem_rss_status, 0},
    {"lowmem_rss_reset_peak", (DL_FUNC) &lowmem_rss_reset_peak, 0},
    {"lowmem_timeline_start", (DL_FUNC) &lowmem_timeline_start, 2},
    {"lowmem_timeline_stop", (DL_FUNC) &lowmem_timeline_stop, 1},
    {"lowmem_serialize_path", (DL_FUNC) &lowmem_serialize_path, 4},
    {"lowmem_bench_floor", (DL_FUNC) &lowmem_bench_floor, 2},
    {"lowmem_result_info", (DL_FUNC) &lowmem_result_info, 1},
    {"lowmem_native_probe", (DL_FUNC) &lowmem_native_probe, 3},
    {"lowmem_session_configure", (DL_FUNC) &lowmem_session_configure, 2},
    {"lowmem_native_status", (DL_FUNC) &lowmem_native_status, 0},
    {"lowmem_result_test_collect", (DL_FUNC) &lowmem_result_test_collect, 1},
    {"lowmem_tap_mode", (DL_FUNC) &lowmem_tap_mode, 1},
    {"lowmem_digest", (DL_FUNC) &lowmem_digest, 10},
    {NULL, NULL, 0}
};

void R_init_lowmem(DllInfo *dll)
{
    R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
    lm_result_init(dll);
}
