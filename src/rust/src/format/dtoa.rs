//! Doubles as C's `printf` writes them with `%.16g` and `%a`, in Rust, so
//! that the ASCII formats do not depend on the platform's C library.
//!
//! R writes a finite double with `Rsnprintf(buf, "%.16g\n", d)` (`ascii =
//! TRUE`) or `"%a\n"` (`ascii = NA`), serialize.c `OutReal`. On Linux and
//! macOS that is the C library's printf. The texts here are glibc's, byte
//! for byte:
//!
//! * `%.16g`: the exact binary value correctly rounded to 16 significant
//!   digits, ties to even (a tie needs a decimal expansion that ends at the
//!   17th digit with a 5, which the exact value then is). With `X` the
//!   decimal exponent of the rounded value: `X < -4 || X >= 16` gives the
//!   exponent form `d.ddde±XX` (at least two exponent digits), otherwise the
//!   plain form; trailing zeros of the fraction and a bare `.` are removed.
//!   Negative zero is `-0`.
//! * `%a`: `0x1.<hex>p±E` for normal numbers with the 52 fraction bits as 13
//!   hex digits, trailing zeros removed (and the `.` with them when none is
//!   left); `0x0.<hex>p-1022` for subnormals (not normalized); `0x0p+0` for
//!   zero; a leading `-` when the sign bit is set; `E` in decimal.
//!
//! The digits of `%.16g` come from Rust's own exact formatter
//! (`{:.15e}`: Grisu with Dragon4 as the fallback, exact and ties to even,
//! checked against glibc in the tests), written into a stack buffer; an
//! integral value below 10^16, which has at most 16 digits and so needs no
//! rounding, is written directly. Nothing allocates.
//!
//! R for Windows is different: serialize.c includes `trioremap.h` there, so
//! `vsnprintf` is R's bundled trio (src/extra/trio), which does not write
//! glibc's texts. R's trio.c built with gcc on x86_64 Linux (80-bit long
//! double, as mingw-w64's) and run over 300,000 doubles (random bit
//! patterns, k/10^j decimals, integers) differs from glibc in 34 `%.16g`
//! texts (exact ties at the 17th digit rounded away from zero, near-ties
//! rounded from long double arithmetic) and 149 `%a` texts (subnormals
//! normalized, `0x1p-1074`; the exponents ±999 written `p+0999`, `p-0999`).
//! Matching base R on Windows byte for byte takes a trio flavour of these
//! functions, measured on Windows itself.
//!
//! Callers handle the non-finite values (R writes `NA`, `NaN`, `Inf`,
//! `-Inf` itself); given one, these functions write Rust's `NaN`/`inf`
//! texts, never C's.
//!
//! So the native writer writes the ASCII formats only where their texts
//! were checked against the C library R uses: glibc (Linux). Elsewhere
//! ([`platform_refusal`]) R's own writer writes them, byte for byte base R's
//! by construction: on Windows for the reason above; on macOS and other C
//! libraries because their `%a` (subnormals) and, unmeasured, their `%.16g`
//! ties may differ from glibc's.

use std::fmt::Write as _;

/// Longest text of either form: `-1.797693134862316e+308` (23 bytes) and
/// `-0x1.fffffffffffffp+1023` (24 bytes).
pub const MAX_LEN: usize = 24;

/// A fixed stack buffer that `write!` can fill.
struct Stack {
    buf: [u8; 32],
    len: usize,
}

impl std::fmt::Write for Stack {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes the decimal digits of `n` at the start of `out`; returns their
/// number.
pub(super) fn write_u64(mut n: u64, out: &mut [u8]) -> usize {
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - k;
    out[..len].copy_from_slice(&digits[k..]);
    len
}

/// Writes `value` as C's `printf("%.16g", value)` at the start of `out`
/// (no newline); returns the number of bytes. `value` must be finite.
/// Why R's writer, not the native writer, writes the ASCII formats on this
/// platform; `None` where R's printf is glibc's, whose texts this module
/// writes (see the module's documentation).
pub fn platform_refusal() -> Option<&'static str> {
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        None
    } else if cfg!(windows) {
        Some("doubles in the ASCII formats: R for Windows writes them with its own printf (trio), which the native writer does not reproduce")
    } else {
        Some(
            "doubles in the ASCII formats: this platform's printf is not glibc's, whose texts the native writer writes",
        )
    }
}

pub fn percent_16g(value: f64, out: &mut [u8; MAX_LEN]) -> usize {
    let mut len = 0;
    if value.is_sign_negative() {
        out[0] = b'-';
        len = 1;
    }
    let a = value.abs();
    // Integral and below 10^16: at most 16 digits, exact, and the plain
    // form (X <= 15). Zero is here too.
    if a < 1e16 && a == a.trunc() {
        return len + write_u64(a as u64, &mut out[len..]);
    }
    if !a.is_finite() {
        let text: &[u8] = if a.is_nan() { b"NaN" } else { b"inf" };
        out[len..len + text.len()].copy_from_slice(text);
        return len + text.len();
    }
    // 16 significant digits, correctly rounded: `d.ddddddddddddddde<X>`.
    let mut sci = Stack { buf: [0; 32], len: 0 };
    if write!(sci, "{a:.15e}").is_err() {
        unreachable!("a finite double's {{:.15e}} is at most 22 bytes");
    }
    let text = &sci.buf[..sci.len];
    let mut digits = [0u8; 16];
    digits[0] = text[0];
    digits[1..].copy_from_slice(&text[2..17]);
    // text[17] is 'e'.
    let (negative_exp, exp_digits) = match text[18] {
        b'-' => (true, &text[19..]),
        _ => (false, &text[18..]),
    };
    let mut x: i32 = 0;
    for &d in exp_digits {
        x = x * 10 + i32::from(d - b'0');
    }
    if negative_exp {
        x = -x;
    }
    // Significant digits once trailing zeros are dropped (at least one).
    let mut n = 16;
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    if !(-4..16).contains(&x) {
        out[len] = digits[0];
        len += 1;
        if n > 1 {
            out[len] = b'.';
            out[len + 1..len + n].copy_from_slice(&digits[1..n]);
            len += n;
        }
        out[len] = b'e';
        out[len + 1] = if x < 0 { b'-' } else { b'+' };
        len += 2;
        let e = x.unsigned_abs();
        if e < 10 {
            out[len] = b'0';
            out[len + 1] = b'0' + e as u8;
            len += 2;
        } else {
            len += write_u64(u64::from(e), &mut out[len..]);
        }
    } else if x >= 0 {
        // x + 1 digits before the point (all of them significant digits,
        // as x <= 15), the rest after it.
        let int_digits = x as usize + 1;
        out[len..len + int_digits].copy_from_slice(&digits[..int_digits]);
        len += int_digits;
        if n > int_digits {
            out[len] = b'.';
            len += 1;
            out[len..len + n - int_digits].copy_from_slice(&digits[int_digits..n]);
            len += n - int_digits;
        }
    } else {
        // 0.000ddd: -x - 1 zeros after the point, then the digits.
        let zeros = (-x - 1) as usize;
        out[len] = b'0';
        out[len + 1] = b'.';
        len += 2;
        out[len..len + zeros].fill(b'0');
        len += zeros;
        out[len..len + n].copy_from_slice(&digits[..n]);
        len += n;
    }
    len
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `value` as glibc's `printf("%a", value)` at the start of `out`
/// (no newline); returns the number of bytes. `value` must be finite.
pub fn percent_a(value: f64, out: &mut [u8; MAX_LEN]) -> usize {
    let bits = value.to_bits();
    let mut len = 0;
    if bits >> 63 == 1 {
        out[0] = b'-';
        len = 1;
    }
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let mut fraction = bits & ((1u64 << 52) - 1);
    if biased == 0x7ff {
        let text: &[u8] = if fraction != 0 { b"nan" } else { b"inf" };
        out[len..len + text.len()].copy_from_slice(text);
        return len + text.len();
    }
    let (lead, exp) = match (biased, fraction) {
        (0, 0) => (b'0', 0),
        (0, _) => (b'0', -1022),
        _ => (b'1', biased - 1023),
    };
    out[len..len + 3].copy_from_slice(&[b'0', b'x', lead]);
    len += 3;
    if fraction != 0 {
        out[len] = b'.';
        len += 1;
        // 13 hex digits, most significant first, until the rest is zero.
        while fraction != 0 {
            out[len] = HEX_DIGITS[(fraction >> 48) as usize & 15];
            len += 1;
            fraction = (fraction << 4) & ((1u64 << 52) - 1);
        }
    }
    out[len] = b'p';
    out[len + 1] = if exp < 0 { b'-' } else { b'+' };
    len += 2;
    len + write_u64(u64::from(exp.unsigned_abs()), &mut out[len..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_writer_writes_ascii_only_where_r_uses_glibc() {
        let glibc = cfg!(all(target_os = "linux", target_env = "gnu"));
        assert_eq!(platform_refusal().is_none(), glibc);
        if cfg!(windows) {
            assert!(platform_refusal().unwrap().contains("trio"));
        }
    }

    fn g(v: f64) -> String {
        let mut buf = [0u8; MAX_LEN];
        let n = percent_16g(v, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn a(v: f64) -> String {
        let mut buf = [0u8; MAX_LEN];
        let n = percent_a(v, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    // Bit pattern, then glibc 2.36's printf("%.16g") and printf("%a") of
    // it (Debian 12: a C program printing `"%.16g %a"` of each pattern).
    // Zeros, subnormals (smallest, largest), DBL_MIN, DBL_MAX, powers of
    // two and ten, the %g exponent boundaries, ties at the 17th digit
    // (1234567890123456.5 and ...457.5, 4503599627370495.5: to even),
    // integers up to 2^53 and beyond. No libc call here, so these run on
    // every platform.
    const GLIBC: &[(u64, &str, &str)] = &[
        (0x0000_0000_0000_0001, "4.940656458412465e-324", "0x0.0000000000001p-1022"),
        (0x8000_0000_0000_0001, "-4.940656458412465e-324", "-0x0.0000000000001p-1022"),
        (0x0000_0000_0000_0003, "1.48219693752374e-323", "0x0.0000000000003p-1022"),
        (0x000f_ffff_ffff_ffff, "2.225073858507201e-308", "0x0.fffffffffffffp-1022"),
        (0x800f_ffff_ffff_ffff, "-2.225073858507201e-308", "-0x0.fffffffffffffp-1022"),
        (0x0008_0000_0000_0000, "1.112536929253601e-308", "0x0.8p-1022"),
        (0x0010_0000_0000_0000, "2.225073858507201e-308", "0x1p-1022"),
        (0x7fef_ffff_ffff_ffff, "1.797693134862316e+308", "0x1.fffffffffffffp+1023"),
        (0xffef_ffff_ffff_ffff, "-1.797693134862316e+308", "-0x1.fffffffffffffp+1023"),
        (0x0000_0000_0000_0000, "0", "0x0p+0"),
        (0x8000_0000_0000_0000, "-0", "-0x0p+0"),
        (0x3ff0_0000_0000_0000, "1", "0x1p+0"),
        (0x4000_0000_0000_0000, "2", "0x1p+1"),
        (0x3fe0_0000_0000_0000, "0.5", "0x1p-1"),
        (0x7fe0_0000_0000_0000, "8.98846567431158e+307", "0x1p+1023"),
        (0x4340_0000_0000_0000, "9007199254740992", "0x1p+53"),
        (0x4350_0000_0000_0000, "1.801439850948198e+16", "0x1p+54"),
        (0x3f10_0000_0000_0000, "6.103515625e-05", "0x1p-14"),
        (0x3f30_0000_0000_0000, "0.000244140625", "0x1p-12"),
        (0x0000_0000_0040_0000, "2.072261514614524e-317", "0x0.00000004p-1022"),
        (0x43e0_0000_0000_0000, "9.223372036854776e+18", "0x1p+63"),
        (0x43f0_0000_0000_0000, "1.844674407370955e+19", "0x1p+64"),
        (0x7e37_e43c_8800_759c, "1e+300", "0x1.7e43c8800759cp+996"),
        (0x01a5_6e1f_c2f8_f359, "1e-300", "0x1.56e1fc2f8f359p-997"),
        (0xfe37_e43c_8800_759c, "-1e+300", "-0x1.7e43c8800759cp+996"),
        (0x3ee4_f8b5_88e3_68f1, "1e-05", "0x1.4f8b588e368f1p-17"),
        (0x3f1a_36e2_eb1c_432d, "0.0001", "0x1.a36e2eb1c432dp-14"),
        (0x3f1a_36e2_eb1c_4325, "9.99999999999999e-05", "0x1.a36e2eb1c4325p-14"),
        (0x3f1a_36e2_eb1c_432c, "9.999999999999999e-05", "0x1.a36e2eb1c432cp-14"),
        (0x430c_6bf5_2634_0000, "1000000000000000", "0x1.c6bf52634p+49"),
        (0x4341_c379_37e0_8000, "1e+16", "0x1.1c37937e08p+53"),
        (0x4480_f0cf_064d_d592, "1e+22", "0x1.0f0cf064dd592p+73"),
        (0x444b_1ae4_d6e2_ef50, "1e+21", "0x1.b1ae4d6e2ef5p+69"),
        (0x3fb9_9999_9999_999a, "0.1", "0x1.999999999999ap-4"),
        (0x3fd3_3333_3333_3333, "0.3", "0x1.3333333333333p-2"),
        (0x3fd3_3333_3333_3334, "0.3", "0x1.3333333333334p-2"),
        (0x3fd5_5555_5555_5555, "0.3333333333333333", "0x1.5555555555555p-2"),
        (0x3fe5_5555_5555_5555, "0.6666666666666666", "0x1.5555555555555p-1"),
        (0x3ff8_0000_0000_0000, "1.5", "0x1.8p+0"),
        (0xbff8_0000_0000_0000, "-1.5", "-0x1.8p+0"),
        (0x4059_0000_0000_0000, "100", "0x1.9p+6"),
        (0x3ee9_e0fc_af93_80fc, "1.234e-05", "0x1.9e0fcaf9380fcp-17"),
        (0x4311_8b54_f22a_eb02, "1234567890123456", "0x1.18b54f22aeb02p+50"),
        (0x4311_8b54_f22a_eb06, "1234567890123458", "0x1.18b54f22aeb06p+50"),
        (0x4311_8b54_f22a_eafe, "1234567890123456", "0x1.18b54f22aeafep+50"),
        (0x433f_ffff_ffff_ffff, "9007199254740991", "0x1.fffffffffffffp+52"),
        (0x4340_0000_0000_0001, "9007199254740994", "0x1.0000000000001p+53"),
        (0x437b_69b4_ba63_0f35, "1.234567890123457e+17", "0x1.b69b4ba630f35p+56"),
        (0x4341_c379_37e0_7fff, "9999999999999998", "0x1.1c37937e07fffp+53"),
        (0x430c_6bf5_2633_ffff, "999999999999999.9", "0x1.c6bf52633ffffp+49"),
        (0x430c_6bf5_2634_0000, "1000000000000000", "0x1.c6bf52634p+49"),
        (0x42d6_bcc4_1e8f_ffff, "99999999999999.98", "0x1.6bcc41e8fffffp+46"),
        (0x3f20_2e85_be18_0b74, "0.0001234567890123457", "0x1.02e85be180b74p-13"),
        (0x3ff0_0000_0000_0001, "1", "0x1.0000000000001p+0"),
        (0x3fef_ffff_ffff_ffff, "0.9999999999999999", "0x1.fffffffffffffp-1"),
        (0x4009_21fb_5444_2d18, "3.141592653589793", "0x1.921fb54442d18p+1"),
        (0x4005_bf0a_8b14_5769, "2.718281828459045", "0x1.5bf0a8b145769p+1"),
        (0x0000_1268_8b70_e62b, "9.999999999999969e-311", "0x0.012688b70e62bp-1022"),
        (0x405e_dd2f_1a9f_be77, "123.456", "0x1.edd2f1a9fbe77p+6"),
        (0x54b2_49ad_2594_c37d, "1e+100", "0x1.249ad2594c37dp+332"),
        (0x432f_ffff_ffff_ffff, "4503599627370496", "0x1.fffffffffffffp+51"),
        (0x4330_0000_0000_0000, "4503599627370496", "0x1p+52"),
    ];

    #[test]
    fn both_forms_match_the_glibc_table() {
        for &(bits, g16, hex) in GLIBC {
            let v = f64::from_bits(bits);
            assert_eq!(g(v), g16, "%.16g of {bits:#018x}");
            assert_eq!(a(v), hex, "%a of {bits:#018x}");
        }
    }

    /// A splitmix64 stream: reproducible, no crate.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    struct SplitMix(u64);

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    /// The doubles the libc comparison runs over: `n` random bit patterns
    /// (every exponent, subnormals included), `n` "nice" decimals (k / 10^j
    /// for a k of up to 17 digits and j from 0 to 22, the values data
    /// round-trips through text give, ties at the 17th digit among them) and
    /// `n` integers below 2^64 (around the integral fast path's limit).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn sample(n: usize) -> Vec<f64> {
        let mut rng = SplitMix(20_261_208);
        let mut out = Vec::with_capacity(3 * n);
        while out.len() < n {
            let v = f64::from_bits(rng.next());
            if v.is_finite() {
                out.push(v);
            }
        }
        for _ in 0..n {
            let digits = 1 + rng.next() % 17;
            let k = rng.next() % 10u64.pow(digits as u32);
            let j = (rng.next() % 23) as i32;
            let sign = if rng.next() & 1 == 1 { -1.0 } else { 1.0 };
            out.push(sign * k as f64 / 10f64.powi(j));
        }
        for _ in 0..n {
            let shift = rng.next() % 64;
            out.push((rng.next() >> shift) as f64);
        }
        out
    }

    /// `printf(format, v)` of the C library, into `buf`.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn libc_text<'a>(format: &std::ffi::CStr, v: f64, buf: &'a mut [u8; 64]) -> &'a [u8] {
        // SAFETY: the buffer has 64 writable bytes, snprintf writes at most
        // that many with the NUL, and the format takes one double.
        let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), v) };
        &buf[..n as usize]
    }

    /// Against the C library itself where it is glibc (other C libraries
    /// differ in `%a`: Apple's normalizes subnormals, msvcrt keeps trailing
    /// zeros).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn both_forms_match_the_c_library_on_a_million_doubles() {
        let values = sample(340_000);
        assert!(values.len() >= 1_000_000);
        let (mut ours, mut theirs) = ([0u8; MAX_LEN], [0u8; 64]);
        for &v in &values {
            let n = percent_16g(v, &mut ours);
            assert!(ours[..n] == *libc_text(c"%.16g", v, &mut theirs), "%.16g of {:#018x}: {}", v.to_bits(), g(v));
            let n = percent_a(v, &mut ours);
            assert!(ours[..n] == *libc_text(c"%a", v, &mut theirs), "%a of {:#018x}: {}", v.to_bits(), a(v));
        }
    }

    /// Speed against snprintf, for the record (prints, asserts nothing):
    /// `cargo test --release --lib dtoa::tests::speed -- --ignored --nocapture`.
    /// One run here (2 cores, load average 12, so slow in absolute terms),
    /// ns per double, snprintf vs Rust: `%.16g` runif() 950 vs 345, decimals
    /// of 2 places 1136 vs 402, integers 1034 vs 71, random bits 1336 vs
    /// 406; `%a` 314-390 vs 45-92.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    #[ignore]
    fn speed() {
        const N: usize = 1_000_000;
        let mut rng = SplitMix(7);
        let unit = |r: u64| (r >> 11) as f64 / (1u64 << 53) as f64;
        let sets: [(&str, Vec<f64>); 4] = [
            ("runif()", (0..N).map(|_| unit(rng.next())).collect()),
            (
                "rnorm()*1e3 rounded to 2 places",
                (0..N).map(|_| ((unit(rng.next()) - 0.5) * 2e5).round() / 100.0).collect(),
            ),
            ("integers below 1e6", (0..N).map(|_| (rng.next() % 1_000_000) as f64).collect()),
            ("random bit patterns", (0..N).map(|_| f64::from_bits(rng.next() & !(1 << 62))).collect()),
        ];
        let mut ours = [0u8; MAX_LEN];
        let mut theirs = [0u8; 64];
        for (name, values) in &sets {
            for (form, format) in [("%.16g", c"%.16g"), ("%a", c"%a")] {
                let t = std::time::Instant::now();
                let mut bytes = 0;
                for &v in values {
                    bytes += libc_text(format, v, &mut theirs).len();
                }
                let libc_ns = t.elapsed().as_nanos() as f64 / N as f64;
                let t = std::time::Instant::now();
                let mut our_bytes = 0;
                for &v in values {
                    our_bytes += if form == "%a" { percent_a(v, &mut ours) } else { percent_16g(v, &mut ours) };
                    std::hint::black_box(&ours);
                }
                let rust_ns = t.elapsed().as_nanos() as f64 / N as f64;
                assert_eq!(bytes, our_bytes);
                println!("{form:6} {name:34} snprintf {libc_ns:6.1} ns, Rust {rust_ns:6.1} ns per double");
            }
        }
    }
}
