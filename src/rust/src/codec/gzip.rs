//! Gzip on both cores.
//!
//! The stream is cut into blocks of a fixed size; worker threads compress
//! each block with libdeflate into a complete gzip member, and the members
//! are written in order. Concatenated members are one valid gzip file
//! (RFC 1952, 2.2), which R's `gzfile()`/`readRDS()` read as a single stream.
//! Independent blocks cost a little ratio (each starts with an empty
//! dictionary) and buy parallelism; at 1 MiB blocks the loss is well under 1%.
//!
//! Memory is bounded: at most `workers` blocks are in flight (plus the one being filled), so the
//! peak is a few blocks whatever the size of the stream. Threads live only
//! as long as one encoder and are joined when it finishes or is dropped, so
//! none survive into a later `fork()`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A block to compress and a buffer to compress it into.
type Job = (u64, Vec<u8>, Vec<u8>);
/// Both buffers come back, to be reused: no allocation per block.
type Done = (u64, Vec<u8>, io::Result<Vec<u8>>);

pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

pub struct ParallelGzip<W: Write> {
    out: Option<W>,
    block: Vec<u8>,
    block_size: usize,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Compressed members that arrived before their predecessors.
    ready: BTreeMap<u64, Vec<u8>>,
    /// Buffers back from the workers, for the next blocks and members.
    spare_blocks: Vec<Vec<u8>>,
    spare_members: Vec<Vec<u8>>,
    next_seq: u64,
    next_write: u64,
    max_in_flight: usize,
}

impl<W: Write> ParallelGzip<W> {
    /// Fails only if the first block's buffer cannot be allocated.
    pub fn new(out: W, level: u32, block_size: usize, workers: usize) -> io::Result<Self> {
        let block = super::try_buffer(block_size)?;
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let level = libdeflater::CompressionLvl::new(level as i32).unwrap_or_default();
        // A thread that cannot be started is an error, not a panic. Should
        // one fail, the others see the job queue close and exit.
        let workers = (0..workers.max(1))
            .map(|_| {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                std::thread::Builder::new()
                    .name("lowmem-gzip".into())
                    .spawn(move || compress_jobs(&job_rx, &done_tx, level))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let max_in_flight = workers.len();
        Ok(Self {
            out: Some(out),
            block,
            block_size,
            jobs: Some(job_tx),
            done: done_rx,
            workers,
            ready: BTreeMap::new(),
            spare_blocks: Vec::new(),
            spare_members: Vec::new(),
            next_seq: 0,
            next_write: 0,
            max_in_flight,
        })
    }

    fn in_flight(&self) -> usize {
        (self.next_seq - self.next_write) as usize
    }

    /// Hands the current block to the workers.
    fn dispatch(&mut self) -> io::Result<()> {
        while self.in_flight() >= self.max_in_flight {
            self.receive_one()?;
        }
        let next = match self.spare_blocks.pop() {
            Some(spare) => spare,
            None => super::try_buffer(self.block_size)?,
        };
        let block = std::mem::replace(&mut self.block, next);
        let member = self.spare_members.pop().unwrap_or_default();
        let jobs = self.jobs.as_ref().ok_or_else(|| broken("gzip workers are gone"))?;
        jobs.send((self.next_seq, block, member)).map_err(|_| broken("gzip workers are gone"))?;
        self.next_seq += 1;
        Ok(())
    }

    /// Waits for one compressed member and writes whatever is now in order.
    fn receive_one(&mut self) -> io::Result<()> {
        let (seq, mut block, member) = self.done.recv().map_err(|_| broken("a gzip worker stopped"))?;
        block.clear();
        self.spare_blocks.push(block);
        self.ready.insert(seq, member?);
        let out = self.out.as_mut().ok_or_else(|| broken("gzip output is gone"))?;
        while let Some(member) = self.ready.remove(&self.next_write) {
            out.write_all(&member)?;
            self.spare_members.push(member);
            self.next_write += 1;
        }
        Ok(())
    }

    /// Compresses what is left, writes every member and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.block.is_empty() || self.next_seq == 0 {
            self.dispatch()?;
        }
        while self.in_flight() > 0 {
            self.receive_one()?;
        }
        self.stop_workers();
        let mut out = self.out.take().ok_or_else(|| broken("gzip output is gone"))?;
        out.flush()?;
        Ok(out)
    }

    fn stop_workers(&mut self) {
        self.jobs = None; // closes the queue: workers finish their job and exit
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let take = bytes.len().min(self.block_size - self.block.len());
        self.block.extend_from_slice(&bytes[..take]);
        if self.block.len() == self.block_size {
            self.dispatch()?;
        }
        Ok(take)
    }

    /// Blocks are compressed whole; a flush does not cut one short.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ParallelGzip<W> {
    fn drop(&mut self) {
        self.stop_workers();
    }
}

fn compress_jobs(jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>, level: libdeflater::CompressionLvl) {
    let mut compressor = libdeflater::Compressor::new(level);
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, block, mut member)) = job else { return };
        let bound = compressor.gzip_compress_bound(block.len());
        let result = member
            .try_reserve_exact(bound.saturating_sub(member.len()))
            .map_err(|_| super::out_of_memory(bound))
            .and_then(|()| {
                member.resize(bound, 0);
                compressor
                    .gzip_compress(&block, &mut member)
                    .map_err(|e| io::Error::other(format!("gzip compression failed: {e:?}")))
            })
            .map(|n| {
                member.truncate(n);
                member
            });
        if done.send((seq, block, result)).is_err() {
            return;
        }
    }
}

fn broken(what: &str) -> io::Error {
    io::Error::other(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes with the system's gzip, an independent decoder that, like
    /// zlib's gzread, reads concatenated members as one stream.
    fn gunzip_all(bytes: &[u8]) -> Vec<u8> {
        use std::process::{Command, Stdio};
        let mut child = Command::new("gzip")
            .args(["-dc"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip(1) is needed for this test");
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "gzip -dc failed");
        out.stdout
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i * 7919) % 251) as u8).collect()
    }

    #[test]
    fn members_decode_to_the_input_in_order() {
        let input = data(10_000);
        let mut gz = ParallelGzip::new(Vec::new(), 6, 1024, 3).unwrap();
        for piece in input.chunks(333) {
            gz.write_all(piece).unwrap();
        }
        let out = gz.finish().unwrap();
        assert_eq!(gunzip_all(&out), input);
    }

    #[test]
    fn an_empty_stream_is_one_empty_member() {
        let out = ParallelGzip::new(Vec::new(), 6, 1024, 2).unwrap().finish().unwrap();
        assert_eq!(gunzip_all(&out), Vec::<u8>::new());
        assert_eq!(&out[..2], &[0x1f, 0x8b]);
    }

    #[test]
    fn dropping_unfinished_joins_the_workers() {
        let mut gz = ParallelGzip::new(Vec::new(), 1, 64, 2).unwrap();
        gz.write_all(&data(1000)).unwrap();
        drop(gz); // must not hang or panic
    }

}
