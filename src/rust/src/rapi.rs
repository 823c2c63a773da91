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
//! R's C API comes from libR-sys 0.7.1 (its precomputed bindings: no
//! libclang at build time; src/Makevars tells it which ones). What those
//! bindings lack is declared by hand in [`missing`], the one place in the
//! crate that does so.
//!
//! ## Which accessors, on which R
//!
//! R moves entry points out of its API from release to release, and its
//! `R CMD check` reports a package that calls them. What this module calls
//! is chosen when the package is installed, from the headers of the R that
//! builds it (src/Makevars turns what it finds into cargo features):
//!
//! | R (headers) | gp bits | attributes | object bit |
//! |---|---|---|---|
//! | without `Rf_charIsASCII` (R < 4.5) | `LEVELS` | `ATTRIB` | `Rf_isObject` |
//! | with `Rf_charIsASCII` (R 4.5), feature `api-gp` | API predicates | `ATTRIB` | `Rf_isObject` |
//! | with `R_mapAttrib` too (R >= 4.6), features `api-gp`, `map-attrib` | API predicates | `ANY_ATTRIB`, `R_mapAttrib` | `Rf_isObject` |
//!
//! R 4.5's check lists `LEVELS` as non-API, R 4.6's also `ATTRIB` (and
//! R-devel hides `LEVELS`). Without `LEVELS` the gp bits are rebuilt from
//! what the API tells: the S4 bit (`Rf_isS4`) for every object, the
//! encoding bits of a CHARSXP (`Rf_getCharCE`, `Rf_charIsASCII`). No API
//! tells the GROWABLE bit of a vector grown in place: R >= 4.6 does not
//! write it, R 4.5 does; the probes run at load time (R/probe.R) find out
//! which. Where R writes it, the writer learns which vectors have it from
//! R's own writer, object by object (`format::tap`), and the probes turn
//! the native writer off should it still not write what R writes. Without `ATTRIB` an attribute list is read pair by pair through
//! `R_mapAttrib`, which hands over each value as stored (compact row names
//! stay compact), and the writer writes the cells R would write for it.
//!
//! Entry points outside R's documented API, and why each is needed where
//! it is used:
//! * `ATTRIB` (R < 4.6): the attribute pairlist is written as stored
//!   (order, tags, cells); before `R_mapAttrib` no API walks it without
//!   allocating a copy.
//! * `LEVELS` (R < 4.5): the 16 gp bits go into every flags word, and R
//!   4.2-4.4 write the GROWABLE bit, which no API predicate tells.
//! * `ALTREP_CLASS`, `R_altrep_data1`, `R_altrep_data2` (declared in R's
//!   headers, not reported by its check): the class's serialization info
//!   (class symbol, package symbol, base type), which R writes as the
//!   ALTREP item's first sub-item, and the state of the base classes.

use std::ffi::{c_void, CStr};

#[cfg(not(feature = "map-attrib"))]
use libR_sys::ATTRIB;
#[cfg(feature = "api-gp")]
use libR_sys::{cetype_t, Rf_getCharCE, Rf_isS4};
use libR_sys::{
    R_BaseEnv, R_BaseNamespace, R_EmptyEnv, R_GlobalEnv, R_MissingArg, R_NaString, R_NilValue, R_UnboundValue,
    R_altrep_data1, R_altrep_data2, Rboolean, Rf_isObject, ALTREP, ALTREP_CLASS, CAR, CDR, DATAPTR_OR_NULL, LENGTH,
    PRINTNAME, R_CHAR, STRING_PTR_RO, TAG, TYPEOF, VECTOR_ELT, XLENGTH,
};
#[cfg(feature = "api-gp")]
use missing::Rf_charIsASCII;
#[cfg(not(feature = "api-gp"))]
use missing::LEVELS;
#[cfg(feature = "map-attrib")]
use missing::{R_mapAttrib, ANY_ATTRIB};

use crate::types::sexptype;

type RawSexp = libR_sys::SEXP;
type RXlen = libR_sys::R_xlen_t;

/// The entry points libR-sys 0.7.1 does not declare, with the same types as
/// its bindings. Its precomputed bindings stop at R 4.4 (src/Makevars picks
/// the 4.2, 4.3 or 4.4 set; newer R gets 4.4's, whose declarations of what
/// this module calls are unchanged), and no set declares `LEVELS`, which
/// Rinternals.h has always declared:
/// * `LEVELS` (R < 4.5): the gp bits (see the table above);
/// * `Rf_charIsASCII` (R >= 4.5);
/// * `ANY_ATTRIB`, `R_mapAttrib` (R >= 4.6).
///
/// Each is only declared in the builds that call it (the cargo features),
/// so no build refers to a symbol its R lacks or reports.
///
/// `improper_ctypes` is allowed as libR-sys allows it for its own blocks:
/// its `SEXPREC` is an opaque `#[repr(transparent)]` wrapper of `c_void`,
/// only ever behind a pointer.
#[allow(non_snake_case, improper_ctypes)]
mod missing {
    #[cfg(feature = "map-attrib")]
    use std::ffi::c_void;

    #[cfg(feature = "api-gp")]
    use libR_sys::Rboolean;
    use libR_sys::SEXP;

    #[cfg(not(feature = "api-gp"))]
    extern "C" {
        pub fn LEVELS(x: SEXP) -> std::ffi::c_int;
    }

    #[cfg(feature = "api-gp")]
    extern "C" {
        pub fn Rf_charIsASCII(x: SEXP) -> Rboolean;
    }

    #[cfg(feature = "map-attrib")]
    extern "C" {
        pub fn ANY_ATTRIB(x: SEXP) -> std::ffi::c_int;
        pub fn R_mapAttrib(x: SEXP, fun: extern "C" fn(SEXP, SEXP, *mut c_void) -> SEXP, data: *mut c_void) -> SEXP;
    }
}

/// gp bits (Defn.h) rebuilt from API predicates.
#[cfg(feature = "api-gp")]
mod gp {
    pub const BYTES: i32 = 1 << 1;
    pub const LATIN1: i32 = 1 << 2;
    pub const UTF8: i32 = 1 << 3;
    pub const S4: i32 = 1 << 4;
    pub const ASCII: i32 = 1 << 6;
}

/// One attribute: its tag (a symbol, or `NULL`) and its value, as stored.
pub type Attribute = (Sexp, Sexp);

/// An R object the writer reads.
///
/// Invariant: the pointer is a valid R object that stays alive and
/// unmodified while the writer holds it (it is reachable from the object
/// being serialized, which the C caller keeps protected, and no R code runs
/// while a pass is under way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct Sexp(RawSexp);

/// An ALTREP class's serialization info (see [`Sexp::altrep_class_info`]).
#[derive(Debug, Clone, Copy)]
pub struct AltrepClassInfo {
    pub key: usize,
    pub class: Sexp,
    pub package: Sexp,
    pub base_type: Sexp,
}

/// The stream codes of R's singletons (`SaveSpecialHook`).
pub fn special_code(x: Sexp) -> Option<i32> {
    use crate::types::pseudo::*;
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
    #[cfg(not(feature = "api-gp"))]
    pub fn levels(self) -> i32 {
        // SAFETY: LEVELS reads the header of any valid object.
        unsafe { LEVELS(self.0) }
    }

    /// The gp bits the API can tell: the S4 bit, and for a CHARSXP its
    /// encoding bits (mkCharLenCE sets ASCII alone for an ASCII string, else
    /// at most one of UTF8, LATIN1, BYTES; NA_STRING has none of them).
    #[cfg(feature = "api-gp")]
    pub fn levels(self) -> i32 {
        if self.sexptype() != sexptype::CHARSXP {
            // SAFETY: Rf_isS4 reads the header of any valid object.
            return if unsafe { Rf_isS4(self.0) } == Rboolean::TRUE { gp::S4 } else { 0 };
        }
        if self.is_na_string() {
            return 0;
        }
        // SAFETY: a CHARSXP (checked above): neither function errors on one.
        unsafe {
            if Rf_charIsASCII(self.0) == Rboolean::TRUE {
                return gp::ASCII;
            }
            match Rf_getCharCE(self.0) {
                cetype_t::CE_UTF8 => gp::UTF8,
                cetype_t::CE_LATIN1 => gp::LATIN1,
                cetype_t::CE_BYTES => gp::BYTES,
                _ => 0,
            }
        }
    }

    pub fn is_object(self) -> bool {
        // SAFETY: Rf_isObject reads the header of any valid object.
        unsafe { Rf_isObject(self.0) == Rboolean::TRUE }
    }

    /// Whether the object has attributes.
    pub fn has_attributes(self) -> bool {
        #[cfg(not(feature = "map-attrib"))]
        // SAFETY: ATTRIB reads a field every object has.
        let any = unsafe { ATTRIB(self.0) } != unsafe { R_NilValue };
        #[cfg(feature = "map-attrib")]
        // SAFETY: ANY_ATTRIB reads a field every object has.
        let any = unsafe { ANY_ATTRIB(self.0) } != 0;
        any
    }

    /// The attribute pairlist as stored, where R still lets a package read
    /// it: the writer then writes its cells as they are.
    #[cfg(not(feature = "map-attrib"))]
    pub fn attribute_list(self) -> Option<Sexp> {
        // SAFETY: ATTRIB reads a field every object has.
        Some(Sexp(unsafe { ATTRIB(self.0) }))
    }

    /// See above: R >= 4.6 offers `R_mapAttrib` instead ([`Self::attributes`]).
    #[cfg(feature = "map-attrib")]
    pub fn attribute_list(self) -> Option<Sexp> {
        None
    }

    /// Appends the object's attributes, in their stored order, to `out`.
    /// Returns false if `out` could not grow.
    ///
    /// `R_mapAttrib` protects at most three objects while it runs; C
    /// reserves room for them on R's protect stack before every step of a
    /// pass (`lm_native_step` in src/lowmem_c.h), so the call cannot
    /// raise a protect-stack error; it calls nothing else that can jump.
    #[cfg(feature = "map-attrib")]
    pub fn attributes(self, out: &mut Vec<Attribute>) -> bool {
        struct Collect<'a> {
            out: &'a mut Vec<Attribute>,
            failed: bool,
        }
        extern "C" fn collect(tag: RawSexp, value: RawSexp, data: *mut c_void) -> RawSexp {
            // SAFETY: `data` is the `Collect` below, borrowed for the call.
            let c = unsafe { &mut *data.cast::<Collect>() };
            if c.out.try_reserve(1).is_err() {
                c.failed = true;
                // Any non-NULL value stops R_mapAttrib.
                // SAFETY: reading R's global R_NilValue pointer.
                return unsafe { R_NilValue };
            }
            c.out.push((Sexp(tag), Sexp(value)));
            std::ptr::null_mut()
        }
        let mut c = Collect { out, failed: false };
        // SAFETY: a valid object; `collect` never unwinds (no panic: the
        // push cannot reallocate after try_reserve) and `c` outlives the call.
        unsafe { R_mapAttrib(self.0, collect, (&mut c as *mut Collect).cast()) };
        !c.failed
    }

    /// Without `R_mapAttrib`: the pairs of the stored list.
    #[cfg(not(feature = "map-attrib"))]
    pub fn attributes(self, out: &mut Vec<Attribute>) -> bool {
        // SAFETY: ATTRIB reads a field every object has; the cells of an
        // attribute list are LISTSXPs (checked before each step).
        let mut cell = Sexp(unsafe { ATTRIB(self.0) });
        while cell.sexptype() == sexptype::LISTSXP {
            if out.try_reserve(1).is_err() {
                return false;
            }
            out.push((cell.tag(), cell.car()));
            cell = cell.cdr();
        }
        true
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

    /// The serialization info of an ALTREP object's class: `(class
    /// symbol, package symbol, INTSXP base type)`, which R writes as the
    /// ALTREP item's first sub-item (altrep.c `ALTREP_SERIALIZED_CLASS`, the
    /// attributes of the class object), and the class object's address,
    /// which identifies the class. `None` if the info is not that.
    pub fn altrep_class_info(self) -> Option<AltrepClassInfo> {
        debug_assert!(self.is_altrep());
        // SAFETY: an ALTREP object (callers check).
        let class = Sexp(unsafe { ALTREP_CLASS(self.0) });
        let mut items = Vec::with_capacity(3);
        if !class.attributes(&mut items) || items.len() != 3 || items.iter().any(|(tag, _)| !tag.is_null()) {
            return None;
        }
        Some(AltrepClassInfo { key: class.address(), class: items[0].1, package: items[1].1, base_type: items[2].1 })
    }

    /// The address of an ALTREP object's class: the same for every object
    /// of one class.
    pub fn altrep_class_key(self) -> usize {
        debug_assert!(self.is_altrep());
        // SAFETY: an ALTREP object (callers check).
        unsafe { ALTREP_CLASS(self.0) as usize }
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
