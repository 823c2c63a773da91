//! Type codes, flags words and reference indices of R's serialization
//! format (R's serialize.c: `PackFlags`, `OutRefIndex`, `WriteLENGTH`;
//! inst/notes/format.md).

pub use crate::types::{pseudo, sexptype};

const IS_OBJECT_BIT: i32 = 1 << 8;
const HAS_ATTR_BIT: i32 = 1 << 9;
const HAS_TAG_BIT: i32 = 1 << 10;

/// gp bits R clears from a CHARSXP's levels before writing them
/// (`PackFlags`: HASHASH_MASK = 1, CACHED_MASK = 1 << 5).
const CHARSXP_UNWRITTEN_LEVELS: i32 = 0x01 | 0x20;

/// The flags word: `type | levels << 12 | obj << 8 | hasattr << 9 | hastag << 10`,
/// as R's `PackFlags`. `levels` is the object's gp bits as this R writes them
/// ([`Rules::levels`]).
pub fn pack_flags(sexptype: u32, levels: i32, is_object: bool, has_attr: bool, has_tag: bool) -> i32 {
    let levels = if sexptype == sexptype::CHARSXP { levels & !CHARSXP_UNWRITTEN_LEVELS } else { levels };
    let mut flags = sexptype as i32 | (levels << 12);
    if is_object {
        flags |= IS_OBJECT_BIT;
    }
    if has_attr {
        flags |= HAS_ATTR_BIT;
    }
    if has_tag {
        flags |= HAS_TAG_BIT;
    }
    flags
}

/// The gp bit R sets on a vector that grew in place (`GROWABLE_MASK`).
pub const GROWABLE: i32 = 1 << 5;

/// Whether items of type `sexptype` are vectors, the objects whose gp bit
/// 5 is GROWABLE.
pub fn is_vector(sexptype: u32) -> bool {
    use sexptype::*;
    matches!(sexptype, LGLSXP | INTSXP | REALSXP | CPLXSXP | STRSXP | VECSXP | EXPRSXP | RAWSXP)
}

/// Rules of the running R's writer that differ between R versions, learned
/// from R itself when the package loads (R/probe.R), never assumed from
/// its version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Whether R writes the GROWABLE bit of vectors (R < 4.6 does;
    /// R >= 4.6's `PackFlags` clears it for every vector type).
    pub writes_growable: bool,
}

impl Rules {
    /// The gp bits R writes for an object of type `sexptype` whose gp bits
    /// are `levels` (before `pack_flags`' CHARSXP masking, which every R
    /// applies).
    pub fn levels(self, sexptype: u32, levels: i32) -> i32 {
        if is_vector(sexptype) && !self.writes_growable {
            levels & !GROWABLE
        } else {
            levels
        }
    }
}

/// Largest reference index that fits packed into one int (`INT_MAX >> 8`).
pub const MAX_PACKED_INDEX: u32 = (i32::MAX >> 8) as u32;

/// The ints that encode a back-reference to table entry `index` (1-based):
/// one packed word `(index << 8) | 0xFF`, or for a large index `255`
/// followed by the index (`OutRefIndex`).
pub fn ref_index_words(index: u32) -> ([i32; 2], usize) {
    if index > MAX_PACKED_INDEX {
        ([pseudo::REFSXP, index as i32], 2)
    } else {
        ([((index << 8) as i32) | pseudo::REFSXP, 0], 1)
    }
}

/// Lengths up to this are written as one int (`R_SHORT_LEN_MAX`).
pub const SHORT_LEN_MAX: u64 = i32::MAX as u64;

/// The ints that encode a vector length (`WriteLENGTH`): one int, or for a
/// long vector `-1`, the upper and the lower 32 bits.
pub fn length_words(len: u64) -> ([i32; 3], usize) {
    if len > SHORT_LEN_MAX {
        ([-1, (len >> 32) as u32 as i32, len as u32 as i32], 3)
    } else {
        ([len as i32, 0, 0], 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_words_seen_in_real_output() {
        use sexptype::*;
        // Flags words seen in R 4.2.2's output.
        assert_eq!(pack_flags(VECSXP, 0, true, true, false), 0x313);
        assert_eq!(pack_flags(LISTSXP, 0, false, false, true), 0x402);
        assert_eq!(pack_flags(LISTSXP, 0, false, true, true), 0x602);
        assert_eq!(pack_flags(INTSXP, 0, true, true, false), 0x30d);
        assert_eq!(pack_flags(S4SXP, 0x10, true, true, false), 0x0001_0319);
        assert_eq!(pack_flags(REALSXP, 0x20, false, false, false), 0x0002_000e, "GROWABLE");
        assert_eq!(pack_flags(pseudo::ALTREP_SXP, 0, true, false, false), 0x1ee);
    }

    #[test]
    fn charsxp_levels_lose_hashash_and_cached() {
        use sexptype::CHARSXP;
        assert_eq!(pack_flags(CHARSXP, 0x40 | 0x20 | 0x01, false, false, false), 0x0004_0009);
        assert_eq!(pack_flags(CHARSXP, 0x08 | 0x20, false, false, false), 0x0000_8009);
        assert_eq!(pack_flags(CHARSXP, 0x04, false, false, false), 0x0000_4009);
        assert_eq!(pack_flags(CHARSXP, 0x02 | 0x01, false, false, false), 0x0000_2009);
        assert_eq!(pack_flags(CHARSXP, 0, false, false, false), 0x09);
        // Only CHARSXPs are masked: bit 0x20 is GROWABLE on vectors.
        assert_eq!(pack_flags(sexptype::INTSXP, 0x21, false, false, false), 0x0002_100d);
    }

    #[test]
    fn growable_is_written_or_not_by_rule() {
        use sexptype::*;
        let old = Rules { writes_growable: true };
        let new = Rules { writes_growable: false };
        for t in [LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP, VECSXP, EXPRSXP, RAWSXP] {
            assert_eq!(old.levels(t, 0x30), 0x30);
            assert_eq!(new.levels(t, 0x30), 0x10, "S4 bit kept");
        }
        // Not a vector: R writes bit 5 as it is (NOJIT on closures).
        assert_eq!(new.levels(LISTSXP, 0x20), 0x20);
        assert_eq!(new.levels(CLOSXP, 0x20), 0x20);
    }

    #[test]
    fn reference_indices_pack_into_one_word_up_to_the_limit() {
        assert_eq!(ref_index_words(1), ([0x1ff, 0], 1));
        assert_eq!(ref_index_words(2), ([0x2ff, 0], 1));
        assert_eq!(ref_index_words(MAX_PACKED_INDEX), ([i32::MAX, 0], 1));
        assert_eq!(ref_index_words(MAX_PACKED_INDEX + 1), ([255, 8_388_608], 2));
    }

    #[test]
    fn long_lengths_take_three_words() {
        assert_eq!(length_words(0), ([0, 0, 0], 1));
        assert_eq!(length_words(SHORT_LEN_MAX), ([i32::MAX, 0, 0], 1));
        // Seen from R 4.2.2: a raw vector of length 2^31 is ff ff ff ff 00 00 00 00 80 00 00 00.
        assert_eq!(length_words(1 << 31), ([-1, 0, i32::MIN], 3));
        assert_eq!(length_words((1 << 31) + 10), ([-1, 0, i32::MIN + 10], 3));
        assert_eq!(length_words((5 << 32) + 7), ([-1, 5, 7], 3));
    }
}
