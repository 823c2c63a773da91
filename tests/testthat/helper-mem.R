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
# poll until it leaves. A thread that still runs never leaves; the bound is
# only there so that one fails instead of hanging.
expect_threads_back_to <- function(baseline, timeout = 60) {
  deadline <- proc.time()[["elapsed"]] + timeout
  while (thread_count() != baseline && proc.time()[["elapsed"]] < deadline) {
    Sys.sleep(0.01)
  }
  expect_equal(thread_count(), baseline)
}

# ---- the sampler thread, observed through /proc ------------------------------
# Tests wait for the sampler's samples as events rather than sleeping and
# hoping it ran: the thread (named "lowmem-sampler", src/rust/src/mem/
# sampler.rs) takes each sample with exactly two read() calls on
# /proc/self/statm (the data, then end of file), and the kernel counts every
# thread's read calls (syscr in /proc/self/task/TID/io). The sample taken
# when sampling starts is the caller's, not the thread's.

# The task id of the newest sampler thread, or NULL if there is none.
sampler_tid <- function() {
  tasks <- list.files("/proc/self/task")
  names <- vapply(tasks, function(t) {
    tryCatch(readLines(file.path("/proc/self/task", t, "comm"), warn = FALSE)[[1]],
             error = function(e) "")
  }, "")
  ours <- tasks[names == "lowmem-sampler"]
  if (length(ours) == 0) NULL else ours[[which.max(as.numeric(ours))]]
}

# Read calls the thread `tid` has made (NA if the kernel does not say).
task_reads <- function(tid) {
  io <- tryCatch(readLines(file.path("/proc/self/task", tid, "io"), warn = FALSE),
                 error = function(e) character())
  reads <- grep("^syscr:", io, value = TRUE)
  if (length(reads) == 1) as.numeric(sub("^syscr:\\s*", "", reads)) else NA_real_
}

skip_unless_sampler_observable <- function() {
  skip_if_no_proc()
  skip_if(is.na(task_reads(list.files("/proc/self/task")[[1]])),
          "this kernel does not count a thread's reads (/proc/self/task/TID/io)")
}

# Waits, from inside the expression a sampler measures, until its thread has
# taken `n` more samples. The wait is for events: the bound is there only so
# that a broken sampler fails instead of hanging, and no speed decides it.
wait_for_samples <- function(n, timeout = 120) {
  deadline <- proc.time()[["elapsed"]] + timeout
  # A new thread names itself once it runs: until then it goes unseen.
  while (is.null(tid <- sampler_tid())) {
    if (proc.time()[["elapsed"]] > deadline) stop("no lowmem-sampler thread is running")
    Sys.sleep(0.001)
  }
  start <- task_reads(tid)
  while ((task_reads(tid) - start) / 2 < n) {
    if (proc.time()[["elapsed"]] > deadline) {
      stop(sprintf("the sampler took %g of %d samples in %g s",
                   (task_reads(tid) - start) / 2, n, timeout))
    }
    Sys.sleep(0.001)
  }
  invisible(tid)
}
