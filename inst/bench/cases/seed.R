# The seed experiment: serialize(data.frame(runif(50e6, 1, 10)), NULL) with
# base R and with lowmem, in this R. inst/bench/every-r.sh runs it on every
# R of the test matrix and gathers the rows into one results/seed.csv.
about <- "serialize(data.frame(runif(50e6, 1, 10)), NULL), base R against lowmem, per R"
default_reps <- 3L

plan <- function(scale) data.frame(method = c("base_raw", "lowmem_raw"))

measure <- function(run, scale) {
  x <- objects$seed_df(scale)
  write <- switch(run$method,
    base_raw = function(x) length(base::serialize(x, NULL)),
    lowmem_raw = function(x) length(lowmem::serialize(x, NULL))
  )
  invisible(write(list(1, "a"))) # one-time costs, as in every case
  invisible(gc())
  m <- bench_measure(bytes <- write(x))
  list(R = paste(R.version$major, R.version$minor, sep = "."), output_MB = bytes / 1e6,
       seconds = m$seconds, peak_extra_MB = m$peak_extra_mb * 2^20 / 1e6,
       writer = if (run$method == "lowmem_raw") bench_writer(x) else "")
}

# One row per R: medians over its runs (MB = 10^6 bytes).
table <- function(runs) {
  runs$R <- as.character(runs$R)
  med <- aggregate(cbind(output_MB, seconds, peak_extra_MB) ~ R + method, runs, median)
  rows <- vapply(unique(runs$R), function(r) {
    b <- med[med$R == r & med$method == "base_raw", ]
    l <- med[med$R == r & med$method == "lowmem_raw", ]
    writer <- unique(runs$writer[runs$R == r & runs$method == "lowmem_raw"])
    sprintf("| %s | %.3f | %.3f | %.2f | %.0f | %.0f | %.2f | %s |", r, b$seconds, l$seconds,
            l$seconds / b$seconds, b$peak_extra_MB, l$peak_extra_MB, l$peak_extra_MB / l$output_MB,
            paste(writer, collapse = ", "))
  }, "")
  c("| R | base s | lowmem s | time vs base | peak extra MB, base | peak extra MB, lowmem | peak / output | writer |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    rows)
}
