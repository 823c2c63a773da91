# Helpers for test-file-safety.R: targets a rename must not replace, and
# child R processes (another locale, another user, stdout redirected).

safety_skip_unless_unix <- function(tools = character()) {
  testthat::skip_on_os(c("windows", "mac", "solaris"))
  for (tool in c("sh", tools)) {
    testthat::skip_if(!nzchar(Sys.which(tool)), paste("needs", tool))
  }
}

# A shell command that runs `script` in a fresh Rscript, which loads this
# session's lowmem (from `lib`, by default where it is installed).
safety_rscript <- function(script, lib = NULL) {
  libs <- if (is.null(lib)) c(hardening_lowmem_lib(), .libPaths()) else lib
  sprintf("R_LIBS=%s R_TESTS= %s --vanilla %s",
          shQuote(paste(libs, collapse = ":")),
          shQuote(file.path(R.home("bin"), "Rscript")), shQuote(script))
}

# Runs a shell command line; returns its output lines (stdout and stderr).
safety_sh <- function(command) {
  suppressWarnings(system2("sh", c("-c", shQuote(command)), stdout = TRUE, stderr = TRUE))
}

# Writes R code to a script file in `dir`; returns its path.
safety_script <- function(dir, code, name = "child.R") {
  path <- file.path(dir, name)
  writeLines(code, path)
  path
}
