//! The pipeline gzip's and zstd's encoders share (codec/gzip.rs,
//! codec/zstd.rs): the stream is cut into blocks of a fixed size, worker
//! threads compress them, and the writer writes the results in stream
//! order. A [`BlockCodec`] supplies what differs: how a worker compresses
//! one block (given the stream's last bytes before it, if it wants them)
//! and what is written before the first block, noted after each block and
//! written at the end.
//!
//! Memory is bounded: at most `workers` blocks are in flight (plus the one
//! being filled), so the peak is a few blocks whatever the size of the
//! stream; buffers come back with the results and are reused. Threads live
//! only as long as one encoder and are joined when it finishes or is
//! dropped, so none survive into a later `fork()`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A block buffer's first capacity, if blocks are larger: it doubles up to
/// the block size as the stream fills it, so that a short stream with a
/// huge `chunk_size` allocates only what it uses.
const FIRST_BLOCK: usize = 1 << 20;

/// Worker threads for `available_parallelism()` cores, at most 4: the
/// writer thread must keep up with them, and more blocks in flight cost
/// memory for little more speed.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

/// What one codec does in the pipeline. The value lives in the writer
/// thread; workers get [`BlockCodec::Params`] and make their own state.
pub trait BlockCodec: 'static {
    /// What a worker reports of a block besides its bytes (gzip: its CRC).
    type Summary: Send + 'static;
    /// A worker's compression state, made on the worker's thread.
    type Worker;
    /// What a worker's state is made from.
    type Params: Clone + Send + 'static;
    /// The codec's name in error messages ("gzip workers are gone").
    const NAME: &'static str;
    /// The worker threads' name.
    const THREAD: &'static str;
    /// How many of the stream's last bytes before a block its worker gets
    /// (0: none; buffers of this size are allocated for them).
    const TAIL: usize = 0;
    /// Whether `finish` always compresses a last block, empty if the stream
    /// ended on a block boundary; if not, only a non-empty one (or one
    /// empty block for an empty stream).
    const ALWAYS_LAST_BLOCK: bool;

    fn params(&self) -> Self::Params;
    /// Whether blocks get the tail (with `TAIL > 0`).
    fn uses_tail(&self) -> bool {
        Self::TAIL > 0
    }
    /// A worker's state, or `None` if the worker should leave the jobs to
    /// the others (with none left, the writer sees the queue closed).
    fn new_worker(params: &Self::Params) -> Option<Self::Worker>;
    /// Compresses `block` into `out` (empty, with its capacity reused);
    /// `tail` is the stream's last bytes before it, `last` says it is the
    /// stream's last block.
    fn compress(
        worker: &mut Self::Worker,
        block: &[u8],
        tail: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> io::Result<Self::Summary>;
    /// Writes what comes before the first block.
    fn start<W: Write>(&mut self, _out: &mut W) -> io::Result<()> {
        Ok(())
    }
    /// Notes a block just written, in stream order.
    fn written(&mut self, _summary: Self::Summary) {}
    /// Writes what comes after the last block.
    fn end<W: Write>(&mut self, _out: &mut W) -> io::Result<()> {
        Ok(())
    }
}

/// A block to compress, with what it needs and the buffer to compress it
/// into. Every buffer comes back with the result, to be reused: no
/// allocation per block once the first few are in flight.
struct Job {
    seq: u64,
    block: Vec<u8>,
    /// The stream's last bytes before `block` (empty for the first block
    /// and for codecs that use none).
    tail: Vec<u8>,
    out: Vec<u8>,
    last: bool,
}

struct Done<S> {
    job: Job,
    /// The block's summary, or why it could not be compressed.
    result: io::Result<S>,
}

pub struct ParallelBlocks<W: Write, C: BlockCodec> {
    codec: C,
    out: Option<W>,
    block: Vec<u8>,
    block_size: usize,
    /// The last `C::TAIL` bytes of the stream before `block`.
    tail: Tail,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done<C::Summary>>,
    workers: Vec<JoinHandle<()>>,
    /// Set when the encoder is dropped unfinished: workers skip queued jobs.
    cancelled: Arc<AtomicBool>,
    /// Compressed blocks that arrived before their predecessors.
    ready: BTreeMap<u64, (Job, C::Summary)>,
    /// Buffers back from the workers, for the next blocks.
    spare: Vec<Job>,
    next_seq: u64,
    next_write: u64,
    max_in_flight: usize,
}

impl<W: Write, C: BlockCodec> ParallelBlocks<W, C> {
    /// Writes what comes before the first block and starts the workers.
    /// Fails if that cannot be written, if the first block's buffer cannot
    /// be allocated or a thread cannot be started.
    pub fn new(mut codec: C, mut out: W, block_size: usize, workers: usize) -> io::Result<Self> {
        let block = super::try_buffer(block_size.min(FIRST_BLOCK))?;
        codec.start(&mut out)?;
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done<C::Summary>>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let cancelled = Arc::new(AtomicBool::new(false));
        // A thread that cannot be started is an error, not a panic. Should
        // one fail, the others see the job queue close and exit.
        let workers = (0..workers.max(1))
            .map(|_| {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                let cancelled = Arc::clone(&cancelled);
                let params = codec.params();
                std::thread::Builder::new()
                    .name(C::THREAD.into())
                    .spawn(move || compress_jobs::<C>(&job_rx, &done_tx, &cancelled, &params))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let max_in_flight = workers.len();
        Ok(Self {
            codec,
            out: Some(out),
            block,
            block_size,
            tail: Tail::default(),
            jobs: Some(job_tx),
            done: done_rx,
            workers,
            cancelled,
            ready: BTreeMap::new(),
            spare: Vec::new(),
            next_seq: 0,
            next_write: 0,
            max_in_flight,
        })
    }

    fn in_flight(&self) -> usize {
        (self.next_seq - self.next_write) as usize
    }

    /// Hands the current block to the workers; `last` says it is the last.
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        while self.in_flight() >= self.max_in_flight {
            self.receive_one()?;
        }
        let (next, mut tail, out) = match self.spare.pop() {
            Some(Job { block, tail, out, .. }) => (block, tail, out),
            None => (super::try_buffer(self.block_size.min(FIRST_BLOCK))?, super::try_buffer(C::TAIL)?, Vec::new()),
        };
        let block = std::mem::replace(&mut self.block, next);
        tail.clear();
        if self.codec.uses_tail() {
            tail.extend_from_slice(self.tail.bytes());
            self.tail.push(&block, C::TAIL);
        }
        let job = Job { seq: self.next_seq, block, tail, out, last };
        let jobs = self.jobs.as_ref().ok_or_else(|| io::Error::other(format!("{} workers are gone", C::NAME)))?;
        jobs.send(job).map_err(|_| io::Error::other(format!("{} workers are gone", C::NAME)))?;
        self.next_seq += 1;
        Ok(())
    }

    /// Waits for one compressed block and writes whatever is now in order.
    fn receive_one(&mut self) -> io::Result<()> {
        let Done { job, result } =
            self.done.recv().map_err(|_| io::Error::other(format!("a {} worker stopped", C::NAME)))?;
        let summary = result?;
        self.ready.insert(job.seq, (job, summary));
        let out = self.out.as_mut().ok_or_else(|| io::Error::other(format!("{} output is gone", C::NAME)))?;
        while let Some((mut job, summary)) = self.ready.remove(&self.next_write) {
            out.write_all(&job.out)?;
            self.codec.written(summary);
            job.block.clear();
            job.out.clear();
            self.spare.push(job);
            self.next_write += 1;
        }
        Ok(())
    }

    /// Compresses what is left as the last block (see
    /// [`BlockCodec::ALWAYS_LAST_BLOCK`]), writes every block and what
    /// comes after them, and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        if C::ALWAYS_LAST_BLOCK || !self.block.is_empty() || self.next_seq == 0 {
            self.dispatch(true)?;
        }
        while self.in_flight() > 0 {
            self.receive_one()?;
        }
        self.stop_workers();
        let mut out = self.out.take().ok_or_else(|| io::Error::other(format!("{} output is gone", C::NAME)))?;
        self.codec.end(&mut out)?;
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

impl<W: Write, C: BlockCodec> Write for ParallelBlocks<W, C> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let take = bytes.len().min(self.block_size - self.block.len());
        if self.block.capacity() - self.block.len() < take {
            // Doubling (fallibly: extend_from_slice would abort on failure).
            let want = (self.block.capacity() * 2).max(self.block.len() + take).min(self.block_size);
            self.block.try_reserve_exact(want - self.block.len()).map_err(|_| super::out_of_memory(want))?;
        }
        self.block.extend_from_slice(&bytes[..take]);
        if self.block.len() == self.block_size {
            self.dispatch(false)?;
        }
        Ok(take)
    }

    /// Blocks are compressed whole; a flush does not cut one short.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write, C: BlockCodec> Drop for ParallelBlocks<W, C> {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.stop_workers();
    }
}

/// The last bytes of what was pushed, up to a size.
#[derive(Default)]
struct Tail(Vec<u8>);

impl Tail {
    fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Appends `bytes`, keeping the last `size` bytes.
    fn push(&mut self, bytes: &[u8], size: usize) {
        if bytes.len() >= size {
            self.0.clear();
            self.0.extend_from_slice(&bytes[bytes.len() - size..]);
            return;
        }
        let keep = size - bytes.len();
        if self.0.len() > keep {
            self.0.drain(..self.0.len() - keep);
        }
        self.0.extend_from_slice(bytes);
    }
}

fn compress_jobs<C: BlockCodec>(
    jobs: &Mutex<Receiver<Job>>,
    done: &Sender<Done<C::Summary>>,
    cancelled: &AtomicBool,
    params: &C::Params,
) {
    let Some(mut worker) = C::new_worker(params) else {
        return;
    };
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(mut job) = job else { return };
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        // A panic must not lose the job: the writer waits for every one.
        let Job { block, tail, out, last, .. } = &mut job;
        let result = catch_unwind(AssertUnwindSafe(|| C::compress(&mut worker, block, tail, *last, out)))
            .unwrap_or_else(|_| Err(io::Error::other(format!("{} compression failed (a panic)", C::NAME))));
        if done.send(Done { job, result }).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes() {
        const SIZE: usize = 32 * 1024;
        let big: Vec<u8> = (0..SIZE + 10).map(|i| (i % 251) as u8).collect();
        let mut t = Tail::default();
        t.push(b"abc", SIZE);
        t.push(b"de", SIZE);
        assert_eq!(t.bytes(), b"abcde");
        t.push(&big, SIZE);
        assert_eq!(t.bytes(), &big[10..]);
        t.push(b"xy", SIZE);
        assert_eq!(t.bytes().len(), SIZE);
        assert_eq!(&t.bytes()[SIZE - 2..], b"xy");
        assert_eq!(&t.bytes()[..SIZE - 2], &big[12..]);
    }
}
