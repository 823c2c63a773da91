# This process's memory for the tests, read by lowmem's own function: the
# VmRSS, VmHWM and Threads that mem_peak() and mem_timeline() read
# (lowmem:::rss_status(), in bytes, bytes and a count). Benchmarks
# (inst/bench) measure with lowmem::mem_peak() itself.

skip_unless_rss <- function() {
  testthat::skip_on_os("windows")
  readable <- !inherits(tryCatch(lowmem:::rss_status(), error = identity), "error")
  testthat::skip_if_not(readable, "lowmem cannot read this process's RSS here (Linux only)")
}

rss_mb <- function() lowmem:::rss_status()[["rss"]] / 2^20

thread_count <- function() lowmem:::rss_status()[["threads"]]

# Growth of the resident set, in MB, over `n` calls of `f`, after `warmup`
# calls of it. The warm-up must be long: R raises its GC trigger as garbage
# accumulates, and the heap this grows is not given back to the system, so a
# first round of calls can raise the RSS by tens of MB without any leak (seen
# with 1000 writes to a rawConnection). A second round then stays flat unless
# something really leaks. gc() before each reading, so that only what is
# still reachable (or leaked) counts. With LOWMEM_TEST_RSS_LOG set to a
# file, each growth is appended to it (label, n, MB): how the margins of
# test-leaks.R were measured.
rss_growth <- function(f, n = 1000L, warmup = n, label = deparse1(substitute(f))) {
  for (i in seq_len(warmup)) f()
  one_round <- function() {
    invisible(gc(full = TRUE))
    invisible(gc(full = TRUE))
    before <- rss_mb()
    for (i in seq_len(n)) f()
    invisible(gc(full = TRUE))
    invisible(gc(full = TRUE))
    rss_mb() - before
  }
  growth <- one_round()
  # The heap's layout can still move the RSS by tens of MB once (seen: 50 MB
  # over 1000 serialize(x, NULL) calls of 100 KB, late in a check run on a
  # loaded machine), but not round after round as a leak does: a growth of
  # more than 10 MB is measured again and the smaller one counts.
  if (growth > 10) growth <- min(growth, one_round())
  log <- Sys.getenv("LOWMEM_TEST_RSS_LOG")
  if (nzchar(log)) {
    cat(sprintf("%s\t%d\t%.2f\n", gsub("\\s+", " ", substr(label, 1, 80)), n, growth),
        file = log, append = TRUE)
  }
  growth
}
