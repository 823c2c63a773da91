/* Registration of the package's native routines. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

#include "lowmem_c.h"

static const R_CallMethodDef call_methods[] = {
    {"lowmem_serialize_raw", (DL_FUNC) &lowmem_serialize_raw, 4},
    {"lowmem_serialized_size", (DL_FUNC) &lowmem_serialized_size, 4},
    {"lowmem_serialize_path", (DL_FUNC) &lowmem_serialize_path, 4},
    {"lowmem_bench_floor", (DL_FUNC) &lowmem_bench_floor, 2},
    {NULL, NULL, 0}
};

void R_init_lowmem(DllInfo *dll)
{
    R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
}
