//! Buffers allocated fallibly.
//!
//! `Vec::with_capacity` and `std::io::BufWriter` allocate infallibly: a
//! `chunk_size` the process cannot get would abort R. Here a failed
//! allocation is an ordinary error, which reaches R as a condition.

use std::io;

/// Reserves exactly `bytes` of capacity, or says it cannot.
pub fn try_buffer(bytes: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(bytes).map_err(|_| out_of_memory(bytes))?;
    Ok(buf)
}

pub fn out_of_memory(bytes: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("cannot allocate a buffer of {bytes} bytes (try a smaller chunk_size)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_buffer_is_an_error_not_an_abort() {
        // black_box: an allocation nothing looks at may be elided, as if it succeeded.
        let err = std::hint::black_box(try_buffer(std::hint::black_box(usize::MAX / 2))).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        assert!(err.to_string().contains("chunk_size"));
    }
}
