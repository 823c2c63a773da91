use super::Sink;
use crate::error::Result;

/// Counts the bytes of a stream without storing any of them.
#[derive(Debug, Default)]
pub struct CountSink {
    count: u64,
}

impl CountSink {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Sink for CountSink {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.count += bytes.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn bytes_written(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_piece() {
        let mut sink = CountSink::new();
        sink.write(b"X\n").unwrap();
        sink.write(&[0u8; 4096]).unwrap();
        sink.write(&[]).unwrap();
        sink.finish().unwrap();
        assert_eq!(sink.bytes_written(), 4098);
    }
}
