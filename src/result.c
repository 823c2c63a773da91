/*
 * The result of serialize(x, NULL): one raw vector of exactly the
 * serialized size.
 *
 * A large result is an ALTREP raw vector ("lowmem_raw") over memory that
 * lowmem maps itself, instead of a vector from R's heap. Why: allocating
 * a large vector from R's heap makes R check its vector-heap limit first,
 * and a fresh session's limit is small, so R runs a full garbage
 * collection (often three: levels 0, 1 and 2) before it grows the limit.
 * On a heap with millions of strings that collection costs more than
 * writing the stream (strings_df: 0.22 s of GC against 0.07 s of
 * writing). base::serialize() pays the same collection for its result;
 * lowmem's result does not count against R's limit, so it does not.
 *
 * To R code the result is an ordinary raw vector: typeof "raw", RAW()
 * gives its bytes (writable), identical() to base's, and R serializes it
 * as a plain raw vector (the class has no serialized state), so saveRDS(),
 * unserialize() and hashing work as for any raw vector. Duplicating it
 * gives a plain raw vector. The memory is unmapped by the finalizer of an
 * external pointer that only the ALTREP object references.
 *
 * A result may outlive the package's shared library (pkgload::unload(),
 * devtools::load_all(), dyn.unload()): its class methods and finalizer are
 * code in this library. See keep_code() and lm_result_init() for how they
 * stay valid.
 *
 * Memory outside R's heap is invisible to R's GC heuristics, so dead
 * results would pile up if only R decided when to collect. lowmem runs a
 * full collection itself (see lm_result_prepare) once the results it
 * mapped since its last collection reach the larger of the bytes of
 * results that survived it, R's own heap as that collection left it, and
 * LM_RESULT_GC_MIN. The cost of a full collection grows with R's heap, so
 * a threshold in proportion to it keeps the collections' cost per mapped
 * byte bounded, as R's own heap growth does for R's allocations; and dead
 * results never exceed about R's heap plus the live results.
 *
 * Small results, a session with options(lowmem.altrep = FALSE), and
 * platforms without mmap get an ordinary vector from R's heap.
 */
/* dladdr(), RTLD_NOLOAD and RTLD_NODELETE (glibc); before any header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Altrep.h>
#include <R_ext/Rdynload.h>
#include <stdlib.h>
#include <string.h>

#include "lowmem_c.h"

#if defined(__linux__) || defined(__APPLE__)
#define LM_HAVE_MMAP 1
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

/* Results smaller than this come from R's heap: for them R's limit rarely
   triggers a collection, and an own mapping would cost more than it saves. */
#define LM_RESULT_MIN ((size_t) 1 << 20)
/* The least mapped since the last collection that makes lowmem collect. */
#define LM_RESULT_GC_MIN ((size_t) 64 << 20)

/* Test hooks (lowmem:::result_test_collect): the next lm_result_prepare()
   collects whatever the policy says; the next lm_result_alloc() collects
   first, as R's allocator may before any allocation. */
static int test_collect_due = 0;
static int test_collect_in_alloc = 0;

/* A full collection, through base::gc() (lowmem:::collect_garbage(),
   R/native.R): R_gc() collects as well, but gc() also reports the
   megabytes of R's heap in use after it (nodes and vector cells, the
   "(Mb)" column), which sets the next threshold. Returns those bytes, 0 if
   the report is not understood. */
static double collect(void)
{
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("lowmem"))));
    SEXP fun = PROTECT(Rf_findFun(Rf_install("collect_garbage"), ns));
    SEXP call = PROTECT(Rf_lang1(fun));
    SEXP used = PROTECT(Rf_eval(call, ns));
    double bytes = 0;
    if (TYPEOF(used) == REALSXP && XLENGTH(used) >= 4) {
        double mb = REAL(used)[2] + REAL(used)[3]; /* Ncells and Vcells, "(Mb)" */
        if (mb > 0 && mb < 1e12) bytes = mb * 1048576.0;
    }
    UNPROTECT(5);
    return bytes;
}

#ifdef LM_HAVE_MMAP

typedef struct {
    unsigned char *addr;
    size_t len;       /* the vector's length */
    size_t mapped;    /* the mapping's length (len rounded up to pages) */
} lm_region;

static R_altrep_class_t raw_class;
static int raw_class_ready = 0;

/* Bookkeeping for the collection policy above (R's main thread only). */
static size_t live_bytes = 0;       /* mapped, not yet finalized */
static size_t since_collect = 0;    /* mapped since lowmem's last collection */
static size_t threshold = LM_RESULT_GC_MIN; /* since_collect that makes lowmem collect */

static lm_region *region_of(SEXP x)
{
    return (lm_region *) R_ExternalPtrAddr(R_altrep_data1(x));
}

static void region_release(lm_region *r)
{
    if (r->addr != NULL) {
        munmap(r->addr, r->mapped);
        live_bytes -= r->mapped;
        r->addr = NULL;
        r->len = 0;
    }
}

static void region_finalize(SEXP ptr)
{
    lm_region *r = (lm_region *) R_ExternalPtrAddr(ptr);
    if (r == NULL) return;
    R_ClearExternalPtr(ptr);
    region_release(r);
    free(r);
}

static R_xlen_t raw_length(SEXP x)
{
    return (R_xlen_t) region_of(x)->len;
}

static void *raw_dataptr(SEXP x, Rboolean writeable)
{
    (void) writeable;
    return region_of(x)->addr;
}

static const void *raw_dataptr_or_null(SEXP x)
{
    return region_of(x)->addr;
}

static Rboolean raw_inspect(SEXP x, int pre, int deep, int pvec,
                            void (*inspect_subtree)(SEXP, int, int, int))
{
    (void) pre; (void) deep; (void) pvec; (void) inspect_subtree;
    Rprintf(" lowmem_raw: %.0f bytes in lowmem's own memory map\n", (double) region_of(x)->len);
    return TRUE;
}

/* A result may outlive this shared library: when R unloads a DLL it
   resets the methods of the ALTREP classes registered with that DllInfo
   (R_reinit_altrep_classes: the class's Length then errors) and dlcloses
   it (the finalizer that unmaps the result then points at unmapped code,
   and the next gc() crashes). So, once it makes a result, lowmem keeps its
   own code mapped for the rest of the process: dlopen() of the library
   itself (found with dladdr) with RTLD_NOLOAD | RTLD_NODELETE loads
   nothing but marks it never to be unmapped. The class is registered
   without a DllInfo (as R's own classes are), so that unloading resets
   nothing: with the code kept, the methods stay valid.

   Reloading the package later gives a new class of the same names, which
   replaces this one in R's registry (only unserialize() looks classes up
   there, and results serialize as plain raw vectors); existing results
   keep their class object and work on. The price: a library that once
   made a result stays in the process, so dlopen() of the same path returns
   it again, and a rebuilt library at that path (devtools::load_all()
   after a recompile) takes effect in a new session only. Alternatives
   weighed: duplicating every result into R's heap on unload cannot find
   them all and doubles the memory; a separate, never-unloaded helper
   library for the methods would spare the rebuild case but needs a second
   shared object that R CMD INSTALL does not build; the unload hook
   R_unload_lowmem is not called for a library with dynamic symbols off.
   Without dladdr() or these flags, results come from R's heap. */
static int code_kept = 0;

static int keep_code(void)
{
#if defined(RTLD_NOLOAD) && defined(RTLD_NODELETE)
    if (code_kept) return 1;
    Dl_info info;
    if (dladdr((void *) &code_kept, &info) == 0 || info.dli_fname == NULL) return 0;
    /* The handle is never closed: it is the promise to keep the code. */
    if (dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE) == NULL) return 0;
    code_kept = 1;
    return 1;
#else
    return 0;
#endif
}

void lm_result_init(DllInfo *dll)
{
    (void) dll; /* not registered with it: see keep_code() */
    /* The Rust writer recognises the class by these names (format/altrep.rs). */
    raw_class = R_make_altraw_class("lowmem_raw", "lowmem", NULL);
    R_set_altrep_Length_method(raw_class, raw_length);
    R_set_altrep_Inspect_method(raw_class, raw_inspect);
    R_set_altvec_Dataptr_method(raw_class, raw_dataptr);
    R_set_altvec_Dataptr_or_null_method(raw_class, raw_dataptr_or_null);
    raw_class_ready = 1;
}

static int use_altrep(size_t n)
{
    if (!raw_class_ready || n < LM_RESULT_MIN) return 0;
    SEXP opt = Rf_GetOption1(Rf_install("lowmem.altrep"));
    return opt == R_NilValue || Rf_asLogical(opt) != FALSE;
}

/* The policy above, run before a call's first pass: finalizers that the
   collection runs may change the object being serialized, so they must
   run before it is counted, not between the counting and the writing. */
void lm_result_prepare(void)
{
    if (since_collect < threshold && !test_collect_due) return;
    test_collect_due = 0;
    double heap = collect();
    since_collect = 0;
    threshold = LM_RESULT_GC_MIN;
    if (live_bytes > threshold) threshold = live_bytes;
    if (heap > (double) threshold) threshold = heap < 1e18 ? (size_t) heap : (size_t) 1e18;
}

static void test_collect_first(void)
{
    if (!test_collect_in_alloc) return;
    test_collect_in_alloc = 0;
    (void) collect();
}

SEXP lm_result_alloc(R_xlen_t n)
{
    test_collect_first();
    if (n < 0 || !use_altrep((size_t) n) || !keep_code())
        return Rf_allocVector(RAWSXP, n);
    /* The record and its finalizer exist before the mapping, so that no
       later allocation (R's allocators jump on failure) can leak it. */
    lm_region *r = (lm_region *) calloc(1, sizeof *r);
    if (r == NULL) return Rf_allocVector(RAWSXP, n);
    SEXP ptr = PROTECT(R_MakeExternalPtr(r, R_NilValue, R_NilValue));
    R_RegisterCFinalizerEx(ptr, region_finalize, TRUE);
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    size_t mapped = ((size_t) n + page - 1) / page * page;
    void *addr = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
        UNPROTECT(1);
        return Rf_allocVector(RAWSXP, n); /* R reports what cannot be allocated */
    }
    r->addr = (unsigned char *) addr;
    r->len = (size_t) n;
    r->mapped = mapped;
    live_bytes += mapped;
    since_collect += mapped;
    SEXP x = R_new_altrep(raw_class, ptr, R_NilValue);
    UNPROTECT(1);
    return x;
}

int lm_result_is_own(SEXP x)
{
    return raw_class_ready && ALTREP(x) && R_altrep_inherits(x, raw_class);
}

void lm_result_discard(SEXP x)
{
    if (lm_result_is_own(x)) region_release(region_of(x));
}

static double live_mapped(void) { return (double) live_bytes; }
static double next_threshold(void) { return (double) threshold; }

#else /* no mmap */

void lm_result_init(DllInfo *dll) { (void) dll; }
void lm_result_prepare(void) { test_collect_due = 0; }
SEXP lm_result_alloc(R_xlen_t n)
{
    if (test_collect_in_alloc) {
        test_collect_in_alloc = 0;
        (void) collect();
    }
    return Rf_allocVector(RAWSXP, n);
}
int lm_result_is_own(SEXP x) { (void) x; return 0; }
void lm_result_discard(SEXP x) { (void) x; }
static double live_mapped(void) { return 0; }
static double next_threshold(void) { return 0; }

#endif

/* lowmem:::result_info(x) (tests): whether `x` is a lowmem_raw vector,
   the bytes of all lowmem_raw results not yet finalized, and the bytes
   mapped since the last collection that make lowmem collect again. */
SEXP lowmem_result_info(SEXP x)
{
    SEXP out = PROTECT(Rf_allocVector(VECSXP, 3));
    SEXP names = PROTECT(Rf_allocVector(STRSXP, 3));
    SET_VECTOR_ELT(out, 0, Rf_ScalarLogical(lm_result_is_own(x)));
    SET_VECTOR_ELT(out, 1, Rf_ScalarReal(live_mapped()));
    SET_VECTOR_ELT(out, 2, Rf_ScalarReal(next_threshold()));
    SET_STRING_ELT(names, 0, Rf_mkChar("own"));
    SET_STRING_ELT(names, 1, Rf_mkChar("live_bytes"));
    SET_STRING_ELT(names, 2, Rf_mkChar("gc_threshold"));
    Rf_setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(2);
    return out;
}

/* lowmem:::result_test_collect(when) (tests): makes the next call collect
   garbage, running finalizers: "prepare" where lowmem's policy collects,
   "alloc" where the result is allocated, between the passes, as R's
   allocator may. */
SEXP lowmem_result_test_collect(SEXP when)
{
    const char *w = Rf_isString(when) && XLENGTH(when) == 1 ? CHAR(STRING_ELT(when, 0)) : "";
    if (strcmp(w, "prepare") == 0) test_collect_due = 1;
    else if (strcmp(w, "alloc") == 0) test_collect_in_alloc = 1;
    else lm_raise(LM_KIND_ARGUMENT, "`when` must be \"prepare\" or \"alloc\".");
    return R_NilValue;
}
