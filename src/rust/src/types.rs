//! R's type codes: the SEXPTYPEs of Rinternals.h and the pseudo-types of
//! R's serialize.c. A leaf module: both the reader of R objects ([`crate::rapi`])
//! and the writer of the format ([`crate::format`]) use it.

/// SEXPTYPE codes (Rinternals.h) of the objects the native writer meets.
pub mod sexptype {
    pub const NILSXP: u32 = 0;
    pub const SYMSXP: u32 = 1;
    pub const LISTSXP: u32 = 2;
    pub const CLOSXP: u32 = 3;
    pub const ENVSXP: u32 = 4;
    pub const PROMSXP: u32 = 5;
    pub const LANGSXP: u32 = 6;
    pub const SPECIALSXP: u32 = 7;
    pub const BUILTINSXP: u32 = 8;
    pub const CHARSXP: u32 = 9;
    pub const LGLSXP: u32 = 10;
    pub const INTSXP: u32 = 13;
    pub const REALSXP: u32 = 14;
    pub const CPLXSXP: u32 = 15;
    pub const STRSXP: u32 = 16;
    pub const DOTSXP: u32 = 17;
    pub const VECSXP: u32 = 19;
    pub const EXPRSXP: u32 = 20;
    pub const BCODESXP: u32 = 21;
    pub const EXTPTRSXP: u32 = 22;
    pub const WEAKREFSXP: u32 = 23;
    pub const RAWSXP: u32 = 24;
    pub const S4SXP: u32 = 25;
}

/// Pseudo-types that exist only in the stream. Written as bare ints.
pub mod pseudo {
    pub const REFSXP: i32 = 255;
    pub const NILVALUE_SXP: i32 = 254;
    pub const GLOBALENV_SXP: i32 = 253;
    pub const UNBOUNDVALUE_SXP: i32 = 252;
    pub const MISSINGARG_SXP: i32 = 251;
    pub const BASENAMESPACE_SXP: i32 = 250;
    pub const EMPTYENV_SXP: i32 = 242;
    pub const BASEENV_SXP: i32 = 241;
    pub const ALTREP_SXP: u32 = 238;
}
