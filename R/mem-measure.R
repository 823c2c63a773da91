# The measurements behind mem_peak() and mem_timeline(): /proc/self read in
# Rust (src/rust/src/mem), reached through the extendr entry points of
# src/rust/src/entry.rs; their failures are raised by rust_value() (R/rust.R).

# c(rss, hwm, threads) from /proc/self/status: bytes, bytes, count.
rss_status <- function() {
  status_named(rust_value(.Call(C_lowmem_rss_status)))
}

# Resets VmHWM to VmRSS; returns rss_status() as read right after.
rss_reset_peak <- function() {
  status_named(rust_value(.Call(C_lowmem_rss_reset_peak)))
}

status_named <- function(status) {
  names(status) <- c("rss", "hwm", "threads")
  status
}

# A sampler thread taking RSS every `interval` seconds, storing about
# `max_rows` rows at most: an external pointer, whose finalizer stops the
# thread if timeline_stop() is never called.
timeline_start <- function(interval, max_rows) {
  rust_value(.Call(C_lowmem_timeline_start, interval, max_rows))
}

# Stops the sampler: list(time, rss, stride), or NULL if it was already
# stopped.
timeline_stop <- function(sampler) {
  samples <- rust_value(.Call(C_lowmem_timeline_stop, sampler))
  if (!is.null(samples)) names(samples) <- c("time", "rss", "stride")
  samples
}
