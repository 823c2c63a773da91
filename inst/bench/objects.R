# The benchmark objects, shared by every case (cases/*.R). Each is made
# afresh in the process that measures it; `scale` shrinks it (run.R
# --scale: 1 is the full size, a tiny scale proves the runner works).

bench_rows <- function(n, scale) max(2L, as.integer(round(n * scale)))

objects <- list(
  # The seed: 50e6 doubles, 400 MB serialized.
  seed_df = function(scale = 1) data.frame(runif(bench_rows(50e6, scale), 1, 10)),
  # Four times the seed, for streaming memory: 1.6 GB serialized.
  big_df = function(scale = 1) data.frame(runif(bench_rows(200e6, scale), 1, 10)),
  # Strings: 1e6 rows x 3 character columns.
  strings_df = function(scale = 1) {
    set.seed(1)
    n <- bench_rows(1e6, scale)
    data.frame(
      a = sprintf("id-%08d", sample.int(n)),
      b = sample(c(state.name, month.name), n, TRUE),
      c = paste0("x", sample.int(1e4, n, TRUE)),
      stringsAsFactors = FALSE
    )
  },
  # A mixed data frame: 1e7 rows of double, integer, factor, logical, Date, character.
  mixed_df = function(scale = 1) {
    set.seed(1)
    n <- bench_rows(1e7, scale)
    data.frame(
      dbl = runif(n), int = sample.int(1e6, n, TRUE),
      fct = factor(sample(letters, n, TRUE)), lgl = sample(c(TRUE, FALSE, NA), n, TRUE),
      date = as.Date("2020-01-01") + sample.int(1000, n, TRUE),
      chr = sprintf("v%04d", sample.int(1e3, n, TRUE)),
      stringsAsFactors = FALSE
    )
  },
  # Many small objects: a list of 1e5 small named lists.
  small_lists = function(scale = 1) {
    set.seed(1)
    lapply(seq_len(bench_rows(1e5, scale)), function(i) list(id = i, name = paste0("n", i), x = runif(3)))
  }
)

# Which of lowmem's writers serialized `x` ("native" or R's), as lowmem
# reports it; "?" if this lowmem has no such report.
bench_writer <- function(x) {
  report <- get0("serialize_path", envir = asNamespace("lowmem"), inherits = FALSE)
  if (is.null(report)) "?" else as.character(report(x))
}

# Peak extra memory and elapsed time of `expr`, as every case measures
# them: lowmem::mem_peak() (VmHWM after a reset through
# /proc/self/clear_refs, minus VmRSS before) around system.time(). The
# caller runs gc() first, so system.time() need not (its gc() would run
# after the reset).
bench_measure <- function(expr) {
  m <- lowmem::mem_peak(system.time(expr, gcFirst = FALSE))
  stopifnot(identical(m$method, "vmhwm")) # the kernel's high-water mark, not samples
  t <- m$value
  list(seconds = t[["elapsed"]], cpu_seconds = t[["user.self"]] + t[["sys.self"]],
       start_mb = m$rss_before / 2^20, peak_extra_mb = m$increase / 2^20)
}

# What every measuring process does first: lowmem loaded (loading is not
# any method's cost), and no JIT compilation of the benchmark's closures
# (R's JIT would compile a method on its first call, inside the measured
# region, and loading the compiler costs about 3 MB of heap).
bench_prepare <- function() {
  invisible(loadNamespace("lowmem"))
  invisible(compiler::enableJIT(0))
}

# Writes back what earlier cases left dirty in the page cache, so that
# their disk writes do not land in this measurement.
bench_sync <- function() invisible(system2("sync"))
