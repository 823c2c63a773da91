//! Gzip on several cores, as one gzip member.
//!
//! The stream is cut into blocks of a fixed size; worker threads compress
//! each block into raw deflate (RFC 1951), as pigz does: every block but the
//! last ends with a sync flush (an empty stored block), so it is not final
//! and ends on a byte boundary, and the last block is final. Concatenated,
//! the blocks are one deflate stream, written behind one gzip header and
//! followed by one trailer: a single gzip member (RFC 1952), which every
//! reader takes, also those that stop after the first member (`gzcon()`,
//! `memDecompress()`).
//!
//! Each block is compressed with the last 32 KiB of the stream before it
//! as a preset dictionary, so that matches may reach back across a block
//! boundary as in a serial deflate: the ratio stays that of one stream.
//! The trailer's CRC-32 is combined from the blocks' CRCs (computed by the
//! workers) in stream order, which costs the writer thread microseconds
//! (a CRC of the whole stream in the writer thread, at 4-5 GB/s, would
//! cost it 0.1 s per 400 MB); its ISIZE is the length modulo 2^32.
//!
//! Memory is bounded: at most `workers` blocks are in flight (plus the one
//! being filled), so the peak is a few blocks whatever the size of the
//! stream. Threads live only as long as one encoder and are joined when it
//! finishes or is dropped, so none survive into a later `fork()`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Deflate's window: how far back a match may reach.
const WINDOW: usize = 32 * 1024;

/// A block buffer's first capacity, if blocks are larger: it doubles up to
/// the block size as the stream fills it, so that a short stream with a
/// huge `chunk_size` allocates only what it uses.
const FIRST_BLOCK: usize = 1 << 20;

/// A block to compress, with what it needs and the buffer to compress it
/// into. Every buffer comes back with the result, to be reused: no
/// allocation per block once the first few are in flight.
struct Job {
    seq: u64,
    block: Vec<u8>,
    /// The stream's last bytes before `block` (empty for the first block).
    dict: Vec<u8>,
    out: Vec<u8>,
    last: bool,
}

struct Done {
    job: Job,
    /// The block's CRC-32 and length, or why it could not be compressed.
    result: io::Result<Crc>,
}

/// Worker threads for `available_parallelism()` cores, at most 4: the
/// writer thread must keep up with them, and more blocks in flight cost
/// memory for little more speed.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

pub struct ParallelGzip<W: Write> {
    out: Option<W>,
    block: Vec<u8>,
    block_size: usize,
    level: u32,
    /// The last `WINDOW` bytes of the stream before `block`.
    window: Window,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Set when the encoder is dropped unfinished: workers skip queued jobs.
    cancelled: Arc<AtomicBool>,
    /// Compressed blocks that arrived before their predecessors.
    ready: BTreeMap<u64, (Job, Crc)>,
    /// Buffers back from the workers, for the next blocks.
    spare: Vec<Job>,
    /// The CRC and length of the blocks written so far.
    crc: Crc,
    next_seq: u64,
    next_write: u64,
    max_in_flight: usize,
}

impl<W: Write> ParallelGzip<W> {
    /// Writes the gzip header. Fails if it cannot be written, if the first
    /// block's buffer cannot be allocated or a thread cannot be started.
    pub fn new(mut out: W, level: u32, block_size: usize, workers: usize) -> io::Result<Self> {
        let block = super::try_buffer(block_size.min(FIRST_BLOCK))?;
        let level = level.min(9);
        out.write_all(&header(level))?;
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let cancelled = Arc::new(AtomicBool::new(false));
        // A thread that cannot be started is an error, not a panic. Should
        // one fail, the others see the job queue close and exit.
        let workers = (0..workers.max(1))
            .map(|_| {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                let cancelled = Arc::clone(&cancelled);
                std::thread::Builder::new()
                    .name("lowmem-gzip".into())
                    .spawn(move || compress_jobs(&job_rx, &done_tx, &cancelled, level))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let max_in_flight = workers.len();
        Ok(Self {
            out: Some(out),
            block,
            block_size,
            level,
            window: Window::default(),
            jobs: Some(job_tx),
            done: done_rx,
            workers,
            cancelled,
            ready: BTreeMap::new(),
            spare: Vec::new(),
            crc: Crc::new(),
            next_seq: 0,
            next_write: 0,
            max_in_flight,
        })
    }

    fn in_flight(&self) -> usize {
        (self.next_seq - self.next_write) as usize
    }

    /// Hands the current block to the workers; `last` makes it final.
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        while self.in_flight() >= self.max_in_flight {
            self.receive_one()?;
        }
        let (next, mut dict, out) = match self.spare.pop() {
            Some(Job { block, dict, out, .. }) => (block, dict, out),
            None => (super::try_buffer(self.block_size.min(FIRST_BLOCK))?, super::try_buffer(WINDOW)?, Vec::new()),
        };
        let block = std::mem::replace(&mut self.block, next);
        dict.clear();
        // Stored blocks (level 0) refer to nothing: no dictionary to copy.
        if self.level > 0 {
            dict.extend_from_slice(self.window.bytes());
            self.window.push(&block);
        }
        let job = Job { seq: self.next_seq, block, dict, out, last };
        let jobs = self.jobs.as_ref().ok_or_else(|| broken("gzip workers are gone"))?;
        jobs.send(job).map_err(|_| broken("gzip workers are gone"))?;
        self.next_seq += 1;
        Ok(())
    }

    /// Waits for one compressed block and writes whatever is now in order.
    fn receive_one(&mut self) -> io::Result<()> {
        let Done { job, result } = self.done.recv().map_err(|_| broken("a gzip worker stopped"))?;
        let crc = result?;
        self.ready.insert(job.seq, (job, crc));
        let out = self.out.as_mut().ok_or_else(|| broken("gzip output is gone"))?;
        while let Some((mut job, crc)) = self.ready.remove(&self.next_write) {
            out.write_all(&job.out)?;
            self.crc.combine(&crc);
            job.block.clear();
            job.out.clear();
            self.spare.push(job);
            self.next_write += 1;
        }
        Ok(())
    }

    /// Compresses what is left as the final block, writes every block and
    /// the trailer, and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        // The final block, empty if the stream ended on a block boundary
        // (a final empty block is two bytes).
        self.dispatch(true)?;
        while self.in_flight() > 0 {
            self.receive_one()?;
        }
        self.stop_workers();
        let mut out = self.out.take().ok_or_else(|| broken("gzip output is gone"))?;
        out.write_all(&trailer(&self.crc))?;
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

impl<W: Write> Drop for ParallelGzip<W> {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.stop_workers();
    }
}

/// RFC 1952's header: deflate, no name, no time (as R's `gzfile()`), the
/// extra flags for the slowest and fastest levels, Unix.
fn header(level: u32) -> [u8; 10] {
    let xfl = match level {
        9 => 2,
        0 | 1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
}

/// RFC 1952's trailer: the CRC-32 and the length modulo 2^32, little-endian.
fn trailer(crc: &Crc) -> [u8; 8] {
    let mut t = [0u8; 8];
    t[..4].copy_from_slice(&crc.sum().to_le_bytes());
    t[4..].copy_from_slice(&crc.amount().to_le_bytes());
    t
}

/// The last `WINDOW` bytes of what was pushed.
#[derive(Default)]
struct Window(Vec<u8>);

impl Window {
    fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= WINDOW {
            self.0.clear();
            self.0.extend_from_slice(&bytes[bytes.len() - WINDOW..]);
            return;
        }
        let keep = WINDOW - bytes.len();
        if self.0.len() > keep {
            self.0.drain(..self.0.len() - keep);
        }
        self.0.extend_from_slice(bytes);
    }
}

fn compress_jobs(jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>, cancelled: &AtomicBool, level: u32) {
    // Raw deflate with deflate's largest window (32 KiB), as gzip's. A
    // worker that cannot get its state leaves the jobs to the others (with
    // none left, the writer sees the queue closed).
    let Ok(mut deflate) = catch_unwind(|| Compress::new(Compression::new(level), false)) else {
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
        let result = catch_unwind(AssertUnwindSafe(|| deflate_block(&mut deflate, &mut job)))
            .unwrap_or_else(|_| Err(io::Error::other("gzip compression failed (a panic)")));
        if done.send(Done { job, result }).is_err() {
            return;
        }
    }
}

/// Compresses `job.block` into `job.out`: a deflate stream's piece that
/// starts and ends on a byte boundary, final only if `job.last`.
fn deflate_block(deflate: &mut Compress, job: &mut Job) -> io::Result<Crc> {
    let mut crc = Crc::new();
    crc.update(&job.block);
    deflate.reset();
    if !job.dict.is_empty() {
        deflate.set_dictionary(&job.dict).map_err(io::Error::other)?;
    }
    let flush = if job.last { FlushCompress::Finish } else { FlushCompress::Sync };
    job.out.clear();
    let mut input = &job.block[..];
    // Room for incompressible data: stored blocks add 5 bytes per 64 KiB,
    // the flush and the final block a few more. More is reserved if needed.
    let mut want = input.len() + (input.len() >> 10) + 64;
    loop {
        if job.out.capacity() - job.out.len() < want {
            job.out.try_reserve(want).map_err(|_| super::out_of_memory(want))?;
        }
        let before = deflate.total_in();
        let status = deflate.compress_vec(input, &mut job.out, flush).map_err(io::Error::other)?;
        input = &input[(deflate.total_in() - before) as usize..];
        let room_left = job.out.len() < job.out.capacity();
        // A sync flush is complete once deflate returns with output room
        // to spare; a finish once it says the stream ended.
        let complete = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => input.is_empty() && room_left,
        };
        if complete {
            return Ok(crc);
        }
        want = 64 * 1024;
    }
}

fn broken(what: &str) -> io::Error {
    io::Error::other(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    /// Decodes with the system's gzip, an independent decoder.
    fn gunzip_all(bytes: &[u8]) -> Vec<u8> {
        use std::process::{Command, Stdio};
        let mut child = Command::new("gzip")
            .args(["-dc"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip(1) is needed for this test");
        let mut stdin = child.stdin.take().unwrap();
        let input = bytes.to_vec();
        let feeder = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(out.status.success(), "gzip -dc failed");
        out.stdout
    }

    /// Decodes the first gzip member only, and says how many bytes follow
    /// it: a multi-member file would decode short or leave bytes behind.
    fn first_member(bytes: &[u8]) -> (Vec<u8>, usize) {
        let mut decoder = GzDecoder::new(bytes);
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).unwrap();
        (out, decoder.into_inner().len())
    }

    fn data(n: usize) -> Vec<u8> {
        // Compressible, with matches that reach back across blocks.
        (0..n).map(|i| ((i * 7919) % 251) as u8 ^ ((i / 4000) as u8)).collect()
    }

    fn compress(input: &[u8], level: u32, block: usize, workers: usize, piece: usize) -> Vec<u8> {
        let mut gz = ParallelGzip::new(Vec::new(), level, block, workers).unwrap();
        for p in input.chunks(piece.max(1)) {
            gz.write_all(p).unwrap();
        }
        gz.finish().unwrap()
    }

    #[test]
    fn blocks_make_one_member_that_decodes_to_the_input() {
        let input = data(100_000);
        for level in [0, 1, 6, 9] {
            for block in [4096, 10_000, 65_536] {
                let out = compress(&input, level, block, 3, 333);
                let (decoded, rest) = first_member(&out);
                assert_eq!(decoded, input, "level {level}, block {block}");
                assert_eq!(rest, 0, "one member: nothing after it");
                assert_eq!(gunzip_all(&out), input);
            }
        }
    }

    #[test]
    fn the_trailer_has_the_crc_and_length_of_the_stream() {
        let input = data(50_000);
        let out = compress(&input, 6, 4096, 2, 1000);
        let mut crc = Crc::new();
        crc.update(&input);
        let n = out.len();
        assert_eq!(&out[n - 8..n - 4], &crc.sum().to_le_bytes());
        assert_eq!(&out[n - 4..], &(input.len() as u32).to_le_bytes());
    }

    #[test]
    fn a_stream_ending_on_a_block_boundary_has_an_empty_final_block() {
        let input = data(4 * 4096);
        let out = compress(&input, 6, 4096, 2, 4096);
        assert_eq!(first_member(&out), (input, 0));
        // The last deflate bytes before the trailer: a final empty block.
        assert_eq!(&out[out.len() - 10..out.len() - 8], &[0x03, 0x00]);
    }

    #[test]
    fn an_empty_stream_is_one_empty_member() {
        let out = ParallelGzip::new(Vec::new(), 6, 1024, 2).unwrap().finish().unwrap();
        assert_eq!(out, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(gunzip_all(&out), Vec::<u8>::new());
    }

    #[test]
    fn the_dictionary_keeps_the_ratio_of_one_stream() {
        // Small blocks of data that repeats with a period of 3000 bytes:
        // without a dictionary every block would start from nothing.
        let unit: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
        let input: Vec<u8> = unit.iter().cycle().take(400_000).copied().collect();
        let parallel = compress(&input, 6, 4096, 2, 4096).len();
        let mut serial = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        serial.write_all(&input).unwrap();
        let serial = serial.finish().unwrap().len();
        assert!(parallel < serial + serial / 10 + 600, "parallel {parallel}, serial {serial}");
    }

    #[test]
    fn the_window_keeps_the_last_32_kib() {
        let mut w = Window::default();
        w.push(b"abc");
        w.push(b"de");
        assert_eq!(w.bytes(), b"abcde");
        let big = data(WINDOW + 10);
        w.push(&big);
        assert_eq!(w.bytes(), &big[10..]);
        w.push(b"xy");
        assert_eq!(w.bytes().len(), WINDOW);
        assert_eq!(&w.bytes()[WINDOW - 2..], b"xy");
        assert_eq!(&w.bytes()[..WINDOW - 2], &big[12..]);
    }

    #[test]
    fn dropping_unfinished_joins_the_workers() {
        let mut gz = ParallelGzip::new(Vec::new(), 1, 64, 2).unwrap();
        gz.write_all(&data(1000)).unwrap();
        drop(gz); // must not hang or panic
    }
}
