# mem_timeline(): RSS over time while R evaluates an expression, sampled by
# a background thread (src/rust/src/mem/sampler.rs).

# The longest interval mem_timeline() takes, in seconds: a year (the sampler's
# own cap).
max_interval <- 365 * 24 * 3600

#' RSS over time while evaluating an expression
#'
#' Evaluates `expr` once, in the caller's environment, while a background
#' thread samples the process's resident set size (RSS) every `interval`
#' seconds from `/proc/self/statm`. The thread only reads that file: it never
#' touches R, which keeps running `expr` as usual. A first sample is taken
#' when sampling starts and a last one when it stops.
#'
#' The thread is always stopped and joined before `mem_timeline()` returns,
#' also when `expr` fails or is interrupted (including by
#' [setTimeLimit()]); should that ever be bypassed, the thread's handle is
#' an external pointer whose finalizer stops it.
#'
#' Ticks are at fixed offsets from the start. On a busy machine the thread
#' may be scheduled late: missed ticks are skipped, not made up, so there can
#' be fewer samples than `duration / interval`. A peak shorter than the
#' interval can fall between samples; [mem_peak()] does not miss it.
#'
#' Storage grows with the number of samples (16 bytes each, reserved up
#' front and included in the RSS measured), not with anything `expr`
#' allocates. For long runs it is capped at about `max_samples` rows: when
#' the cap is reached, neighbouring rows are merged pairwise, keeping the
#' larger RSS with its time, and from then on each row stands for twice as
#' many samples (attribute `stride`). The peak is therefore never lost, the
#' first row (time 0) and the last are kept, and the rows stay evenly spread.
#'
#' @param expr An expression, evaluated in the caller's environment
#'   (assignments in it happen there; its value is not kept).
#' @param interval Seconds between samples, from 0.0001 to a year (31536000).
#' @param max_samples The most rows to keep, from 4 to 10^7; see Details.
#' @return A data frame of class `c("lowmem_timeline", "data.frame")` with
#'   columns `time` (seconds since the start, increasing) and `rss` (bytes),
#'   and attributes `interval` and `stride` (samples per row, 1 unless the
#'   cap was reached). It has `print()`, `summary()`, `plot()` and `lines()`
#'   methods; [mem_plot()] draws several on one plot.
#'
#'   On systems without `/proc/self/statm` (not Linux) it fails with an error
#'   of class `lowmem_error_unsupported`.
#' @seealso [mem_peak()] for the exact peak alone.
#' @export
#' @examplesIf Sys.info()[["sysname"]] == "Linux"
#' tl <- mem_timeline({
#'   x <- numeric(2e6)
#'   Sys.sleep(0.05)
#'   rm(x)
#' }, interval = 0.005)
#' tl
#' summary(tl)
#' plot(tl)
mem_timeline <- function(expr, interval = 0.001, max_samples = 1e5) {
  check_number(interval, "interval", min = 1e-4, max = max_interval)
  check_number(max_samples, "max_samples", min = 4, max = 1e7)
  sampler <- timeline_start(interval, max_samples)
  on.exit(stop_quietly(sampler))
  force(expr)
  samples <- timeline_stop(sampler)
  structure(
    data.frame(time = samples$time, rss = samples$rss),
    interval = interval,
    stride = samples$stride,
    class = c("lowmem_timeline", "data.frame")
  )
}

# Stops a sampler on the way out of an error; an error of its own would hide
# the one being propagated, and the handle is freed either way.
stop_quietly <- function(sampler) {
  tryCatch(timeline_stop(sampler), error = function(e) NULL)
}

check_number <- function(x, name, min, max = Inf) {
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || !is.finite(x) || x < min || x > max) {
    range <- if (is.finite(max)) sprintf("from %s to %s", format(min), format(max))
             else sprintf("of at least %s", format(min))
    abort(sprintf("`%s` must be a number %s.", name, range),
          class = "lowmem_error_argument")
  }
  invisible(x)
}
