# digest() against digest::digest(): time and peak extra memory, and that
# the hashes agree, for md5, sha256 and xxhash64.
about <- "lowmem::digest() against digest::digest() (R 4.2.2)"
default_reps <- 1L

available <- function() {
  if (!requireNamespace("digest", quietly = TRUE)) "the digest package is not installed"
}

plan <- function(scale) {
  expand.grid(package = c("digest", "lowmem"), algo = c("md5", "sha256", "xxhash64"),
              object = c("seed_df", "mixed_df", "strings_df"), stringsAsFactors = FALSE)
}

measure <- function(run, scale) {
  invisible(loadNamespace("digest"))
  set.seed(1) # the same object in every process: the hashes compare
  x <- objects[[run$object]](scale)
  hash <- getExportedValue(run$package, "digest")
  invisible(hash(list(1, "a"), run$algo)) # one-time costs, as in every case
  invisible(gc())
  m <- bench_measure(value <- hash(x, run$algo))
  list(hash = value, seconds = m$seconds, start_mb = m$start_mb, peak_extra_mb = m$peak_extra_mb)
}

table <- function(runs) {
  med <- stats::aggregate(cbind(seconds, peak_extra_mb) ~ object + algo + package, runs, stats::median)
  agree <- stats::aggregate(hash ~ object + algo, runs, function(h) length(unique(h)) == 1L)
  lines <- c("| object | algo | digest s | lowmem s | time vs digest | peak extra MB, digest | peak extra MB, lowmem | same hash |",
             "|---|---|---:|---:|---:|---:|---:|---|")
  for (object in unique(runs$object)) {
    for (algo in unique(runs$algo)) {
      d <- med[med$object == object & med$algo == algo & med$package == "digest", ]
      l <- med[med$object == object & med$algo == algo & med$package == "lowmem", ]
      same <- agree$hash[agree$object == object & agree$algo == algo]
      lines <- c(lines, sprintf("| %s | %s | %.3f | %.3f | %.2f | %.1f | %.1f | %s |", object, algo,
                                d$seconds, l$seconds, l$seconds / d$seconds, d$peak_extra_mb,
                                l$peak_extra_mb, if (same) "yes" else "NO"))
    }
  }
  lines
}
