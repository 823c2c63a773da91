# Benchmark of the native writer: serialize(x, NULL) and
# serialized_size() against base R and against the floor, each run in a
# fresh Rscript.
#
#   Rscript inst/bench/native.R [reps]            all cases, `reps` runs each
#   Rscript inst/bench/native.R case <object> <method>   one run (internal)
#
# Methods ending in _nogc run with `Rscript --min-vsize=4G`: allocating the
# output then triggers no garbage collection, so they time the writers
# alone. Otherwise allocating a large result usually triggers one full
# collection, in base R and lowmem alike, whose cost grows with the number
# of objects on the heap (columns "GCs in call" and "one full GC").
#
# Writes results/native.csv (every run), results/native-table.md (medians)
# and results/native-session-info.txt. Time is elapsed seconds and CPU
# seconds (user + system: steadier on a shared machine). Peak extra memory
# is the kernel's, by lowmem::mem_peak(): VmHWM after a reset through
# /proc/self/clear_refs, minus VmRSS before the call.

# The objects are the main benchmark's (cases.R).
self <- normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)))
objects <- local({
  source(file.path(dirname(self), "cases.R"), local = TRUE)
  objects[c("seed_df", "mixed_df", "strings_df", "small_lists")]
})

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
# The same, run with a vector heap so large (Rscript --min-vsize=4G) that
# allocating the output triggers no garbage collection: the writer's own time.
methods$base_raw_nogc <- methods$base_raw
methods$lowmem_raw_nogc <- methods$lowmem_raw

plan <- list(
  seed_df = c("base_raw", "lowmem_raw", "floor_raw", "base_raw_native", "lowmem_raw_native",
              "base_size", "lowmem_size"),
  mixed_df = c("base_raw", "lowmem_raw", "base_raw_nogc", "lowmem_raw_nogc", "lowmem_size"),
  strings_df = c("base_raw", "lowmem_raw", "base_raw_nogc", "lowmem_raw_nogc", "lowmem_size"),
  small_lists = c("base_raw", "lowmem_raw", "base_raw_nogc", "lowmem_raw_nogc", "lowmem_size")
)

run_one <- function(object, method) {
  # Loaded before measuring: loading a namespace and its DLL is not writing.
  loadNamespace("lowmem")
  # No JIT compilation of this script's closures (it would compile `f`
  # inside the measured call, loading the compiler: 3 MB of heap).
  invisible(compiler::enableJIT(0))
  x <- objects[[object]]()
  f <- methods[[method]]
  # One call on a tiny object first: lazy-loading the functions a method
  # calls is paid once per session, not per object.
  invisible(f(list(1, "a")))
  if (method == "lowmem_size") {
    # Too fast for one system.time(): the mean of many calls.
    invisible(f(x))
    reps <- 1000L
    t <- system.time(for (i in seq_len(reps)) bytes <- f(x))
    cat(sprintf("%s,%s,%.0f,%.6f,%.6f,%.1f,%.1f,%s,%d,%.4f\n", object, method, bytes,
                t[["elapsed"]] / reps, (t[["user.self"]] + t[["sys.self"]]) / reps, 0, 0,
                lowmem:::serialize_path(x), 0L, 0))
    return(invisible())
  }
  invisible(gc())
  # Count the garbage collections during the call (R reports them on the
  # message stream with gcinfo(TRUE)): allocating the output may trigger a
  # full collection, whose cost depends on the heap, not on the writer.
  gc_log <- tempfile()
  gc_con <- file(gc_log, "w")
  sink(gc_con, type = "message")
  gcinfo(TRUE)
  m <- lowmem::mem_peak(system.time(bytes <- f(x), gcFirst = FALSE)) # (gc() ran before)
  gcinfo(FALSE)
  sink(type = "message")
  close(gc_con)
  stopifnot(identical(m$method, "vmhwm")) # the kernel's high-water mark, not samples
  t <- m$value
  gcs <- sum(grepl("^Garbage collection", readLines(gc_log)))
  # The cost of one full collection of this heap, for comparison.
  gc_seconds <- system.time(gc())[["elapsed"]]
  path <- if (grepl("^lowmem", method)) lowmem:::serialize_path(x) else "-"
  cat(sprintf("%s,%s,%.0f,%.4f,%.4f,%.1f,%.1f,%s,%d,%.4f\n", object, method, bytes, t[["elapsed"]],
              t[["user.self"]] + t[["sys.self"]], m$rss_before / 2^20, m$increase / 2^20, path,
              gcs, gc_seconds))
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) >= 1 && args[[1]] == "case") {
  run_one(args[[2]], args[[3]])
  quit(save = "no")
}

reps <- if (length(args) >= 1) as.integer(args[[1]]) else 3L
out_dir <- file.path(dirname(self), "results")
dir.create(out_dir, showWarnings = FALSE)
columns <- c("object", "method", "bytes", "seconds", "cpu_seconds", "start_mb", "peak_extra_mb", "path",
             "gcs", "gc_seconds")

runs <- list()
for (i in seq_len(reps)) {
  # Interleaved, so that a burst of load on the machine hits all methods.
  for (object in names(plan)) {
    for (method in plan[[object]]) {
      heap <- if (grepl("_nogc$", method)) "--min-vsize=4G" else character()
      line <- system2(file.path(R.home("bin"), "Rscript"),
                      c(heap, shQuote(self), "case", object, method), stdout = TRUE)
      f <- strsplit(tail(line, 1), ",")[[1]]
      r <- as.data.frame(as.list(setNames(f, columns)))
      for (col in columns[c(3:7, 9:10)]) r[[col]] <- as.numeric(r[[col]])
      message(sprintf("%-12s %-18s %8.4f s  cpu %8.4f s  +%8.1f MiB  %s  gcs %d (full gc %.3f s)",
                      object, method, r$seconds, r$cpu_seconds, r$peak_extra_mb, r$path,
                      r$gcs, r$gc_seconds))
      runs[[length(runs) + 1]] <- r
    }
  }
}
runs <- do.call(rbind, runs)
write.csv(runs, file.path(out_dir, "native.csv"), row.names = FALSE)

med <- aggregate(cbind(bytes, seconds, cpu_seconds, peak_extra_mb, gcs, gc_seconds) ~ object + method,
                 runs, median)
med <- med[order(match(med$object, names(plan)),
                 mapply(function(o, m) match(m, plan[[o]]), med$object, med$method)), ]
versus <- function(object, method, column, baseline) {
  b <- med[[column]][med$object == object & med$method == baseline]
  v <- med[[column]][med$object == object & med$method == method]
  if (length(b) == 0 || method == baseline) "" else sprintf("%.2f", v / b)
}
base_of <- c(lowmem_raw = "base_raw", floor_raw = "base_raw", lowmem_raw_native = "base_raw_native",
             lowmem_size = "base_size", lowmem_raw_nogc = "base_raw_nogc")
table <- c(
  "| object | method | output MiB | seconds | cpu seconds | time vs base | time vs floor | peak extra MiB | peak / output | GCs in call | one full GC, s |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  sprintf("| %s | %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s |",
    med$object, med$method, med$bytes / 2^20,
    ifelse(med$seconds < 0.01, sprintf("%.6f", med$seconds), sprintf("%.3f", med$seconds)),
    ifelse(med$cpu_seconds < 0.01, sprintf("%.6f", med$cpu_seconds), sprintf("%.3f", med$cpu_seconds)),
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
writeLines(table, file.path(out_dir, "native-table.md"))
writeLines(c(
  paste("date:", format(Sys.time(), tz = "UTC", usetz = TRUE)),
  paste("reps:", reps, "(fresh Rscript per run, interleaved; medians)"),
  paste("cpu:", sub(".*: ", "", grep("model name", readLines("/proc/cpuinfo"), value = TRUE)[1])),
  paste("cores:", parallel::detectCores()),
  paste("load average at the end:", readLines("/proc/loadavg")),
  paste("transparent huge pages:", readLines("/sys/kernel/mm/transparent_hugepage/enabled")),
  paste("lowmem:", as.character(packageVersion("lowmem"))),
  paste("rustc:", system2("rustc", "--version", stdout = TRUE)),
  "", capture.output(sessionInfo())
), file.path(out_dir, "native-session-info.txt"))
cat(table, sep = "\n")
