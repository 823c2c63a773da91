# zstd files: lowmem's serialize_to_file(compress = "zstd") against
# saveRDS(compress = "zstd") and against lowmem's gzip, and readRDS() of
# each file. Every write and every read runs in a fresh Rscript.
#   Rscript inst/bench/zstd.R [reps] [objects...]     the driver (R >= 4.5)
#   Rscript inst/bench/zstd.R write <object> <method> <path>   one write
#   Rscript inst/bench/zstd.R read <path>                      one readRDS()
# The driver writes results/zstd.csv (every run), results/zstd-table.md
# (medians) and results/zstd-session-info.txt.
args <- commandArgs(trailingOnly = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
source(file.path(here, "cases.R")) # objects

zstd_methods <- list(
  saveRDS_zstd = function(x, path) saveRDS(x, path, compress = "zstd"),
  lowmem_file_zstd = function(x, path) withCallingHandlers( # (R < 4.5 warns that it cannot read it)
    lowmem::serialize_to_file(x, path, compress = "zstd"),
    lowmem_warning_unreadable = function(w) invokeRestart("muffleWarning")
  ),
  lowmem_file_gzip = function(x, path) lowmem::serialize_to_file(x, path, compress = "gzip")
)

# Times `expr` with the peak RSS above the start (lowmem::mem_peak(): VmHWM
# after a reset through /proc/self/clear_refs) and the process's CPU time
# (all threads).
measure <- function(expr) {
  invisible(gc())
  m <- lowmem::mem_peak(system.time(expr, gcFirst = FALSE))
  stopifnot(identical(m$method, "vmhwm")) # the kernel's high-water mark, not samples
  t <- m$value
  c(seconds = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]],
    peak_extra_mb = m$increase / 2^20)
}

if (length(args) >= 1 && args[[1]] == "write") {
  invisible(loadNamespace("lowmem"))
  invisible(compiler::enableJIT(0))
  x <- objects[[args[[2]]]]()
  method <- zstd_methods[[args[[3]]]]
  path <- args[[4]]
  # One-time costs (lazy loading) are per session, not per object.
  method(list(1, "a"), path)
  unlink(path)
  invisible(system2("sync"))
  m <- measure(method(x, path))
  cat(sprintf("%.0f,%.3f,%.3f,%.1f\n", file.size(path), m[["seconds"]], m[["cpu"]], m[["peak_extra_mb"]]))
  quit(save = "no")
}

if (length(args) >= 1 && args[[1]] == "read") {
  invisible(compiler::enableJIT(0))
  m <- measure(x <- readRDS(args[[2]]))
  cat(sprintf("%.3f\n", m[["seconds"]]))
  quit(save = "no")
}

# ---- the driver -------------------------------------------------------------
stopifnot(getRversion() >= "4.5.0") # saveRDS(compress = "zstd"), and readRDS() of zstd
reps <- if (length(args) >= 1) as.integer(args[[1]]) else 1L
which_objects <- if (length(args) >= 2) args[-1] else c("seed_df", "big_df", "strings_df")
out_dir <- file.path(here, "results")
dir.create(out_dir, showWarnings = FALSE)
rscript <- file.path(R.home("bin"), "Rscript")
script <- file.path(here, "zstd.R")

run <- function(...) {
  out <- system2(rscript, c(shQuote(script), ...), stdout = TRUE)
  as.numeric(strsplit(tail(out, 1), ",")[[1]])
}

runs <- list()
for (object in which_objects) {
  for (i in seq_len(reps)) {
    # Interleaved, so that the machine's slow spells fall on all methods alike.
    for (method in names(zstd_methods)) {
      path <- tempfile(fileext = ".rds")
      w <- run("write", object, method, shQuote(path))
      r <- run("read", shQuote(path))
      unlink(path)
      invisible(system2("sync"))
      row <- data.frame(object = object, method = method, rep = i, bytes = w[[1]], seconds = w[[2]],
                        cpu_seconds = w[[3]], peak_extra_mb = w[[4]], readRDS_seconds = r[[1]])
      message(sprintf("%-10s %-17s %7.1f MiB %7.2f s (cpu %6.2f) +%6.1f MiB, readRDS %6.2f s",
                      object, method, row$bytes / 2^20, row$seconds, row$cpu_seconds,
                      row$peak_extra_mb, row$readRDS_seconds))
      runs[[length(runs) + 1]] <- row
    }
  }
}
runs <- do.call(rbind, runs)
write.csv(runs, file.path(out_dir, "zstd.csv"), row.names = FALSE)

med <- aggregate(cbind(bytes, seconds, cpu_seconds, peak_extra_mb, readRDS_seconds) ~ object + method,
                 runs, median)
med <- med[order(match(med$object, which_objects), match(med$method, names(zstd_methods))), ]
vs <- function(col) {
  mapply(function(object, value) {
    b <- med[[col]][med$object == object & med$method == "saveRDS_zstd"]
    sprintf("%.2f", value / b)
  }, med$object, med[[col]])
}
table <- c(
  "| object | method | MiB | vs saveRDS zstd | seconds | vs saveRDS zstd | CPU s | peak extra MiB | readRDS s |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  sprintf("| %s | %s | %.1f | %s | %.2f | %s | %.2f | %.1f | %.2f |", med$object, med$method,
          med$bytes / 2^20, vs("bytes"), med$seconds, vs("seconds"), med$cpu_seconds,
          med$peak_extra_mb, med$readRDS_seconds)
)
writeLines(table, file.path(out_dir, "zstd-table.md"))
writeLines(c(
  paste("date:", format(Sys.time(), tz = "UTC", usetz = TRUE)),
  paste("reps:", reps, "(median)"),
  paste("cores:", parallel::detectCores()),
  paste("load average at the end:", paste(readLines("/proc/loadavg"), collapse = " ")),
  paste("lowmem:", as.character(packageVersion("lowmem"))),
  capture.output(sessionInfo())
), file.path(out_dir, "zstd-session-info.txt"))
cat(table, sep = "\n")
