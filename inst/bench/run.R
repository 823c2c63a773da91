# The one benchmark runner. Every case is a file in cases/ (see README.md);
# every measurement runs in a fresh Rscript (measure.R). For each case the
# runner writes, into the results directory,
#   <case>.csv               every run
#   <case>-table.md          the table (medians), as the README shows it
#   <case>-session-info.txt  the machine, the load and the versions
# and, given a markdown file, replaces each case's table in it between the
# markers <!-- bench:<case>:start --> and <!-- bench:<case>:end -->.
#
#   Rscript inst/bench/run.R [options]
#     --cases a,b,...   the cases to run (default: all of cases/)
#     --reps N          runs of each measurement, interleaved (default: the case's)
#     --scale S         object size as a fraction of the full one (default 1);
#                       below 1 the results go to a temporary directory
#                       unless --out is given, never over the committed ones
#     --out DIR         the results directory (default inst/bench/results)
#     --readme FILE     the markdown file whose tables to regenerate
#     --tables-only     run nothing: regenerate the tables from the results
#                       already in the results directory
self <- normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)))
here <- dirname(self)
`%||%` <- function(x, y) if (is.null(x)) y else x

option <- function(args, name, default = NULL) {
  i <- match(name, args)
  if (is.na(i)) return(default)
  if (i == length(args)) stop(name, " needs a value")
  args[[i + 1]]
}
args <- commandArgs(trailingOnly = TRUE)
known <- c("--cases", "--reps", "--scale", "--out", "--readme", "--tables-only")
unknown <- setdiff(grep("^--", args, value = TRUE), known)
if (length(unknown)) stop("unknown option(s): ", paste(unknown, collapse = ", "))
all_cases <- sub("\\.R$", "", list.files(file.path(here, "cases"), pattern = "\\.R$"))
cases <- strsplit(option(args, "--cases", paste(all_cases, collapse = ",")), ",")[[1]]
if (length(bad <- setdiff(cases, all_cases))) stop("no such case: ", paste(bad, collapse = ", "))
scale <- as.numeric(option(args, "--scale", "1"))
tables_only <- "--tables-only" %in% args
# (A scratch directory beside this session's temporary one, which R removes on exit.)
scratch <- function() file.path(dirname(tempdir()), basename(tempfile("lowmem-bench-")))
out <- option(args, "--out", if (scale < 1 && !tables_only) scratch() else file.path(here, "results"))
dir.create(out, showWarnings = FALSE, recursive = TRUE)
out <- normalizePath(out)
readme <- option(args, "--readme")
reps_option <- option(args, "--reps")

# A case's definitions, on top of the shared objects and helpers.
load_case <- function(name) {
  env <- new.env()
  sys.source(file.path(here, "objects.R"), env)
  sys.source(file.path(here, "cases", paste0(name, ".R")), env)
  env
}

# One measurement, in a fresh Rscript: the plan's row `row` of `case`.
measure_once <- function(case, row, run, scale) {
  result <- tempfile(fileext = ".rds")
  on.exit(unlink(result))
  rscript_args <- if (is.null(run$rscript_args)) character() else strsplit(run$rscript_args, " ")[[1]]
  status <- system2(file.path(R.home("bin"), "Rscript"),
                    c(rscript_args, shQuote(file.path(here, "measure.R")), case, row, scale, shQuote(result)))
  if (status != 0 || !file.exists(result)) stop(sprintf("case %s, run %d failed (status %d)", case, row, status))
  readRDS(result)
}

run_case <- function(name, env, reps) {
  plan <- env$plan(scale)
  rows <- list()
  # Interleaved: each rep runs every measurement once, so that the
  # machine's slow spells (its disk above all) fall on all of them alike.
  for (rep in seq_len(reps)) {
    for (i in seq_len(nrow(plan))) {
      run <- plan[i, , drop = FALSE]
      if (!is.null(run$first_rep_only) && isTRUE(run$first_rep_only) && rep > 1) next
      m <- measure_once(name, i, run, scale)
      keep <- setdiff(names(plan), c("rscript_args", "first_rep_only"))
      row <- cbind(rep = rep, run[keep], m)
      shown <- names(row)[vapply(row, is.atomic, TRUE)]
      message(sprintf("%-9s %s", name, paste(vapply(shown, function(col) {
        v <- row[[col]]
        paste0(col, "=", if (is.numeric(v)) format(v, digits = 4) else v)
      }, ""), collapse = " ")))
      rows[[length(rows) + 1L]] <- row
    }
  }
  do.call(rbind, rows)
}

session_info <- function(reps) {
  first <- function(x) if (length(x)) x[[1]] else NA
  c(
    paste("date:", format(Sys.time(), tz = "UTC", usetz = TRUE)),
    paste("reps:", reps, "(each in a fresh Rscript, interleaved; tables show medians)"),
    paste("scale:", scale),
    paste("cpu:", sub(".*: ", "", first(grep("model name", readLines("/proc/cpuinfo"), value = TRUE)))),
    paste("cores:", parallel::detectCores()),
    paste("memory:", first(grep("MemTotal", readLines("/proc/meminfo"), value = TRUE))),
    paste("load average at the end:", readLines("/proc/loadavg")),
    paste("lowmem:", as.character(utils::packageVersion("lowmem"))),
    paste("rustc:", tryCatch(system2("rustc", "--version", stdout = TRUE), error = function(e) NA)),
    "", utils::capture.output(utils::sessionInfo())
  )
}

# Replaces the lines between a case's markers in `file` with `table`.
# Returns FALSE (and leaves the file alone) if the markers are not there.
replace_between_markers <- function(file, name, table) {
  text <- readLines(file)
  start <- which(text == sprintf("<!-- bench:%s:start -->", name))
  end <- which(text == sprintf("<!-- bench:%s:end -->", name))
  if (length(start) != 1 || length(end) != 1 || end < start) return(FALSE)
  writeLines(c(text[seq_len(start)], table, text[end:length(text)]), file)
  TRUE
}

for (name in cases) {
  env <- load_case(name)
  csv <- file.path(out, paste0(name, ".csv"))
  if (!tables_only) {
    why_not <- if (is.function(env$available)) env$available() else NULL
    if (!is.null(why_not)) {
      message(sprintf("%s: skipped (%s)", name, why_not))
      next
    }
    reps <- as.integer(reps_option %||% env$default_reps %||% 3L)
    results <- run_case(name, env, reps)
    # Columns that are not atomic (the timeline case's timelines) go to
    # the case's finish(), not to the CSV.
    utils::write.csv(results[vapply(results, is.atomic, TRUE)], csv, row.names = FALSE)
    writeLines(session_info(reps), file.path(out, paste0(name, "-session-info.txt")))
    if (is.function(env$finish)) env$finish(results, out, scale)
  } else if (!file.exists(csv)) {
    message(sprintf("%s: no results in %s", name, out))
    next
  }
  results <- utils::read.csv(csv, stringsAsFactors = FALSE)
  table <- env$table(results)
  writeLines(table, file.path(out, paste0(name, "-table.md")))
  cat(sprintf("\n%s: %s\n", name, env$about), table, sep = "\n")
  if (!is.null(readme) && !replace_between_markers(readme, name, table)) {
    message(sprintf("%s: no <!-- bench:%s:start/end --> markers in %s", name, name, readme))
  }
}
message("results: ", out)
