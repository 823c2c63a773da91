# The picture of the seed experiment: RSS over time while serializing
# data.frame(runif(50e6, 1, 10)) with base::serialize(df, NULL),
# lowmem::serialize(df, NULL) and lowmem::serialize_to_file(df, path), each
# in a fresh R process, sampled every 2 ms by mem_timeline(). The table
# gives each one's peak above its start; the plot goes to
# man/figures/seed-timeline.png (at full scale into the committed results)
# or else next to the results.
about <- "RSS over time while serializing the seed (the README's figure)"
default_reps <- 1L

timeline_methods <- c(
  "base::serialize(df, NULL)" = "base_raw",
  "lowmem::serialize(df, NULL)" = "lowmem_raw",
  "lowmem::serialize_to_file(df, path)" = "lowmem_file"
)

plan <- function(scale) data.frame(label = names(timeline_methods), method = unname(timeline_methods))

measure <- function(run, scale) {
  df <- objects$seed_df(scale)
  write <- switch(run$method,
    base_raw = function() invisible(base::serialize(df, NULL)),
    lowmem_raw = function() invisible(lowmem::serialize(df, NULL)),
    lowmem_file = function() {
      path <- tempfile()
      on.exit(unlink(path))
      lowmem::serialize_to_file(df, path)
    }
  )
  invisible(gc())
  Sys.sleep(0.05)
  tl <- lowmem::mem_timeline({
    Sys.sleep(0.05)
    write()
    Sys.sleep(0.05)
  }, interval = 0.002)
  list(peak_extra_MB = (max(tl$rss) - tl$rss[[1]]) / 1e6, samples = nrow(tl),
       timeline = I(list(tl)))
}

# The timelines themselves are kept (as an .rds next to the CSV) for the plot.
finish <- function(runs, out, scale) {
  last <- runs[runs$rep == max(runs$rep), ] # one timeline per method: the last run's
  timelines <- stats::setNames(last$timeline, last$label)
  saveRDS(timelines, file.path(out, "timeline.rds"))
  figure <- if (scale == 1 && basename(out) == "results" && basename(dirname(out)) == "bench") {
    file.path(out, "..", "..", "..", "man", "figures", "seed-timeline.png")
  } else {
    file.path(out, "seed-timeline.png")
  }
  dir.create(dirname(figure), showWarnings = FALSE, recursive = TRUE)
  grDevices::png(figure, width = 900, height = 500, res = 110)
  on.exit(grDevices::dev.off())
  lowmem::mem_plot(timelines, relative = TRUE,
                   main = "Serializing a 400 MB data frame: memory above the start")
  message("wrote ", normalizePath(figure))
}

table <- function(runs) {
  med <- aggregate(cbind(peak_extra_MB, samples) ~ label, runs, median)
  med <- med[match(names(timeline_methods), med$label), ]
  c("| method | peak extra MB | samples |",
    "|---|---:|---:|",
    sprintf("| %s | %.0f | %.0f |", med$label, med$peak_extra_MB, med$samples))
}
