# The seed experiment: serialize(data.frame(runif(50e6, 1, 10)), NULL) with
# base R and with lowmem, each in a fresh R process; peak memory above the
# starting RSS (VmHWM after a reset) and elapsed time.
#   Rscript inst/bench/seed.R [reps]
# With reps > 1 the methods alternate and the medians are shown.
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) >= 1) as.integer(args[[1]]) else 1L
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
run <- function(method) {
  out <- system2(file.path(R.home("bin"), "Rscript"),
                 c(shQuote(file.path(here, "case.R")), "seed_df", method), stdout = TRUE)
  f <- strsplit(tail(out, 1), ",")[[1]]
  data.frame(method = method, output_MB = as.numeric(f[3]) / 1e6, seconds = as.numeric(f[4]),
             peak_extra_MB = as.numeric(f[6]) * 1.048576)
}
runs <- do.call(rbind, lapply(seq_len(reps), function(i) do.call(rbind, lapply(c("base_raw", "lowmem_raw"), run))))
res <- aggregate(cbind(output_MB, seconds, peak_extra_MB) ~ method, runs, median)
res <- res[match(c("base_raw", "lowmem_raw"), res$method), ]
res$time_vs_base <- res$seconds / res$seconds[[1]]
res$peak_over_output <- res$peak_extra_MB / res$output_MB
res <- cbind(R = paste(R.version$major, R.version$minor, sep = "."), res)
res$writer <- c("", as.character(lowmem:::serialize_path(data.frame(1))))
options(width = 200)
print(res, digits = 3, row.names = FALSE)
