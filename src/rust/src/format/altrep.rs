//! What R 4.2.2 writes for an ALTREP object of a base class
//! (serialize-format.md §7; R 4.2.2 `altclasses.c`), decided from the
//! object's data fields alone, without calling any ALTREP method.
//!
//! | class | `Serialized_state` in altclasses.c | here |
//! |---|---|---|
//! | `compact_intseq`, `compact_realseq` | `data1` (REALSXP length, first, increment), always | [`Plan::State`] of data1 |
//! | `wrap_*` | `NULL` if data1 is not ALTREP and the metadata (data2) is `c(NA, 0L)`, else `CONS(data1, data2)` | [`Plan::Ordinary`] with data1's elements, or [`Plan::WrapperState`] |
//! | `deferred_string` | `NULL` once expanded (data1 is `R_NilValue`), else data1 after removing its argument's attributes (which allocates) | [`Plan::Ordinary`] with data2's elements, [`Plan::State`] of data1, or not covered if the argument has attributes |
//!
//! Any other class is not covered: its state is known only to its
//! `Serialized_state` method, which may allocate or run R code.
//!
//! A class is recognised by its registered name and package (`base`), read
//! from the class's serialization info, which is also what R writes. A
//! package registering a class under one of these base names would fool
//! this; R gives no public way to tell the classes apart otherwise.

use crate::format::flags::sexptype::*;
use crate::rapi::Sexp;

/// The base-R ALTREP classes the writer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseClass {
    CompactSeq,
    Wrapper,
    DeferredString,
}

impl BaseClass {
    /// The class of a registered (class, package) name pair.
    pub fn from_names(class: &[u8], package: &[u8]) -> Option<BaseClass> {
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

/// How to write one ALTREP object in a version-3 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// An ALTREP_SXP item whose state is this object.
    State(Sexp),
    /// An ALTREP_SXP item whose state is a fresh pairlist cell
    /// `CONS(wrapped, metadata)` (flags word 2, no tag, no attributes).
    WrapperState { wrapped: Sexp, metadata: Sexp },
    /// An ordinary vector: the ALTREP object's own type, gp bits, object bit
    /// and attributes, with the elements (and length) of `source`, a
    /// non-ALTREP vector of the same type holding exactly those elements.
    Ordinary { source: Sexp },
    /// Not covered; the reason.
    Uncovered(&'static str),
}

/// The ALTREP class of `x`, if it is one of the base classes above.
pub fn base_class(x: Sexp) -> Option<BaseClass> {
    let info = x.altrep_class_info()?;
    let class = info.car().symbol_name()?;
    let rest = info.cdr();
    if rest.sexptype() != LISTSXP {
        return None;
    }
    let package = rest.car().symbol_name()?;
    BaseClass::from_names(class.to_bytes(), package.to_bytes())
}

/// What R 4.2.2 writes for `x`, an ALTREP object of class `class`, in a
/// version-3 stream.
pub fn plan(x: Sexp, class: BaseClass) -> Plan {
    match class {
        BaseClass::CompactSeq => Plan::State(x.altrep_data1()),
        BaseClass::Wrapper => wrapper_plan(x),
        BaseClass::DeferredString => deferred_string_plan(x),
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
        ordinary(x, wrapped)
    } else {
        Plan::WrapperState { wrapped, metadata }
    }
}

fn deferred_string_plan(x: Sexp) -> Plan {
    let state = x.altrep_data1();
    if state.is_null() {
        // Fully expanded: data2 is the STRSXP of all the strings.
        return ordinary(x, x.altrep_data2());
    }
    if state.sexptype() != LISTSXP {
        return Plan::Uncovered("deferred string with unexpected state");
    }
    if !state.car().attrib().is_null() {
        // R would first replace the argument by a copy without attributes
        // (DEFERRED_STRING_FIXUP_ARG_ATTRIBS): an allocation, and a change
        // to the object that the universal path makes as base R does.
        return Plan::Uncovered("deferred string whose argument has attributes");
    }
    Plan::State(state)
}

/// An ordinary write of `x` with the elements of `source`, if `source` is
/// a plain vector of `x`'s type.
fn ordinary(x: Sexp, source: Sexp) -> Plan {
    if source.is_altrep() || source.sexptype() != x.sexptype() {
        return Plan::Uncovered("ALTREP object whose elements are not in a plain vector");
    }
    Plan::Ordinary { source }
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
    }
}
