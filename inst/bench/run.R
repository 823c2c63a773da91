# Runs every benchmark case of cases.R, each in a fresh Rscript, and writes
#   results/results.csv      every run
#   results/table.md         medians, as the README shows them
#   results/session-info.txt the machine and versions
# and replaces the table between the bench markers in README.md, if given:
#   Rscript inst/bench/run.R [reps] [path/to/README.md]
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) >= 1) as.integer(args[[1]]) else 3L
readme <- if (length(args) >= 2) args[[2]] else NA
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
source(file.path(here, "cases.R"))
out_dir <- file.path(here, "results")
dir.create(out_dir, showWarnings = FALSE)

run_case <- function(object, method) {
  line <- system2(file.path(R.home("bin"), "Rscript"),
                  c(shQuote(file.path(here, "case.R")), object, method), stdout = TRUE)
  f <- strsplit(tail(line, 1), ",")[[1]]
  data.frame(object = f[1], method = f[2], bytes = as.numeric(f[3]), seconds = as.numeric(f[4]),
             start_mb = as.numeric(f[5]), peak_extra_mb = as.numeric(f[6]))
}

# Interleaved: each rep runs every method of an object once, so that the
# machine's slow spells (its disk above all) fall on all methods alike.
runs <- list()
for (object in names(plan)) {
  for (i in seq_len(reps)) {
    for (method in plan[[object]]) {
      # The slow baseline once: it is the comparison, not the subject.
      if (method == "saveRDS_gzip" && i > 1) next
      r <- run_case(object, method)
      message(sprintf("%-12s %-17s %6.2f s  +%7.1f MiB", object, method, r$seconds, r$peak_extra_mb))
      runs[[length(runs) + 1]] <- r
    }
  }
}
runs <- do.call(rbind, runs)
write.csv(runs, file.path(out_dir, "results.csv"), row.names = FALSE)

med <- aggregate(cbind(bytes, seconds, peak_extra_mb) ~ object + method, runs, median)
med <- med[order(match(med$object, names(plan)), match(med$method, unlist(plan))), ]
baseline <- c(lowmem_raw = "base_raw", lowmem_size = "base_size", floor_raw = "base_raw",
              lowmem_file_none = "saveRDS_none", lowmem_con = "base_con",
              lowmem_file_gzip = "saveRDS_gzip")
ratio <- mapply(function(object, method, seconds) {
  b <- med$seconds[med$object == object & med$method == baseline[method]]
  if (is.na(baseline[method]) || length(b) == 0) "" else sprintf("%.2f", seconds / b)
}, med$object, med$method, med$seconds)
out_mb <- ave(med$bytes, med$object, FUN = function(b) max(b, na.rm = TRUE)) / 2^20
table <- c(
  "| object | method | output MiB | seconds | time vs base | peak extra MiB | peak / output |",
  "|---|---|---:|---:|---:|---:|---:|",
  sprintf("| %s | %s | %.0f | %.3f | %s | %.1f | %s |", med$object, med$method,
          med$bytes / 2^20, med$seconds, ratio, med$peak_extra_mb,
          ifelse(grepl("_raw$", med$method), sprintf("%.3f", med$peak_extra_mb / out_mb), ""))
)
writeLines(table, file.path(out_dir, "table.md"))
writeLines(c(
  paste("date:", format(Sys.time(), tz = "UTC", usetz = TRUE)),
  paste("reps:", reps, "(median; saveRDS_gzip once)"),
  paste("cpu:", sub(".*: ", "", grep("model name", readLines("/proc/cpuinfo"), value = TRUE)[1])),
  paste("cores:", parallel::detectCores()),
  paste("memory:", grep("MemTotal", readLines("/proc/meminfo"), value = TRUE)),
  paste("lowmem:", as.character(packageVersion("lowmem"))),
  paste("rustc:", system("rustc --version", intern = TRUE)),
  capture.output(sessionInfo())
), file.path(out_dir, "session-info.txt"))
cat(table, sep = "\n")

if (!is.na(readme)) {
  text <- readLines(readme)
  start <- grep("<!-- bench:start -->", text, fixed = TRUE)
  end <- grep("<!-- bench:end -->", text, fixed = TRUE)
  if (length(start) == 1 && length(end) == 1 && end > start) {
    writeLines(c(text[seq_len(start)], table, text[end:length(text)]), readme)
  }
}
