//! MurmurHash3 x86_32, incrementally: what digest's `PMurHash32` computes
//! (Shane Day's public-domain incremental version of Austin Appleby's
//! MurmurHash3), fed in pieces of any size.
//!
//! The state is the running hash `h1`, a carry of up to three bytes that
//! did not yet make a 4-byte block, and the total length, which the
//! finalization mixes in. Blocks are read little-endian, as on the x86 the
//! algorithm is named after (PMurHash reads them in the machine's order,
//! and digest's results are the little-endian ones).

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

#[derive(Debug, Clone)]
pub struct Murmur32 {
    h1: u32,
    carry: [u8; 4],
    carry_len: usize,
    total: u64,
}

#[inline]
fn mix_block(h1: u32, k1: u32) -> u32 {
    let k1 = k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    (h1 ^ k1).rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

impl Murmur32 {
    pub fn new(seed: u32) -> Murmur32 {
        Murmur32 { h1: seed, carry: [0; 4], carry_len: 0, total: 0 }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.carry_len > 0 {
            let take = (4 - self.carry_len).min(bytes.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&bytes[..take]);
            self.carry_len += take;
            bytes = &bytes[take..];
            if self.carry_len < 4 {
                return;
            }
            self.h1 = mix_block(self.h1, u32::from_le_bytes(self.carry));
            self.carry_len = 0;
        }
        let mut blocks = bytes.chunks_exact(4);
        for block in &mut blocks {
            self.h1 = mix_block(self.h1, u32::from_le_bytes([block[0], block[1], block[2], block[3]]));
        }
        let rest = blocks.remainder();
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();
    }

    pub fn finish(&self) -> u32 {
        let mut h1 = self.h1;
        if self.carry_len > 0 {
            let mut k1 = 0u32;
            for (i, byte) in self.carry[..self.carry_len].iter().enumerate() {
                k1 |= u32::from(*byte) << (8 * i);
            }
            h1 ^= k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        }
        // The length is a 32-bit count in MurmurHash3 (and PMurHash32).
        h1 ^= self.total as u32;
        h1 ^= h1 >> 16;
        h1 = h1.wrapping_mul(0x85eb_ca6b);
        h1 ^= h1 >> 13;
        h1 = h1.wrapping_mul(0xc2b2_ae35);
        h1 ^ (h1 >> 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn once(seed: u32, bytes: &[u8]) -> u32 {
        let mut m = Murmur32::new(seed);
        m.update(bytes);
        m.finish()
    }

    #[test]
    fn known_values() {
        // The reference implementation's published test values.
        assert_eq!(once(0, b""), 0);
        assert_eq!(once(1, b""), 0x514e_28b7);
        assert_eq!(once(0xffff_ffff, b""), 0x81f1_6f39);
        assert_eq!(once(0, &[0xff, 0xff, 0xff, 0xff]), 0x7629_3b50);
        assert_eq!(once(0, &[0x21, 0x43, 0x65, 0x87]), 0xf55b_516b);
        assert_eq!(once(0x5082_edee, &[0x21, 0x43, 0x65, 0x87]), 0x2362_f9de);
        assert_eq!(once(0, &[0x21, 0x43, 0x65]), 0x7e4a_8634);
        assert_eq!(once(0, &[0x21, 0x43]), 0xa0f7_b07a);
        assert_eq!(once(0, &[0x21]), 0x7266_1cf4);
        assert_eq!(once(0x9747_b28c, b"Hello, world!"), 0x2488_4cba);
        assert_eq!(once(0x9747_b28c, b"The quick brown fox jumps over the lazy dog"), 0x2fa8_26cd);
    }

    #[test]
    fn pieces_do_not_matter() {
        let data: Vec<u8> = (0..257u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = once(42, &data);
        for cut in [1usize, 2, 3, 5, 7, 64] {
            let mut m = Murmur32::new(42);
            for piece in data.chunks(cut) {
                m.update(piece);
            }
            assert_eq!(m.finish(), whole, "pieces of {cut}");
        }
    }
}
