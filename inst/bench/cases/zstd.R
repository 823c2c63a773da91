# zstd files: lowmem's serialize_to_file(compress = "zstd") against
# saveRDS(compress = "zstd") and against lowmem's gzip, and readRDS() of
# each file, which runs in a fresh Rscript of its own. Needs R >= 4.5
# (saveRDS(compress = "zstd"), and readRDS() of zstd).
about <- "zstd files: lowmem against saveRDS(compress = \"zstd\") (R >= 4.5)"
default_reps <- 1L

available <- function() {
  if (getRversion() < "4.5.0") "saveRDS(compress = \"zstd\") needs R >= 4.5.0"
}

zstd_methods <- list(
  saveRDS_zstd = function(x, path) saveRDS(x, path, compress = "zstd"),
  lowmem_file_zstd = function(x, path) withCallingHandlers( # (R < 4.5 warns that it cannot read it)
    lowmem::serialize_to_file(x, path, compress = "zstd"),
    lowmem_warning_unreadable = function(w) invokeRestart("muffleWarning")
  ),
  lowmem_file_gzip = function(x, path) lowmem::serialize_to_file(x, path, compress = "gzip")
)
zstd_objects <- c("seed_df", "big_df", "strings_df")

plan <- function(scale) {
  data.frame(object = rep(zstd_objects, each = length(zstd_methods)),
             method = rep(names(zstd_methods), length(zstd_objects)))
}

measure <- function(run, scale) {
  x <- objects[[run$object]](scale)
  method <- zstd_methods[[run$method]]
  path <- tempfile(fileext = ".rds")
  on.exit(unlink(path))
  method(list(1, "a"), path) # one-time costs, as in every case
  unlink(path)
  bench_sync()
  invisible(gc())
  m <- bench_measure(method(x, path))
  bytes <- file.size(path)
  # readRDS() of the file in a fresh process of its own.
  read <- sprintf(paste0("invisible(compiler::enableJIT(0)); invisible(gc()); ",
                         "t <- system.time(x <- readRDS(%s), gcFirst = FALSE); cat(t[['elapsed']])"),
                  deparse(path))
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(read)), stdout = TRUE)
  bench_sync()
  list(bytes = bytes, seconds = m$seconds, cpu_seconds = m$cpu_seconds, peak_extra_mb = m$peak_extra_mb,
       readRDS_seconds = as.numeric(tail(out, 1)))
}

table <- function(runs) {
  med <- aggregate(cbind(bytes, seconds, cpu_seconds, peak_extra_mb, readRDS_seconds) ~ object + method,
                   runs, median)
  med <- med[order(match(med$object, zstd_objects), match(med$method, names(zstd_methods))), ]
  vs <- function(col) {
    mapply(function(object, value) {
      b <- med[[col]][med$object == object & med$method == "saveRDS_zstd"]
      sprintf("%.2f", value / b)
    }, med$object, med[[col]])
  }
  c(
    "| object | method | MiB | vs saveRDS zstd | seconds | vs saveRDS zstd | CPU s | peak extra MiB | readRDS s |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    sprintf("| %s | %s | %.1f | %s | %.2f | %s | %.2f | %.1f | %.2f |", med$object, med$method,
            med$bytes / 2^20, vs("bytes"), med$seconds, vs("seconds"), med$cpu_seconds,
            med$peak_extra_mb, med$readRDS_seconds)
  )
}
