//! A background thread that samples the process's RSS at a fixed interval.
//!
//! The thread only reads /proc (through an [`RssSource`]) and stores numbers;
//! it never touches the R API, so R keeps running `expr` on its own thread.
//!
//! Stopping: the thread waits for its next tick on a channel; dropping the
//! sending end wakes it at once, so `stop` joins within one /proc read, also
//! with a long interval. `Drop` stops and joins too: the R external pointer's
//! finalizer frees the sampler, so a sampler whose `stop` was never called
//! (an R error before `on.exit` was set, a lost handle) still ends its thread.
//!
//! The first sample is taken in `start`, on the caller's thread, before the
//! thread exists; the last in `stop`, after the thread has been joined.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::error::{MemError, Result};
use super::procfs::StatmReader;
use super::series::Series;

/// Where samples come from (a trait so tests can count instead of reading /proc).
pub trait RssSource: Send + 'static {
    fn rss(&mut self) -> Result<u64>;
}

impl RssSource for StatmReader {
    fn rss(&mut self) -> Result<u64> {
        StatmReader::rss(self)
    }
}

#[cfg(not(target_os = "linux"))]
impl RssSource for super::os::UsageReader {
    fn rss(&mut self) -> Result<u64> {
        super::os::UsageReader::rss(self)
    }
}

/// Intervals are capped at a year, so that tick times cannot overflow.
const MAX_INTERVAL: Duration = Duration::from_secs(365 * 24 * 3600);

/// The thread's stack: it needs very little, and a small stack keeps its own
/// footprint out of the numbers it reports.
const STACK_SIZE: usize = 64 * 1024;

type Worker<S> = JoinHandle<(S, Series, Result<()>)>;

pub struct Sampler<S: RssSource> {
    start: Instant,
    /// The process that started the thread (see `halt`).
    pid: u32,
    /// Dropping it tells the thread to stop.
    stop_tx: Option<mpsc::Sender<()>>,
    thread: Option<Worker<S>>,
    /// Set by `stop`: the samples, or why there are none.
    outcome: Option<Result<Series>>,
}

impl<S: RssSource> Sampler<S> {
    /// Takes the first sample and starts the thread. `max_rows` caps the
    /// stored rows (see [`Series`]).
    pub fn start(mut source: S, interval: Duration, max_rows: usize) -> Result<Sampler<S>> {
        let interval = interval.min(MAX_INTERVAL);
        let mut series = Series::with_cap(max_rows)?;
        let start = Instant::now();
        series.push((0.0, source.rss()?));
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lowmem-sampler".to_string())
            .stack_size(STACK_SIZE)
            .spawn(move || {
                let status = run(&mut source, &mut series, start, interval, &stop_rx);
                (source, series, status)
            })
            .map_err(MemError::Spawn)?;
        Ok(Sampler { start, pid: std::process::id(), stop_tx: Some(stop_tx), thread: Some(thread), outcome: None })
    }

    /// Stops and joins the thread and takes the closing sample. Calling it
    /// again returns the same result.
    pub fn stop(&mut self) -> &Result<Series> {
        if self.outcome.is_none() {
            self.outcome = Some(self.halt());
        }
        self.outcome.as_ref().expect("set above")
    }

    fn halt(&mut self) -> Result<Series> {
        drop(self.stop_tx.take());
        let this = std::process::id();
        if this != self.pid {
            // A fork (parallel::mcparallel() in `expr`) copied the handle but
            // not the thread: joining it would wait forever. Leave it alone.
            std::mem::forget(self.thread.take());
            return Err(MemError::Forked { parent: self.pid, this });
        }
        let thread = self.thread.take().ok_or_else(|| MemError::Internal("the sampler has no thread".into()))?;
        let (mut source, mut series, status) = thread
            .join()
            .map_err(|panic| MemError::Internal(format!("the sampler thread panicked: {}", panic_message(&panic))))?;
        status?;
        let rss = source.rss()?;
        series.finish((self.start.elapsed().as_secs_f64(), rss));
        Ok(series)
    }
}

impl<S: RssSource> Drop for Sampler<S> {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.halt();
        }
    }
}

/// The thread's loop. Ticks are at fixed offsets from `start` (no drift); a
/// tick missed because the thread was not scheduled is skipped, not made up
/// by a burst of samples.
fn run<S: RssSource>(
    source: &mut S,
    series: &mut Series,
    start: Instant,
    interval: Duration,
    stop_rx: &mpsc::Receiver<()>,
) -> Result<()> {
    let mut next = start + interval;
    loop {
        let now = Instant::now();
        if next > now {
            match stop_rx.recv_timeout(next - now) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        } else if stop_rx.try_recv() != Err(mpsc::TryRecvError::Empty) {
            return Ok(());
        }
        let rss = source.rss()?;
        series.push((start.elapsed().as_secs_f64(), rss));
        let now = Instant::now();
        while next <= now {
            next += interval;
        }
    }
}

pub(crate) use crate::ffi::panic_message;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Counts its calls: RSS 1000, 1001, ...; optionally fails at call `fail_at`.
    struct Counter {
        calls: Arc<AtomicUsize>,
        fail_at: usize,
    }

    impl RssSource for Counter {
        fn rss(&mut self) -> Result<u64> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n == self.fail_at {
                return Err(MemError::Internal("source failed".into()));
            }
            Ok(1000 + n as u64)
        }
    }

    fn counter(fail_at: usize) -> (Counter, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (Counter { calls: Arc::clone(&calls), fail_at }, calls)
    }

    /// Waits until the source has been called `n` times. A loaded machine
    /// may schedule the thread late, so a fixed sleep cannot promise any
    /// number of ticks; the minute is only there so a broken sampler fails
    /// instead of hanging.
    fn wait_for_calls(calls: &AtomicUsize, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while calls.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "the sampler made {} of {n} calls", calls.load(Ordering::SeqCst));
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn samples_first_periodic_and_last() {
        let (source, calls) = counter(usize::MAX);
        let started = std::time::Instant::now();
        let mut sampler = Sampler::start(source, Duration::from_millis(2), 1000).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // The first sample and three ticks, however late the thread ran.
        wait_for_calls(&calls, 4);
        let rows = sampler.stop().as_ref().unwrap().rows().to_vec();
        // One tick per 2 ms of the time that really passed (a loaded machine
        // oversleeps), plus the first and the closing sample.
        let most = started.elapsed().as_millis() as usize / 2 + 2;
        assert_eq!(rows[0], (0.0, 1000), "first sample at once");
        // A loaded test machine may deliver far fewer ticks, never more.
        assert!(rows.len() >= 5 && rows.len() <= most, "{} rows, at most {most}", rows.len());
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "increasing");
        assert!(rows.last().unwrap().0 >= 0.1, "closing sample at stop");
    }

    #[test]
    fn stop_is_prompt_and_idempotent() {
        let (source, calls) = counter(usize::MAX);
        let mut sampler = Sampler::start(source, Duration::from_secs(3600), 10).unwrap();
        let begun = Instant::now();
        let n = sampler.stop().as_ref().unwrap().rows().len();
        assert!(begun.elapsed() < Duration::from_secs(5), "stop waits no tick");
        assert_eq!(n, 2, "first and last sample only");
        assert_eq!(sampler.stop().as_ref().unwrap().rows().len(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no sample after stop");
    }

    #[test]
    fn drop_joins_the_thread() {
        let (source, calls) = counter(usize::MAX);
        let sampler = Sampler::start(source, Duration::from_millis(1), 10).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(sampler);
        let after_drop = calls.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(calls.load(Ordering::SeqCst), after_drop, "no samples after drop");
    }

    #[test]
    fn errors_reach_stop() {
        let (source, _) = counter(0);
        assert!(Sampler::start(source, Duration::from_millis(1), 10).is_err(), "first sample fails");
        let (source, calls) = counter(3);
        let mut sampler = Sampler::start(source, Duration::from_millis(1), 10).unwrap();
        wait_for_calls(&calls, 4); // the fourth call fails and ends the thread
        let message = sampler.stop().as_ref().unwrap_err().to_string();
        assert!(message.contains("source failed"), "{message}");
    }

    /// Runs in a child process of its own (procfs's `run_alone`): tests on
    /// other threads allocate and free memory, which moves the process's
    /// RSS under the sampler.
    #[cfg(target_os = "linux")]
    #[test]
    fn samples_the_real_rss() {
        if !crate::mem::procfs::tests::run_alone("mem::sampler::tests::samples_the_real_rss") {
            return;
        }
        let reader = StatmReader::open(crate::mem::procfs::tests::page_size()).unwrap();
        let mut sampler = Sampler::start(reader, Duration::from_millis(1), 1000).unwrap();
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        std::thread::sleep(Duration::from_millis(50));
        let rows = sampler.stop().as_ref().unwrap().rows().to_vec();
        drop(block);
        let peak = rows.iter().map(|r| r.1).max().unwrap();
        // The closing sample, taken at stop, sees the block.
        assert!(peak >= rows[0].1 + (48 << 20), "peak {peak} vs start {}", rows[0].1);
    }
}
