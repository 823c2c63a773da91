# Every way of writing the benchmark objects: raw vectors, sizes, files
# and connections, base R against lowmem. (Was inst/bench/run.R's table.)
about <- "every object and writing method, base R against lowmem (R 4.2.2)"
default_reps <- 3L

# Each method writes `x`; `target` is a scratch file path. Returns the bytes written.
methods <- list(
  base_raw = function(x, target) length(base::serialize(x, NULL)),
  lowmem_raw = function(x, target) length(lowmem::serialize(x, NULL)),
  base_size = function(x, target) length(base::serialize(x, NULL)),
  lowmem_size = function(x, target) lowmem::serialized_size(x),
  saveRDS_none = function(x, target) { saveRDS(x, target, compress = FALSE); file.size(target) },
  base_con = function(x, target) {
    con <- file(target, "wb"); on.exit(close(con)); base::serialize(x, con); NA
  },
  lowmem_con = function(x, target) {
    con <- file(target, "wb"); on.exit(close(con)); lowmem::serialize(x, con); NA
  },
  lowmem_file_none = function(x, target) { lowmem::serialize_to_file(x, target); file.size(target) },
  saveRDS_gzip = function(x, target) { saveRDS(x, target); file.size(target) },
  lowmem_file_gzip = function(x, target) {
    lowmem::serialize_to_file(x, target, compress = "gzip"); file.size(target)
  },
  # The floor for raw output of a one-column data frame of doubles: a raw
  # vector of (nearly) the output's size filled with the byte-swapped
  # doubles, which is what XDR encoding must at least do.
  floor_raw = function(x, target) length(writeBin(x[[1]], raw(), endian = "big"))
)

cases <- list(
  seed_df = c("base_raw", "lowmem_raw", "base_size", "lowmem_size",
              "saveRDS_none", "lowmem_file_none", "base_con", "lowmem_con",
              "saveRDS_gzip", "lowmem_file_gzip"),
  big_df = c("saveRDS_none", "lowmem_file_none", "lowmem_con", "lowmem_file_gzip"),
  strings_df = c("base_raw", "lowmem_raw", "saveRDS_none", "lowmem_file_none",
                 "base_con", "lowmem_con", "saveRDS_gzip", "lowmem_file_gzip"),
  mixed_df = c("base_raw", "lowmem_raw"),
  small_lists = c("base_raw", "lowmem_raw")
)

plan <- function(scale) {
  p <- data.frame(object = rep(names(cases), lengths(cases)), method = unlist(cases, use.names = FALSE))
  # The slow baseline once: it is the comparison, not the subject.
  p$first_rep_only <- p$method == "saveRDS_gzip"
  p
}

measure <- function(run, scale) {
  x <- objects[[run$object]](scale)
  method <- methods[[run$method]]
  target <- tempfile(fileext = ".rds")
  # The method once on a tiny object: one-time costs (lazy-loading the
  # functions it calls) are paid per session, not per object.
  invisible(method(list(1, "a"), target))
  unlink(target)
  bench_sync()
  invisible(gc())
  m <- bench_measure(bytes <- method(x, target))
  if (is.na(bytes) && file.exists(target)) bytes <- file.size(target)
  # Remove the file and let the file system finish with it before the
  # next case starts.
  unlink(target)
  bench_sync()
  list(bytes = bytes, seconds = m$seconds, start_mb = m$start_mb, peak_extra_mb = m$peak_extra_mb)
}

table <- function(runs) {
  order <- unique(unlist(cases))
  med <- aggregate(cbind(bytes, seconds, peak_extra_mb) ~ object + method, runs, median)
  med <- med[order(match(med$object, names(cases)), match(med$method, order)), ]
  baseline <- c(lowmem_raw = "base_raw", lowmem_size = "base_size", floor_raw = "base_raw",
                lowmem_file_none = "saveRDS_none", lowmem_con = "base_con",
                lowmem_file_gzip = "saveRDS_gzip")
  ratio <- mapply(function(object, method, seconds) {
    b <- med$seconds[med$object == object & med$method == baseline[method]]
    if (is.na(baseline[method]) || length(b) == 0) "" else sprintf("%.2f", seconds / b)
  }, med$object, med$method, med$seconds)
  out_mb <- ave(med$bytes, med$object, FUN = function(b) max(b, na.rm = TRUE)) / 2^20
  c(
    "| object | method | output MiB | seconds | time vs base | peak extra MiB | peak / output |",
    "|---|---|---:|---:|---:|---:|---:|",
    sprintf("| %s | %s | %.0f | %.3f | %s | %.1f | %s |", med$object, med$method,
            med$bytes / 2^20, med$seconds, ratio, med$peak_extra_mb,
            ifelse(grepl("_raw$", med$method), sprintf("%.3f", med$peak_extra_mb / out_mb), ""))
  )
}
