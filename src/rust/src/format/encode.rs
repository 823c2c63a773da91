//! Scalar encoders of the three stream formats (inst/notes/format.md, Encodings),
//! over a destination that either counts or writes.
//!
//! Sizing and writing share every line of encoding logic: the walker drives
//! an [`Encoder`]; the encoder asks its [`Dest`] for the next `n` bytes; a
//! [`Count`] destination only adds `n` (so sizing a binary vector is O(1)),
//! a [`Slice`] destination hands out the next `n` bytes of the output.

use byteorder::{BigEndian, ByteOrder, NativeEndian};

use super::ascii::{self, MAX_NUMBER_TEXT};
use super::learned::Node;
use crate::error::Result;
pub use crate::sink::Slice;

/// Where encoded bytes go.
pub trait Dest {
    /// True if the destination only counts (the bytes are never looked at).
    const COUNTS: bool;

    /// Reserves the next `n` bytes of the stream. Returns the bytes to fill
    /// when writing, `None` when only counting.
    fn take(&mut self, n: usize) -> Result<Option<&mut [u8]>>;

    /// Bytes reserved so far.
    fn position(&self) -> u64;

    /// The most bytes one [`Dest::take`] may ask for: the encoders cut
    /// longer runs (vectors, long strings) into pieces of at most this
    /// size, so that a destination with a fixed buffer
    /// ([`super::stage::Staged`]) never has to grow. Unbounded unless a
    /// destination says otherwise; at least [`MIN_ROOM`] bytes.
    #[inline]
    fn room(&self) -> usize {
        usize::MAX
    }
}

/// The least room a destination may offer: the largest piece an encoder
/// never cuts (the text of one number, the two words before a string).
pub const MIN_ROOM: usize = 64;

/// Counts bytes; stores nothing.
#[derive(Debug, Default)]
pub struct Count {
    bytes: u64,
}

impl Dest for Count {
    const COUNTS: bool = true;

    #[inline]
    fn take(&mut self, n: usize) -> Result<Option<&mut [u8]>> {
        self.bytes += n as u64;
        Ok(None)
    }

    fn position(&self) -> u64 {
        self.bytes
    }
}

/// The result vector's buffer ([`Slice`], in `sink/slice.rs`).
impl Dest for Slice<'_> {
    const COUNTS: bool = false;

    #[inline]
    fn take(&mut self, n: usize) -> Result<Option<&mut [u8]>> {
        Slice::take(self, n).map(Some)
    }

    fn position(&self) -> u64 {
        Slice::position(self)
    }
}

/// The primitives of the stream (inst/notes/format.md, Encodings): everything the walker writes is one
/// of these. Complex vectors are written as their doubles (real, imaginary,
/// real, ...), which is what R does in every format.
pub trait Encoder {
    /// True if the encoder only counts a binary stream: then the size of
    /// every item depends only on lengths, and the walker may skip reading
    /// values (string bytes, gp bits) and call [`Encoder::skip`] instead.
    const SIZES_ONLY: bool;
    /// Accounts for `n` bytes whose values do not matter (only valid when
    /// `SIZES_ONLY`).
    fn skip(&mut self, n: usize) -> Result<()>;
    /// The 2-byte format magic ("X\n", "B\n" or "A\n").
    fn magic(&mut self) -> Result<()>;
    /// One int: a flags word, a length, a count, an element.
    fn int(&mut self, value: i32) -> Result<()>;
    /// The flags word of `node`: an int to every encoder but the tap's
    /// ([`super::tap`]), which also notes whose flags word it is.
    #[inline]
    fn node_flags(&mut self, value: i32, node: Node) -> Result<()> {
        let _ = node;
        self.int(value)
    }
    /// Integer or logical elements.
    fn ints(&mut self, values: &[i32]) -> Result<()>;
    /// Double elements.
    fn doubles(&mut self, values: &[f64]) -> Result<()>;
    /// Raw-vector elements.
    fn raw(&mut self, values: &[u8]) -> Result<()>;
    /// The bytes of a byte string; its length was written before as an int.
    fn string(&mut self, bytes: &[u8]) -> Result<()>;
    /// Bytes of output so far.
    fn position(&self) -> u64;

    /// [`Encoder::charsxp`] of the CHARSXP `node`: the tap notes whose
    /// flags word it is, every other encoder writes the item.
    #[inline]
    fn charsxp_of(&mut self, flags: i32, node: Node, bytes: Option<&[u8]>) -> Result<()> {
        let _ = node;
        self.charsxp(flags, bytes)
    }

    /// A whole CHARSXP item: its flags word, then `-1` for NA_character_
    /// (`bytes` is `None`), or the byte count and the bytes.
    fn charsxp(&mut self, flags: i32, bytes: Option<&[u8]>) -> Result<()> {
        self.int(flags)?;
        match bytes {
            None => self.int(-1),
            Some(bytes) => {
                self.int(bytes.len() as i32)?;
                self.string(bytes)
            }
        }
    }
}

/// Big-endian binary (`X\n`).
pub struct Xdr<D>(pub D);

/// Binary in this machine's byte order (`B\n`).
pub struct Native<D>(pub D);

/// Text (`A\n`); `hex` selects `%a` for finite doubles (asciihex).
pub struct Ascii<D> {
    pub dest: D,
    pub hex: bool,
}

/// Encodes doubles as XDR: each 8-byte word byte-swapped into `dst`
/// (`dst.len() == 8 * src.len()`). Bits are copied unchanged, NaN payloads
/// included. Written so the compiler vectorises the swap (byteorder's
/// slice writer is `chunks_exact_mut` + `to_be_bytes`).
#[inline]
pub fn xdr_doubles(src: &[f64], dst: &mut [u8]) {
    BigEndian::write_f64_into(src, dst);
}

/// Encodes ints as XDR (`dst.len() == 4 * src.len()`).
#[inline]
pub fn xdr_ints(src: &[i32], dst: &mut [u8]) {
    BigEndian::write_i32_into(src, dst);
}

/// The two binary formats differ only in their magic and byte order; one
/// implementation of [`Encoder`] serves both.
pub trait Binary {
    type Order: ByteOrder;
    type Dest: Dest;
    const MAGIC: &'static [u8; 2];
    fn dest(&mut self) -> &mut Self::Dest;
    fn dest_ref(&self) -> &Self::Dest;
}

impl<D: Dest> Binary for Xdr<D> {
    type Order = BigEndian;
    type Dest = D;
    const MAGIC: &'static [u8; 2] = b"X\n";
    #[inline]
    fn dest(&mut self) -> &mut D {
        &mut self.0
    }
    fn dest_ref(&self) -> &D {
        &self.0
    }
}

impl<D: Dest> Binary for Native<D> {
    type Order = NativeEndian;
    type Dest = D;
    const MAGIC: &'static [u8; 2] = b"B\n";
    #[inline]
    fn dest(&mut self) -> &mut D {
        &mut self.0
    }
    fn dest_ref(&self) -> &D {
        &self.0
    }
}

impl<B: Binary> Encoder for B {
    const SIZES_ONLY: bool = <B::Dest as Dest>::COUNTS;

    /// One reservation per string (the hot loop of character vectors).
    #[inline]
    fn charsxp(&mut self, flags: i32, bytes: Option<&[u8]>) -> Result<()> {
        let len = bytes.map_or(0, <[u8]>::len);
        let room = self.dest_ref().room();
        if let Some(long) = bytes.filter(|_| 8 + len > room) {
            // Longer than the destination's room: the two words, then the
            // bytes in pieces.
            self.int(flags)?;
            self.int(len as i32)?;
            return self.string(long);
        }
        if let Some(dst) = self.dest().take(8 + len)? {
            B::Order::write_i32(&mut dst[..4], flags);
            B::Order::write_i32(&mut dst[4..8], bytes.map_or(-1, |b| b.len() as i32));
            if let Some(bytes) = bytes {
                dst[8..].copy_from_slice(bytes);
            }
        }
        Ok(())
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        self.dest().take(n).map(|_| ())
    }

    fn magic(&mut self) -> Result<()> {
        put(self.dest(), B::MAGIC)
    }

    #[inline]
    fn int(&mut self, value: i32) -> Result<()> {
        let mut bytes = [0u8; 4];
        B::Order::write_i32(&mut bytes, value);
        put(self.dest(), &bytes)
    }

    fn ints(&mut self, values: &[i32]) -> Result<()> {
        for piece in values.chunks(pieces_of(self.dest_ref().room(), 4)) {
            if let Some(dst) = self.dest().take(piece.len() * 4)? {
                B::Order::write_i32_into(piece, dst);
            }
        }
        Ok(())
    }

    fn doubles(&mut self, values: &[f64]) -> Result<()> {
        for piece in values.chunks(pieces_of(self.dest_ref().room(), 8)) {
            if let Some(dst) = self.dest().take(piece.len() * 8)? {
                B::Order::write_f64_into(piece, dst);
            }
        }
        Ok(())
    }

    fn raw(&mut self, values: &[u8]) -> Result<()> {
        put(self.dest(), values)
    }

    #[inline]
    fn string(&mut self, bytes: &[u8]) -> Result<()> {
        put(self.dest(), bytes)
    }

    fn position(&self) -> u64 {
        self.dest_ref().position()
    }
}

impl<D: Dest> Encoder for Ascii<D> {
    // Text sizes depend on the values.
    const SIZES_ONLY: bool = false;

    fn skip(&mut self, n: usize) -> Result<()> {
        self.dest.take(n).map(|_| ())
    }

    fn magic(&mut self) -> Result<()> {
        put(&mut self.dest, b"A\n")
    }

    fn int(&mut self, value: i32) -> Result<()> {
        let mut text = [0u8; MAX_NUMBER_TEXT];
        let n = ascii::int_text(value, &mut text);
        put(&mut self.dest, &text[..n])
    }

    fn ints(&mut self, values: &[i32]) -> Result<()> {
        values.iter().try_for_each(|&v| self.int(v))
    }

    fn doubles(&mut self, values: &[f64]) -> Result<()> {
        let mut text = [0u8; MAX_NUMBER_TEXT];
        for &v in values {
            let n = ascii::double_text(v, self.hex, &mut text);
            put(&mut self.dest, &text[..n])?;
        }
        Ok(())
    }

    fn raw(&mut self, values: &[u8]) -> Result<()> {
        for piece in values.chunks(pieces_of(self.dest.room(), 3)) {
            if let Some(dst) = self.dest.take(piece.len() * 3)? {
                for (chunk, &b) in dst.chunks_exact_mut(3).zip(piece) {
                    chunk.copy_from_slice(&ascii::byte_text(b));
                }
            }
        }
        Ok(())
    }

    fn string(&mut self, bytes: &[u8]) -> Result<()> {
        let n = ascii::string_text_len(bytes);
        let room = self.dest.room();
        if n <= room {
            if let Some(dst) = self.dest.take(n)? {
                ascii::string_text(bytes, dst);
            }
            return Ok(());
        }
        // Longer than the destination's room: the escapes in pieces (each
        // byte is escaped on its own), then the newline.
        for piece in bytes.chunks(pieces_of(room, 4)) {
            if let Some(dst) = self.dest.take(ascii::escaped_len(piece))? {
                ascii::escape_into(piece, dst);
            }
        }
        put(&mut self.dest, b"\n")
    }

    fn position(&self) -> u64 {
        self.dest.position()
    }
}

/// Copies `bytes` into the stream, in pieces if they exceed the room.
#[inline]
fn put<D: Dest>(dest: &mut D, bytes: &[u8]) -> Result<()> {
    let room = dest.room();
    if bytes.len() <= room {
        if let Some(dst) = dest.take(bytes.len())? {
            dst.copy_from_slice(bytes);
        }
        return Ok(());
    }
    for piece in bytes.chunks(room) {
        if let Some(dst) = dest.take(piece.len())? {
            dst.copy_from_slice(piece);
        }
    }
    Ok(())
}

/// How many values of `width` output bytes each fit in `room` bytes (at
/// least one).
#[inline]
fn pieces_of(room: usize, width: usize) -> usize {
    (room / width).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn encode<E: Encoder>(mut enc: E, f: impl FnOnce(&mut E) -> Result<()>) -> E {
        f(&mut enc).unwrap();
        enc
    }

    #[test]
    fn xdr_scalars_are_big_endian_and_bit_exact() {
        let mut buf = vec![0u8; 4 + 4 * 2 + 8 * 6];
        let enc = encode(Xdr(Slice::new(&mut buf)), |e| {
            e.int(3)?;
            e.ints(&[i32::MIN, 1])?;
            e.doubles(&[1.5, f64::from_bits(0x7ff0_0000_0000_07a2), f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0])
        });
        enc.0.finish().unwrap();
        // XDR patterns seen from R 4.2.2.
        assert_eq!(
            hex(&buf),
            "00000003\
             8000000000000001\
             3ff8000000000000\
             7ff00000000007a2\
             7ff8000000000000\
             7ff0000000000000\
             fff0000000000000\
             8000000000000000"
        );
    }

    #[test]
    fn xdr_keeps_nan_payloads() {
        let odd = f64::from_bits(0x7ff4_0000_dead_beef);
        let mut buf = [0u8; 8];
        xdr_doubles(&[odd], &mut buf);
        assert_eq!(hex(&buf), "7ff40000deadbeef");
    }

    #[test]
    fn native_scalars_are_in_machine_order() {
        let mut buf = vec![0u8; 4 + 8];
        encode(Native(Slice::new(&mut buf)), |e| {
            e.int(3)?;
            e.doubles(&[1.5])
        });
        let mut expected = 3i32.to_ne_bytes().to_vec();
        expected.extend_from_slice(&1.5f64.to_ne_bytes());
        assert_eq!(buf, expected);
        if cfg!(target_endian = "little") {
            assert_eq!(hex(&buf[..4]), "03000000");
        }
    }

    #[test]
    fn binary_strings_and_raws_are_copied_without_padding() {
        let mut buf = vec![0u8; 1 + 2 + 4];
        encode(Xdr(Slice::new(&mut buf)), |e| {
            e.string(b"a")?;
            e.raw(&[1, 255])?;
            e.int(9)
        });
        assert_eq!(hex(&buf), "6101ff00000009");
    }

    #[test]
    fn long_slices_swap_every_word() {
        let values: Vec<f64> = (0..1001).map(|i| i as f64 * 1.25 - 7.0).collect();
        let mut buf = vec![0u8; values.len() * 8];
        xdr_doubles(&values, &mut buf);
        for (chunk, v) in buf.chunks_exact(8).zip(&values) {
            assert_eq!(chunk, v.to_bits().to_be_bytes());
        }
        let ints: Vec<i32> = (0..1001).map(|i| i * 7919 - 100_000).collect();
        let mut buf = vec![0u8; ints.len() * 4];
        xdr_ints(&ints, &mut buf);
        for (chunk, v) in buf.chunks_exact(4).zip(&ints) {
            assert_eq!(chunk, v.to_be_bytes());
        }
    }

    #[test]
    fn ascii_lines() {
        let mut buf = vec![0u8; 64];
        let enc = encode(Ascii { dest: Slice::new(&mut buf), hex: false }, |e| {
            e.magic()?;
            e.int(787)?;
            e.int(i32::MIN)?;
            e.doubles(&[1.5, f64::from_bits(0x7ff0_0000_0000_07a2)])?;
            e.raw(&[0, 0xff])?;
            e.int(1)?;
            e.string(b"a b")
        });
        assert_eq!(std::str::from_utf8(enc.dest.written()).unwrap(), "A\n787\nNA\n1.5\nNA\n00\nff\n1\na\\040b\n");
    }

    #[test]
    fn counting_matches_writing_in_every_format() {
        fn script<E: Encoder>(e: &mut E) -> Result<()> {
            e.magic()?;
            e.int(-5)?;
            e.ints(&[1, i32::MIN, 123456])?;
            e.doubles(&[0.1, -0.0, 1e300, f64::NAN, 5e-324])?;
            e.raw(&[0, 7, 255])?;
            e.string("é\n ok".as_bytes())
        }
        for format in 0..4 {
            let counted = match format {
                0 => encode(Xdr(Count::default()), script).position(),
                1 => encode(Native(Count::default()), script).position(),
                f => encode(Ascii { dest: Count::default(), hex: f == 3 }, script).position(),
            };
            let mut buf = vec![0u8; counted as usize];
            match format {
                0 => encode(Xdr(Slice::new(&mut buf)), script).0.finish(),
                1 => encode(Native(Slice::new(&mut buf)), script).0.finish(),
                f => encode(Ascii { dest: Slice::new(&mut buf), hex: f == 3 }, script).dest.finish(),
            }
            .unwrap();
        }
    }

    #[test]
    fn charsxp_items_are_the_same_in_one_piece() {
        fn items<E: Encoder>(e: &mut E) -> Result<()> {
            e.charsxp(0x40009, Some(b"abc"))?;
            e.charsxp(0x9, None)?;
            e.charsxp(0x40009, Some(b""))
        }
        let mut one = vec![0u8; 11 + 8 + 8];
        items(&mut Xdr(Slice::new(&mut one))).unwrap();
        assert_eq!(hex(&one), "0004000900000003616263".to_owned() + "00000009ffffffff" + "0004000900000000");
        let mut native = vec![0u8; one.len()];
        items(&mut Native(Slice::new(&mut native))).unwrap();
        let mut expected = Vec::new();
        for w in [0x40009i32, 3] {
            expected.extend_from_slice(&w.to_ne_bytes());
        }
        expected.extend_from_slice(b"abc");
        for w in [0x9i32, -1, 0x40009, 0] {
            expected.extend_from_slice(&w.to_ne_bytes());
        }
        assert_eq!(native, expected);
    }

    #[test]
    fn slice_refuses_to_overflow() {
        let mut buf = [0u8; 3];
        let mut enc = Xdr(Slice::new(&mut buf));
        assert!(matches!(enc.int(1), Err(Error::Overflow { expected: 3, attempted: 4 })));
    }
}
