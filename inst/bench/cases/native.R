# The native writer: serialize(x, NULL) and serialized_size() against base
# R and against the floor. Methods ending in _nogc run with
# `Rscript --min-vsize=4G`: allocating the output then triggers no garbage
# collection, so they time the writers alone. Otherwise allocating a large
# result usually triggers one full collection, in base R and lowmem alike,
# whose cost grows with the number of objects on the heap (columns "GCs in
# call" and "one full GC"). Time is elapsed and CPU seconds (user + system:
# steadier on a shared machine).
about <- "the native writer against base R and the floor (R 4.2.2)"
default_reps <- 3L

# Each method returns the number of bytes it produced (or counted).
methods <- list(
  base_raw = function(x) length(base::serialize(x, NULL)),
  lowmem_raw = function(x) length(lowmem::serialize(x, NULL)),
  base_raw_native = function(x) length(base::serialize(x, NULL, xdr = FALSE)),
  lowmem_raw_native = function(x) length(lowmem::serialize(x, NULL, xdr = FALSE)),
  base_size = function(x) length(base::serialize(x, NULL)),
  lowmem_size = function(x) lowmem::serialized_size(x),
  # The floor for XDR raw output: a raw vector of the output's size, its
  # doubles byte-swapped into it (allocation, page faults, the swap).
  floor_raw = function(x) length(lowmem:::bench_floor(x[[1]], lowmem::serialized_size(x)))
)
methods$base_raw_nogc <- methods$base_raw
methods$lowmem_raw_nogc <- methods$lowmem_raw

cases <- list(
  seed_df = c("base_raw", "lowmem_raw", "floor_raw", "base_raw_native", "lowmem_raw_native",
              "base_size", "lowmem_size"),
  mixed_df = c("base_raw", "lowmem_raw", "base_raw_nogc", "lowmem_raw_nogc", "lowmem_size"),
  strings_df = c("base_raw", "lowmem_raw", "base_raw_nogc", "lowmem_raw_nogc", "lowmem_size"),
  small_lists = c("base_raw", "lowmem_raw", "base_raw_nogc", "lowmem_raw_nogc", "lowmem_size")
)

plan <- function(scale) {
  p <- data.frame(object = rep(names(cases), lengths(cases)), method = unlist(cases, use.names = FALSE))
  p$rscript_args <- ifelse(grepl("_nogc$", p$method), "--min-vsize=4G", "")
  p
}

measure <- function(run, scale) {
  x <- objects[[run$object]](scale)
  f <- methods[[run$method]]
  invisible(f(list(1, "a"))) # one-time costs, as in every case
  writer <- if (grepl("^lowmem", run$method)) bench_writer(x) else "-"
  if (run$method == "lowmem_size") {
    # Too fast for one system.time(): the mean of many calls.
    invisible(f(x))
    reps <- 1000L
    t <- system.time(for (i in seq_len(reps)) bytes <- f(x))
    return(list(bytes = bytes, seconds = t[["elapsed"]] / reps,
                cpu_seconds = (t[["user.self"]] + t[["sys.self"]]) / reps, start_mb = 0, peak_extra_mb = 0,
                writer = writer, gcs = 0L, gc_seconds = 0))
  }
  invisible(gc())
  # Count the garbage collections during the call (R reports them on the
  # message stream with gcinfo(TRUE)): allocating the output may trigger a
  # full collection, whose cost depends on the heap, not on the writer.
  gc_log <- tempfile()
  gc_con <- file(gc_log, "w")
  sink(gc_con, type = "message")
  gcinfo(TRUE)
  m <- bench_measure(bytes <- f(x))
  gcinfo(FALSE)
  sink(type = "message")
  close(gc_con)
  gcs <- sum(grepl("^Garbage collection", readLines(gc_log)))
  # The cost of one full collection of this heap, for comparison.
  gc_seconds <- system.time(gc())[["elapsed"]]
  list(bytes = bytes, seconds = m$seconds, cpu_seconds = m$cpu_seconds, start_mb = m$start_mb,
       peak_extra_mb = m$peak_extra_mb, writer = writer, gcs = gcs, gc_seconds = gc_seconds)
}

table <- function(runs) {
  med <- aggregate(cbind(bytes, seconds, cpu_seconds, peak_extra_mb, gcs, gc_seconds) ~ object + method,
                   runs, median)
  med <- med[order(match(med$object, names(cases)),
                   mapply(function(o, m) match(m, cases[[o]]), med$object, med$method)), ]
  versus <- function(object, method, column, baseline) {
    b <- med[[column]][med$object == object & med$method == baseline]
    v <- med[[column]][med$object == object & med$method == method]
    if (length(b) == 0 || method == baseline) "" else sprintf("%.2f", v / b)
  }
  base_of <- c(lowmem_raw = "base_raw", floor_raw = "base_raw", lowmem_raw_native = "base_raw_native",
               lowmem_size = "base_size", lowmem_raw_nogc = "base_raw_nogc")
  seconds <- function(s) ifelse(s < 0.01, sprintf("%.6f", s), sprintf("%.3f", s))
  c(
    "| object | method | output MiB | seconds | cpu seconds | time vs base | time vs floor | peak extra MiB | peak / output | GCs in call | one full GC, s |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    sprintf("| %s | %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s |",
      med$object, med$method, med$bytes / 2^20, seconds(med$seconds), seconds(med$cpu_seconds),
      mapply(function(o, m) if (is.na(base_of[m])) "" else versus(o, m, "seconds", base_of[[m]]),
             med$object, med$method),
      mapply(function(o, m) if (m == "lowmem_raw") versus(o, m, "seconds", "floor_raw") else "",
             med$object, med$method),
      ifelse(med$method == "lowmem_size", "", sprintf("%.1f", med$peak_extra_mb)),
      ifelse(grepl("_raw", med$method), sprintf("%.3f", med$peak_extra_mb / (med$bytes / 2^20)), ""),
      ifelse(med$method == "lowmem_size", "", sprintf("%g", med$gcs)),
      ifelse(med$method == "lowmem_size", "", sprintf("%.3f", med$gc_seconds))
    )
  )
}
