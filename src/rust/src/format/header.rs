//! The stream header (R's serialize.c: `R_Serialize`; inst/notes/format.md).
//!
//! Three of its fields belong to the running R, not to the object: the
//! packed R version, the default format version (when the caller gives
//! none) and the native encoding name. The C side learns them by letting
//! R's own writer serialize `NULL` in native binary and handing those bytes
//! to [`Header::from_binary_capture`]; then the header is re-encoded here in
//! the format asked for. That keeps the header right for any R version and
//! locale without reading R internals.

use super::encode::Encoder;
use crate::error::Result;

/// Oldest R that reads a version-2 stream: 2.3.0.
pub const MIN_READER_V2: i32 = 0x0002_0300;
/// Oldest R that reads a version-3 stream: 3.5.0.
pub const MIN_READER_V3: i32 = 0x0003_0500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version: 2 or 3.
    pub version: i32,
    /// The writing R's version, `major * 65536 + minor * 256 + patch`.
    pub r_version: i32,
    /// The native encoding name (written in version 3 only).
    pub native_encoding: Vec<u8>,
}

impl Header {
    /// Reads the header off R's native-binary serialization of `NULL`:
    /// `B\n`, version, R version, minimum reader, [encoding length and
    /// name], then `NILVALUE_SXP`. `None` if the bytes are not that.
    pub fn from_binary_capture(bytes: &[u8]) -> Option<Header> {
        let rest = bytes.strip_prefix(b"B\n")?;
        let int = |at: usize| -> Option<i32> {
            let word: [u8; 4] = rest.get(at..at + 4)?.try_into().ok()?;
            Some(i32::from_ne_bytes(word))
        };
        let version = int(0)?;
        let r_version = int(4)?;
        let min_reader = int(8)?;
        let (native_encoding, end) = match version {
            2 if min_reader == MIN_READER_V2 => (Vec::new(), 12),
            3 if min_reader == MIN_READER_V3 => {
                let len = usize::try_from(int(12)?).ok()?;
                (rest.get(16..16 + len)?.to_vec(), 16 + len)
            }
            _ => return None,
        };
        if rest.get(end..)? != 254i32.to_ne_bytes() {
            return None;
        }
        Some(Header { version, r_version, native_encoding })
    }

    /// Writes the header in `enc`'s format.
    pub fn write<E: Encoder>(&self, enc: &mut E) -> Result<()> {
        enc.magic()?;
        enc.int(self.version)?;
        enc.int(self.r_version)?;
        if self.version == 2 {
            enc.int(MIN_READER_V2)
        } else {
            enc.int(MIN_READER_V3)?;
            enc.int(self.native_encoding.len() as i32)?;
            enc.string(&self.native_encoding)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::encode::{Ascii, Native, Slice, Xdr};

    fn r422(version: i32) -> Header {
        let native_encoding = if version == 3 { b"UTF-8".to_vec() } else { Vec::new() };
        Header { version, r_version: 0x0004_0202, native_encoding }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn verified_binary_headers() {
        // Seen from R 4.2.2.
        let mut buf = vec![0u8; 23];
        r422(3).write(&mut Xdr(Slice::new(&mut buf))).unwrap();
        assert_eq!(hex(&buf), "580a00000003000402020003050000000005".to_owned() + &hex(b"UTF-8"));
        let mut buf = vec![0u8; 14];
        r422(2).write(&mut Xdr(Slice::new(&mut buf))).unwrap();
        assert_eq!(hex(&buf), "580a0000000200040202".to_owned() + "00020300");
        if cfg!(target_endian = "little") {
            let mut buf = vec![0u8; 14];
            r422(2).write(&mut Native(Slice::new(&mut buf))).unwrap();
            assert_eq!(hex(&buf), "420a020000000202040000030200");
        }
    }

    #[test]
    fn verified_ascii_header() {
        let mut buf = vec![0u8; 26];
        let mut enc = Ascii { dest: Slice::new(&mut buf), hex: true };
        r422(3).write(&mut enc).unwrap();
        enc.dest.finish().unwrap();
        assert_eq!(std::str::from_utf8(&buf).unwrap(), "A\n3\n262658\n197888\n5\nUTF-8\n");
    }

    #[test]
    fn capture_round_trips() {
        for version in [2, 3] {
            let header = r422(version);
            let mut buf = vec![0u8; if version == 2 { 18 } else { 27 }];
            let mut enc = Native(Slice::new(&mut buf));
            header.write(&mut enc).unwrap();
            crate::format::encode::Encoder::int(&mut enc, 254).unwrap();
            enc.0.finish().unwrap();
            assert_eq!(Header::from_binary_capture(&buf), Some(header));
        }
    }

    #[test]
    fn capture_rejects_other_bytes() {
        assert_eq!(Header::from_binary_capture(b""), None);
        assert_eq!(Header::from_binary_capture(b"X\n\0\0\0\x03"), None);
        let mut buf = vec![0u8; 18];
        r422(2).write(&mut Native(Slice::new(&mut buf))).unwrap();
        assert_eq!(Header::from_binary_capture(&buf[..14]), None, "no NULL item");
        buf[14..].copy_from_slice(&253i32.to_ne_bytes());
        assert_eq!(Header::from_binary_capture(&buf), None, "not NULL");
    }
}
