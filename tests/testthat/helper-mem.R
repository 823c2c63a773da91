# Helpers for test-mem.R: memory tracking reads Linux's /proc/self.

skip_if_no_proc <- function() {
  skip_if_not(
    Sys.info()[["sysname"]] == "Linux" && file.exists("/proc/self/statm"),
    "memory tracking reads /proc/self (Linux only)"
  )
}

# thread_count() is in helper-rss.R.

# A joined thread can stay in the count for a moment after pthread_join
# returns (the kernel removes it from the group after waking the joiner):
# poll briefly. A thread that still runs never leaves.
expect_threads_back_to <- function(baseline, timeout = 2) {
  deadline <- proc.time()[["elapsed"]] + timeout
  while (thread_count() != baseline && proc.time()[["elapsed"]] < deadline) {
    Sys.sleep(0.01)
  }
  expect_equal(thread_count(), baseline)
}
