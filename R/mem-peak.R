# mem_peak(): the peak RSS while R evaluates an expression.
#
# The numbers come from Linux's /proc/self (read in Rust, src/rust/src/mem,
# through R/mem-measure.R): the resident set size (RSS) and its high-water
# mark (VmHWM), which writing 5 to /proc/self/clear_refs resets. Where that
# is not possible, mem_peak() samples instead and says so; it never reports
# a number it did not measure.

# State shared by nested mem_peak() calls (see peak_start()).
the <- new.env(parent = emptyenv())
the$hwm_lost <- 0

#' Peak memory while evaluating an expression
#'
#' Evaluates `expr` once, in the caller's environment, and measures the
#' process's resident set size (RSS): before, at its peak during the
#' evaluation, and after.
#'
#' On Linux the peak is the kernel's own high-water mark, `VmHWM` in
#' `/proc/self/status`, reset to the current RSS before `expr` runs by
#' writing `5` to `/proc/self/clear_refs` (`method = "vmhwm"`): it misses
#' nothing, however short. Where the reset is not possible (a read-only
#' `/proc`, a kernel or sandbox that ignores it), the RSS is sampled every
#' millisecond by a background thread as in [mem_timeline()]
#' (`method = "sampled"`), which can miss a peak shorter than that. macOS
#' (`task_info()`'s `resident_size_max`) and Windows (the working set's
#' `PeakWorkingSetSize`) keep a peak but offer no reset, so there the RSS
#' is always sampled. Where neither works, the memory fields are `NA`
#' and `method` is `NA`. `reason` says why a fallback was taken.
#'
#' The reset affects the whole process: anything else that reads `VmHWM`
#' (a benchmark script, say) sees the peak since the last `mem_peak()`.
#' Nested `mem_peak()` calls account for each other's resets.
#'
#' @param expr An expression, evaluated in the caller's environment
#'   (assignments in it happen there).
#' @return An object of class `lowmem_mem_peak`, a list with
#'   * `value`: the value of `expr`;
#'   * `rss_before`, `rss_peak`, `rss_after`: RSS in bytes before, at the
#'     peak during, and after the evaluation;
#'   * `increase`: `rss_peak - rss_before`, the peak extra memory in bytes;
#'   * `elapsed`: the evaluation's wall-clock time in seconds;
#'   * `method`: `"vmhwm"`, `"sampled"` or `NA` (see Details);
#'   * `reason`: `NA`, or why `method` is not `"vmhwm"`.
#'
#'   It prints as one line, e.g. `peak +765 MB over 431 MB start, 0.79 s`
#'   (1 MB = 10^6 bytes).
#'
#'   An error in `expr` propagates, after the measurement has been cleaned
#'   up (a sampler thread stopped, the nesting state restored).
#' @seealso [mem_timeline()] for RSS over time.
#' @export
#' @examplesIf Sys.info()[["sysname"]] == "Linux"
#' m <- mem_peak(numeric(1e6) + 1)
#' m
#' m$increase
#' length(m$value)
mem_peak <- function(expr) {
  peak_measure(expr, reset_peak = rss_reset_peak)
}

# mem_peak() with the reset as an argument, so tests can make it fail.
peak_measure <- function(expr, reset_peak) {
  tracker <- peak_start(reset_peak)
  # On an error in `expr`: clean up without hiding that error.
  on.exit(tryCatch(peak_stop(tracker), error = function(e) NULL))
  started <- proc.time()[["elapsed"]]
  value <- expr
  elapsed <- proc.time()[["elapsed"]] - started
  measured <- peak_stop(tracker)
  structure(
    c(list(value = value), measured[c("rss_before", "rss_peak", "rss_after")],
      list(increase = measured$rss_peak - measured$rss_before, elapsed = elapsed),
      measured[c("method", "reason")]),
    class = "lowmem_mem_peak"
  )
}

# The interval of mem_peak()'s fallback sampler, in seconds.
peak_sampling_interval <- 0.001

# Starts a measurement: resets VmHWM, or else starts a sampler. Returns an
# environment that peak_stop() completes (once; later calls do nothing).
peak_start <- function(reset_peak = rss_reset_peak) {
  tracker <- new.env(parent = emptyenv())
  tracker$stopped <- FALSE
  tracker$reason <- NA_character_
  before <- try_unsupported(rss_status())
  if (!inherits(before, "error")) {
    reset <- try_unsupported(reset_peak())
  } else {
    reset <- before
  }
  if (!inherits(reset, "error")) {
    # The reset wipes the high-water mark an enclosing mem_peak() is waiting
    # for: hand it on, and collect our own nested calls' in the same way.
    tracker$method <- "vmhwm"
    tracker$rss_before <- reset[["rss"]]
    tracker$outer_lost <- max(the$hwm_lost, before[["hwm"]])
    the$hwm_lost <- 0
    return(tracker)
  }
  tracker$reason <- conditionMessage(reset)
  sampler <- try_unsupported(
    timeline_start(peak_sampling_interval, 1e5)
  )
  if (inherits(sampler, "error")) {
    tracker$method <- NA_character_
    tracker$reason <- paste0(tracker$reason, "; ", conditionMessage(sampler))
  } else {
    tracker$method <- "sampled"
    tracker$sampler <- sampler
    tracker$reason <- paste0(
      tracker$reason, "; RSS sampled every ",
      format_seconds(peak_sampling_interval), " instead, shorter peaks may be missed"
    )
  }
  tracker
}

# Completes a measurement; on the first call returns list(rss_before,
# rss_peak, rss_after, method, reason), on later calls NULL.
peak_stop <- function(tracker) {
  if (tracker$stopped) return(invisible(NULL))
  tracker$stopped <- TRUE
  method <- tracker$method
  if (identical(method, "vmhwm")) {
    after <- rss_status()
    rss_before <- tracker$rss_before
    rss_after <- after[["rss"]]
    # VmHWM is kept from the kernel's batched per-CPU RSS counters and can
    # read slightly below a VmRSS read in the same window (119 kB seen);
    # the peak is at least every RSS measured in it.
    rss_peak <- max(after[["hwm"]], the$hwm_lost, rss_before, rss_after)
    the$hwm_lost <- max(tracker$outer_lost, rss_peak)
  } else if (identical(method, "sampled")) {
    samples <- timeline_stop(tracker$sampler)
    rss_before <- samples$rss[[1]]
    rss_peak <- max(samples$rss)
    rss_after <- samples$rss[[length(samples$rss)]]
  } else {
    rss_before <- rss_peak <- rss_after <- NA_real_
  }
  list(rss_before = rss_before, rss_peak = rss_peak, rss_after = rss_after,
       method = method, reason = tracker$reason)
}

try_unsupported <- function(expr) {
  tryCatch(expr, lowmem_error_unsupported = function(e) e)
}
