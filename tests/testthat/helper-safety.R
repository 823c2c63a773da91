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

# The type of a file as stat(1) names it ("regular file", "fifo", ...).
safety_file_type <- function(path) {
  suppressWarnings(system2("stat", c("-L", "-c", "%F", shQuote(path)), stdout = TRUE, stderr = FALSE))
}

# Whether `path` is a symbolic link.
safety_is_link <- function(path) nzchar(Sys.readlink(path))

# A directory under /tmp that any user may enter and write (R's own
# tempdir() is private to its user), removed by the caller.
safety_shared_dir <- function() {
  dir <- tempfile("lowmem-safety-", tmpdir = if (dir.exists("/tmp")) "/tmp" else tempdir())
  dir.create(dir)
  Sys.chmod(dir, "0777", use_umask = FALSE)
  dir
}

# Runs R code as the user nobody (uid and gid 65534) in a fresh Rscript,
# through setpriv as root, with a copy of lowmem in a library under `dir`
# (a shared directory: the one lowmem is installed in may be private).
# Returns the output lines. Skips unless all of that is possible.
safety_as_nobody <- function(code, dir) {
  safety_skip_unless_unix("setpriv")
  testthat::skip_if_not(stream_running_as_root(), "switching to another user needs root")
  lib <- file.path(dir, "lib")
  if (!dir.exists(file.path(lib, "lowmem"))) {
    dir.create(lib)
    file.copy(file.path(hardening_lowmem_lib(), "lowmem"), lib, recursive = TRUE)
  }
  script <- safety_script(dir, code, "nobody.R")
  run <- function(script) {
    safety_sh(paste(
      "setpriv --reuid=65534 --regid=65534 --clear-groups env",
      paste0("HOME=", shQuote(dir)), paste0("TMPDIR=", shQuote(dir)),
      safety_rscript(script, lib)
    ))
  }
  probe <- safety_script(dir, "cat(Sys.info()[['effective_user']], requireNamespace('lowmem'), '\n')",
                         "probe.R")
  testthat::skip_if_not(any(grepl("TRUE", run(probe), fixed = TRUE)),
                        "cannot run R with lowmem as nobody here")
  run(script)
}

# Binds `source` onto the file `target` (mount --bind), runs code() and
# unmounts, whatever happens. Skips unless running as root with mount(8).
safety_with_bind_mount <- function(source, target, code) {
  safety_skip_unless_unix(c("mount", "umount"))
  testthat::skip_if_not(stream_running_as_root(), "bind mounts need root")
  status <- suppressWarnings(system2("mount", c("--bind", shQuote(source), shQuote(target)),
                                     stdout = FALSE, stderr = FALSE))
  testthat::skip_if_not(identical(status, 0L), "cannot bind-mount a file here")
  on.exit(system2("umount", shQuote(target), stdout = FALSE, stderr = FALSE))
  code()
}

# Runs write() with its warnings muffled; returns list(result = "written"
# or the error, warnings = their messages in order).
safety_attempt <- function(write) {
  warnings <- character()
  result <- withCallingHandlers(
    tryCatch({
      write()
      "written"
    }, error = function(e) e),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  list(result = result, warnings = warnings)
}

# What a write does, with the OS's reason for a failure, for comparing
# saveRDS() with serialize_to_file(): "written", or the reason (the text
# after the last ": " of the error or of the last warning before it: the
# system's words, as R gives them, in both).
safety_outcome <- function(write) {
  attempt <- safety_attempt(write)
  result <- attempt$result
  if (identical(result, "written")) return(result)
  message <- if (inherits(result, "lowmem_error_io") || length(attempt$warnings) == 0L) {
    conditionMessage(result)
  } else {
    attempt$warnings[[length(attempt$warnings)]]
  }
  sub(".*: ", "", message)
}
