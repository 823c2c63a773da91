//! The flags R writes for nodes where the walker, reading R objects
//! through the API only, would write others: what the tap
//! ([`super::tap`]) learnt from R's own writer, per node, and the native
//! passes then write ([`super::walk::Walk::with_learned`]).
//!
//! A flags word holds a node's type, its 16 gp bits, its object bit and
//! whether it has attributes and a tag (`PackFlags`). A build without
//! `LEVELS` rebuilds the gp bits from API predicates (the S4 bit, a
//! CHARSXP's encoding), and a build without `ATTRIB` makes up attribute
//! cells with no gp bits of their own; whatever else R writes in those
//! bits (the GROWABLE bit of a vector grown in place on R < 4.6, gp bits
//! an object was unserialized with or a package set, the lock of an ALTREP
//! wrapper's metadata) is learnt here. The type and the attribute and tag
//! bits decide what follows in the stream: a difference there is not
//! learnt, it fails the tap.
//!
//! The map holds one entry per node whose bits differ, nothing in
//! proportion to the data. A leaf: it depends on nothing of the writer's
//! but the address hasher.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::refs::AddressHasher;
use crate::error::{Error, Result};

/// The bits of a flags word the tap may learn: the gp bits (bits 12 to 27)
/// and the object bit (bit 8).
pub const LEARNABLE: i32 = 0x0FFF_F000 | 0x100;

/// A node the walker writes a flags word for: an object (by its address),
/// or an attribute cell the walker makes up for an object whose attribute
/// list it cannot read as stored (`R_mapAttrib`), by its owner and place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    address: usize,
    /// 0 for the object itself; `i + 1` for its `i`-th attribute cell.
    cell: u32,
}

impl Node {
    #[inline]
    pub fn object(address: usize) -> Node {
        Node { address, cell: 0 }
    }

    /// The `index`-th (from 0) cell of the attribute list of the object at
    /// `owner`.
    #[inline]
    pub fn attribute_cell(owner: usize, index: usize) -> Node {
        Node { address: owner, cell: u32::try_from(index).unwrap_or(u32::MAX - 1) + 1 }
    }
}

impl Hash for Node {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        // One word: an object's own key is its address.
        state.write_usize(self.address ^ (self.cell as usize).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize));
    }
}

/// What R writes for a node in the learnable bits of its flags word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bits {
    /// The gp bits, 0..=0xFFFF (as R wrote them: R's own masking applied).
    pub levels: i32,
    pub object: bool,
}

impl Bits {
    /// The learnable bits of the flags word `word`.
    pub fn of_word(word: i32) -> Bits {
        Bits { levels: (word >> 12) & 0xFFFF, object: word & 0x100 != 0 }
    }
}

/// The nodes whose flags R writes other than the walker would, and what R
/// writes.
#[derive(Debug, Default, Clone)]
pub struct Learned(HashMap<Node, Bits, BuildHasherDefault<AddressHasher>>);

impl Learned {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// What R writes for `node`, if the tap learnt it.
    #[inline]
    pub fn get(&self, node: Node) -> Option<Bits> {
        if self.0.is_empty() {
            return None;
        }
        self.0.get(&node).copied()
    }

    /// Records what R writes for `node`. An error if there is no memory.
    pub fn insert(&mut self, node: Node, bits: Bits) -> Result<()> {
        if self.0.try_reserve(1).is_err() {
            return Err(Error::OutOfMemory { bytes: (self.0.len() as u64 + 1) * 32 });
        }
        self.0.insert(node, bits);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_and_cells_are_distinct_keys() {
        let mut learned = Learned::default();
        assert!(learned.get(Node::object(0x1000)).is_none());
        learned.insert(Node::object(0x1000), Bits { levels: 1, object: false }).unwrap();
        learned.insert(Node::attribute_cell(0x1000, 0), Bits { levels: 2, object: true }).unwrap();
        learned.insert(Node::attribute_cell(0x1000, 0), Bits { levels: 2, object: true }).unwrap();
        assert_eq!(learned.len(), 2);
        assert_eq!(learned.get(Node::object(0x1000)).unwrap().levels, 1);
        assert!(learned.get(Node::attribute_cell(0x1000, 0)).unwrap().object);
        assert!(learned.get(Node::attribute_cell(0x1000, 1)).is_none());
        assert!(learned.get(Node::object(0x1010)).is_none());
    }

    #[test]
    fn bits_of_a_word() {
        assert_eq!(Bits::of_word(0x100d), Bits { levels: 1, object: false });
        assert_eq!(Bits::of_word(0xFFFF_F30E_u32 as i32), Bits { levels: 0xFFFF, object: true });
        assert_eq!(0x0002_000e & !LEARNABLE, 0x0e);
        assert_eq!(0x0000_0602 & !LEARNABLE, 0x602, "attribute and tag bits are not learnable");
    }
}
