# Printing mem_peak() and mem_timeline() results, and the units they use.

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
