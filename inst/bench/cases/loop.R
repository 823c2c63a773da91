# serialize(x, NULL) in a loop, next to many strings on R's heap: the cost
# of the garbage collections that keep dead results from piling up,
# against base R's own. Each run: 3 million strings on the heap, then 20
# calls of serialize(x, NULL) on a 72 MB double vector, each result
# replacing the last (one kept alive). Reports the loop's elapsed seconds,
# the seconds in garbage collection (gc.time()), the most bytes of lowmem's
# results mapped at once and the peak RSS above the loop's start.
about <- "serialize(x, NULL) 20 times in a loop beside 3e6 strings: collection costs (R 4.2.2)"
default_reps <- 3L

plan <- function(scale) data.frame(method = c("base", "lowmem", "lowmem_heap"))

measure <- function(run, scale) {
  if (run$method == "lowmem_heap") options(lowmem.altrep = FALSE) # results from R's heap
  f <- if (run$method == "base") function(x) base::serialize(x, NULL) else function(x) lowmem::serialize(x, NULL)
  strings <- paste0("s", seq_len(bench_rows(3e6, scale)))
  x <- runif(bench_rows(9e6, scale))
  invisible(f(1:10))
  invisible(gc())
  gc0 <- gc.time()[[1]]
  most <- 0
  m <- bench_measure(for (i in 1:20) {
    r <- f(x)
    most <- max(most, lowmem:::result_info(NULL)$live_bytes)
  })
  stopifnot(identical(r, base::serialize(x, NULL)))
  list(seconds = m$seconds, gc_seconds = gc.time()[[1]] - gc0, most_mapped_MiB = most / 2^20,
       peak_extra_MiB = m$peak_extra_mb)
}

table <- function(runs) {
  med <- aggregate(cbind(seconds, gc_seconds, most_mapped_MiB, peak_extra_MiB) ~ method, runs, median)
  med <- med[match(c("base", "lowmem", "lowmem_heap"), med$method), ]
  c("| method | seconds | seconds in GC | most results mapped, MiB | peak extra MiB |",
    "|---|---:|---:|---:|---:|",
    sprintf("| %s | %.3f | %.3f | %.0f | %.0f |", med$method, med$seconds, med$gc_seconds,
            med$most_mapped_MiB, med$peak_extra_MiB))
}
