# One measurement of a benchmark case, in this fresh R process (run.R starts
# it; see README.md):
#   Rscript inst/bench/measure.R <case> <row of its plan> <scale> <result.rds>
# Saves the case's measurement, a one-row data frame, to <result.rds>.
args <- commandArgs(trailingOnly = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
env <- new.env()
sys.source(file.path(here, "objects.R"), env)
sys.source(file.path(here, "cases", paste0(args[[1]], ".R")), env)
scale <- as.numeric(args[[3]])
run <- env$plan(scale)[as.integer(args[[2]]), , drop = FALSE]
env$bench_prepare()
saveRDS(as.data.frame(env$measure(run, scale), stringsAsFactors = FALSE), args[[4]])
