# The measurements of inst/notes/flags-on-r46.md: one case per fresh Rscript.
#
#   Rscript inst/notes/flags-on-r46-bench.R             # the driver: every case, 3 runs each, medians
#   Rscript inst/notes/flags-on-r46-bench.R OBJECT METHOD TAP   # one case: prints its elapsed seconds
#
# OBJECT is one of inst/bench/cases.R's objects (seed_df, strings_df,
# mixed_df); METHOD base_raw, lowmem_raw, base_size or lowmem_size; TAP
# "auto" (the tap where the build needs it) or "never" (lowmem without the
# tap: as before it ran on R >= 4.6).
args <- commandArgs(TRUE)
source("inst/bench/cases.R")
if (length(args) == 3L) {
  x <- objects[[args[[1]]]]()
  suppressPackageStartupMessages(library(lowmem))
  invisible(lowmem:::tap_mode(args[[3]]))
  f <- switch(args[[2]],
    base_raw = function() length(base::serialize(x, NULL)),
    lowmem_raw = function() length(lowmem::serialize(x, NULL)),
    base_size = function() length(base::serialize(x, NULL)),
    lowmem_size = function() lowmem::serialized_size(x)
  )
  invisible(gc())
  cat(system.time(f())[["elapsed"]], "\n")
  quit(save = "no")
}
cases <- expand.grid(tap = c("never", "auto"), method = c("base_raw", "lowmem_raw", "lowmem_size"),
                     object = c("seed_df", "strings_df", "mixed_df"), stringsAsFactors = FALSE)
cases <- cases[!(cases$method == "base_raw" & cases$tap == "auto"), ]
rscript <- file.path(R.home("bin"), "Rscript")
cases$seconds <- vapply(seq_len(nrow(cases)), function(i) {
  runs <- vapply(1:3, function(r) {
    as.numeric(system2(rscript, c("inst/notes/flags-on-r46-bench.R", cases$object[[i]], cases$method[[i]],
                                  cases$tap[[i]]), stdout = TRUE))
  }, numeric(1))
  median(runs)
}, numeric(1))
cases$tap[cases$method == "base_raw"] <- ""
print(cases[c("object", "method", "tap", "seconds")], row.names = FALSE)
cat(R.version.string, "\n")
