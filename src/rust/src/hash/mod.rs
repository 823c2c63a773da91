//! Hashes of a serialized stream, as `digest::digest()` computes them.
//!
//! digest hashes the whole `serialize(x, NULL)` vector after skipping its
//! first `skip` bytes, and at most `length` bytes of the rest (its
//! `src/digest.c`). The same bytes arrive here in pieces, in order: a
//! [`Digester`] drops the skipped prefix, stops at the length, and feeds
//! the rest to the algorithm's streaming state. Every algorithm here gives
//! the same result in pieces as at once, which is what lets a stream be
//! hashed without its copy (SpookyHash V2 too, see [`spooky`]; digest's
//! skip rule for it is R/digest.R's). The same window, fed from memory or a
//! file, is digest's `serialize = FALSE` and `file = TRUE`.
//!
//! The output follows digest's C code: lowercase hex of the digest bytes
//! (md5, sha1, sha256, sha512, blake3; spookyhash's two halves, each
//! little-endian), or of a number printed with `%08x`
//! / `%016llx` (crc32, xxhash32, xxhash64, murmur32, crc32c, xxh3_64), or
//! xxh3_128's two halves, high first. With `raw = TRUE`, the digest bytes,
//! and since digest 0.6.38 the number's bytes, most significant first (the
//! hex text's order; xxh3_128's canonical form); digest up to 0.6.37
//! ignored `raw` for the numbers (R/digest.R asks for the text then).

pub mod crc32c;
pub mod murmur;
pub mod spooky;

use std::fmt::Write as _;

use md5::Digest as _;

/// digest's algorithms, by its own codes (`digest:::algo_int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Md5,
    Sha1,
    Crc32,
    Sha256,
    Sha512,
    Xxhash32,
    Xxhash64,
    Murmur32,
    Spookyhash,
    Blake3,
    Crc32c,
    Xxh3_64,
    Xxh3_128,
}

impl Algo {
    pub fn from_code(code: i32) -> Option<Algo> {
        Some(match code {
            1 => Algo::Md5,
            2 => Algo::Sha1,
            3 => Algo::Crc32,
            4 => Algo::Sha256,
            5 => Algo::Sha512,
            6 => Algo::Xxhash32,
            7 => Algo::Xxhash64,
            8 => Algo::Murmur32,
            9 => Algo::Spookyhash,
            10 => Algo::Blake3,
            11 => Algo::Crc32c,
            12 => Algo::Xxh3_64,
            13 => Algo::Xxh3_128,
            _ => return None,
        })
    }
}

/// An algorithm's running state.
enum State {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Crc32(crc32fast::Hasher),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Xxhash32(xxhash_rust::xxh32::Xxh32),
    Xxhash64(xxhash_rust::xxh64::Xxh64),
    Murmur32(murmur::Murmur32),
    Blake3(Box<blake3::Hasher>),
    Crc32c(crc32c::Crc32c),
    Spooky(Box<spooky::Spooky>),
    /// XXH3, 64 or 128 bits (the same state; `true`: 128).
    Xxh3(Box<xxhash_rust::xxh3::Xxh3>, bool),
}

/// A finished hash: digest bytes, or a number digest prints in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hash {
    Bytes(Vec<u8>),
    /// The value and its width in hex digits (`%08x`, `%016llx`).
    Number(u64, usize),
}

impl Hash {
    /// What digest returns: the bytes if `raw` (`Ok`), else the hex text
    /// (`Err`).
    pub fn output(&self, raw: bool) -> Result<Vec<u8>, String> {
        match self {
            Hash::Bytes(bytes) if raw => Ok(bytes.clone()),
            Hash::Number(value, width) if raw => Ok(value.to_be_bytes()[8 - width / 2..].to_vec()),
            Hash::Bytes(bytes) => Err(bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })),
            Hash::Number(value, width) => Err(format!("{value:0width$x}")),
        }
    }
}

impl State {
    /// digest's C code takes the seed as an `int` and passes it to
    /// functions that take an unsigned one: converted modulo 2^32 (or 2^64
    /// for XXH64's and XXH3's 64-bit seeds), a negative seed sign-extended.
    fn new(algo: Algo, seed: i32) -> State {
        match algo {
            Algo::Md5 => State::Md5(md5::Md5::new()),
            Algo::Sha1 => State::Sha1(sha1::Sha1::new()),
            Algo::Crc32 => State::Crc32(crc32fast::Hasher::new()),
            Algo::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algo::Sha512 => State::Sha512(sha2::Sha512::new()),
            Algo::Xxhash32 => State::Xxhash32(xxhash_rust::xxh32::Xxh32::new(seed as u32)),
            Algo::Xxhash64 => State::Xxhash64(xxhash_rust::xxh64::Xxh64::new(i64::from(seed) as u64)),
            Algo::Murmur32 => State::Murmur32(murmur::Murmur32::new(seed as u32)),
            Algo::Blake3 => State::Blake3(Box::new(blake3::Hasher::new())),
            Algo::Crc32c => State::Crc32c(crc32c::Crc32c::new()),
            // digest seeds it with 0 and 0, whatever `seed` is.
            Algo::Spookyhash => State::Spooky(Box::new(spooky::Spooky::new(0, 0))),
            Algo::Xxh3_64 | Algo::Xxh3_128 => State::Xxh3(
                Box::new(xxhash_rust::xxh3::Xxh3::with_seed(i64::from(seed) as u64)),
                algo == Algo::Xxh3_128,
            ),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            State::Md5(h) => h.update(bytes),
            State::Sha1(h) => h.update(bytes),
            State::Crc32(h) => h.update(bytes),
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
            State::Xxhash32(h) => h.update(bytes),
            State::Xxhash64(h) => h.update(bytes),
            State::Murmur32(h) => h.update(bytes),
            State::Blake3(h) => {
                h.update(bytes);
            }
            State::Crc32c(h) => h.update(bytes),
            State::Spooky(h) => h.update(bytes),
            State::Xxh3(h, _) => h.update(bytes),
        }
    }

    fn finish(self) -> Hash {
        match self {
            State::Md5(h) => Hash::Bytes(h.finalize().to_vec()),
            State::Sha1(h) => Hash::Bytes(h.finalize().to_vec()),
            State::Crc32(h) => Hash::Number(u64::from(h.finalize()), 8),
            State::Sha256(h) => Hash::Bytes(h.finalize().to_vec()),
            State::Sha512(h) => Hash::Bytes(h.finalize().to_vec()),
            State::Xxhash32(h) => Hash::Number(u64::from(h.digest()), 8),
            State::Xxhash64(h) => Hash::Number(h.digest(), 16),
            State::Murmur32(h) => Hash::Number(u64::from(h.finish()), 8),
            State::Blake3(h) => Hash::Bytes(h.finalize().as_bytes().to_vec()),
            State::Crc32c(h) => Hash::Number(u64::from(h.finish()), 8),
            State::Spooky(h) => Hash::Bytes(h.bytes()),
            State::Xxh3(h, false) => Hash::Number(h.digest(), 16),
            // XXH128_canonicalFromHash: big-endian, high half first; digest's
            // text prints the high half, then the low one.
            State::Xxh3(h, true) => Hash::Bytes(h.digest128().to_be_bytes().to_vec()),
        }
    }
}

/// How much of the stream's start is not hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A number of bytes (digest: `skip > 0`; 0 skips nothing).
    Bytes(u64),
    /// digest's `skip = "auto"` for ASCII: up to and including the fourth
    /// newline among the first [`ASCII_SCAN`] bytes
    /// (`which(object[1:30] == as.raw(10))[4]`); nothing if there is none.
    AsciiHeader,
}

/// How far digest looks for the ASCII header's fourth newline.
pub const ASCII_SCAN: usize = 30;

/// The first bytes of an ASCII stream, held until it is known how many of
/// them the header takes.
struct Scan {
    buf: [u8; ASCII_SCAN],
    len: usize,
    newlines: u8,
}

/// A stream's hash in the making: digest's window over the stream (skip,
/// then at most `length` bytes) in front of an algorithm's state.
pub struct Digester {
    state: Option<State>,
    to_skip: u64,
    /// Bytes still to hash; `None`: all of them.
    left: Option<u64>,
    scan: Option<Scan>,
}

impl Digester {
    /// `length`: digest's `length`, `None` for all (digest: `length < 0`).
    pub fn new(algo: Algo, seed: i32, skip: Skip, length: Option<u64>) -> Digester {
        let (to_skip, scan) = match skip {
            Skip::Bytes(n) => (n, None),
            Skip::AsciiHeader => (0, Some(Scan { buf: [0; ASCII_SCAN], len: 0, newlines: 0 })),
        };
        Digester { state: Some(State::new(algo, seed)), to_skip, left: length, scan }
    }

    /// The next piece of the stream.
    pub fn write(&mut self, mut bytes: &[u8]) {
        if let Some(scan) = self.scan.as_mut() {
            while scan.len < ASCII_SCAN && scan.newlines < 4 {
                let Some((&byte, rest)) = bytes.split_first() else {
                    return; // the header may go on in the next piece
                };
                bytes = rest;
                scan.buf[scan.len] = byte;
                scan.len += 1;
                scan.newlines += u8::from(byte == b'\n');
            }
            let scan = self.scan.take().expect("scanning");
            if scan.newlines < 4 {
                self.feed(&scan.buf[..scan.len]); // no header found: nothing skipped
            }
        }
        if self.to_skip > 0 {
            let n = self.to_skip.min(bytes.len() as u64);
            self.to_skip -= n;
            bytes = &bytes[n as usize..];
        }
        self.feed(bytes);
    }

    fn feed(&mut self, bytes: &[u8]) {
        let bytes = match self.left.as_mut() {
            None => bytes,
            Some(left) => {
                let n = (*left).min(bytes.len() as u64);
                *left -= n;
                &bytes[..n as usize]
            }
        };
        if !bytes.is_empty() {
            if let Some(state) = self.state.as_mut() {
                state.update(bytes);
            }
        }
    }

    /// The hash of the stream so far; `None` if it was already taken.
    pub fn finish(&mut self) -> Option<Hash> {
        if let Some(scan) = self.scan.take() {
            // A stream shorter than the scan without four newlines.
            self.feed(&scan.buf[..scan.len]);
        }
        self.state.take().map(State::finish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(algo: Algo, seed: i32, skip: Skip, length: Option<u64>, pieces: &[&[u8]]) -> String {
        let mut d = Digester::new(algo, seed, skip, length);
        for p in pieces {
            d.write(p);
        }
        d.finish().unwrap().output(false).unwrap_err()
    }

    #[test]
    fn known_values_of_abc() {
        let abc: &[&[u8]] = &[b"a", b"bc"];
        let all = Skip::Bytes(0);
        assert_eq!(hex(Algo::Md5, 0, all, None, abc), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex(Algo::Sha1, 0, all, None, abc), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(Algo::Crc32, 0, all, None, abc), "352441c2");
        assert_eq!(
            hex(Algo::Sha256, 0, all, None, abc),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(Algo::Xxhash32, 0, all, None, abc), "32d153ff");
        assert_eq!(hex(Algo::Xxhash64, 0, all, None, abc), "44bc2cf5ad770999");
        assert_eq!(
            hex(Algo::Blake3, 0, all, None, abc),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert_eq!(hex(Algo::Crc32, 0, all, None, &[b""]), "00000000", "zero-padded as %08x");
        assert_eq!(hex(Algo::Crc32c, 0, all, None, &[b"1234", b"56789"]), "e3069283");
    }

    /// XXH3's values from xxHash's own sanity test (tests/sanity_test_vectors.h:
    /// its generated buffer, lengths 0, 1 and 6, seeds 0 and PRIME64),
    /// streamed in pieces.
    #[test]
    fn xxh3_matches_the_reference_vectors() {
        const PRIME32: u64 = 2_654_435_761;
        const PRIME64: u64 = 11_400_714_785_074_694_797;
        let mut buffer = vec![0u8; 2367];
        let mut gen = PRIME32;
        for b in buffer.iter_mut() {
            *b = (gen >> 56) as u8;
            gen = gen.wrapping_mul(PRIME64);
        }
        let one_shot = |n: usize, seed: u64| xxhash_rust::xxh3::xxh3_64_with_seed(&buffer[..n], seed);
        assert_eq!(one_shot(0, 0), 0x2D06_8005_38D3_94C2);
        assert_eq!(one_shot(0, PRIME64), 0xA8A6_B918_B2F0_364A);
        assert_eq!(one_shot(1, 0), 0xC44B_DFF4_074E_ECDB);
        assert_eq!(one_shot(6, 0), 0x27B5_6A84_CD2D_7325);
        let long128 = xxhash_rust::xxh3::xxh3_128_with_seed(&buffer[..0], 0);
        assert_eq!(long128, 0x99AA_06D3_0147_98D8_6001_C324_468D_497F);
        for (n, seed) in [(0, 0i32), (1, 0), (6, 0), (240, 0), (241, 7), (1025, -3), (2367, 0)] {
            let pieces: Vec<&[u8]> = buffer[..n].chunks(97).collect();
            let s = i64::from(seed) as u64;
            let want64 = format!("{:016x}", xxhash_rust::xxh3::xxh3_64_with_seed(&buffer[..n], s));
            assert_eq!(hex(Algo::Xxh3_64, seed, Skip::Bytes(0), None, &pieces), want64, "{n} {seed}");
            let want128 = format!("{:032x}", xxhash_rust::xxh3::xxh3_128_with_seed(&buffer[..n], s));
            assert_eq!(hex(Algo::Xxh3_128, seed, Skip::Bytes(0), None, &pieces), want128, "{n} {seed}");
        }
        let mut d = Digester::new(Algo::Xxh3_128, 0, Skip::Bytes(0), None);
        let raw = d.finish().unwrap().output(true).unwrap();
        assert_eq!(raw[..2], [0x99, 0xAA], "canonical: big-endian, high half first");
    }

    #[test]
    fn skip_and_length_window_the_stream() {
        let whole = hex(Algo::Md5, 0, Skip::Bytes(0), None, &[b"bcd"]);
        assert_eq!(hex(Algo::Md5, 0, Skip::Bytes(1), Some(3), &[b"a", b"bc", b"def"]), whole);
        let empty = hex(Algo::Md5, 0, Skip::Bytes(0), None, &[]);
        assert_eq!(hex(Algo::Md5, 0, Skip::Bytes(10), None, &[b"abc"]), empty);
        assert_eq!(hex(Algo::Md5, 0, Skip::Bytes(0), Some(0), &[b"abc"]), empty);
    }

    #[test]
    fn ascii_header_is_skipped_through_the_fourth_newline() {
        let body = hex(Algo::Sha1, 0, Skip::Bytes(0), None, &[b"5\nUTF-8\n"]);
        let pieces: &[&[u8]] = &[b"A\n3\n26", b"2402\n197888", b"\n5\nUTF-8\n"];
        assert_eq!(hex(Algo::Sha1, 0, Skip::AsciiHeader, None, pieces), body);
        // No fourth newline within 30 bytes: nothing is skipped.
        let long = b"A\n3\n0123456789012345678901234567890\n\n";
        assert_eq!(
            hex(Algo::Sha1, 0, Skip::AsciiHeader, None, &[long]),
            hex(Algo::Sha1, 0, Skip::Bytes(0), None, &[long])
        );
        // A short stream without it: all of it.
        assert_eq!(
            hex(Algo::Sha1, 0, Skip::AsciiHeader, None, &[b"A\n"]),
            hex(Algo::Sha1, 0, Skip::Bytes(0), None, &[b"A\n"])
        );
    }

    #[test]
    fn raw_output_is_the_bytes_of_the_hex_text() {
        let mut d = Digester::new(Algo::Md5, 0, Skip::Bytes(0), None);
        assert_eq!(d.finish().unwrap().output(true).unwrap().len(), 16);
        assert!(d.finish().is_none(), "taken once");
        let hash = Hash::Number(0x0102_0304, 8);
        assert_eq!(hash.output(true).unwrap(), vec![1, 2, 3, 4], "most significant first");
        assert_eq!(hash.output(false).unwrap_err(), "01020304");
        let mut d = Digester::new(Algo::Xxhash64, -1, Skip::Bytes(0), None);
        assert_eq!(d.finish().unwrap().output(true).unwrap().len(), 8);
    }
}
