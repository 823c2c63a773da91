//! CRC-32C (Castagnoli), as digest's `crc32c` computes it (its
//! `crc32c_extend(0, ...)`, Google's crc32c library): the reflected
//! polynomial 0x82F63B78, the register started at all ones and inverted at
//! the end. Slicing-by-8: eight 256-entry tables, built at compile time,
//! take eight bytes per step.

const POLY: u32 = 0x82F6_3B78;

const fn tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut k = 0;
        while k < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
            k += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut s = 1;
        while s < 8 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            s += 1;
        }
        i += 1;
    }
    t
}

static TABLES: [[u32; 256]; 8] = tables();

/// A running CRC-32C: the same value whatever the pieces.
#[derive(Debug, Clone)]
pub struct Crc32c {
    /// The register, not yet inverted.
    crc: u32,
}

impl Default for Crc32c {
    fn default() -> Self {
        Crc32c::new()
    }
}

impl Crc32c {
    pub fn new() -> Crc32c {
        Crc32c { crc: !0 }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let t = &TABLES;
        let mut crc = self.crc;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            crc = t[7][(lo & 0xff) as usize]
                ^ t[6][((lo >> 8) & 0xff) as usize]
                ^ t[5][((lo >> 16) & 0xff) as usize]
                ^ t[4][(lo >> 24) as usize]
                ^ t[3][c[4] as usize]
                ^ t[2][c[5] as usize]
                ^ t[1][c[6] as usize]
                ^ t[0][c[7] as usize];
        }
        for &b in chunks.remainder() {
            crc = (crc >> 8) ^ t[0][((crc ^ u32::from(b)) & 0xff) as usize];
        }
        self.crc = crc;
    }

    pub fn finish(&self) -> u32 {
        !self.crc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc(bytes: &[u8]) -> u32 {
        let mut c = Crc32c::new();
        c.update(bytes);
        c.finish()
    }

    /// Bit by bit, the definition.
    fn reference(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn known_values() {
        assert_eq!(crc(b"123456789"), 0xe306_9283); // the check value of CRC-32C
        assert_eq!(crc(b""), 0);
        assert_eq!(crc(&[0u8; 32]), 0x8a91_36aa); // RFC 3720, B.4
        assert_eq!(crc(&[0xffu8; 32]), 0x62a8_ab43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc(&ascending), 0x46dd_794e);
    }

    #[test]
    fn pieces_and_lengths_agree_with_the_definition() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 999, 1000] {
            assert_eq!(crc(&data[..n]), reference(&data[..n]), "length {n}");
        }
        for split in [1, 3, 8, 13, 500] {
            let mut c = Crc32c::new();
            for piece in data.chunks(split) {
                c.update(piece);
            }
            assert_eq!(c.finish(), reference(&data), "pieces of {split}");
        }
    }
}
