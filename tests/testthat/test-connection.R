# lowmem::serialize(x, connection): streamed in chunks, byte-identical to
# base::serialize(x, connection). Helpers: helper-stream.R.

# ---- byte identity, every connection type, every format -----------------

binary_kinds <- c("file", "gzfile", "bzfile", "xzfile", "rawConnection", "pipe")
text_kinds <- c("file", "gzfile", "bzfile", "xzfile", "pipe", "textConnection")

test_that("binary-mode connections get base's bytes in every format and chunk size", {
  for (kind in binary_kinds) {
    expect_identical(
      stream_mismatches(kind, "wb", stream_objects(), stream_variants()),
      character(),
      label = sprintf("cases where lowmem differs from base on a %s", kind)
    )
  }
})

test_that("text-mode connections get base's bytes in the ASCII formats", {
  # Base R accepts ascii = TRUE and ascii = NA (hexadecimal doubles) on a
  # text-mode connection (R_InitConnOutPStream in serialize.c).
  for (kind in text_kinds) {
    expect_identical(
      stream_mismatches(kind, "w", stream_objects(), stream_variants(text_mode = TRUE)),
      character(),
      label = sprintf("cases where lowmem differs from base on a text-mode %s", kind)
    )
  }
})

test_that("an object larger than a chunk is streamed identically", {
  big <- list(big = stream_big_object())
  xdr <- list(list(version = 3L, ascii = FALSE, xdr = TRUE))
  native <- list(list(version = 2L, ascii = FALSE, xdr = FALSE))
  ascii <- list(list(version = 3L, ascii = TRUE, xdr = TRUE))
  for (kind in c("file", "rawConnection", "pipe")) {
    expect_identical(
      stream_mismatches(kind, "wb", big, c(xdr, native), chunk_sizes = list(1000, NULL)),
      character(),
      label = sprintf("cases where lowmem differs from base on a %s", kind)
    )
  }
  # Compressing megabytes costs seconds in bzip2 and xz; the codecs are R's
  # own, and the small objects above already cross many chunk boundaries.
  expect_identical(
    stream_mismatches("gzfile", "wb", big, xdr, chunk_sizes = list(NULL)),
    character(),
    label = "cases where lowmem differs from base on a gzfile"
  )
  for (mode in c("wb", "w")) {
    expect_identical(
      stream_mismatches("file", mode, big, ascii, chunk_sizes = list(NULL)),
      character(),
      label = sprintf("cases where lowmem differs from base in ASCII on a file opened %s", mode)
    )
  }
  # Not through a textConnection: it stores each line by copying the whole
  # character vector (quadratic in the number of lines), so a 1 MiB stream
  # takes minutes with base R already. The small objects above cover
  # several chunks there.
})

test_that("socket connections get base's bytes in every format and chunk size", {
  server <- start_socket_server()
  skip_if(is.null(server), "could not start a socket server on 127.0.0.1")
  on.exit(stop_socket_server(server))
  # base::serialize(x, <socket>, ascii = NA) fails in R 4.2
  # (`if (!ascii && inherits(connection, "sockconn"))` on NA), so those
  # variants are compared with base's bytes in memory below.
  not_hex <- function(variants) Filter(function(v) !is.na(v$ascii), variants)
  expect_identical(
    stream_mismatches("socket", "wb", stream_objects(), not_hex(stream_variants()),
                      server = server),
    character(),
    label = "cases where lowmem differs from base on a socket"
  )
  expect_identical(
    stream_mismatches("socket", "w", stream_objects(), not_hex(stream_variants(text_mode = TRUE)),
                      server = server),
    character(),
    label = "cases where lowmem differs from base on a text-mode socket"
  )
  big <- list(big = stream_big_object())
  binary <- Filter(function(v) isFALSE(v$ascii) && v$version == 3L, stream_variants())
  expect_identical(
    stream_mismatches("socket", "wb", big, binary, chunk_sizes = list(1000, NULL), server = server),
    character(),
    label = "cases where lowmem differs from base on a socket"
  )
  x <- stream_objects()
  for (version in 2:3) {
    got <- stream_written_by("socket", "wb", function(con) {
      lowmem::serialize(x, con, ascii = NA, version = version, chunk_size = 1000)
    }, server = server)
    expect_identical(got, base::serialize(x, NULL, ascii = NA, version = version))
  }
})

# ---- connections that are not open ---------------------------------------

test_that("a connection that is not open is opened for the call and closed again", {
  x <- stream_objects()
  after_call <- character()
  for (kind in names(stream_file_kinds)) {
    for (ascii in c(FALSE, TRUE)) {
      case <- sprintf("%s, ascii = %s", kind, ascii)
      path <- tempfile("lowmem-unopened-")
      con <- stream_file_kinds[[kind]]$make(path, "")
      expect_false(isOpen(con))
      # The hook sees the connection while lowmem writes to it.
      during <- NULL
      hook <- function(e) {
        if (is.null(during)) during <<- summary(con)[c("mode", "text", "opened")]
        NULL
      }
      lowmem::serialize(x, con, ascii = ascii, refhook = hook)
      after_call[[case]] <- tryCatch(if (isOpen(con)) "open" else "closed",
                                     error = conditionMessage)
      try(close(con), silent = TRUE)
      expect_identical(
        during,
        list(mode = if (ascii) "w" else "wb", text = if (ascii) "text" else "binary",
             opened = "opened"),
        label = case
      )
      expected <- stream_written_by(kind, if (ascii) "w" else "wb", function(con) {
        base::serialize(x, con, ascii = ascii, refhook = function(e) NULL)
      })
      expect_identical(stream_file_kinds[[kind]]$read(path), expected, label = case)
      unlink(path)
    }
  }
  # Closed with close(), which in R code also destroys the connection:
  # saveRDS(x, con) closes without destroying, but only R's C internals can
  # (documented in ?serialize).
  expect_identical(
    after_call, stats::setNames(rep("invalid connection", length(after_call)), names(after_call)),
    label = "the state of each connection after the call"
  )
})

test_that("a connection lowmem opened is closed again when the stream fails", {
  path <- tempfile("lowmem-unopened-")
  on.exit(unlink(path))
  con <- file(path)
  x <- list(1:3, new.env())
  expect_error(lowmem::serialize(x, con, refhook = function(e) stop("hook failed")), "hook failed")
  state <- tryCatch(if (isOpen(con)) "open" else "closed", error = conditionMessage)
  expect_identical(state, "invalid connection") # closed (and so destroyed) by close()
  try(close(con), silent = TRUE)
})

# ---- the format follows the connection's mode when ascii is missing -------

test_that("without `ascii`, the format follows the connection's mode as in base", {
  x <- stream_objects()
  for (kind in c("file", "rawConnection", "textConnection")) {
    mode <- if (kind == "textConnection") "w" else "wb"
    expect_identical(
      stream_written_by(kind, mode, function(con) lowmem::serialize(x, con, chunk_size = 1000)),
      stream_written_by(kind, mode, function(con) base::serialize(x, con)),
      label = kind
    )
  }
  expect_identical(
    stream_written_by("file", "w", function(con) lowmem::serialize(x, con)),
    stream_written_by("file", "w", function(con) base::serialize(x, con))
  )
})

test_that("a connection opened for appending gets the stream after its content", {
  path <- tempfile("lowmem-append-")
  on.exit(unlink(path))
  x <- stream_objects()
  writeBin(charToRaw("header"), path)
  con <- file(path, "ab")
  lowmem::serialize(x, con, chunk_size = 1000)
  close(con)
  expect_identical(stream_file_bytes(path), c(charToRaw("header"), base::serialize(x, NULL)))
})

test_that("objects written one after another are read back one by one", {
  path <- tempfile("lowmem-sequence-")
  on.exit(unlink(path))
  objects <- list(stream_big_object(), letters, NULL)
  con <- file(path, "wb")
  for (x in objects) lowmem::serialize(x, con, chunk_size = 1000)
  close(con)
  con <- file(path, "rb")
  on.exit(close(con), add = TRUE, after = FALSE)
  for (x in objects) expect_identical(unserialize(con), x)
  expect_length(readBin(con, "raw", 1), 0)
})

test_that("bad streaming arguments are errors of class lowmem_error_argument", {
  con <- rawConnection(raw(0), "wb")
  on.exit(close(con))
  for (chunk_size in list(0, -1, NA, Inf, NULL)) {
    expect_error(lowmem::serialize(1:3, con, chunk_size = chunk_size),
                 class = "lowmem_error_argument", label = deparse(chunk_size))
  }
  for (progress in list("x", c(TRUE, FALSE), 1)) {
    expect_error(lowmem::serialize(1:3, con, progress = progress),
                 class = "lowmem_error_argument", label = deparse(progress))
  }
  expect_error(lowmem::serialize(1:3, con, refhook = "f"), class = "lowmem_error_argument")
  expect_length(rawConnectionValue(con), 0)
})

test_that("progress = NA (the default) draws no bar when not interactive", {
  skip_if(interactive())
  x <- stream_big_object()
  expect_silent(stream_written_by("rawConnection", "wb", function(con) lowmem::serialize(x, con)))
  expect_silent(stream_written_by("rawConnection", "wb", function(con) {
    lowmem::serialize(x, con, progress = NA)
  }))
})

# ---- connections lowmem cannot write to ------------------------------------

# The message of the error base::serialize() raises for the same call.
base_error <- function(...) {
  tryCatch({
    base::serialize(...)
    NA_character_
  }, error = conditionMessage)
}

test_that("a binary format on a text-mode connection is base's error", {
  msg <- "only ascii format can be written to text mode connections"
  path <- tempfile("lowmem-text-")
  on.exit(unlink(path))
  for (make in list(function() file(path, "w"), function() textConnection(NULL, "w"),
                    function() gzfile(path, "w"))) {
    con <- make()
    for (xdr in c(TRUE, FALSE)) {
      expect_identical(base_error(1:3, con, ascii = FALSE, xdr = xdr), msg)
      expect_error(lowmem::serialize(1:3, con, ascii = FALSE, xdr = xdr), msg, fixed = TRUE)
    }
    close(con)
  }
})

test_that("a read-only connection is base's error", {
  path <- tempfile("lowmem-readonly-")
  on.exit(unlink(path))
  writeLines("some text", path)
  cases <- list(
    list(open = function() file(path, "rb"), ascii = FALSE),
    list(open = function() file(path, "rb"), ascii = TRUE),
    list(open = function() rawConnection(as.raw(1:10), "rb"), ascii = FALSE),
    list(open = function() file(path, "r"), ascii = TRUE),
    list(open = function() textConnection("abc"), ascii = TRUE),
    # base checks writability before the text mode (CheckOutConn first in
    # R_InitConnOutPStream)
    list(open = function() file(path, "r"), ascii = FALSE),
    list(open = function() textConnection("abc"), ascii = FALSE)
  )
  for (case in cases) {
    con <- case$open()
    label <- sprintf("%s opened \"%s\", ascii = %s", class(con)[[1]], summary(con)$mode, case$ascii)
    expect_identical(base_error(1:3, con, ascii = case$ascii), "cannot write to this connection",
                     label = paste("base on a", label))
    expect_identical(
      tryCatch(lowmem::serialize(1:3, con, ascii = case$ascii), error = conditionMessage),
      "cannot write to this connection",
      label = paste("lowmem on a", label)
    )
    close(con)
  }
})

test_that("a closed (destroyed) connection is base's error", {
  path <- tempfile("lowmem-closed-")
  on.exit(unlink(path))
  con <- file(path, "wb")
  close(con)
  for (ascii in c(FALSE, TRUE)) {
    msg <- base_error(1:3, con, ascii = ascii)
    expect_identical(msg, "invalid connection")
    expect_error(lowmem::serialize(1:3, con, ascii = ascii), msg, fixed = TRUE)
  }
  expect_error(lowmem::serialize(1:3, con), base_error(1:3, con), fixed = TRUE)
  expect_error(lowmem::serialize(1:3, "out.bin"), base_error(1:3, "out.bin"), fixed = TRUE)
})

test_that("a write that fails is base's error, and the session stays usable", {
  skip_if_not(file.exists("/dev/full"), "no /dev/full")
  big <- stream_big_object()
  con <- file("/dev/full", "wb", raw = TRUE)
  expect_identical(base_error(big, con), "error writing to connection")
  for (chunk_size in list(1000, 65536, NULL)) {
    expect_error(
      if (is.null(chunk_size)) {
        lowmem::serialize(big, con)
      } else {
        lowmem::serialize(big, con, chunk_size = chunk_size)
      },
      "error writing to connection", fixed = TRUE
    )
  }
  suppressWarnings(close(con)) # "No space left on device", from flushing
  expect_identical(
    stream_written_by("rawConnection", "wb", function(con) {
      lowmem::serialize(big, con, chunk_size = 1000)
    }),
    base::serialize(big, NULL)
  )
  expect_identical(lowmem::serialize(big, NULL), base::serialize(big, NULL))
})

# ---- the two writers ------------------------------------------------------

# Plain data (vectors, lists, attributes, strings, ALTREP compact sequences)
# is streamed by the native writer (src/rust/src/format); anything else, and
# every call with a refhook, by R's own writer through lowmem's stream.
test_that("plain data is streamed by the native writer, the rest by R's", {
  objects <- stream_objects()[c("df", "altrep", "long_string", "closure")]
  writer <- c(df = lm_writer("native"), altrep = lm_writer("native"), long_string = lm_writer("native"),
              closure = "universal")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  for (name in names(objects)) {
    got <- stream_written_by("rawConnection", "wb", function(con) {
      lowmem::serialize(objects[[name]], con, chunk_size = 7)
    })
    expect_identical(got, base::serialize(objects[[name]], NULL), label = name)
    expect_identical(as.vector(lowmem:::last_stream_path()), writer[[name]], label = name)
    serialize_to_file(objects[[name]], path, chunk_size = 7)
    expect_identical(as.vector(lowmem:::last_stream_path()), writer[[name]], label = name)
  }
  serialize_to_file(objects$df, path, refhook = function(e) NULL)
  expect_identical(lowmem:::last_stream_path(),
                   structure("universal", reason = "a refhook was given"))
})

# The native writer hands each chunk to C, which writes it with R code
# (write_chunk); an R error or any other jump there is caught in C, the Rust
# frames return, and only then does the jump go on (src/native.c,
# native_write). write_chunk is traced here to fail at its third call.
test_that("an error or a jump inside a chunk write of the native writer stops it cleanly", {
  big <- stream_big_object()
  expected <- base::serialize(big, NULL)
  state <- trace_write_chunk(function(call) if (call == 3L) state$action())
  on.exit(untrace_write_chunk())
  run <- function(action) {
    state$calls <- 0L
    state$action <- action
    con <- rawConnection(raw(0), "wb")
    on.exit(close(con))
    outcome <- withRestarts(
      tryCatch(lowmem::serialize(big, con, chunk_size = 1000),
               error = function(e) conditionMessage(e)),
      lowmem_test_skip = function() "jumped to a restart"
    )
    list(outcome = outcome, written = rawConnectionValue(con))
  }
  stopped <- run(function() stop("the connection broke"))
  expect_identical(stopped$outcome, "the connection broke")
  expect_identical(stopped$written, expected[1:2000])
  jumped <- run(function() invokeRestart("lowmem_test_skip"))
  expect_identical(jumped$outcome, "jumped to a restart")
  expect_identical(jumped$written, expected[1:2000])
  # The session goes on: the same object, the same writer, whole.
  done <- run(function() NULL)
  expect_null(done$outcome)
  expect_identical(done$written, expected)
  expect_identical(as.vector(lowmem:::last_stream_path()), lm_writer("native"))
})

# A deferred string (as.character() of numbers, not yet expanded) is written
# from its state, which holds the numbers; R drops that state when R code
# expands the string. R code runs during a stream (each chunk is written by
# R), so the native writer keeps the states it reads protected: here the
# string is expanded and R collects garbage in the middle of writing the
# state, and the numbers being written must still be there.
test_that("a deferred string expanded in the middle of its own stream is written whole", {
  x <- as.character(seq_len(4e5) * 3L)
  state <- trace_write_chunk(function(call) {
    if (call == 3L) {
      invisible(x[])
      invisible(gc())
    }
  })
  on.exit(untrace_write_chunk())
  written <- stream_written_by("rawConnection", "wb", function(con) {
    lowmem::serialize(x, con, chunk_size = 65536)
  })
  expect_identical(as.vector(lowmem:::last_stream_path()), lm_writer("native"))
  expect_gt(state$calls, 3L)
  expect_gt(length(written), 1.6e6) # the state: 4e5 integers
  expect_identical(unserialize(written), x)
})

# ---- chunking is real --------------------------------------------------------

# A fifo is written with write(2) directly, one syscall per write to the
# connection, without stdio buffering (fifo_write in R's connections.c); the
# write syscalls of the process are counted in /proc/self/io. Reader and
# writer are non-blocking, so a full pipe would be an error, never a hang;
# the object fits in one page of pipe buffer.
test_that("a connection is written in chunk_size pieces, not R's small pieces", {
  skip_on_os(c("windows", "mac", "solaris"))
  skip_if_not(has_proc_io(), "no /proc/self/io (task I/O accounting)")
  skip_if(Sys.which("mkfifo") == "", "no mkfifo")
  path <- tempfile("lowmem-fifo-")
  on.exit(unlink(path))
  skip_if(system2("mkfifo", shQuote(path)) != 0, "mkfifo failed")
  reader <- fifo(path, "rb", blocking = FALSE)
  writer <- fifo(path, "wb", blocking = FALSE)
  on.exit({
    close(writer)
    close(reader)
  }, add = TRUE, after = FALSE)
  x <- list(letters, sprintf("item%03d", 1:220), c(a = 1.5, b = NA))
  expected <- base::serialize(x, NULL)
  size <- length(expected)
  expect_lt(size, 4096)
  expect_gt(size, 3000)

  syscalls <- function(write, expected) {
    before <- write_syscalls()
    write(writer)
    after <- write_syscalls()
    expect_identical(readBin(reader, "raw", 65536), expected)
    after - before
  }
  # The positive control: base R writes every piece separately.
  base_writes <- syscalls(function(con) base::serialize(x, con), expected)
  expect_gt(base_writes, 500)
  for (chunk_size in c(100, 1000)) {
    expect_identical(
      syscalls(function(con) lowmem::serialize(x, con, chunk_size = chunk_size), expected),
      ceiling(size / chunk_size)
    )
  }
  expect_identical(syscalls(function(con) lowmem::serialize(x, con), expected), 1)
  small <- list(letters, 1:3)
  ascii <- base::serialize(small, NULL, ascii = TRUE)
  expect_identical(
    syscalls(function(con) lowmem::serialize(small, con, ascii = TRUE, chunk_size = 7), ascii),
    ceiling(length(ascii) / 7)
  )
})

# The sizes of the write(2) calls themselves, seen by strace(1) in a child
# R process writing to a fifo (unbuffered, as above).
test_that("no write to a connection is larger than chunk_size (strace)", {
  skip_on_os(c("windows", "mac", "solaris"))
  skip_if(Sys.which("strace") == "", "strace is not installed")
  skip_if(Sys.which("mkfifo") == "", "no mkfifo")
  skip_if(system2("strace", c("-o", "/dev/null", "true"), stdout = FALSE, stderr = FALSE) != 0,
          "strace cannot trace processes here")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  dir <- normalizePath(dir)
  fifo_path <- file.path(dir, "fifo")
  expect_identical(system2("mkfifo", shQuote(fifo_path)), 0L)
  script <- file.path(dir, "write.R")
  writeLines(c(
    "args <- commandArgs(TRUE)",
    "reader <- fifo(args[[1]], 'rb', blocking = FALSE)",
    "writer <- fifo(args[[1]], 'wb', blocking = FALSE)",
    "x <- list(letters, sprintf('item%03d', 1:220))",
    "lowmem::serialize(x, writer, chunk_size = as.numeric(args[[2]]))",
    "writeBin(readBin(reader, 'raw', 65536), args[[3]])",
    "close(writer)",
    "close(reader)"
  ), script)
  expected <- base::serialize(list(letters, sprintf("item%03d", 1:220)), NULL)
  rscript <- file.path(R.home("bin"), "Rscript")
  for (chunk_size in c(100, 1000)) {
    out <- file.path(dir, paste0("out-", chunk_size))
    trace <- file.path(dir, paste0("trace-", chunk_size))
    status <- system2(
      "strace",
      c("-f", "-qq", "-y", "-s", "0", "-e", "trace=write", "-e", "signal=none",
        "-o", shQuote(trace), shQuote(rscript), "--vanilla", shQuote(script),
        shQuote(fifo_path), chunk_size, shQuote(out)),
      env = paste0("R_LIBS=", shQuote(paste(.libPaths(), collapse = ":"))),
      stdout = FALSE, stderr = FALSE
    )
    expect_identical(status, 0L)
    expect_identical(stream_file_bytes(out), expected)
    writes <- grep(paste0("<", fifo_path, ">"), readLines(trace), fixed = TRUE, value = TRUE)
    sizes <- as.numeric(sub(".*= ([0-9]+)$", "\\1", writes))
    expect_identical(sum(sizes), as.numeric(length(expected)))
    expect_identical(length(sizes), as.integer(ceiling(length(expected) / chunk_size)))
    expect_true(all(sizes <= chunk_size))
    expect_true(all(head(sizes, -1) == chunk_size))
  }
})

# ---- progress and refhook --------------------------------------------------

test_that("progress = TRUE draws a bar on stderr non-interactively and writes the same bytes", {
  x <- list(stream_big_object(), stream_objects())
  for (chunk_size in c(65536, 1048576)) {
    bar <- capture.output(type = "message", {
      got <- stream_written_by("rawConnection", "wb", function(con) {
        lowmem::serialize(x, con, progress = TRUE, chunk_size = chunk_size)
      })
    })
    expect_identical(got, base::serialize(x, NULL))
    expect_match(paste(bar, collapse = ""), "100%", fixed = TRUE)
  }
  bar <- capture.output(type = "message", {
    got <- stream_written_by("file", "w", function(con) lowmem::serialize(x, con, progress = TRUE))
  })
  expect_identical(got, base::serialize(x, NULL, ascii = TRUE))
  expect_match(paste(bar, collapse = ""), "100%", fixed = TRUE)
  expect_silent(stream_written_by("rawConnection", "wb", function(con) {
    lowmem::serialize(x, con, progress = FALSE)
  }))
})

test_that("progress = TRUE gives the serializer's warnings once, as base does", {
  p <- as.environment("package:stats")
  x <- list(p, 1:3)
  expected <- lm_capture(base::serialize(x, NULL))
  for (progress in c(FALSE, TRUE)) {
    capture.output(type = "message", {
      got <- lm_capture(stream_written_by("rawConnection", "wb", function(con) {
        lowmem::serialize(x, con, progress = progress)
      }))
    })
    expect_identical(got$value, expected$value)
    expect_identical(got$warnings, expected$warnings, label = sprintf("progress = %s", progress))
  }
  path <- tempfile()
  on.exit(unlink(path))
  capture.output(type = "message", {
    got <- lm_capture(serialize_to_file(x, path, progress = TRUE))
  })
  expect_identical(got$warnings, expected$warnings)
})

test_that("a refhook is called as often as by base, with or without a progress bar", {
  x <- stream_refhook_object()
  base_hook <- stream_naming_hook()
  expected <- base::serialize(x, NULL, refhook = base_hook$hook)
  expect_gt(base_hook$calls(), 3)
  for (progress in c(FALSE, TRUE)) {
    for (chunk_size in c(7, 1048576)) {
      hook <- stream_naming_hook()
      capture.output(type = "message", {
        got <- stream_written_by("rawConnection", "wb", function(con) {
          lowmem::serialize(x, con, refhook = hook$hook, chunk_size = chunk_size,
                            progress = progress)
        })
      })
      label <- sprintf("progress = %s, chunk_size = %s", progress, chunk_size)
      expect_identical(hook$calls(), base_hook$calls(), label = label)
      expect_identical(got, expected, label = label)
    }
  }
})

# ---- a huge chunk_size --------------------------------------------------------

# The chunk buffers start at 1 MiB and double up to chunk_size only as the
# stream fills them: a short stream with a huge chunk_size allocates only
# what it uses, from R's heap as in address space.
test_that("a huge chunk_size to a connection allocates only what the stream uses", {
  for (refhook in list(NULL, function(e) NULL)) { # the native writer and R's
    con <- rawConnection(raw(0), "wb")
    invisible(gc(reset = TRUE))
    before <- gc()[2, 6]
    lowmem::serialize(1:3, con, chunk_size = 2^31 - 1, refhook = refhook)
    grew <- gc()[2, 6] - before # R's heap: the most Vcells used, in MB
    expect_identical(rawConnectionValue(con), base::serialize(1:3, NULL))
    close(con)
    expect_lt(grew, 50)
  }
})

test_that("a huge chunk_size runs in a process limited to less address space than a chunk", {
  skip_on_os(c("windows", "mac", "solaris"))
  skip_if(Sys.which("bash") == "", "no bash")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  script <- file.path(dir, "huge.R")
  writeLines(c(
    "path <- file.path(commandArgs(TRUE)[[1]], 'x.rds')",
    "run <- function(write) tryCatch({ write(); 'ok' }, error = conditionMessage)",
    "huge <- 2^31 - 1",
    "to_con <- function(x, hook) function() {",
    "  con <- rawConnection(raw(0), 'wb'); on.exit(close(con))",
    "  lowmem::serialize(x, con, chunk_size = huge, refhook = hook)",
    "  stopifnot(identical(rawConnectionValue(con), serialize(x, NULL)))",
    "}",
    "to_file <- function(x, compress) function() {",
    "  lowmem::serialize_to_file(x, path, compress = compress, chunk_size = huge)",
    "  stopifnot(identical(readRDS(path), x))",
    "}",
    "cat(run(to_con(1:3, NULL)), run(to_con(1:3, function(e) NULL)),",
    "    run(to_file(1:3, FALSE)), run(to_file(1:3, 'gzip')), sep = '\\n')"
  ), script)
  rscript <- file.path(R.home("bin"), "Rscript")
  # 1.6 GB of address space: R starts in far less; a 2 GiB chunk does not fit.
  command <- sprintf("ulimit -v 1600000; exec %s --vanilla %s %s",
                     shQuote(rscript), shQuote(script), shQuote(dir))
  out <- system2("bash", c("-c", shQuote(command)), stdout = TRUE, stderr = TRUE,
                 env = paste0("R_LIBS=", shQuote(paste(.libPaths(), collapse = ":"))))
  expect_identical(out, rep("ok", 4))
})

test_that("with a chunk_size above the first buffer, chunks are still exact", {
  rec <- new.env()
  rec$sizes <- integer()
  suppressMessages(trace(
    "write_chunk", where = asNamespace("lowmem"), print = FALSE,
    tracer = bquote(assign("sizes", c(.(rec)$sizes, length(bytes)), envir = .(rec)))
  ))
  on.exit(suppressMessages(untrace("write_chunk", where = asNamespace("lowmem"))))
  x <- list(runif(1e6), as.character(1:1e5))
  expected <- base::serialize(x, NULL)
  for (refhook in list(NULL, function(e) NULL)) {
    rec$sizes <- integer()
    con <- rawConnection(raw(0), "wb")
    lowmem::serialize(x, con, chunk_size = 3e6 + 1, refhook = refhook)
    expect_identical(rawConnectionValue(con), expected)
    close(con)
    n <- length(rec$sizes)
    expect_identical(n, as.integer(ceiling(length(expected) / (3e6 + 1))))
    expect_true(all(rec$sizes[-n] == 3e6 + 1))
    expect_identical(sum(rec$sizes), length(expected))
  }
})
