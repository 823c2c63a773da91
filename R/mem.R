# Memory tracking: mem_peak() and mem_timeline().
#
# The numbers come from Linux's /proc/self (read in Rust, src/rust/src/mem):
# the resident set size (RSS) and its high-water mark (VmHWM), which writing
# 5 to /proc/self/clear_refs resets. Where that is not possible, mem_peak()
# samples instead and says so; it never reports a number it did not measure.

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
#' (`method = "sampled"`), which can miss a peak shorter than that. Where
#' neither works (no `/proc`: not Linux), the memory fields are `NA` and
#' `method` is `NA`. `reason` says why a fallback was taken.
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

# The longest interval mem_timeline() takes, in seconds: a year (the sampler's
# own cap).
max_interval <- 365 * 24 * 3600

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

try_unsupported <- function(expr) {
  tryCatch(expr, lowmem_error_unsupported = function(e) e)
}

#' @export
format.lowmem_mem_peak <- function(x, ...) {
  elapsed <- format_seconds(x$elapsed)
  if (is.na(x$method)) {
    return(sprintf("peak not measured (%s), %s", x$reason, elapsed))
  }
  line <- sprintf("peak %s over %s start, %s", format_bytes(x$increase, sign = TRUE),
                  format_bytes(x$rss_before), elapsed)
  if (x$method == "sampled") {
    line <- paste0(line, " (sampled every ", format_seconds(peak_sampling_interval), ")")
  }
  line
}

#' @export
print.lowmem_mem_peak <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

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

#' @export
summary.lowmem_timeline <- function(object, ...) {
  n <- nrow(object)
  peak <- which.max(object$rss)
  structure(
    list(
      samples = n,
      duration = object$time[[n]],
      interval = attr(object, "interval") %||% NA_real_,
      median_step = if (n > 1) stats::median(diff(object$time)) else NA_real_,
      stride = attr(object, "stride") %||% NA_real_,
      rss_start = object$rss[[1]],
      rss_peak = object$rss[[peak]],
      peak_time = object$time[[peak]],
      rss_end = object$rss[[n]],
      increase = object$rss[[peak]] - object$rss[[1]]
    ),
    class = "summary.lowmem_timeline"
  )
}

#' @export
print.summary.lowmem_timeline <- function(x, ...) {
  cat(sprintf("RSS timeline: %d rows over %s", x$samples, format_seconds(x$duration)))
  if (!is.na(x$interval)) {
    cat(sprintf(", sampled every %s", format_seconds(x$interval)))
  }
  if (!is.na(x$stride) && x$stride > 1) {
    cat(sprintf(" (%g samples per row)", x$stride))
  }
  cat("\n")
  cat(sprintf("  start %s, peak %s (%s) at %s, end %s\n",
              format_bytes(x$rss_start), format_bytes(x$rss_peak),
              format_bytes(x$increase, sign = TRUE), format_seconds(x$peak_time),
              format_bytes(x$rss_end)))
  if (!is.na(x$median_step)) {
    cat(sprintf("  median time between rows %s\n", format_seconds(x$median_step)))
  }
  invisible(x)
}

#' @export
print.lowmem_timeline <- function(x, ..., n = 6) {
  if (nrow(x) == 0 || !all(c("time", "rss") %in% names(x))) {
    print(as.data.frame(x), ...)
    return(invisible(x))
  }
  s <- summary(x)
  cat(sprintf("<lowmem_timeline> %d rows over %s: peak %s over %s start at %s\n",
              s$samples, format_seconds(s$duration), format_bytes(s$increase, sign = TRUE),
              format_bytes(s$rss_start), format_seconds(s$peak_time)))
  print(utils::head(as.data.frame(x), n), ...)
  if (nrow(x) > n) cat(sprintf("# ... %d more rows\n", nrow(x) - n))
  invisible(x)
}

#' Plot RSS timelines
#'
#' `plot()` draws one timeline, RSS in MB (10^6 bytes) over time in seconds,
#' with its peak marked; `lines()` (or `plot(add = TRUE)`) adds another to
#' the current plot. `mem_plot()` draws several on common axes, with a
#' legend, to compare them; use it rather than `plot(); lines()` when the
#' timelines differ in length or height.
#'
#' @param x A timeline from [mem_timeline()].
#' @param ... For `plot()` and `lines()`: graphical parameters passed on to
#'   [graphics::lines()] (and [graphics::plot.default()] for the axes). For
#'   `mem_plot()`: timelines, or one list of them; their names label the
#'   legend.
#' @param add Add to the current plot instead of starting a new one.
#' @param relative Plot the RSS relative to the first sample (the increase)
#'   instead of the absolute RSS.
#' @param peak Mark the peak with a point and its value.
#' @param col The line colour (for `mem_plot()`, one per timeline).
#' @param xlim,ylim Axis ranges; by default the whole timeline(s), from 0.
#' @param xlab,ylab,main Axis labels and title.
#' @param legend For `mem_plot()`: the legend's labels (by default the
#'   timelines' names), or `NULL` for none.
#' @return `x` (for `mem_plot()`, the list of timelines), invisibly.
#' @name plot.lowmem_timeline
#' @examplesIf Sys.info()[["sysname"]] == "Linux"
#' small <- mem_timeline({x <- numeric(1e6); Sys.sleep(0.02)}, interval = 0.005)
#' large <- mem_timeline({x <- numeric(4e6); Sys.sleep(0.02)}, interval = 0.005)
#' plot(large)
#' lines(small, col = "red")
#' mem_plot(small = small, large = large, relative = TRUE)
NULL

#' @rdname plot.lowmem_timeline
#' @export
plot.lowmem_timeline <- function(x, ..., add = FALSE, relative = FALSE, peak = TRUE,
                                 col = "black", xlim = NULL, ylim = NULL,
                                 xlab = "time (s)", ylab = NULL, main = NULL) {
  y <- timeline_mb(x, relative)
  if (!add) {
    graphics::plot.default(
      NA, xlim = xlim %||% range(0, x$time), ylim = ylim %||% padded_range(y),
      xlab = xlab, ylab = ylab %||% rss_label(relative), main = main, ...
    )
  }
  graphics::lines(x$time, y, col = col, ...)
  if (peak && length(y) > 0) {
    i <- which.max(y)
    graphics::points(x$time[[i]], y[[i]], pch = 19, col = col)
    label <- format_bytes(y[[i]] * 1e6, sign = relative)
    graphics::text(x$time[[i]], y[[i]], label, pos = 3, col = col, cex = 0.8, xpd = TRUE)
  }
  invisible(x)
}

#' @rdname plot.lowmem_timeline
#' @importFrom graphics lines
#' @export
lines.lowmem_timeline <- function(x, ..., relative = FALSE, peak = TRUE, col = "black") {
  plot.lowmem_timeline(x, ..., add = TRUE, relative = relative, peak = peak, col = col)
}

#' @rdname plot.lowmem_timeline
#' @export
mem_plot <- function(..., relative = FALSE, peak = TRUE, col = NULL,
                     legend = names(timelines), xlim = NULL, ylim = NULL,
                     xlab = "time (s)", ylab = NULL, main = NULL) {
  timelines <- list(...)
  if (length(timelines) == 1 && !inherits(timelines[[1]], "lowmem_timeline")) {
    timelines <- timelines[[1]]
  }
  if (length(timelines) == 0 ||
      !all(vapply(timelines, inherits, logical(1), "lowmem_timeline"))) {
    abort("`...` must be timelines from mem_timeline(), or one list of them.",
          class = "lowmem_error_argument")
  }
  col <- rep_len(col %||% seq_along(timelines), length(timelines))
  times <- unlist(lapply(timelines, `[[`, "time"))
  values <- unlist(lapply(timelines, timeline_mb, relative = relative))
  graphics::plot.default(
    NA, xlim = xlim %||% range(0, times), ylim = ylim %||% padded_range(values),
    xlab = xlab, ylab = ylab %||% rss_label(relative), main = main
  )
  for (i in seq_along(timelines)) {
    plot.lowmem_timeline(timelines[[i]], add = TRUE, relative = relative,
                         peak = peak, col = col[[i]])
  }
  if (!is.null(legend)) {
    graphics::legend("topleft", legend = legend, col = col, lty = 1, bty = "n")
  }
  invisible(timelines)
}

timeline_mb <- function(x, relative) {
  rss <- x$rss
  if (relative && length(rss) > 0) rss <- rss - rss[[1]]
  rss / 1e6
}

rss_label <- function(relative) {
  if (relative) "RSS increase (MB)" else "RSS (MB)"
}

# From 0 (or below, for a relative timeline that shrank), with headroom
# above for the peak's label.
padded_range <- function(y) {
  r <- range(0, y, finite = TRUE)
  r[[2]] <- r[[2]] + 0.08 * diff(r) + if (diff(r) == 0) 1 else 0
  r
}

# Bytes in decimal units, 3 significant digits: "765 MB", "1.23 GB".
format_bytes <- function(bytes, sign = FALSE) {
  if (is.na(bytes)) return("NA")
  prefix <- if (sign && bytes >= 0) "+" else if (bytes < 0) "-" else ""
  b <- abs(bytes)
  units <- c("B", "kB", "MB", "GB", "TB")
  power <- if (b < 1) 0 else min(floor(log10(b) / 3), length(units) - 1)
  value <- signif(b / 1000^power, 3)
  if (value >= 1000 && power < length(units) - 1) {
    value <- value / 1000
    power <- power + 1
  }
  paste0(prefix, format(value, big.mark = ""), " ", units[[power + 1]])
}

format_seconds <- function(seconds) {
  if (is.na(seconds)) return("NA s")
  if (seconds != 0 && seconds < 0.1) {
    return(paste0(format(signif(seconds * 1000, 2)), " ms"))
  }
  paste0(format(signif(seconds, 2)), " s")
}

`%||%` <- function(x, y) if (is.null(x)) y else x
