# Plotting mem_timeline() results.

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
