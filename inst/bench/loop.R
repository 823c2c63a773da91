# Benchmark of serialize(x, NULL) in a loop, next to many strings on R's
# heap: the cost of the garbage collections that keep dead results from
# piling up, against base R's own.
#
#   Rscript inst/bench/loop.R [reps]          every method, `reps` fresh runs each (interleaved)
#   Rscript inst/bench/loop.R case <method>   one run (internal)
#
# Each run: 3 million strings on the heap, then 20 calls serialize(x, NULL)
# of a 72 MB double vector, each result replacing the last (one kept alive).
# Prints elapsed seconds for the loop, seconds in garbage collection
# (gc.time()), the most bytes of lowmem's results mapped at once, and the
# peak RSS above the RSS before the loop (lowmem::mem_peak(): VmHWM after a
# reset). Every run
# goes to results/loop.csv; the medians are printed.

methods <- list(
  base = function(x) base::serialize(x, NULL),
  lowmem = function(x) lowmem::serialize(x, NULL),
  lowmem_heap = function(x) lowmem::serialize(x, NULL) # with options(lowmem.altrep = FALSE)
)

run_one <- function(method) {
  loadNamespace("lowmem")
  compiler::enableJIT(0)
  if (method == "lowmem_heap") options(lowmem.altrep = FALSE)
  f <- methods[[method]]
  strings <- paste0("s", seq_len(3e6))
  x <- runif(9e6)
  invisible(f(1:10))
  invisible(gc())
  gc0 <- gc.time()[[1]]
  most <- 0
  m <- lowmem::mem_peak(system.time(for (i in 1:20) {
    r <- f(x)
    most <- max(most, lowmem:::result_info(NULL)$live_bytes)
  })[["elapsed"]])
  stopifnot(identical(m$method, "vmhwm")) # the kernel's high-water mark, not samples
  t <- m$value
  gct <- gc.time()[[1]] - gc0
  stopifnot(identical(r, base::serialize(x, NULL)))
  cat(sprintf("%s %.3f %.3f %.0f %.0f\n", method, t, gct, most / 2^20, m$increase / 2^20))
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) >= 2 && args[[1]] == "case") {
  run_one(args[[2]])
} else {
  reps <- if (length(args)) as.integer(args[[1]]) else 3L
  self <- normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)))
  rscript <- file.path(R.home("bin"), "Rscript")
  rows <- list()
  for (rep in seq_len(reps)) {
    for (m in names(methods)) {
      out <- system2(rscript, c(shQuote(self), "case", m), stdout = TRUE)
      cat(out, sep = "\n")
      f <- strsplit(out[[length(out)]], " ")[[1]]
      rows[[length(rows) + 1]] <- data.frame(method = f[[1]], seconds = as.numeric(f[[2]]),
                                             gc_seconds = as.numeric(f[[3]]),
                                             most_mapped_MiB = as.numeric(f[[4]]),
                                             peak_extra_MiB = as.numeric(f[[5]]))
    }
  }
  all <- do.call(rbind, rows)
  utils::write.csv(all, file.path(dirname(self), "results", "loop.csv"), row.names = FALSE)
  med <- aggregate(cbind(seconds, gc_seconds, most_mapped_MiB, peak_extra_MiB) ~ method, all, median)
  print(med[match(names(methods), med$method), ], row.names = FALSE)
}
