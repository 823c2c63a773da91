# The picture of the seed experiment: RSS over time while serializing
# data.frame(runif(50e6, 1, 10)) with base::serialize(df, NULL),
# lowmem::serialize(df, NULL) and lowmem::serialize_to_file(df, path), each
# in a fresh R process, sampled every millisecond by mem_timeline(); drawn on
# one plot into man/figures/seed-timeline.png.
#   Rscript inst/bench/timeline.R [output.png]
args <- commandArgs(trailingOnly = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
png_path <- if (length(args)) args[[1]] else file.path(here, "..", "..", "man", "figures", "seed-timeline.png")

cases <- c(
  "base::serialize(df, NULL)" = "invisible(base::serialize(df, NULL))",
  "lowmem::serialize(df, NULL)" = "invisible(lowmem::serialize(df, NULL))",
  "lowmem::serialize_to_file(df, path)" = "lowmem::serialize_to_file(df, tempfile())"
)
timelines <- lapply(cases, function(code) {
  out <- tempfile(fileext = ".rds")
  script <- sprintf(
    'df <- data.frame(runif(50e6, 1, 10)); invisible(gc()); Sys.sleep(0.05)
     tl <- lowmem::mem_timeline({Sys.sleep(0.05); %s; Sys.sleep(0.05)}, interval = 0.002)
     saveRDS(tl, "%s")', code, out)
  system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(script)))
  readRDS(out)
})
for (i in seq_along(timelines)) {
  s <- summary(timelines[[i]])
  message(sprintf("%-38s peak +%.0f MB", names(cases)[i],
                  (max(timelines[[i]]$rss) - timelines[[i]]$rss[1]) / 1e6))
}
dir.create(dirname(png_path), showWarnings = FALSE, recursive = TRUE)
png(png_path, width = 900, height = 500, res = 110)
lowmem::mem_plot(timelines, relative = TRUE,
                 main = "Serializing a 400 MB data frame: memory above the start")
dev.off()
message("wrote ", normalizePath(png_path))
