# The seed experiment: serialize(data.frame(runif(50e6, 1, 10)), NULL) with
# base R and with lowmem, each in a fresh R process; peak memory above the
# starting RSS (VmHWM after a reset) and elapsed time.
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
run <- function(method) {
  out <- system2(file.path(R.home("bin"), "Rscript"),
                 c(shQuote(file.path(here, "case.R")), "seed_df", method), stdout = TRUE)
  f <- strsplit(tail(out, 1), ",")[[1]]
  data.frame(method = method, output_MB = as.numeric(f[3]) / 1e6, seconds = as.numeric(f[4]),
             peak_extra_MB = as.numeric(f[6]) * 1.048576)
}
res <- do.call(rbind, lapply(c("base_raw", "lowmem_raw"), run))
res$peak_over_output <- res$peak_extra_MB / res$output_MB
print(res, digits = 3, row.names = FALSE)
