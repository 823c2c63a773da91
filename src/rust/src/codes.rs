//! The codes of the C ABI, mirrored once from `src/lowmem.h` (a leaf, used
//! by `error`, `format` and `ffi`). A unit test reads the header and checks
//! every value, so the two cannot drift apart.

use std::ffi::c_int;

/// What an entry point of the C ABI reports (`lm_status` in `src/lowmem.h`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Done = 0,
    More = 1,
    Uncovered = 2,
    Failed = -1,
}

/// The kind of an error: which R condition C raises for it (`lm_error_kind`
/// in `src/lowmem.h`; the classes are in `src/errors.c`). The last three
/// are raised by C only.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    None = 0,
    Internal = 1,
    Io = 2,
    Memory = 3,
    /// R stopped a write C made for Rust: C raises R's own condition.
    Stopped = 4,
    /// A writing pass disagrees with its count.
    Miscounted = 5,
    Argument = 6,
    Size = 7,
    Unsupported = 8,
}

/// R's stream formats: `R_pstream_format_t` of Rinternals.h, as R/args.R
/// computes them and C passes them on (`lm_format` in `src/lowmem.h`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ascii = 1,
    Binary = 2,
    Xdr = 3,
    AsciiHex = 4,
}

impl Format {
    /// The one conversion of a format code.
    pub fn from_code(code: c_int) -> Option<Format> {
        [Format::Ascii, Format::Binary, Format::Xdr, Format::AsciiHex].into_iter().find(|f| *f as c_int == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `NAME = value` of an enumerator in the header.
    fn header_value(header: &str, name: &str) -> i32 {
        let line = header
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} =")))
            .unwrap_or_else(|| panic!("{name} is not in src/lowmem.h"));
        let value = line.split('=').nth(1).unwrap().trim().trim_end_matches(',').split_whitespace().next().unwrap();
        value.trim_end_matches(',').parse().unwrap()
    }

    #[test]
    fn the_codes_are_the_headers() {
        let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../lowmem.h")).unwrap();
        let statuses = [
            ("LM_DONE", Status::Done),
            ("LM_MORE", Status::More),
            ("LM_UNCOVERED", Status::Uncovered),
            ("LM_FAILED", Status::Failed),
        ];
        for (name, s) in statuses {
            assert_eq!(header_value(&header, name), s as i32, "{name}");
        }
        let kinds = [
            ("LM_KIND_NONE", ErrorKind::None),
            ("LM_KIND_INTERNAL", ErrorKind::Internal),
            ("LM_KIND_IO", ErrorKind::Io),
            ("LM_KIND_MEMORY", ErrorKind::Memory),
            ("LM_KIND_STOPPED", ErrorKind::Stopped),
            ("LM_KIND_MISCOUNTED", ErrorKind::Miscounted),
            ("LM_KIND_ARGUMENT", ErrorKind::Argument),
            ("LM_KIND_SIZE", ErrorKind::Size),
            ("LM_KIND_UNSUPPORTED", ErrorKind::Unsupported),
        ];
        for (name, k) in kinds {
            assert_eq!(header_value(&header, name), k as i32, "{name}");
        }
        let formats = [
            ("LM_FORMAT_ASCII", Format::Ascii),
            ("LM_FORMAT_BINARY", Format::Binary),
            ("LM_FORMAT_XDR", Format::Xdr),
            ("LM_FORMAT_ASCIIHEX", Format::AsciiHex),
        ];
        for (name, f) in formats {
            assert_eq!(header_value(&header, name), f as i32, "{name}");
            assert_eq!(Format::from_code(f as c_int), Some(f));
        }
        assert_eq!(Format::from_code(0), None);
    }
}
