# mem_peak() and mem_timeline() (R/mem-*.R, src/rust/src/entry.rs, src/rust/src/mem).

mb <- 1e6

# ---- mem_peak ------------------------------------------------------------

test_that("mem_peak() sees a known allocation", {
  skip_if_no_proc()
  gc()
  m <- mem_peak(local({
    x <- numeric(25e6) # 200 MB
    x[] <- 1
    length(x)
  }))
  expect_s3_class(m, "lowmem_mem_peak")
  expect_equal(m$value, 25e6)
  expect_gte(m$increase, 190 * mb)
  expect_equal(m$increase, m$rss_peak - m$rss_before)
  expect_gte(m$rss_peak, max(m$rss_before, m$rss_after))
  expect_gt(m$elapsed, 0)
  if (m$method == "vmhwm") expect_true(is.na(m$reason)) else expect_match(m$reason, "clear_refs")
})

test_that("mem_peak() of an expression that allocates nothing is small", {
  skip_if_no_proc()
  gc()
  m <- mem_peak(sum(1:10))
  expect_equal(m$value, 55L)
  expect_gte(m$increase, 0)
  expect_lt(m$increase, 10 * mb)
})

test_that("mem_peak() returns the value intact, evaluated once in the caller", {
  skip_if_no_proc()
  value <- list(a = 1:3, b = "x", c = NULL, d = new.env())
  expect_identical(mem_peak(value)$value, value)
  expect_identical(mem_peak(NULL)$value, NULL)
  n <- 0
  m <- mem_peak({
    n <- n + 1
    invisible("quiet")
  })
  expect_equal(n, 1)
  expect_equal(m$value, "quiet")
})

test_that("errors in mem_peak()'s expr propagate and leave a sane state", {
  skip_if_no_proc()
  expect_error(mem_peak(stop("boom")), "boom")
  expect_error(
    mem_peak(abort("classed", class = "lowmem_error_test")),
    class = "lowmem_error_test"
  )
  # The nesting state was restored, not left as the failed call's.
  expect_true(is.numeric(the$hwm_lost) && length(the$hwm_lost) == 1)
  gc()
  m <- mem_peak(local(length(numeric(25e6))))
  expect_equal(m$value, 25e6)
  expect_gte(m$increase, 190 * mb)
})

test_that("a nested mem_peak() does not hide the outer peak", {
  skip_if_no_proc()
  gc()
  outer <- mem_peak({
    local(length(numeric(25e6)))
    gc() # RSS drops again: only the high-water mark remembers
    inner <- mem_peak(1)
    inner
  })
  expect_lt(outer$value$increase, 10 * mb)
  expect_gte(outer$increase, 190 * mb)
})

test_that("without the clear_refs reset mem_peak() samples and says so", {
  skip_unless_sampler_observable()
  refused <- function() {
    abort("cannot write /proc/self/clear_refs: simulated", class = "lowmem_error_unsupported")
  }
  gc()
  baseline <- thread_count()
  # The sampler samples at least twice while the 200 MB are held.
  m <- peak_measure(local({
    x <- numeric(25e6)
    wait_for_samples(2)
    length(x)
  }), reset_peak = refused)
  expect_equal(m$method, "sampled")
  expect_match(m$reason, "simulated; RSS sampled every 1 ms")
  expect_equal(m$value, 25e6)
  expect_gte(m$increase, 190 * mb)
  expect_output(print(m), "sampled every 1 ms")
  expect_threads_back_to(baseline)

  expect_error(peak_measure(stop("boom"), reset_peak = refused), "boom")
  expect_threads_back_to(baseline)
})

test_that("mem_peak() prints one line", {
  skip_if_no_proc()
  m <- mem_peak(1)
  expect_output(print(m), "^peak \\+[0-9.]+ k?B over [0-9.]+ MB start, [0-9.]+ m?s$")
  na <- structure(list(value = 1, rss_before = NA_real_, rss_peak = NA_real_,
                       rss_after = NA_real_, increase = NA_real_, elapsed = 0.5,
                       method = NA_character_, reason = "cannot open /proc"),
                  class = "lowmem_mem_peak")
  expect_equal(format(na), "peak not measured (cannot open /proc), 0.5 s")
})

test_that("bytes and seconds are formatted in decimal units", {
  expect_equal(format_bytes(765e6, sign = TRUE), "+765 MB")
  expect_equal(format_bytes(431.2e6), "431 MB")
  expect_equal(format_bytes(1234), "1.23 kB")
  expect_equal(format_bytes(999.7e6), "1 GB")
  expect_equal(format_bytes(0, sign = TRUE), "+0 B")
  expect_equal(format_bytes(-2.5e6, sign = TRUE), "-2.5 MB")
  expect_equal(format_bytes(NA), "NA")
  expect_equal(format_seconds(0.79), "0.79 s")
  expect_equal(format_seconds(0.001), "1 ms")
})

# ---- mem_timeline ----------------------------------------------------------

test_that("mem_timeline() samples at the interval", {
  skip_unless_sampler_observable()
  # expr lasts at least 0.2 s and until the thread has taken 3 samples.
  tl <- mem_timeline({
    Sys.sleep(0.2)
    wait_for_samples(3)
  }, interval = 0.005)
  expect_s3_class(tl, c("lowmem_timeline", "data.frame"), exact = TRUE)
  expect_named(tl, c("time", "rss"))
  expect_equal(tl$time[[1]], 0)
  expect_true(all(diff(tl$time) > 0))
  expect_gte(tl$time[[nrow(tl)]], 0.2) # the closing sample comes after expr
  expect_true(all(tl$rss > 0))
  # The first sample, the thread's (at least the 3 waited for), the last.
  expect_gte(nrow(tl), 5)
  # Ticks are at fixed offsets: never more samples than ticks (a loaded
  # machine delivers fewer).
  expect_lte(nrow(tl), tl$time[[nrow(tl)]] / 0.005 + 3)
  expect_equal(attr(tl, "interval"), 0.005)
  expect_equal(attr(tl, "stride"), 1)
})

test_that("mem_timeline()'s peak and mem_peak()'s both see an allocation's size", {
  skip_unless_sampler_observable()
  # 300 MB, written, and held until the timeline's sampler has sampled it
  # twice (mem_peak() reads the kernel's high-water mark: nothing to wait
  # for). Each is compared with the allocation, as an increase over its own
  # start: the absolute RSS also depends on what earlier tests left to the
  # garbage collector. The upper margin covers R's and the sampler's own
  # small allocations (measured: under 1 MB).
  size <- 37.5e6 * 8
  work <- function(sampled) {
    x <- rep(1, 37.5e6)
    if (sampled) wait_for_samples(2)
    length(x)
  }
  gc()
  tl <- mem_timeline(work(TRUE))
  gc()
  m <- mem_peak(work(FALSE))
  tl_increase <- max(tl$rss) - tl$rss[[1]]
  for (increase in c(timeline = tl_increase, peak = m$increase)) {
    expect_gte(increase, size - 5 * mb)
    expect_lte(increase, size + 20 * mb)
  }
  expect_equal(summary(tl)$increase, tl_increase)
})

test_that("the sampler thread runs only while expr does", {
  skip_if_no_proc()
  baseline <- thread_count()
  inside <- NULL
  tl <- mem_timeline(inside <- thread_count())
  expect_equal(inside, baseline + 1) # the positive control: it is counted
  expect_threads_back_to(baseline)
})

test_that("the sampler thread is stopped when expr fails", {
  skip_if_no_proc()
  baseline <- thread_count()
  expect_error(mem_timeline(stop("boom")), "boom")
  expect_threads_back_to(baseline)
  expect_error(
    mem_timeline(abort("classed", class = "lowmem_error_test")),
    class = "lowmem_error_test"
  )
  expect_threads_back_to(baseline)
})

test_that("the sampler thread is stopped when expr is interrupted", {
  skip_if_no_proc()
  baseline <- thread_count()
  # expr interrupts itself (SIGINT to this process, which R sees at its next
  # check, in the loop), so the interrupt comes while the sampler runs.
  interrupted <- tryCatch(mem_timeline({
    tools::pskill(Sys.getpid(), tools::SIGINT)
    for (i in seq_len(1e7)) NULL # bounded: without the interrupt it ends, and fails
  }), interrupt = identity)
  expect_s3_class(interrupted, "interrupt")
  expect_threads_back_to(baseline)
})

test_that("a sampler that is never stopped is stopped by its finalizer", {
  skip_if_no_proc()
  baseline <- thread_count()
  local({
    handle <- timeline_start(0.001, 100)
    expect_equal(thread_count(), baseline + 1)
  })
  gc()
  expect_threads_back_to(baseline)
})

test_that("a stopped sampler can be stopped again", {
  skip_if_no_proc()
  handle <- timeline_start(0.001, 100)
  first <- timeline_stop(handle)
  expect_named(first, c("time", "rss", "stride"))
  expect_null(timeline_stop(handle))
  expect_error(timeline_stop(1), "not a lowmem sampler handle")
})

test_that("a forked child does not wait for its parent's sampler thread", {
  skip_if_no_proc()
  skip_if_not_installed("parallel")
  handle <- timeline_start(0.001, 100)
  on.exit(timeline_stop(handle))
  job <- parallel::mcparallel(
    tryCatch(timeline_stop(handle), error = conditionMessage)
  )
  # Without the guard the child would join a thread it does not have, forever.
  # (The bound only keeps a hung child from hanging the tests.)
  answer <- parallel::mccollect(job, timeout = 120)
  if (is.null(answer)) tools::pskill(job$pid)
  expect_match(answer[[1]], "started by process [0-9]+, not this one")
  expect_named(timeline_stop(handle), c("time", "rss", "stride"))
})

test_that("long runs are capped and keep the peak", {
  skip_unless_sampler_observable()
  gc()
  # 20 samples fill the cap of 16 rows (so rows are merged), then 100 MB is
  # held for 2 samples, freed, and 20 more samples follow.
  tl <- mem_timeline({
    wait_for_samples(20)
    local({
      x <- rep(1, 12.5e6) # 100 MB
      wait_for_samples(2)
    })
    gc()
    wait_for_samples(20)
  }, interval = 0.001, max_samples = 16)
  expect_lte(nrow(tl), 18)
  expect_gt(attr(tl, "stride"), 1)
  expect_equal(tl$time[[1]], 0)
  expect_true(all(diff(tl$time) > 0))
  expect_gte(max(tl$rss) - tl$rss[[1]], 95 * mb)
  expect_output(print(summary(tl)), "samples per row")
})

test_that("mem_timeline() checks its arguments", {
  for (bad in list(0, -1, NA_real_, Inf, "0.1", c(0.1, 0.2), 1e-5)) {
    expect_error(mem_timeline(1, interval = bad), class = "lowmem_error_argument")
  }
  expect_error(mem_timeline(1, max_samples = 3), class = "lowmem_error_argument")
  expect_error(mem_timeline(1, max_samples = 1e8), class = "lowmem_error_argument")
})

test_that("timelines print, summarise and plot", {
  skip_if_no_proc()
  small <- mem_timeline(local({x <- numeric(1e6); Sys.sleep(0.02)}), interval = 0.002)
  large <- mem_timeline(local({x <- numeric(4e6); Sys.sleep(0.02)}), interval = 0.002)
  expect_output(print(large), "^<lowmem_timeline> [0-9]+ rows over")
  s <- summary(large)
  expect_equal(s$rss_peak, max(large$rss))
  expect_equal(s$rss_start, large$rss[[1]])
  expect_output(print(s), "RSS timeline: [0-9]+ rows over .*, sampled every 2 ms")
  # Subsetting keeps the class but drops the attributes: still usable.
  expect_output(print(large[-1, ]), "lowmem_timeline")

  file <- tempfile(fileext = ".pdf")
  pdf(file)
  on.exit({
    dev.off()
    unlink(file)
  })
  expect_error(plot(large), NA)
  expect_error(lines(small, col = "red"), NA)
  expect_error(plot(small, add = TRUE, relative = TRUE, peak = FALSE), NA)
  expect_error(mem_plot(small = small, large = large, relative = TRUE), NA)
  expect_error(mem_plot(list(small, large), legend = NULL), NA)
  expect_error(mem_plot(small, 1), class = "lowmem_error_argument")
})

test_that("mem_timeline()'s errors have the right classes", {
  expect_error(mem_timeline(NULL, interval = 1e300), class = "lowmem_error_argument")
  expect_error(mem_timeline(NULL, interval = Inf), class = "lowmem_error_argument")
  # Past R's checks, the sampler classes them alike.
  expect_error(lowmem:::timeline_start(1e300, 10), class = "lowmem_error_argument")
  skip_if_not(file.exists("/proc/self/statm"))
  # Storage for more samples than the machine has: a memory error.
  expect_error(lowmem:::timeline_start(0.01, 1e18), class = "lowmem_error_memory")
})
