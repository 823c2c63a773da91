# serialize_to_file() on targets a rename must not replace, and arguments
# saveRDS() takes: saveRDS() of the running R is the oracle. Helpers:
# helper-safety.R, helper-stream.R, helper-hardening.R.

safety_object <- function() list(1:10, "x", c(a = 1.5))

# ---- compress ---------------------------------------------------------------

# saveRDS() takes a logical through `if` and anything else through
# switch(compress, ...): a number picks a codec by position, past the codecs
# there is its error, and past that nothing (then it fails on close(NULL)).
test_that("every `compress` saveRDS() takes gives its codec, and what it refuses is an error", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  x <- safety_object()
  ours <- file.path(dir, "lowmem.rds")
  theirs <- file.path(dir, "base.rds")
  run <- function(write, path) {
    unlink(path)
    c(safety_attempt(write), list(magic = if (file.exists(path)) readBin(path, "raw", 4) else NULL))
  }
  lowmem_codecs <- list(as.raw(c(0x1f, 0x8b)), charToRaw("BZh"), as.raw(c(0xfd, 0x37, 0x7a, 0x58)),
                        as.raw(c(0x28, 0xb5, 0x2f, 0xfd)))
  compresses <- list(TRUE, FALSE, "gzip", "bzip2", "xz", "zstd", 1, 2, 3, 4, 5, 6, 0, -1, 1.7, 2L,
                     3 + 0i, NA_real_, NA, NA_character_, "NA", "", "zip", c(1, 2),
                     c(TRUE, FALSE), list("gzip"), factor("xz"))
  for (compress in compresses) {
    label <- paste("compress =", paste(deparse(compress), collapse = ""))
    base <- run(function() saveRDS(x, theirs, compress = compress), theirs)
    ours_run <- run(function() serialize_to_file(x, ours, compress = compress), ours)
    if (identical(compress, "zstd") && !identical(base$result, "written")) {
      # saveRDS() before R 4.5.0 has no zstd; lowmem writes it, with a
      # warning that this R cannot read it (test-zstd.R).
      expect_identical(ours_run$result, "written")
      expect_match(ours_run$warnings, "cannot read")
      expect_identical(ours_run$magic, lowmem_codecs[[4]])
      next
    }
    expect_identical(ours_run$warnings, base$warnings, label = label)
    if (!identical(base$result, "written")) {
      expect_s3_class(ours_run$result, "error")
      expect_null(ours_run$magic, label = label)
      next
    }
    lowmem_has_it <- any(vapply(lowmem_codecs, function(m) identical(base$magic[seq_along(m)], m),
                                logical(1))) || isFALSE(compress)
    if (lowmem_has_it) {
      expect_identical(ours_run$result, "written", label = label)
      expect_identical(ours_run$magic[1:2], base$magic[1:2], label = label)
      expect_identical(readRDS(ours), x, label = label)
    } else {
      # A codec of the running R that lowmem lacks ("zstd" in newer R).
      expect_s3_class(ours_run$result, "lowmem_error_unsupported")
      expect_null(ours_run$magic, label = label)
    }
  }
})

# ---- the path's encoding ------------------------------------------------------

test_that("a path the C locale cannot represent is saveRDS()'s error, not a mangled name", {
  safety_skip_unless_unix()
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  script <- safety_script(dir, c(
    "setwd(commandArgs(TRUE)[[1]])",
    "path <- '\\u00e9t\\u00e9.rds'",
    "for (write in list(function() saveRDS(1:3, path), function() lowmem::serialize_to_file(1:3, path))) {",
    "  r <- tryCatch({ write(); 'written' }, error = function(e) paste(class(e)[[1]], conditionMessage(e)))",
    "  cat(r, '\\n', sep = '')",
    "}",
    "cat(length(list.files(all.files = TRUE, no.. = TRUE)), '\\n', sep = '')"
  ))
  out <- safety_sh(paste("LC_ALL=C LANG=C LANGUAGE=en", safety_rscript(script), shQuote(dir)))
  expect_length(out, 3)
  expect_match(out[[1]], "^simpleError .*native encoding") # base R's wording may vary
  expect_match(out[[2]], "^lowmem_error_argument unable to translate '.*' to native encoding$")
  expect_identical(out[[3]], "1") # the script only
})

test_that("a non-ASCII path is the file saveRDS() writes where the locale represents it", {
  skip_if_not(isTRUE(l10n_info()[["UTF-8"]]), "not a UTF-8 locale")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  theirs <- file.path(dir, "base-\u00e9t\u00e9.rds")
  ours <- file.path(dir, "lowmem-\u00e9t\u00e9.rds")
  saveRDS(1:3, theirs, compress = FALSE)
  serialize_to_file(1:3, iconv(ours, "UTF-8", "latin1"))
  expect_identical(stream_file_bytes(ours), stream_file_bytes(theirs))
  expect_identical(stream_dir_entries(dir), sort(basename(c(theirs, ours))))
})

test_that("a path of encoding \"bytes\" is saveRDS()'s error", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- paste0(dir, "/x\xe9.rds")
  Encoding(path) <- "bytes"
  expect_error(saveRDS(1:3, path), "bytes", fixed = TRUE)
  expect_error(serialize_to_file(1:3, path), "bytes", fixed = TRUE, class = "lowmem_error_argument")
  expect_identical(stream_dir_entries(dir), character())
})

# ---- file names -----------------------------------------------------------------

test_that("names of 236 to 255 bytes are written as saveRDS() writes them", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  x <- safety_object()
  for (n in c(236, 245, 255)) {
    theirs <- file.path(dir, paste0("b", strrep("n", n - 5), ".rds"))
    ours <- file.path(dir, paste0("l", strrep("n", n - 5), ".rds"))
    saveRDS(x, theirs, compress = FALSE)
    for (compress in list(FALSE, "gzip")) {
      serialize_to_file(x, ours, compress = compress) # new, then replaced
      serialize_to_file(x, ours, compress = FALSE)
      expect_identical(stream_file_bytes(ours), stream_file_bytes(theirs), label = paste(n, "bytes"))
    }
    expect_identical(nchar(basename(ours), "bytes"), as.integer(n))
    expect_identical(stream_dir_entries(dir), sort(basename(c(theirs, ours))))
    unlink(c(theirs, ours))
  }
})

# A process killed mid-write leaves its temporary file. Temporary names are
# random and drawn again when taken; before, they were the PID and a
# counter, so the same PID (R as PID 1 in a container) met its own debris.
test_that("a temporary file left by a killed process blocks no later write", {
  safety_skip_unless_unix()
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  # Killed by its own refhook, mid-stream, after its temporary file has data.
  killed <- safety_script(dir, c(
    "x <- list(seq_len(5e5), new.env())",
    "lowmem::serialize_to_file(x, commandArgs(TRUE)[[1]], chunk_size = 65536,",
    "  refhook = function(e) tools::pskill(Sys.getpid(), tools::SIGKILL))"
  ), "killed.R")
  safety_sh(paste(safety_rscript(killed), shQuote(path)))
  debris <- setdiff(stream_dir_entries(dir), "killed.R")
  expect_length(debris, 1)
  expect_true(is_lowmem_temp(debris))
  # A fresh process whose first temporary names are taken, as the names a
  # PID-and-counter scheme would give it.
  writer <- safety_script(dir, c(
    "path <- commandArgs(TRUE)[[1]]",
    "for (n in 0:9) file.create(file.path(dirname(path), sprintf('.x.rds.lowmem-%d-%d.tmp', Sys.getpid(), n)))",
    "lowmem::serialize_to_file(1:3, path)",
    "cat(identical(readRDS(path), 1:3), '\\n')"
  ), "writer.R")
  expect_identical(trimws(safety_sh(paste(safety_rscript(writer), shQuote(path)))), "TRUE")
  serialize_to_file(letters, path)
  expect_identical(readRDS(path), letters)
  left <- setdiff(stream_dir_entries(dir), c("killed.R", "writer.R", "x.rds"))
  expect_identical(left[is_lowmem_temp(left)], debris) # others' debris is left alone
})

# ---- targets written in place ---------------------------------------------------

test_that("a character device is written into, as by saveRDS(), and stays a device", {
  safety_skip_unless_unix(c("stat", "mknod"))
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  x <- safety_object()
  # As root, nodes of our own (null and full); else the system's.
  nodes <- c(null = "/dev/null", full = "/dev/full")
  if (stream_running_as_root()) {
    made <- file.path(dir, names(nodes))
    ok <- suppressWarnings(system2("mknod", c(shQuote(made[[1]]), "c", "1", "3")) == 0 &&
                             system2("mknod", c(shQuote(made[[2]]), "c", "1", "7")) == 0)
    skip_if_not(ok, "cannot make device nodes here")
    nodes[] <- made
  }
  skip_if_not(file.exists(nodes[["full"]]), "no /dev/full")
  skip_if(inherits(try(saveRDS(x, nodes[["null"]]), silent = TRUE), "try-error"),
          "saveRDS() cannot write the null device here")
  for (compress in list(FALSE, "gzip", "xz")) {
    serialize_to_file(x, nodes[["null"]], compress = compress)
    expect_identical(safety_file_type(nodes[["null"]]), "character special file")
  }
  # saveRDS() only warns, when it closes the file; lowmem fails, as on a
  # full disk.
  err <- expect_error(serialize_to_file(x, nodes[["full"]]), class = "lowmem_error_io")
  expect_match(conditionMessage(err), nodes[["full"]], fixed = TRUE)
  expect_match(conditionMessage(err), "No space left on device", fixed = TRUE)
  expect_identical(safety_file_type(nodes[["full"]]), "character special file")
  if (stream_running_as_root()) expect_identical(stream_dir_entries(dir), c("full", "null"))
})

test_that("a FIFO is written into: its reader gets what saveRDS() writes", {
  safety_skip_unless_unix(c("mkfifo", "cat", "timeout", "stat"))
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  fifo <- file.path(dir, "fifo")
  skip_if_not(system2("mkfifo", shQuote(fifo)) == 0, "cannot make a FIFO here")
  x <- list(safety_object(), sqrt(1:2e5)) # more than a pipe holds
  # A reader that copies the FIFO to a file and says when it is done (at
  # the writer's end of file). Its limit only ends a reader whose writer
  # never opens the FIFO; the wait is for the reader's signal.
  read_fifo <- function(write, out) {
    done <- paste0(out, ".done")
    system2("sh", c("-c", shQuote(sprintf("timeout 600 cat %s > %s; touch %s",
                                           shQuote(fifo), shQuote(out), shQuote(done)))),
            wait = FALSE)
    write()
    expect_true(wait_for_file(done, 660), label = "the FIFO's reader finished")
    stream_file_bytes(out)
  }
  expected <- read_fifo(function() suppressWarnings(saveRDS(x, fifo, compress = FALSE)),
                        file.path(dir, "base.out"))
  expect_length(expected, length(base::serialize(x, NULL)))
  got <- read_fifo(function() serialize_to_file(x, fifo), file.path(dir, "lowmem.out"))
  expect_true(identical(got, expected))
  expect_identical(safety_file_type(fifo), "fifo")
  read_fifo(function() serialize_to_file(x, fifo, compress = "gzip"), file.path(dir, "gzip.out"))
  expect_identical(readRDS(file.path(dir, "gzip.out")), x)
  expect_identical(safety_file_type(fifo), "fifo")
})

test_that("/dev/stdout redirected to a file or a pipe gets what saveRDS() writes", {
  safety_skip_unless_unix("cat")
  skip_if_not(file.exists("/dev/stdout"), "no /dev/stdout")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  writer <- function(call) {
    safety_script(dir, c("x <- list(1:10, 'x', sqrt(1:1e5))", call), paste0(substr(call, 1, 4), ".R"))
  }
  base <- writer("saveRDS(x, '/dev/stdout', compress = FALSE)")
  ours <- writer("lowmem::serialize_to_file(x, '/dev/stdout')")
  out <- function(name) file.path(dir, name)
  for (how in c("%s > %s", "%s | cat > %s")) {
    safety_sh(sprintf(how, safety_rscript(base), shQuote(out("base.out"))))
    safety_sh(sprintf(how, safety_rscript(ours), shQuote(out("lowmem.out"))))
    expected <- stream_file_bytes(out("base.out"))
    expect_gt(length(expected), 8e5)
    expect_true(identical(stream_file_bytes(out("lowmem.out")), expected), label = how)
  }
  expect_identical(stream_dir_entries(dir), sort(c("base.out", "lowmem.out", "lowm.R", "save.R")))
})

# A pipe whose reader has gone raises SIGPIPE at the next write, and R's
# handler raises an R error from inside it: lowmem blocks the signal while
# it writes, and the write fails with EPIPE, an I/O error like any other.
test_that("a pipe whose reader goes away is a Broken pipe error, and R carries on", {
  safety_skip_unless_unix("head")
  skip_if_not(file.exists("/dev/stdout"), "no /dev/stdout")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  script <- safety_script(dir, c(
    "x <- runif(2e6)", # 16 MB: the pipe is full long before the end
    "for (compress in list(FALSE, 'gzip')) {",
    "  r <- tryCatch(lowmem::serialize_to_file(x, '/dev/stdout', compress = compress),",
    "                error = function(e) e)",
    "  message(class(r)[[1]], ': ', conditionMessage(r))",
    "}",
    "message('carried on')"
  ))
  err <- file.path(dir, "stderr")
  safety_sh(sprintf("%s 2> %s | head -c 100 > /dev/null", safety_rscript(script), shQuote(err)))
  lines <- readLines(err)
  expect_identical(lines, c(rep("lowmem_error_io: cannot write '/dev/stdout': Broken pipe", 2),
                            "carried on"))
})

test_that("a file with another hard link is written into, as by saveRDS(): both names see it", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  x <- safety_object()
  for (writer in c("base", "lowmem")) {
    path <- file.path(dir, paste0(writer, ".rds"))
    writeLines("old", path)
    skip_if_not(file.link(path, paste0(path, ".link")), "cannot make hard links here")
  }
  saveRDS(x, file.path(dir, "base.rds"), compress = FALSE)
  serialize_to_file(x, file.path(dir, "lowmem.rds"))
  expected <- stream_file_bytes(file.path(dir, "base.rds.link"))
  expect_identical(expected, base::serialize(x, NULL))
  expect_identical(stream_file_bytes(file.path(dir, "lowmem.rds.link")), expected)
  expect_identical(stream_file_bytes(file.path(dir, "lowmem.rds")), expected)
  expect_identical(stream_dir_entries(dir),
                   sort(c("base.rds", "base.rds.link", "lowmem.rds", "lowmem.rds.link")))
})

test_that("a bind-mounted file is written into, as by saveRDS()", {
  safety_skip_unless_unix()
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  x <- safety_object()
  # From the same file system, and from another one where there is one.
  sources <- c(same = dirname(dir), other = if (dir.exists("/dev/shm")) "/dev/shm" else NA)
  for (where in names(sources)[!is.na(sources)]) {
    source_dir <- tempfile("lowmem-bind-", tmpdir = sources[[where]])
    dir.create(source_dir)
    on.exit(unlink(source_dir, recursive = TRUE), add = TRUE)
    for (writer in c("base", "lowmem")) {
      source <- file.path(source_dir, writer)
      target <- file.path(dir, paste0(writer, ".rds"))
      writeLines("the source", source)
      writeLines("the mount point", target)
      safety_with_bind_mount(source, target, function() {
        if (writer == "base") {
          saveRDS(x, target, compress = FALSE)
        } else {
          serialize_to_file(x, target)
        }
        expect_identical(stream_file_bytes(target), stream_file_bytes(source))
      })
      expect_identical(readLines(target), "the mount point", label = where)
    }
    expect_identical(stream_file_bytes(file.path(source_dir, "lowmem")),
                     stream_file_bytes(file.path(source_dir, "base")), label = where)
    expect_identical(stream_dir_entries(dir), c("base.rds", "lowmem.rds"), label = where)
  }
})

# ---- what saveRDS() refuses -------------------------------------------------------

test_that("a loop of symbolic links is saveRDS()'s error, and the links stay", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  a <- file.path(dir, "a")
  skip_if_not(file.symlink("b", a) && file.symlink("a", file.path(dir, "b")),
              "cannot make symbolic links here")
  reason <- safety_outcome(function() saveRDS(1:3, a, compress = FALSE))
  expect_identical(reason, "Too many levels of symbolic links")
  err <- expect_error(serialize_to_file(1:3, a), class = "lowmem_error_io")
  expect_match(conditionMessage(err), a, fixed = TRUE)
  expect_identical(safety_outcome(function() serialize_to_file(1:3, a)), reason)
  expect_true(safety_is_link(a) && safety_is_link(file.path(dir, "b")))
  expect_identical(stream_dir_entries(dir), c("a", "b"))
})

# ---- owners and permissions ---------------------------------------------------------

test_that("root replacing another user's file keeps its owner, group and mode, as saveRDS()", {
  skip_on_os("windows")
  skip_if_not(stream_running_as_root(), "needs root to give a file away")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  for (writer in c("base", "lowmem")) {
    path <- file.path(dir, paste0(writer, ".rds"))
    writeLines("old", path)
    skip_if_not(system2("chown", c("65534:65534", shQuote(path))) == 0, "cannot chown here")
    Sys.chmod(path, "0640", use_umask = FALSE)
  }
  saveRDS(1:3, file.path(dir, "base.rds"), compress = FALSE)
  serialize_to_file(1:3, file.path(dir, "lowmem.rds"))
  info <- file.info(file.path(dir, c("base.rds", "lowmem.rds")), extra_cols = TRUE)
  expect_identical(info$uid, c(65534L, 65534L))
  expect_identical(info$gid, c(65534L, 65534L))
  expect_identical(info$mode[[2]], info$mode[[1]])
  expect_identical(stream_file_bytes(file.path(dir, "lowmem.rds")),
                   stream_file_bytes(file.path(dir, "base.rds")))
})

# As nobody: a read-only file, a file of root's that nobody may not write,
# one nobody may write, and, in a directory nobody may not write, a file
# nobody may write and a new file. Each once for saveRDS() and once for
# serialize_to_file(): the same outcome, content, owner and mode.
test_that("as an unprivileged user, what saveRDS() may not write is its error, what it writes is written in place", {
  dir <- safety_shared_dir()
  on.exit(unlink(dir, recursive = TRUE))
  dir.create(file.path(dir, "locked"))
  cases <- c(readonly = "readonly.rds", roots = "roots.rds", shared = "shared.rds",
             locked_shared = "locked/shared.rds", locked_new = "locked/new.rds")
  path_of <- function(writer, case) file.path(dir, dirname(case), paste0(writer, "-", basename(case)))
  for (writer in c("base", "lowmem")) {
    for (case in cases[cases != "locked/new.rds"]) writeLines("old", path_of(writer, case))
    Sys.chmod(path_of(writer, "readonly.rds"), "0444", use_umask = FALSE)
    Sys.chmod(path_of(writer, "roots.rds"), "0644", use_umask = FALSE)
    Sys.chmod(path_of(writer, "shared.rds"), "0666", use_umask = FALSE)
    Sys.chmod(path_of(writer, "locked/shared.rds"), "0666", use_umask = FALSE)
    system2("chown", c("65534", shQuote(path_of(writer, "readonly.rds"))))
  }
  Sys.chmod(file.path(dir, "locked"), "0755", use_umask = FALSE)
  out <- safety_as_nobody(c(
    paste0("safety_attempt <- ", paste(deparse(safety_attempt), collapse = "\n")),
    paste0("safety_outcome <- ", paste(deparse(safety_outcome), collapse = "\n")),
    sprintf("dir <- '%s'", dir),
    sprintf("cases <- c(%s)", paste0("'", cases, "'", collapse = ", ")),
    "for (case in cases) {",
    "  at <- function(writer) file.path(dir, dirname(case), paste0(writer, '-', basename(case)))",
    "  base <- safety_outcome(function() saveRDS(1:3, at('base'), compress = FALSE))",
    "  ours <- safety_outcome(function() lowmem::serialize_to_file(1:3, at('lowmem')))",
    "  cat(case, base, ours, sep = '\\t'); cat('\\n')",
    "}"
  ), dir)
  rows <- strsplit(out[grepl("\t", out, fixed = TRUE)], "\t", fixed = TRUE)
  expect_identical(vapply(rows, `[[`, "", 1), unname(cases))
  for (row in rows) {
    expect_identical(row[[3]], row[[2]], label = paste("outcome for", row[[1]]))
  }
  outcomes <- stats::setNames(vapply(rows, `[[`, "", 2), vapply(rows, `[[`, "", 1))
  expect_identical(unname(outcomes[c("readonly.rds", "roots.rds", "locked/new.rds")]),
                   rep("Permission denied", 3))
  expect_identical(unname(outcomes[c("shared.rds", "locked/shared.rds")]), rep("written", 2))
  for (case in cases) {
    files <- c(path_of("base", case), path_of("lowmem", case))
    info <- file.info(files, extra_cols = TRUE)
    expect_identical(info$uid[[2]], info$uid[[1]], label = paste("owner of", case))
    expect_identical(info$gid[[2]], info$gid[[1]], label = paste("group of", case))
    expect_identical(info$mode[[2]], info$mode[[1]], label = paste("mode of", case))
    if (all(file.exists(files))) {
      expect_identical(stream_file_bytes(files[[2]]), stream_file_bytes(files[[1]]), label = case)
    }
  }
  entries <- c(stream_dir_entries(dir), stream_dir_entries(file.path(dir, "locked")))
  expect_false(any(is_lowmem_temp(entries)))
})

# ---- messages name the real cause, in R's words ------------------------------

test_that("a file of /proc is written in place, as by saveRDS(): the error is the write's, not a temporary file's", {
  skip_on_os(c("windows", "mac", "solaris"))
  skip_if_not(file.exists("/proc/version"), "no /proc")
  err <- expect_error(serialize_to_file(1, "/proc/version"), class = "lowmem_error_io")
  # Root may open it and its write fails (saveRDS() warns the same reason
  # when it closes the file); anyone else may not open it.
  reason <- if (stream_running_as_root()) "Input/output error" else "Permission denied"
  expect_identical(conditionMessage(err), paste0("cannot write '/proc/version': ", reason))
  base <- safety_attempt(function() saveRDS(1, "/proc/version", compress = FALSE))
  expect_match(c(base$warnings, if (inherits(base$result, "error")) conditionMessage(base$result)),
               reason, fixed = TRUE, all = FALSE)
})

test_that("a temporary file that cannot be created is named, with the system's reason", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "missing", "x.rds")
  err <- expect_error(serialize_to_file(1:3, path), class = "lowmem_error_io")
  expect_match(conditionMessage(err), paste0(
    "^cannot write '\\Q", path, "\\E': cannot open file '\\Q", dirname(path),
    "\\E/\\.lowmem-[a-z0-9]{10}\\.tmp': No such file or directory$"
  ), perl = TRUE)
  # saveRDS() gives the same reason for the file itself.
  expect_identical(safety_outcome(function() saveRDS(1:3, path, compress = FALSE)),
                   "No such file or directory")
})

test_that("no message of an I/O error carries Rust's \"(os error N)\"", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  sub <- file.path(dir, "sub")
  dir.create(sub)
  messages <- c(
    conditionMessage(expect_error(serialize_to_file(1:3, file.path(dir, "missing", "x.rds")),
                                  class = "lowmem_error_io")),
    conditionMessage(expect_error(serialize_to_file(1:3, sub), class = "lowmem_error_io")),
    conditionMessage(expect_error(serialize_to_file(1:3, file.path(dir, "missing", "x.rds"), compress = "gzip"),
                                  class = "lowmem_error_io"))
  )
  if (file.exists("/dev/full")) {
    messages <- c(messages, conditionMessage(expect_error(serialize_to_file(runif(1e5), "/dev/full"),
                                                          class = "lowmem_error_io")))
    expect_identical(messages[[4]], "cannot write '/dev/full': No space left on device")
  }
  expect_false(any(grepl("os error", messages, fixed = TRUE)))
})
