# Helpers for test-hardening.R. Every name starts with `hardening_`
# so that nothing here collides with the other helper files, which testthat
# sources into the same environment.

# ---- the process, seen from /proc ------------------------------------------

hardening_skip_unless_proc <- function() {
  testthat::skip_on_os("windows")
  testthat::skip_if_not(file.exists("/proc/self/status"), "needs /proc/self/status (Linux)")
}

hardening_open_fds <- function() {
  length(list.files("/proc/self/fd"))
}

# Every entry in `dir`, hidden ones included: lowmem's temporary files are
# hidden (see is_lowmem_temp()).
hardening_entries <- function(dir) {
  sort(list.files(dir, all.files = TRUE, no.. = TRUE))
}

# A fresh directory for files, preferably on tmpfs: the leak tests write a
# thousand files and serialize_to_file() fsyncs each of them.
hardening_scratch_dir <- function() {
  base <- if (dir.exists("/dev/shm") && file.access("/dev/shm", 2) == 0) "/dev/shm" else tempdir()
  dir <- tempfile("lowmem-hardening-", tmpdir = base)
  dir.create(dir)
  dir
}

hardening_mem_available_gb <- function() {
  if (!file.exists("/proc/meminfo")) return(0)
  lines <- readLines("/proc/meminfo")
  kb <- as.numeric(sub("^MemAvailable:\\s*([0-9]+).*$", "\\1", grep("^MemAvailable:", lines, value = TRUE)))
  if (length(kb) != 1L) 0 else kb / 1024^2
}

# ---- child R processes -------------------------------------------------------

# The library lowmem is installed in, for child Rscript processes; they need
# the installed package (not a pkgload::load_all() copy of the source).
hardening_lowmem_lib <- function() {
  path <- tryCatch(find.package("lowmem"), error = function(e) "")
  if (!nzchar(path) || !file.exists(file.path(path, "Meta", "package.rds"))) {
    testthat::skip("lowmem is not installed: child R processes could not load it")
  }
  normalizePath(dirname(path))
}

# Runs R code in a fresh Rscript under coreutils' timeout (which signals the
# whole process group, so forked children go too), optionally under
# `ulimit -v` (kB). Returns list(status, output): status 124 or 137 means the
# child was killed on timeout.
hardening_run_child <- function(code, timeout = 60, ulimit_kb = NULL) {
  testthat::skip_on_os("windows")
  testthat::skip_if(!nzchar(Sys.which("timeout")), "needs coreutils' timeout")
  testthat::skip_if(!nzchar(Sys.which("bash")), "needs bash")
  lib <- hardening_lowmem_lib()
  script <- tempfile("lowmem-child-", fileext = ".R")
  on.exit(unlink(script), add = TRUE)
  writeLines(code, script)
  rscript <- file.path(R.home("bin"), "Rscript")
  command <- sprintf(
    "%s exec timeout -k 5 %d %s --vanilla %s",
    if (is.null(ulimit_kb)) "" else sprintf("ulimit -v %d || exit 99;", as.integer(ulimit_kb)),
    as.integer(timeout), shQuote(rscript), shQuote(script)
  )
  libs <- paste(c(lib, .libPaths()), collapse = ":")
  output <- suppressWarnings(system2(
    "bash", c("-c", shQuote(command)),
    stdout = TRUE, stderr = TRUE,
    # R CMD check sets R_TESTS to a startup file the child cannot find.
    env = c(paste0("R_LIBS=", shQuote(libs)), "R_TESTS=", "RUST_BACKTRACE=0")
  ))
  status <- attr(output, "status")
  if (is.null(status)) status <- 0L
  list(status = status, output = paste(output, collapse = "\n"))
}
