//! Read access to R objects for the native writer: the only module that
//! declares and calls R's C functions.
//!
//! **Nothing here may longjmp.** Every function declared below is a plain
//! accessor of R 4.2's `memory.c`/`altrep.c` that raises an R error only when
//! applied to an object of the wrong type (e.g. `R_CHAR` on a non-CHARSXP,
//! `STRING_PTR_RO` on a non-STRSXP); the callers in `format::walk` check the
//! type first. Nothing here allocates, dispatches an ALTREP method that can
//! allocate (no `DATAPTR`/`STRING_ELT`/`INTEGER` on ALTREP objects), or runs
//! R code. `DATAPTR_OR_NULL` and `STRING_PTR_RO` are only called on objects
//! that are not ALTREP, where they return the data pointer, and
//! `DATAPTR_OR_NULL` also on lowmem's own `lowmem_raw` results, whose
//! method (src/result.c) returns their memory map and nothing else.
//!
//! Hand-written rather than libR-sys 0.7.1: its precomputed R 4.2 bindings
//! (bindings-linux-x86_64-R4.2.rs) omit `LEVELS`, which every flags word
//! needs, and its build script runs R to locate it; the dozen declarations
//! below are all the writer calls.
//!
//! Entry points outside R's documented API, and why each is unavoidable:
//! * `ATTRIB`: the attribute pairlist is written as stored (order, tags,
//!   cells); no API returns the pairlist itself.
//! * `LEVELS`: the 16 gp bits go into every flags word (GROWABLE, S4, the
//!   CHARSXP encoding bits); `IS_S4_OBJECT`/`IS_GROWABLE`/`IS_ASCII`... would
//!   give only the bits we know of, R writes them all.
//! * `OBJECT`: the object bit goes into every flags word.
//! * `ALTREP_CLASS`: its attribute is the class's serialization info
//!   (class symbol, package symbol, base type), which R writes as the
//!   ALTREP item's first sub-item; R 4.2 has no `R_altrep_class_name`.
//! * `R_altrep_data1`, `R_altrep_data2`: the serialized state of the base
//!   classes is (derived from) these.

use std::ffi::{c_char, c_int, c_void, CStr};

use crate::format::flags::sexptype;

#[repr(C)]
pub struct SexpRec {
    _opaque: [u8; 0],
}

type RawSexp = *mut SexpRec;
type RXlen = isize; // R_xlen_t is ptrdiff_t

extern "C" {
    static R_NilValue: RawSexp;
    static R_NaString: RawSexp;
    static R_MissingArg: RawSexp;
    static R_UnboundValue: RawSexp;
    static R_GlobalEnv: RawSexp;
    static R_EmptyEnv: RawSexp;
    static R_BaseEnv: RawSexp;
    static R_BaseNamespace: RawSexp;

    fn TYPEOF(x: RawSexp) -> c_int;
    fn ALTREP(x: RawSexp) -> c_int;
    fn LEVELS(x: RawSexp) -> c_int;
    fn OBJECT(x: RawSexp) -> c_int;
    fn ATTRIB(x: RawSexp) -> RawSexp;
    fn CAR(x: RawSexp) -> RawSexp;
    fn CDR(x: RawSexp) -> RawSexp;
    fn TAG(x: RawSexp) -> RawSexp;
    fn LENGTH(x: RawSexp) -> c_int;
    fn XLENGTH(x: RawSexp) -> RXlen;
    fn VECTOR_ELT(x: RawSexp, i: RXlen) -> RawSexp;
    fn STRING_PTR_RO(x: RawSexp) -> *const RawSexp;
    fn DATAPTR_OR_NULL(x: RawSexp) -> *const c_void;
    fn R_CHAR(x: RawSexp) -> *const c_char;
    fn PRINTNAME(x: RawSexp) -> RawSexp;
    fn ALTREP_CLASS(x: RawSexp) -> RawSexp;
    fn R_altrep_data1(x: RawSexp) -> RawSexp;
    fn R_altrep_data2(x: RawSexp) -> RawSexp;
}

/// An R object the writer reads.
///
/// Invariant: the pointer is a valid R object that stays alive and
/// unmodified while the writer holds it (it is reachable from the object
/// being serialized, which the C caller keeps protected, and no R code runs
/// while a pass is under way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct Sexp(RawSexp);

/// The stream codes of R's singletons (`SaveSpecialHook`).
pub fn special_code(x: Sexp) -> Option<i32> {
    use crate::format::flags::pseudo::*;
    // SAFETY: reading R's global object pointers; R initialised them before
    // any package code ran.
    unsafe {
        let p = x.0;
        if p == R_NilValue {
            Some(NILVALUE_SXP)
        } else if p == R_EmptyEnv {
            Some(EMPTYENV_SXP)
        } else if p == R_BaseEnv {
            Some(BASEENV_SXP)
        } else if p == R_GlobalEnv {
            Some(GLOBALENV_SXP)
        } else if p == R_UnboundValue {
            Some(UNBOUNDVALUE_SXP)
        } else if p == R_MissingArg {
            Some(MISSINGARG_SXP)
        } else if p == R_BaseNamespace {
            Some(BASENAMESPACE_SXP)
        } else {
            None
        }
    }
}

impl Sexp {
    /// Wraps a pointer handed over by C.
    ///
    /// # Safety
    /// `p` is a valid R object kept alive (protected) by the caller for as
    /// long as this value and everything read from it is used.
    pub unsafe fn from_raw(p: *mut c_void) -> Sexp {
        Sexp(p.cast())
    }

    /// The pointer, to hand back to C.
    pub fn as_ptr(self) -> *mut std::ffi::c_void {
        self.0.cast()
    }

    /// The object's address: its identity in the reference table.
    pub fn address(self) -> usize {
        self.0 as usize
    }

    pub fn is_null(self) -> bool {
        // SAFETY: reading R's global R_NilValue pointer.
        self.0 == unsafe { R_NilValue }
    }

    pub fn is_na_string(self) -> bool {
        // SAFETY: reading R's global R_NaString pointer.
        self.0 == unsafe { R_NaString }
    }

    pub fn sexptype(self) -> u32 {
        // SAFETY: TYPEOF reads the header of any valid object.
        unsafe { TYPEOF(self.0) as u32 }
    }

    pub fn is_altrep(self) -> bool {
        // SAFETY: ALTREP reads the header of any valid object.
        unsafe { ALTREP(self.0) != 0 }
    }

    /// The gp bits (`LEVELS`), 0..=0xFFFF.
    pub fn levels(self) -> i32 {
        // SAFETY: LEVELS reads the header of any valid object.
        unsafe { LEVELS(self.0) }
    }

    pub fn is_object(self) -> bool {
        // SAFETY: OBJECT reads the header of any valid object.
        unsafe { OBJECT(self.0) != 0 }
    }

    pub fn attrib(self) -> Sexp {
        // SAFETY: ATTRIB reads a field every object has.
        Sexp(unsafe { ATTRIB(self.0) })
    }

    /// CAR of a pairlist cell. Must only be called on LISTSXP cells; the
    /// writer never reaches environment frames, the only place where a
    /// cell can hold an immediate binding value (on which CAR would error).
    pub fn car(self) -> Sexp {
        debug_assert_eq!(self.sexptype(), sexptype::LISTSXP);
        // SAFETY: a LISTSXP cell (callers check); see above.
        Sexp(unsafe { CAR(self.0) })
    }

    pub fn cdr(self) -> Sexp {
        debug_assert_eq!(self.sexptype(), sexptype::LISTSXP);
        // SAFETY: a LISTSXP cell (callers check).
        Sexp(unsafe { CDR(self.0) })
    }

    pub fn tag(self) -> Sexp {
        debug_assert_eq!(self.sexptype(), sexptype::LISTSXP);
        // SAFETY: a LISTSXP cell (callers check).
        Sexp(unsafe { TAG(self.0) })
    }

    /// Length of a vector that is not ALTREP (or of an ALTREP of a base
    /// class, whose Length method only reads its data).
    pub fn xlength(self) -> u64 {
        // SAFETY: callers pass vector types only (XLENGTH errors otherwise).
        unsafe { XLENGTH(self.0) as u64 }
    }

    /// Element `i` of a list or expression vector that is not ALTREP.
    pub fn vector_elt(self, i: u64) -> Sexp {
        debug_assert!(matches!(self.sexptype(), sexptype::VECSXP | sexptype::EXPRSXP));
        // SAFETY: a VECSXP/EXPRSXP (callers check), R 4.2 has no ALTREP
        // lists, and `i < xlength`.
        Sexp(unsafe { VECTOR_ELT(self.0, i as RXlen) })
    }

    /// The elements of a character vector that is not ALTREP.
    ///
    /// # Safety
    /// `self` is a STRSXP, not ALTREP; the slice is used only while the
    /// vector is alive and unmodified.
    pub unsafe fn strings<'a>(self) -> &'a [Sexp] {
        debug_assert!(self.sexptype() == sexptype::STRSXP && !self.is_altrep());
        let len = self.xlength() as usize;
        if len == 0 {
            return &[];
        }
        // SAFETY: STRING_PTR_RO of a non-ALTREP STRSXP is its data pointer to
        // `len` SEXPs; Sexp is a transparent-layout wrapper of one pointer.
        unsafe { std::slice::from_raw_parts(STRING_PTR_RO(self.0).cast::<Sexp>(), len) }
    }

    /// The data of an atomic vector that is not ALTREP (or is one of
    /// lowmem's own `lowmem_raw` results, whose `Dataptr_or_null` method
    /// returns its memory map), as `len` values of `T` (i32 for
    /// logical/integer, f64 for double, 2 × f64 per complex element, u8 for
    /// raw).
    ///
    /// # Safety
    /// `self` is such an atomic vector, whose data is `len` values of `T`;
    /// the slice is used only while the vector is alive and unmodified.
    pub unsafe fn data<'a, T>(self, len: usize) -> &'a [T] {
        if len == 0 {
            return &[];
        }
        // SAFETY: for a non-ALTREP vector DATAPTR_OR_NULL is STDVEC_DATAPTR,
        // suitably aligned for every element type; for lowmem_raw it is the
        // page-aligned start of its mapping (src/result.c).
        let p = unsafe { DATAPTR_OR_NULL(self.0) };
        debug_assert!(!p.is_null());
        unsafe { std::slice::from_raw_parts(p.cast::<T>(), len) }
    }

    /// The bytes of a CHARSXP (not NA_STRING).
    ///
    /// # Safety
    /// `self` is a CHARSXP; the slice is used only while it is alive.
    pub unsafe fn char_bytes<'a>(self) -> &'a [u8] {
        debug_assert_eq!(self.sexptype(), sexptype::CHARSXP);
        // SAFETY: a CHARSXP (callers check): LENGTH is its byte count and
        // R_CHAR its bytes (no NUL inside, one after).
        unsafe {
            let len = LENGTH(self.0) as usize;
            std::slice::from_raw_parts(R_CHAR(self.0).cast::<u8>(), len)
        }
    }

    /// The byte count of a CHARSXP.
    pub fn char_len(self) -> usize {
        debug_assert_eq!(self.sexptype(), sexptype::CHARSXP);
        // SAFETY: a CHARSXP (callers check); never a long vector.
        unsafe { LENGTH(self.0) as usize }
    }

    /// Hints the CPU to fetch the object's header (and the first bytes of
    /// its data) into the cache: the strings of a character vector are
    /// scattered over the heap, and fetching a few ahead overlaps the misses.
    #[inline]
    pub fn prefetch(self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch never faults, whatever the address; SSE is part
        // of the x86_64 baseline.
        #[allow(unused_unsafe)]
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.0.cast::<i8>());
            _mm_prefetch::<_MM_HINT_T0>(self.0.cast::<i8>().wrapping_add(64));
        }
    }

    pub fn printname(self) -> Sexp {
        debug_assert_eq!(self.sexptype(), sexptype::SYMSXP);
        // SAFETY: a SYMSXP (callers check).
        Sexp(unsafe { PRINTNAME(self.0) })
    }

    /// The serialization info of an ALTREP object's class: the pairlist
    /// `(class symbol, package symbol, INTSXP base type)` R writes as the
    /// ALTREP item's first sub-item (altrep.c `ALTREP_SERIALIZED_CLASS`).
    pub fn altrep_class_info(self) -> Option<Sexp> {
        debug_assert!(self.is_altrep());
        // SAFETY: an ALTREP object (callers check); the class is a RAWSXP
        // whose ATTRIB R 4.2 uses for the info (altrep.c).
        let info = Sexp(unsafe { ATTRIB(ALTREP_CLASS(self.0)) });
        (info.sexptype() == sexptype::LISTSXP).then_some(info)
    }

    pub fn altrep_data1(self) -> Sexp {
        debug_assert!(self.is_altrep());
        // SAFETY: an ALTREP object (callers check).
        Sexp(unsafe { R_altrep_data1(self.0) })
    }

    pub fn altrep_data2(self) -> Sexp {
        debug_assert!(self.is_altrep());
        // SAFETY: an ALTREP object (callers check).
        Sexp(unsafe { R_altrep_data2(self.0) })
    }

    /// The name of a symbol.
    pub fn symbol_name<'a>(self) -> Option<&'a CStr> {
        if self.sexptype() != sexptype::SYMSXP {
            return None;
        }
        let name = self.printname();
        if name.sexptype() != sexptype::CHARSXP {
            return None;
        }
        // SAFETY: a CHARSXP's R_CHAR is NUL-terminated and lives as long as
        // the symbol (symbols are never collected).
        Some(unsafe { CStr::from_ptr(R_CHAR(name.0)) })
    }
}
