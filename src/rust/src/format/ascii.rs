//! Text forms of scalars in the ASCII and asciihex formats
//! (inst/notes/format.md, Encodings; R's `OutInteger`, `OutReal`, `OutByte`,
//! `OutString`). Each function writes one scalar *including* its trailing
//! `\n` into a caller's buffer and returns the number of bytes.
//!
//! Doubles are written as R's `Rsnprintf(buf, "%.16g\n", d)` and `"%a\n"`
//! write them with glibc, by a formatter in Rust ([`super::dtoa`]), so that
//! no byte depends on the platform's C library (R keeps LC_NUMERIC at "C",
//! so the decimal point is always '.').

use super::dtoa;

/// Longest text of one number: `%.16g` of a double is at most 23 bytes
/// (`-1.797693134862316e+308`), `%a` at most 24 (`-0x1.fffffffffffffp+1023`),
/// an int 11; plus the newline.
pub const MAX_NUMBER_TEXT: usize = 32;

/// Writes `%d\n`, or `NA\n` for INT_MIN (R's NA_integer_), for every int
/// of the stream, flags and lengths included.
pub fn int_text(value: i32, out: &mut [u8; MAX_NUMBER_TEXT]) -> usize {
    if value == i32::MIN {
        out[..3].copy_from_slice(b"NA\n");
        return 3;
    }
    let mut len = 0;
    if value < 0 {
        out[0] = b'-';
        len = 1;
    }
    len += super::dtoa::write_u64(u64::from(value.unsigned_abs()), &mut out[len..]);
    out[len] = b'\n';
    len + 1
}

/// R's `ISNA`: a NaN whose low 32 bits are 1954 (arithmetic.c `R_IsNA`).
pub fn is_r_na(value: f64) -> bool {
    value.is_nan() && (value.to_bits() & 0xffff_ffff) == 1954
}

/// Writes a double as `OutReal` does: `NA`, `NaN`, `Inf`, `-Inf`, else
/// `%.16g` (ascii) or `%a` (asciihex), then `\n`.
pub fn double_text(value: f64, hex: bool, out: &mut [u8; MAX_NUMBER_TEXT]) -> usize {
    let special: Option<&[u8]> = if value.is_finite() {
        None
    } else if is_r_na(value) {
        Some(b"NA\n")
    } else if value.is_nan() {
        Some(b"NaN\n")
    } else if value < 0.0 {
        Some(b"-Inf\n")
    } else {
        Some(b"Inf\n")
    };
    if let Some(text) = special {
        out[..text.len()].copy_from_slice(text);
        return text.len();
    }
    const { assert!(MAX_NUMBER_TEXT > dtoa::MAX_LEN) };
    let Some(text) = out.first_chunk_mut::<{ dtoa::MAX_LEN }>() else { unreachable!("asserted above") };
    let n = if hex { dtoa::percent_a(value, text) } else { dtoa::percent_16g(value, text) };
    out[n] = b'\n';
    n + 1
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes a raw byte as `%02x\n`.
pub fn byte_text(value: u8) -> [u8; 3] {
    [HEX_DIGITS[(value >> 4) as usize], HEX_DIGITS[(value & 15) as usize], b'\n']
}

/// How `OutString` writes one byte: `\n`-style escapes for the C escape
/// characters, backslash, `?`, `'` and `"`; three octal digits for bytes
/// up to 0x20 (space included) and from 0x7f; the byte itself otherwise.
/// (R tests `s[i] <= 32 || s[i] > 126` on a *signed* char, so every byte
/// of 0x80 or more is octal too.)
fn escape(byte: u8) -> Escape {
    match byte {
        b'\n' => Escape::Two(b'n'),
        b'\t' => Escape::Two(b't'),
        0x0b => Escape::Two(b'v'),
        0x08 => Escape::Two(b'b'),
        b'\r' => Escape::Two(b'r'),
        0x0c => Escape::Two(b'f'),
        0x07 => Escape::Two(b'a'),
        b'\\' => Escape::Two(b'\\'),
        b'?' => Escape::Two(b'?'),
        b'\'' => Escape::Two(b'\''),
        b'"' => Escape::Two(b'"'),
        0x21..=0x7e => Escape::Plain,
        _ => Escape::Octal,
    }
}

#[derive(Clone, Copy)]
enum Escape {
    Plain,
    Two(u8),
    Octal,
}

/// Escaped lengths of every byte value, so that sizing a string is one
/// table lookup per byte.
static ESCAPED_LEN: [u8; 256] = {
    let mut table = [1u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'\n' | b'\t' | 0x0b | 0x08 | b'\r' | 0x0c | 0x07 | b'\\' | b'?' | b'\'' | b'"' => 2,
            0x21..=0x7e => 1,
            _ => 4,
        };
        b += 1;
    }
    table
};

/// Length of the line `OutString` writes for `bytes`, its `\n` included.
pub fn string_text_len(bytes: &[u8]) -> usize {
    escaped_len(bytes) + 1
}

/// Writes the escaped line for `bytes` into `out`, whose length must be
/// `string_text_len(bytes)`.
pub fn string_text(bytes: &[u8], out: &mut [u8]) {
    let k = escape_into(bytes, out);
    out[k] = b'\n';
}

/// Length of the escapes of `bytes` (the line without its `\n`). Each byte
/// is escaped on its own, so a string may be escaped in pieces.
pub fn escaped_len(bytes: &[u8]) -> usize {
    bytes.iter().map(|&b| ESCAPED_LEN[b as usize] as usize).sum::<usize>()
}

/// Writes the escapes of `bytes` at the start of `out` (at least
/// `escaped_len(bytes)` long); returns their length.
pub fn escape_into(bytes: &[u8], out: &mut [u8]) -> usize {
    let mut k = 0;
    for &b in bytes {
        match escape(b) {
            Escape::Plain => {
                out[k] = b;
                k += 1;
            }
            Escape::Two(c) => {
                out[k] = b'\\';
                out[k + 1] = c;
                k += 2;
            }
            Escape::Octal => {
                out[k] = b'\\';
                out[k + 1] = b'0' + (b >> 6);
                out[k + 2] = b'0' + ((b >> 3) & 7);
                out[k + 3] = b'0' + (b & 7);
                k += 4;
            }
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int_str(v: i32) -> String {
        let mut buf = [0u8; MAX_NUMBER_TEXT];
        let n = int_text(v, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn dbl_str(v: f64, hex: bool) -> String {
        let mut buf = [0u8; MAX_NUMBER_TEXT];
        let n = double_text(v, hex, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn esc(bytes: &[u8]) -> String {
        let mut out = vec![0u8; string_text_len(bytes)];
        string_text(bytes, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ints_are_decimal_and_int_min_is_na() {
        assert_eq!(int_str(0), "0\n");
        assert_eq!(int_str(262658), "262658\n");
        assert_eq!(int_str(-1), "-1\n");
        assert_eq!(int_str(i32::MAX), "2147483647\n");
        assert_eq!(int_str(i32::MIN + 1), "-2147483647\n");
        assert_eq!(int_str(i32::MIN), "NA\n");
    }

    #[test]
    fn doubles_match_the_verified_percent_16g_table() {
        // Verified against R 4.2.2.
        let table: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e-5, "1e-05"),
            (1e15, "1000000000000000"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.234567890123457e+17"),
            (-0.0, "-0"),
            (5e-324, "4.940656458412465e-324"),
            (f64::MAX, "1.797693134862316e+308"),
            (0.1 + 0.2, "0.3"),
        ];
        for &(v, text) in table {
            assert_eq!(dbl_str(v, false), format!("{text}\n"), "{v:e}");
        }
    }

    #[test]
    fn doubles_match_the_verified_percent_a_table() {
        let table: &[(f64, &str)] = &[
            (1.5, "0x1.8p+0"),
            (0.1, "0x1.999999999999ap-4"),
            (-0.0, "-0x0p+0"),
            (2.2250738585072014e-308, "0x1p-1022"),
            (5e-324, "0x0.0000000000001p-1022"),
            (100.0, "0x1.9p+6"),
            (f64::MAX, "0x1.fffffffffffffp+1023"),
        ];
        for &(v, text) in table {
            assert_eq!(dbl_str(v, true), format!("{text}\n"), "{v:e}");
        }
    }

    #[test]
    fn non_finite_doubles_are_words_in_both_formats() {
        let na = f64::from_bits(0x7ff0_0000_0000_07a2);
        let na_quiet = f64::from_bits(0x7ff8_0000_0000_07a2);
        let na_signed = f64::from_bits(0xfff8_0000_0000_07a2);
        let payload = f64::from_bits(0x7ff0_0000_0000_0001);
        for hex in [false, true] {
            assert_eq!(dbl_str(na, hex), "NA\n");
            assert_eq!(dbl_str(na_quiet, hex), "NA\n", "ISNA looks at the low word only");
            assert_eq!(dbl_str(na_signed, hex), "NA\n");
            assert_eq!(dbl_str(f64::NAN, hex), "NaN\n");
            assert_eq!(dbl_str(payload, hex), "NaN\n");
            assert_eq!(dbl_str(f64::INFINITY, hex), "Inf\n");
            assert_eq!(dbl_str(f64::NEG_INFINITY, hex), "-Inf\n");
        }
    }

    #[test]
    fn longest_numbers_fit() {
        assert_eq!(dbl_str(-f64::MAX, false), "-1.797693134862316e+308\n");
        assert_eq!(dbl_str(-f64::MAX, true), "-0x1.fffffffffffffp+1023\n");
        assert_eq!(dbl_str(-2.225073858507201e-308, true), "-0x0.fffffffffffffp-1022\n");
    }

    #[test]
    fn raw_bytes_are_two_lowercase_hex_digits() {
        assert_eq!(&byte_text(0), b"00\n");
        assert_eq!(&byte_text(0x0f), b"0f\n");
        assert_eq!(&byte_text(0xff), b"ff\n");
        assert_eq!(&byte_text(0xa0), b"a0\n");
    }

    #[test]
    fn strings_escape_as_the_verified_example() {
        // The string  a b\n\t\v\b\r\f\a\\?'"<DEL>é~{  (19 bytes:
        // R 4.2.2 writes exactly this line).
        let input = b"a b\n\t\x0b\x08\r\x0c\x07\\?'\"\x7f\xc3\xa9~{";
        assert_eq!(input.len(), 19);
        assert_eq!(esc(input), "a\\040b\\n\\t\\v\\b\\r\\f\\a\\\\\\?\\'\\\"\\177\\303\\251~{\n");
    }

    #[test]
    fn empty_string_is_an_empty_line() {
        assert_eq!(esc(b""), "\n");
    }

    #[test]
    fn every_byte_has_the_escape_r_gives_it() {
        for b in 0..=255u8 {
            let text = esc(&[b]);
            let expected = match b {
                b'\n' => "\\n".to_string(),
                b'\t' => "\\t".to_string(),
                0x0b => "\\v".to_string(),
                0x08 => "\\b".to_string(),
                b'\r' => "\\r".to_string(),
                0x0c => "\\f".to_string(),
                0x07 => "\\a".to_string(),
                b'\\' => "\\\\".to_string(),
                b'?' => "\\?".to_string(),
                b'\'' => "\\'".to_string(),
                b'"' => "\\\"".to_string(),
                0..=32 | 127..=255 => format!("\\{b:03o}"),
                _ => (b as char).to_string(),
            };
            assert_eq!(text, format!("{expected}\n"), "byte {b:#04x}");
            assert_eq!(string_text_len(&[b]), text.len());
        }
    }
}
