//! SpookyHash V2 (Bob Jenkins), 128 bits, as digest's `spookyhash` computes
//! it (its src/SpookyV2.cpp, through `SpookyHash::Update` and `Final`).
//!
//! Jenkins' streaming state gives the value of the whole message whatever
//! its pieces: a message under 192 bytes is hashed by `Short` at the end;
//! a longer one has every complete 96-byte block mixed in order, and its
//! last 0 to 95 bytes, zero-padded with their count in the block's last
//! byte, ended with `End`. That is what this does, in any pieces.

const NUM_VARS: usize = 12;
const BLOCK: usize = NUM_VARS * 8; // 96
const BUF: usize = 2 * BLOCK; // 192
const CONST: u64 = 0xdead_beef_dead_beef;

fn words(block: &[u8; BLOCK]) -> [u64; NUM_VARS] {
    let mut w = [0u64; NUM_VARS];
    for (i, x) in w.iter_mut().enumerate() {
        *x = u64::from_le_bytes(block[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    }
    w
}

fn mix(d: &[u64; NUM_VARS], s: &mut [u64; NUM_VARS]) {
    const R: [u32; NUM_VARS] = [11, 32, 43, 31, 17, 28, 39, 57, 55, 54, 22, 46];
    for (i, r) in R.iter().enumerate() {
        s[i] = s[i].wrapping_add(d[i]);
        s[(i + 2) % NUM_VARS] ^= s[(i + 10) % NUM_VARS];
        s[(i + 11) % NUM_VARS] ^= s[i];
        s[i] = s[i].rotate_left(*r);
        s[(i + 11) % NUM_VARS] = s[(i + 11) % NUM_VARS].wrapping_add(s[(i + 1) % NUM_VARS]);
    }
}

fn end_partial(h: &mut [u64; NUM_VARS]) {
    const R: [u32; NUM_VARS] = [44, 15, 34, 21, 38, 33, 10, 13, 38, 53, 42, 54];
    for (i, r) in R.iter().enumerate() {
        // h[i+11] += h[i+1]; h[i+2] ^= h[i+11]; h[i+1] = rot(h[i+1], R[i])
        let a = (i + 11) % NUM_VARS;
        let b = (i + 1) % NUM_VARS;
        let c = (i + 2) % NUM_VARS;
        h[a] = h[a].wrapping_add(h[b]);
        h[c] ^= h[a];
        h[b] = h[b].rotate_left(*r);
    }
}

fn end(d: &[u64; NUM_VARS], h: &mut [u64; NUM_VARS]) {
    for (x, y) in h.iter_mut().zip(d) {
        *x = x.wrapping_add(*y);
    }
    end_partial(h);
    end_partial(h);
    end_partial(h);
}

fn short_mix(h: &mut [u64; 4]) {
    const R: [u32; 12] = [50, 52, 30, 41, 54, 48, 38, 37, 62, 34, 5, 36];
    for (k, r) in R.iter().enumerate() {
        // h[i] = rot(h[i], r); h[i] += h[i+1]; h[i+2] ^= h[i]  with i = 2, 3, 0, 1, ...
        let i = (k + 2) % 4;
        h[i] = h[i].rotate_left(*r);
        h[i] = h[i].wrapping_add(h[(i + 1) % 4]);
        h[(i + 2) % 4] ^= h[i];
    }
}

fn short_end(h: &mut [u64; 4]) {
    const R: [u32; 11] = [15, 52, 26, 51, 28, 9, 47, 54, 32, 25, 63];
    for (k, r) in R.iter().enumerate() {
        // h[i+1] ^= h[i]; h[i] = rot(h[i], r); h[i+1] += h[i]  with i = 2, 3, 0, 1, ...
        let i = (k + 2) % 4;
        let j = (i + 1) % 4;
        h[j] ^= h[i];
        h[i] = h[i].rotate_left(*r);
        h[j] = h[j].wrapping_add(h[i]);
    }
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

fn le32(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(b[..4].try_into().expect("4 bytes")))
}

/// Jenkins' `Short`, for a message under 192 bytes.
fn short(message: &[u8], seed1: u64, seed2: u64) -> (u64, u64) {
    let length = message.len();
    let mut h = [seed1, seed2, CONST, CONST];
    let mut p = message;
    let mut remainder = length % 32;
    if length > 15 {
        for _ in 0..length / 32 {
            h[2] = h[2].wrapping_add(le64(p));
            h[3] = h[3].wrapping_add(le64(&p[8..]));
            short_mix(&mut h);
            h[0] = h[0].wrapping_add(le64(&p[16..]));
            h[1] = h[1].wrapping_add(le64(&p[24..]));
            p = &p[32..];
        }
        if remainder >= 16 {
            h[2] = h[2].wrapping_add(le64(p));
            h[3] = h[3].wrapping_add(le64(&p[8..]));
            short_mix(&mut h);
            p = &p[16..];
            remainder -= 16;
        }
    }
    let (mut c, mut d) = (h[2], h[3]);
    d = d.wrapping_add((length as u64) << 56);
    let byte = |i: usize| u64::from(p[i]);
    match remainder {
        12..=15 => {
            for i in (12..remainder).rev() {
                d = d.wrapping_add(byte(i) << (8 * (i - 8)));
            }
            d = d.wrapping_add(le32(&p[8..]));
            c = c.wrapping_add(le64(p));
        }
        8..=11 => {
            for i in (8..remainder).rev() {
                d = d.wrapping_add(byte(i) << (8 * (i - 8)));
            }
            c = c.wrapping_add(le64(p));
        }
        4..=7 => {
            for i in (4..remainder).rev() {
                c = c.wrapping_add(byte(i) << (8 * i));
            }
            c = c.wrapping_add(le32(p));
        }
        1..=3 => {
            for i in (0..remainder).rev() {
                c = c.wrapping_add(byte(i) << (8 * i));
            }
        }
        _ => {
            c = c.wrapping_add(CONST);
            d = d.wrapping_add(CONST);
        }
    }
    h[2] = c;
    h[3] = d;
    short_end(&mut h);
    (h[0], h[1])
}

/// A running SpookyHash V2, seeded as digest seeds it (0, 0).
pub struct Spooky {
    seeds: (u64, u64),
    /// The message while it is under 192 bytes (for `Short`).
    head: Vec<u8>,
    /// Past 192 bytes: the state, and the bytes of the block in the making.
    state: Option<[u64; NUM_VARS]>,
    block: [u8; BLOCK],
    block_len: usize,
}

impl Spooky {
    pub fn new(seed1: u64, seed2: u64) -> Spooky {
        Spooky { seeds: (seed1, seed2), head: Vec::with_capacity(BUF), state: None, block: [0; BLOCK], block_len: 0 }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        if self.state.is_none() {
            if self.head.len() + bytes.len() < BUF {
                self.head.extend_from_slice(bytes);
                return;
            }
            let (s1, s2) = self.seeds;
            self.state = Some([s1, s2, CONST, s1, s2, CONST, s1, s2, CONST, s1, s2, CONST]);
            let head = std::mem::take(&mut self.head);
            self.blocks(&head);
        }
        while !bytes.is_empty() {
            let n = bytes.len().min(BUF * 64);
            self.blocks(&bytes[..n]);
            bytes = &bytes[n..];
        }
    }

    fn blocks(&mut self, mut bytes: &[u8]) {
        let state = self.state.as_mut().expect("long");
        while !bytes.is_empty() {
            let n = (BLOCK - self.block_len).min(bytes.len());
            self.block[self.block_len..self.block_len + n].copy_from_slice(&bytes[..n]);
            self.block_len += n;
            bytes = &bytes[n..];
            if self.block_len == BLOCK {
                mix(&words(&self.block), state);
                self.block_len = 0;
            }
        }
    }

    /// The two halves, as digest's `Final` gives them.
    pub fn finish(&self) -> (u64, u64) {
        let Some(mut h) = self.state else {
            return short(&self.head, self.seeds.0, self.seeds.1);
        };
        let mut last = [0u8; BLOCK];
        last[..self.block_len].copy_from_slice(&self.block[..self.block_len]);
        last[BLOCK - 1] = self.block_len as u8;
        end(&words(&last), &mut h);
        (h[0], h[1])
    }

    /// digest's value: the halves' bytes in memory order (little-endian), as hex.
    pub fn bytes(&self) -> Vec<u8> {
        let (h1, h2) = self.finish();
        let mut out = h1.to_le_bytes().to_vec();
        out.extend_from_slice(&h2.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(data: &[u8], piece: usize) -> (u64, u64) {
        let mut s = Spooky::new(0, 0);
        for p in data.chunks(piece.max(1)) {
            s.update(p);
        }
        s.finish()
    }

    #[test]
    fn pieces_do_not_change_the_value() {
        let data: Vec<u8> = (0..2000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        for n in [0, 1, 15, 16, 31, 32, 100, 191, 192, 193, 287, 288, 289, 1000, 2000] {
            let whole = hash(&data[..n], n);
            for piece in [1, 7, 96, 97, 500] {
                assert_eq!(hash(&data[..n], piece), whole, "length {n}, pieces of {piece}");
            }
        }
    }

    /// Jenkins' own test (TestResults in testspookyV2.cpp): the low 32 bits
    /// of Hash32 (seed 0) of the message i -> i + 128, for lengths 0, 1, 2, ...
    #[test]
    fn jenkins_reference_values() {
        let expected: [u32; 8] =
            [0x6bf5_0919, 0x70de_1d26, 0xa2b3_7298, 0x35bc_5fbf, 0x8223_b279, 0x5bcb_315e, 0x53fe_88a1, 0xf9f1_a233];
        let buf: Vec<u8> = (0..8u32).map(|i| (i + 128) as u8).collect();
        for (n, want) in expected.iter().enumerate() {
            assert_eq!(hash(&buf[..n], 3).0 as u32, *want, "length {n}");
        }
    }
}
