//! A sink that hashes: the native writer's way into `digest()`.
//!
//! The [`Digester`] is shared with the digest handle that C owns
//! (`ffi::digest`): the native writer's staging buffer owns this sink and
//! hands it each chunk, and the handle takes the hash once the pass is
//! done. Nothing is kept but the algorithm's state.

use std::cell::RefCell;
use std::rc::Rc;

use super::Sink;
use crate::error::Result;
use crate::hash::Digester;

pub struct HashSink {
    digester: Rc<RefCell<Digester>>,
    written: u64,
}

impl HashSink {
    pub fn new(digester: Rc<RefCell<Digester>>) -> HashSink {
        HashSink { digester, written: 0 }
    }
}

impl Sink for HashSink {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.digester.borrow_mut().write(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// The hash is taken by the handle, not here: a pass that ends leaves
    /// the state for it.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn bytes_written(&self) -> u64 {
        self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Algo, Skip};

    #[test]
    fn chunks_reach_the_shared_digester() {
        let digester = Rc::new(RefCell::new(Digester::new(Algo::Md5, 0, Skip::Bytes(0), None)));
        let mut sink = HashSink::new(Rc::clone(&digester));
        sink.write(b"a").unwrap();
        sink.write(b"bc").unwrap();
        sink.finish().unwrap();
        assert_eq!(sink.bytes_written(), 3);
        let hash = digester.borrow_mut().finish().unwrap();
        assert_eq!(hash.output(false).unwrap_err(), "900150983cd24fb0d6963f7d28e17f72");
    }
}
