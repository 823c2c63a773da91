# digest() against digest::digest(): time and peak extra memory, one case
# per fresh Rscript.
#
#   Rscript inst/bench/digest.R [reps]            all cases, `reps` interleaved runs
#   Rscript inst/bench/digest.R case <object> <package> <algo>   one case (internal)
#
# Objects are those of cases.R (seed, mixed and string frames); `package`
# is digest or lowmem; algorithms md5, sha256, xxhash64. Writes
# inst/bench/results/digest.csv (every run) and digest-table.md (medians).
# Peak memory as in case.R, by lowmem::mem_peak(): VmHWM after a reset
# through /proc/self/clear_refs, minus VmRSS before the call.
args <- commandArgs(trailingOnly = TRUE)
script <- normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)))
here <- dirname(script)
source(file.path(here, "cases.R")) # objects

run_case <- function(object, package, algo) {
  invisible(loadNamespace("lowmem"))
  invisible(loadNamespace("digest"))
  invisible(compiler::enableJIT(0)) # see case.R
  set.seed(1) # the same object in every process: the hashes compare
  x <- objects[[object]]()
  hash <- getExportedValue(package, "digest")
  invisible(hash(list(1, "a"), algo)) # one-time costs, as in case.R
  invisible(gc())
  m <- lowmem::mem_peak(system.time(value <- hash(x, algo), gcFirst = FALSE)[["elapsed"]])
  stopifnot(identical(m$method, "vmhwm")) # the kernel's high-water mark, not samples
  cat(sprintf("%s,%s,%s,%s,%.3f,%.1f,%.1f\n", object, package, algo, value, m$value,
              m$rss_before / 2^20, m$increase / 2^20))
}

if (length(args) >= 1 && args[[1]] == "case") {
  run_case(args[[2]], args[[3]], args[[4]])
  quit(save = "no")
}

reps <- if (length(args) >= 1) as.integer(args[[1]]) else 1L
plan <- expand.grid(package = c("digest", "lowmem"), algo = c("md5", "sha256", "xxhash64"),
                    object = c("seed_df", "mixed_df", "strings_df"), stringsAsFactors = FALSE)
rscript <- file.path(R.home("bin"), "Rscript")
rows <- list()
for (rep in seq_len(reps)) {
  for (i in seq_len(nrow(plan))) {
    p <- plan[i, ]
    line <- system2(rscript, c(shQuote(script), "case", p$object, p$package, p$algo), stdout = TRUE)
    message(line)
    f <- strsplit(tail(line, 1), ",")[[1]]
    rows[[length(rows) + 1L]] <- data.frame(
      rep = rep, object = f[1], package = f[2], algo = f[3], hash = f[4],
      seconds = as.numeric(f[5]), start_mb = as.numeric(f[6]), peak_extra_mb = as.numeric(f[7])
    )
  }
}
runs <- do.call(rbind, rows)
out <- file.path(here, "results")
utils::write.csv(runs, file.path(out, "digest.csv"), row.names = FALSE)

med <- stats::aggregate(cbind(seconds, peak_extra_mb) ~ object + algo + package, runs, stats::median)
agree <- stats::aggregate(hash ~ object + algo, runs, function(h) length(unique(h)) == 1L)
lines <- c("| object | algo | digest s | lowmem s | time vs digest | peak extra MB, digest | peak extra MB, lowmem | same hash |",
           "|---|---|---:|---:|---:|---:|---:|---|")
for (object in unique(plan$object)) {
  for (algo in unique(plan$algo)) {
    d <- med[med$object == object & med$algo == algo & med$package == "digest", ]
    l <- med[med$object == object & med$algo == algo & med$package == "lowmem", ]
    same <- agree$hash[agree$object == object & agree$algo == algo]
    lines <- c(lines, sprintf("| %s | %s | %.3f | %.3f | %.2f | %.1f | %.1f | %s |", object, algo,
                              d$seconds, l$seconds, l$seconds / d$seconds, d$peak_extra_mb,
                              l$peak_extra_mb, if (same) "yes" else "NO"))
  }
}
writeLines(lines, file.path(out, "digest-table.md"))
writeLines(lines)
