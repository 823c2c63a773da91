//! What R writes for an ALTREP object of a base class
//! (inst/notes/format.md, ALTREP; R's `altclasses.c`), decided from the
//! object's data fields alone, without calling any ALTREP method.
//!
//! | class | `Serialized_state` in altclasses.c | here |
//! |---|---|---|
//! | `compact_intseq`, `compact_realseq` | `data1` (REALSXP length, first, increment), always | [`Plan::State`] of data1 |
//! | `wrap_*` | `NULL` if data1 is not ALTREP and the metadata (data2) is `c(NA, 0L)`, else `CONS(data1, data2)` | [`Plan::Ordinary`] with data1's elements, or [`Plan::WrapperState`] |
//! | `deferred_string` | `NULL` once expanded (data1 is `R_NilValue`), else data1 after removing its argument's attributes (which allocates) | [`Plan::Ordinary`] with data2's elements, [`Plan::State`] of data1, or not covered if the argument has attributes |
//!
//! In version 2 every ALTREP object is written as an ordinary vector; see
//! [`plan`] for where its elements come from.
//!
//! lowmem's own result vectors (class `lowmem_raw`, src/result.c) have no
//! serialized state, so R writes them as ordinary raw vectors; their
//! elements are at their data pointer, which the class's
//! `Dataptr_or_null` method returns without allocating.
//!
//! Any other class is not covered: its state is known only to its
//! `Serialized_state` method, which may allocate or run R code.
//!
//! A class is recognised by its registered name and package (`base`), read
//! from the class's serialization info, which is also what R writes. A
//! package registering a class under one of these base names would fool
//! this; R gives no public way to tell the classes apart otherwise.

use crate::format::flags::sexptype::*;
use crate::rapi::{AltrepClassInfo, Sexp};

/// The ALTREP classes the writer understands: base R's, and lowmem's own
/// result vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseClass {
    CompactSeq,
    Wrapper,
    DeferredString,
    /// `lowmem_raw` from package `lowmem` (src/result.c).
    OwnRaw,
}

impl BaseClass {
    /// The class of a registered (class, package) name pair.
    pub fn from_names(class: &[u8], package: &[u8]) -> Option<BaseClass> {
        if package == b"lowmem" && class == b"lowmem_raw" {
            return Some(BaseClass::OwnRaw);
        }
        if package != b"base" {
            return None;
        }
        match class {
            b"compact_intseq" | b"compact_realseq" => Some(BaseClass::CompactSeq),
            b"wrap_integer" | b"wrap_logical" | b"wrap_real" | b"wrap_complex" | b"wrap_raw" | b"wrap_string" => {
                Some(BaseClass::Wrapper)
            }
            b"deferred_string" => Some(BaseClass::DeferredString),
            _ => None,
        }
    }
}

/// Where the elements of a vector written as an ordinary vector come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elements {
    /// A plain (not ALTREP) vector of the same type that holds them, or
    /// a `lowmem_raw` vector (its data pointer is its memory map).
    Plain(Sexp),
    /// A compact integer sequence: `first + step * i`, `step` = ±1.
    IntSeq { first: i32, step: i32, len: u64 },
    /// A compact double sequence: `first + step * i`, `step` = ±1.
    RealSeq { first: f64, step: f64, len: u64 },
}

/// How to write one ALTREP object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan {
    /// An ALTREP_SXP item whose state is this object.
    State(Sexp),
    /// The same, for a state that R drops when the object changes form: a
    /// deferred string's `data1` is cleared once R code expands all its
    /// strings, and the argument it holds may then be collected while the
    /// walker is still reading it. The job pins such states (see
    /// `Walk::take_pins`): C keeps them protected between the passes.
    DroppableState(Sexp),
    /// An ALTREP_SXP item whose state is a fresh pairlist cell
    /// `CONS(wrapped, metadata)` (flags word 2, no tag, no attributes).
    WrapperState { wrapped: Sexp, metadata: Sexp },
    /// An ordinary vector: the ALTREP object's own type, gp bits, object bit
    /// and attributes, with these elements.
    Ordinary(Elements),
    /// Not covered; the reason.
    Uncovered(&'static str),
}

/// The class named by an ALTREP class's info, if it is one of the base
/// classes above.
pub fn base_class(info: AltrepClassInfo) -> Option<BaseClass> {
    let class = info.class.symbol_name()?;
    let package = info.package.symbol_name()?;
    BaseClass::from_names(class.to_bytes(), package.to_bytes())
}

/// What R writes for `x`, an ALTREP object of class `class`.
///
/// Version 3 asks the class for its serialized state (`WriteItem`); version
/// 2 always writes an ordinary vector, reading the elements with
/// `INTEGER(x)`, `REAL(x)`, ... or `STRING_ELT(x, i)`. Those would expand a
/// compact sequence or a deferred string in memory; here the elements are
/// taken from where they already are, or computed (compact sequences), and
/// an object whose elements would have to be formatted first (a deferred
/// string not fully expanded) is not covered.
pub fn plan(x: Sexp, class: BaseClass, version: i32) -> Plan {
    if version < 3 {
        return match elements(x, class) {
            Ok(elements) => Plan::Ordinary(elements),
            Err(reason) => Plan::Uncovered(reason),
        };
    }
    match class {
        BaseClass::CompactSeq => Plan::State(x.altrep_data1()),
        BaseClass::Wrapper => wrapper_plan(x),
        BaseClass::DeferredString => deferred_string_plan(x),
        BaseClass::OwnRaw => own_raw_plan(x),
    }
}

fn wrapper_plan(x: Sexp) -> Plan {
    let wrapped = x.altrep_data1();
    let metadata = x.altrep_data2();
    if metadata.sexptype() != INTSXP || metadata.is_altrep() || metadata.xlength() < 2 {
        return Plan::Uncovered("ALTREP wrapper with unexpected metadata");
    }
    // SAFETY: a non-ALTREP INTSXP of length >= 2, alive as long as `x`.
    let meta: &[i32] = unsafe { metadata.data(2) };
    let unknown_sortedness = meta[0] == i32::MIN; // UNKNOWN_SORTEDNESS is NA_INTEGER
    let no_na = meta[1] != 0;
    if !wrapped.is_altrep() && unknown_sortedness && !no_na {
        plain(x, wrapped)
    } else {
        Plan::WrapperState { wrapped, metadata }
    }
}

fn deferred_string_plan(x: Sexp) -> Plan {
    let state = x.altrep_data1();
    if state.is_null() {
        // Fully expanded: data2 is the STRSXP of all the strings.
        return plain(x, x.altrep_data2());
    }
    if state.sexptype() != LISTSXP {
        return Plan::Uncovered("deferred string with unexpected state");
    }
    if state.car().has_attributes() {
        // R would first replace the argument by a copy without attributes
        // (DEFERRED_STRING_FIXUP_ARG_ATTRIBS): an allocation, and a change
        // to the object that the universal path makes as base R does.
        return Plan::Uncovered("deferred string whose argument has attributes");
    }
    Plan::DroppableState(state)
}

fn own_raw_plan(x: Sexp) -> Plan {
    match own_raw_elements(x) {
        Ok(elements) => Plan::Ordinary(elements),
        Err(reason) => Plan::Uncovered(reason),
    }
}

/// A `lowmem_raw` vector holds its own elements.
fn own_raw_elements(x: Sexp) -> Result<Elements, &'static str> {
    if x.sexptype() != RAWSXP {
        return Err("lowmem_raw object of an unexpected type");
    }
    Ok(Elements::Plain(x))
}

fn plain(x: Sexp, source: Sexp) -> Plan {
    match plain_elements(x, source) {
        Ok(elements) => Plan::Ordinary(elements),
        Err(reason) => Plan::Uncovered(reason),
    }
}

/// `source` as the element store of `x`: a plain vector of `x`'s type.
fn plain_elements(x: Sexp, source: Sexp) -> Result<Elements, &'static str> {
    if source.is_altrep() || source.sexptype() != x.sexptype() {
        return Err("ALTREP object whose elements are not in a plain vector");
    }
    Ok(Elements::Plain(source))
}

/// The elements base R reads from `x` when it writes it as an ordinary
/// vector, if they can be had without calling an ALTREP method.
fn elements(x: Sexp, class: BaseClass) -> Result<Elements, &'static str> {
    let mut x = x;
    let mut class = class;
    // A wrapper's elements are its wrapped vector's (wrapper_Dataptr,
    // wrapper_string_Elt); wrappers of wrappers are followed a few levels.
    for _ in 0..8 {
        match class {
            BaseClass::CompactSeq => return compact_seq_elements(x),
            BaseClass::OwnRaw => return own_raw_elements(x),
            BaseClass::DeferredString => {
                return if x.altrep_data1().is_null() {
                    plain_elements(x, x.altrep_data2())
                } else {
                    Err("deferred string (not fully expanded) in a version-2 stream")
                };
            }
            BaseClass::Wrapper => {
                let wrapped = x.altrep_data1();
                if wrapped.sexptype() != x.sexptype() {
                    return Err("ALTREP wrapper of another type");
                }
                if !wrapped.is_altrep() {
                    return plain_elements(x, wrapped);
                }
                class = wrapped
                    .altrep_class_info()
                    .and_then(base_class)
                    .ok_or("ALTREP wrapper of an ALTREP object of another class")?;
                x = wrapped;
            }
        }
    }
    Err("ALTREP wrappers nested too deeply")
}

/// The elements of `compact_intseq`/`compact_realseq` from its info
/// (REALSXP: length, first, increment), as their Dataptr methods compute
/// them: `first + i` or `first - i`.
fn compact_seq_elements(x: Sexp) -> Result<Elements, &'static str> {
    let info = x.altrep_data1();
    if info.sexptype() != REALSXP || info.is_altrep() || info.xlength() != 3 {
        return Err("compact sequence with unexpected info");
    }
    // SAFETY: a non-ALTREP REALSXP of length 3, alive as long as `x`.
    let info: &[f64] = unsafe { info.data(3) };
    let (len, first, step) = (info[0], info[1], info[2]);
    // Lengths are whole numbers below 2^52 (R_XLEN_T_MAX); steps are ±1.
    if !(0.0..=4_503_599_627_370_496.0).contains(&len) || (step != 1.0 && step != -1.0) {
        return Err("compact sequence with unexpected info");
    }
    let len = len as u64;
    match x.sexptype() {
        // COMPACT_INTSEQ_INFO_FIRST/INCR: (int) casts of the doubles.
        INTSXP => {
            let last = first + step * (len.max(1) - 1) as f64;
            let ints = (i32::MIN as f64 + 1.0)..=(i32::MAX as f64);
            if !ints.contains(&first) || !ints.contains(&last) {
                return Err("compact integer sequence out of range");
            }
            Ok(Elements::IntSeq { first: first as i32, step: step as i32, len })
        }
        REALSXP => Ok(Elements::RealSeq { first, step, len }),
        _ => Err("compact sequence of an unexpected type"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_classes_by_name() {
        assert_eq!(BaseClass::from_names(b"compact_intseq", b"base"), Some(BaseClass::CompactSeq));
        assert_eq!(BaseClass::from_names(b"compact_realseq", b"base"), Some(BaseClass::CompactSeq));
        assert_eq!(BaseClass::from_names(b"wrap_string", b"base"), Some(BaseClass::Wrapper));
        assert_eq!(BaseClass::from_names(b"wrap_logical", b"base"), Some(BaseClass::Wrapper));
        assert_eq!(BaseClass::from_names(b"deferred_string", b"base"), Some(BaseClass::DeferredString));
        assert_eq!(BaseClass::from_names(b"wrap_list", b"base"), None, "R >= 4.3 only");
        assert_eq!(BaseClass::from_names(b"mmap_integer", b"base"), None);
        assert_eq!(BaseClass::from_names(b"compact_intseq", b"vroom"), None);
        assert_eq!(BaseClass::from_names(b"lowmem_raw", b"lowmem"), Some(BaseClass::OwnRaw));
        assert_eq!(BaseClass::from_names(b"lowmem_raw", b"base"), None);
    }
}
