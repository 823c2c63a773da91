//! The reference table (inst/notes/format.md, References).
//!
//! In plain data the only reference objects are symbols. R numbers them from
//! 1 in order of first appearance and keys them by address (`HashGet` in
//! serialize.c); symbols are interned, so the address is the symbol. A
//! fresh table is used for every pass.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Maps an object's address to its 1-based reference index.
#[derive(Debug, Default)]
pub struct RefTable {
    index: HashMap<usize, u32, BuildHasherDefault<AddressHasher>>,
}

impl RefTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of an object already in the table.
    #[inline]
    pub fn get(&self, address: usize) -> Option<u32> {
        self.index.get(&address).copied()
    }

    /// Adds an object and returns its index (the next number).
    pub fn add(&mut self, address: usize) -> u32 {
        let next = self.index.len() as u32 + 1;
        *self.index.entry(address).or_insert(next)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// A hasher for addresses: one multiply (addresses are already unique;
/// SipHash would be a waste on a table looked up for every attribute).
#[derive(Debug, Default)]
pub struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // Fibonacci hashing; the high bits (which hashbrown uses) mix in every
        // address bit.
        self.0 = (n as u64 ^ (n as u64 >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_one_in_order_of_first_appearance() {
        let mut table = RefTable::new();
        assert!(table.is_empty());
        assert_eq!(table.get(0x1000), None);
        assert_eq!(table.add(0x1000), 1);
        assert_eq!(table.add(0x2000), 2);
        assert_eq!(table.get(0x1000), Some(1));
        assert_eq!(table.get(0x2000), Some(2));
        assert_eq!(table.add(0x1000), 1, "adding again keeps the first index");
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn many_aligned_addresses_stay_distinct() {
        let mut table = RefTable::new();
        for i in 0..100_000usize {
            assert_eq!(table.add(0x5555_0000_0000 + i * 56), i as u32 + 1);
        }
        assert_eq!(table.get(0x5555_0000_0000 + 99_999 * 56), Some(100_000));
    }
}
