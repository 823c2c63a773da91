# Helpers for the streaming tests (test-connection.R, test-file.R).
#
# The oracle is base R: what lowmem writes to a connection is compared with
# what base::serialize() writes to a fresh connection of the same kind.

# ---- objects ------------------------------------------------------------

# Small objects of varied shapes, each serialized on its own.
stream_objects <- function() {
  cycle <- new.env()
  cycle$self <- cycle
  cycle$n <- 1:3
  list(
    df = data.frame(
      num = c(1.5, NA, -Inf, 3e300),
      chr = c("a", NA, "\u00e9t\u00e9", ""),
      int = c(1L, NA, 3L, 4L),
      fct = factor(c("u", "v", NA, "u")),
      stringsAsFactors = FALSE
    ),
    env_cycle = list(cycle, cycle, inner = list(cycle)),
    # Built without a srcref and never called, so it is never byte-compiled
    # between the base and the lowmem run.
    closure = as.function(alist(x = , y = 2, x + y * k),
                          envir = list2env(list(k = 3), parent = globalenv())),
    altrep = 1:10,
    # One string written by a single OutBytes call of 3 KB, larger than the
    # small chunk sizes.
    long_string = strrep("lowmem streams ", 200)
  )
}

# Larger than the default chunk (1 MiB) in every format, with one string
# (a single OutBytes call) that is itself larger than a chunk.
stream_big_object <- function() {
  list(
    ints = seq_len(1.5e5) * 7L,
    doubles = seq(0, 1, length.out = 2e4),
    text = strrep("abcdefgh", 1.5e5)
  )
}

# ---- format variants ----------------------------------------------------

# version 2/3 x ascii FALSE/TRUE/NA x xdr TRUE/FALSE; text-mode connections
# take only the ASCII formats (as base R, R_InitConnOutPStream).
stream_variants <- function(text_mode = FALSE) {
  grid <- expand.grid(
    version = 2:3, ascii = c(FALSE, TRUE, NA), xdr = c(TRUE, FALSE),
    KEEP.OUT.ATTRS = FALSE
  )
  if (text_mode) grid <- grid[!(grid$ascii %in% FALSE), ]
  lapply(seq_len(nrow(grid)), function(i) as.list(grid[i, ]))
}

stream_variant_label <- function(v) {
  sprintf("version = %d, ascii = %s, xdr = %s", v$version, v$ascii, v$xdr)
}

# ---- connections --------------------------------------------------------

stream_read_all <- function(con) {
  on.exit(close(con))
  out <- list()
  repeat {
    piece <- readBin(con, "raw", 1048576)
    if (length(piece) == 0) break
    out[[length(out) + 1L]] <- piece
  }
  if (length(out) == 0) raw() else unlist(out, use.names = FALSE)
}

# The file-backed connection kinds: a constructor and how to read the file
# back (decompressed by R's own connections).
stream_file_kinds <- list(
  file = list(make = function(path, mode) file(path, mode),
              read = function(path) stream_read_all(file(path, "rb"))),
  gzfile = list(make = function(path, mode) gzfile(path, mode),
                read = function(path) stream_read_all(gzfile(path, "rb"))),
  bzfile = list(make = function(path, mode) bzfile(path, mode),
                read = function(path) stream_read_all(bzfile(path, "rb"))),
  xzfile = list(make = function(path, mode) xzfile(path, mode),
                read = function(path) stream_read_all(xzfile(path, "rb"))),
  pipe = list(make = function(path, mode) pipe(paste("cat >", shQuote(path)), mode),
              read = function(path) stream_read_all(file(path, "rb")))
)

# What `write(con)` puts into a fresh connection of `kind` opened with
# `mode`, as a raw vector. For a textConnection, its lines joined by "\n".
# `server` is a socket server (see start_socket_server()) for kind "socket".
stream_written_by <- function(kind, mode, write, server = NULL) {
  if (kind == "rawConnection") {
    con <- rawConnection(raw(0), mode)
    on.exit(close(con))
    write(con)
    return(rawConnectionValue(con))
  }
  if (kind == "textConnection") {
    con <- textConnection(NULL, mode)
    on.exit(close(con))
    write(con)
    return(charToRaw(paste0(textConnectionValue(con), "\n", collapse = "")))
  }
  if (kind == "socket") {
    return(socket_written_by(server, mode, write))
  }
  path <- tempfile("lowmem-stream-")
  on.exit(unlink(path))
  con <- stream_file_kinds[[kind]]$make(path, mode)
  tryCatch(write(con), finally = close(con))
  stream_file_kinds[[kind]]$read(path)
}

# An object without environments, so that readRDS() gives back an identical
# one (test-file.R, test-zstd.R).
stream_plain_object <- function() {
  objects <- stream_objects()
  c(objects[c("df", "altrep", "long_string")], stream_big_object())
}

# ---- a socket server in a second R process ------------------------------

# Waits until another process creates `path` (it renames a finished file into
# place, or touches one when done): TRUE once it exists, FALSE if it has not
# after `timeout` seconds, a bound that only keeps a process that died from
# hanging the tests.
wait_for_file <- function(path, timeout = 300) {
  deadline <- proc.time()[["elapsed"]] + timeout
  while (!file.exists(path)) {
    if (proc.time()[["elapsed"]] > deadline) return(FALSE)
    Sys.sleep(0.01)
  }
  TRUE
}

# Starts an Rscript that listens on a free port and saves what each accepted
# connection sends into <dir>/<n> (n = 1, 2, ...), renaming a finished file
# into place. Returns NULL if no server could be started.
start_socket_server <- function(timeout = 300) {
  dir <- tempfile("lowmem-sockets-")
  dir.create(dir)
  script <- file.path(dir, "server.R")
  writeLines(c(
    "dir <- commandArgs(TRUE)[[1]]",
    "srv <- NULL",
    "for (port in sample(30000:59999, 30)) {",
    "  srv <- tryCatch(serverSocket(port), error = function(e) NULL)",
    "  if (!is.null(srv)) break",
    "}",
    "if (is.null(srv)) quit(status = 1)",
    "writeLines(as.character(c(port, Sys.getpid())), file.path(dir, 'port.tmp'))",
    "file.rename(file.path(dir, 'port.tmp'), file.path(dir, 'port'))",
    "i <- 0",
    "repeat {",
    "  con <- tryCatch(socketAccept(srv, blocking = TRUE, open = 'rb', timeout = 60),",
    "                  error = function(e) NULL)",
    "  if (is.null(con)) break",
    "  i <- i + 1",
    "  part <- file.path(dir, paste0(i, '.part'))",
    "  out <- file(part, 'wb')",
    "  repeat {",
    "    b <- readBin(con, 'raw', 65536)",
    "    if (length(b) == 0) break",
    "    writeBin(b, out)",
    "  }",
    "  close(out)",
    "  close(con)",
    "  file.rename(part, file.path(dir, i))",
    "}",
    "close(srv)"
  ), script)
  rscript <- file.path(R.home("bin"), "Rscript")
  system2(rscript, c("--vanilla", shQuote(script), shQuote(dir)),
          stdout = FALSE, stderr = FALSE, wait = FALSE)
  port_file <- file.path(dir, "port")
  if (!wait_for_file(port_file, timeout)) {
    unlink(dir, recursive = TRUE)
    return(NULL)
  }
  info <- as.integer(readLines(port_file))
  server <- new.env()
  server$dir <- dir
  server$port <- info[[1]]
  server$pid <- info[[2]]
  server$count <- 0L
  server
}

stop_socket_server <- function(server) {
  if (is.null(server)) return(invisible())
  tools::pskill(server$pid, tools::SIGKILL)
  unlink(server$dir, recursive = TRUE)
  invisible()
}

# Writes through a socket to the server and returns what it saved. The
# server renames a connection's file into place once it has read it to
# its end: that is the event waited for. The timeouts only keep a dead
# server from hanging the tests; no speed decides a test.
socket_written_by <- function(server, mode, write, timeout = 300) {
  con <- socketConnection("127.0.0.1", server$port, blocking = TRUE,
                          open = mode, timeout = timeout)
  tryCatch(write(con), finally = close(con))
  server$count <- server$count + 1L
  path <- file.path(server$dir, server$count)
  if (!wait_for_file(path, timeout)) stop("the socket server did not save connection ", server$count)
  on.exit(unlink(path))
  stream_read_all(file(path, "rb"))
}

# ---- files --------------------------------------------------------------

# A fresh, empty directory (the caller removes it).
stream_new_dir <- function() {
  dir <- tempfile("lowmem-file-")
  dir.create(dir)
  dir
}

stream_dir_entries <- function(dir) {
  sort(list.files(dir, all.files = TRUE, no.. = TRUE))
}

# lowmem's temporary files: ".lowmem-" and ten random letters and digits,
# then ".tmp" (src/rust/src/sink/atomic.rs).
is_lowmem_temp <- function(names) grepl("^\\.lowmem-[a-z0-9]{10}\\.tmp$", names)

stream_file_bytes <- function(path) readBin(path, "raw", file.size(path))

stream_running_as_root <- function() {
  identical(Sys.info()[["effective_user"]], "root")
}

# Mounts a tmpfs of `size` on a fresh directory, runs code(dir) and unmounts
# it, whatever happens. Skips unless running as root with mount(8) working.
with_tiny_tmpfs <- function(size, code) {
  testthat::skip_on_os(c("windows", "mac", "solaris"))
  testthat::skip_if_not(stream_running_as_root(), "mounting a tmpfs needs root")
  testthat::skip_if(Sys.which("mount") == "", "mount(8) is not available")
  dir <- tempfile("lowmem-tmpfs-")
  dir.create(dir)
  status <- suppressWarnings(system2(
    "mount", c("-t", "tmpfs", "-o", paste0("size=", size), "tmpfs", shQuote(dir)),
    stdout = FALSE, stderr = FALSE
  ))
  if (!identical(status, 0L)) {
    unlink(dir, recursive = TRUE)
    testthat::skip("cannot mount a tmpfs here")
  }
  on.exit({
    system2("umount", shQuote(dir), stdout = FALSE, stderr = FALSE)
    unlink(dir, recursive = TRUE)
  })
  code(dir)
}

# Write syscalls of this process so far (Linux task I/O accounting).
write_syscalls <- function() {
  lines <- readLines("/proc/self/io")
  as.numeric(sub(".*: *", "", grep("^syscw:", lines, value = TRUE)))
}

has_proc_io <- function() {
  file.exists("/proc/self/io") &&
    length(tryCatch(write_syscalls(), error = function(e) numeric())) == 1
}

# ---- comparing lowmem with base over connections ------------------------

# Serializes each object in every variant with base and with lowmem (at each
# chunk size; NULL = the default) to fresh connections of one kind, and
# returns a description of every case where lowmem's bytes differ from
# base's (or lowmem fails). Also checks the harness: base's bytes through the
# connection must equal base::serialize(x, NULL).
stream_mismatches <- function(kind, mode, objects, variants,
                              chunk_sizes = list(7, 1000, NULL), server = NULL) {
  out <- character()
  for (name in names(objects)) {
    x <- objects[[name]]
    for (v in variants) {
      base_writer <- function(con) {
        base::serialize(x, con, ascii = v$ascii, xdr = v$xdr, version = v$version)
      }
      expected <- stream_written_by(kind, mode, base_writer, server)
      case <- sprintf("%s %s (%s), %s", kind, shQuote(mode), name, stream_variant_label(v))
      in_memory <- base::serialize(x, NULL, ascii = v$ascii, xdr = v$xdr, version = v$version)
      if (!identical(expected, in_memory)) {
        out <- c(out, paste0(case, ": the harness is broken: base's bytes through the connection ",
                             "differ from base::serialize(x, NULL)"))
      }
      for (cs in chunk_sizes) {
        lowmem_writer <- if (is.null(cs)) {
          function(con) lowmem::serialize(x, con, ascii = v$ascii, xdr = v$xdr, version = v$version)
        } else {
          function(con) {
            lowmem::serialize(x, con, ascii = v$ascii, xdr = v$xdr, version = v$version,
                              chunk_size = cs)
          }
        }
        got <- tryCatch(stream_written_by(kind, mode, lowmem_writer, server), error = identity)
        reason <- stream_bytes_difference(got, expected)
        if (!is.null(reason)) {
          out <- c(out, sprintf("%s, chunk_size = %s: %s", case,
                                if (is.null(cs)) "default" else cs, reason))
        }
      }
    }
  }
  out
}

# NULL if `got` is `expected`, else why not.
stream_bytes_difference <- function(got, expected) {
  if (inherits(got, "error")) return(paste("error:", conditionMessage(got)))
  if (identical(got, expected)) return(NULL)
  n <- min(length(got), length(expected))
  first <- which(got[seq_len(n)] != expected[seq_len(n)])[1]
  sprintf("%d bytes instead of base's %d, first difference at byte %s",
          length(got), length(expected), if (is.na(first)) n + 1 else first)
}

# ---- refhooks -----------------------------------------------------------

# Environments reachable more than once, and a vector larger than a chunk.
stream_refhook_object <- function() {
  e1 <- new.env()
  e2 <- new.env()
  e1$peer <- e2
  e2$peer <- e1
  e1$values <- seq_len(5e5) * 2L
  list(e1, e2, e1, list(e2, new.env(), globalenv()), new.env())
}

# A refhook whose answers depend on the order of the calls (every second
# environment gets a persistent name), so replayed answers must come back
# in order to give base's bytes; and a counter of its calls.
stream_naming_hook <- function() {
  calls <- 0
  list(
    hook = function(e) {
      calls <<- calls + 1
      if (calls %% 2 == 0) paste0("ref", calls) else NULL
    },
    calls = function() calls
  )
}

# ---- tracing the chunk writes -------------------------------------------

# Traces lowmem:::write_chunk() (R/connection.R), the R function that
# writes each chunk to a connection, so that `action(call)` runs before each
# of its calls with the call's number. Returns the state: `calls` counts
# the calls (reset it to start again). The caller undoes the trace with
# untrace_write_chunk().
trace_write_chunk <- function(action) {
  state <- new.env()
  state$calls <- 0L
  suppressMessages(trace(
    "write_chunk", where = asNamespace("lowmem"), print = FALSE,
    tracer = bquote({
      s <- .(state)
      s$calls <- s$calls + 1L
      .(action)(s$calls)
    })
  ))
  state
}

untrace_write_chunk <- function() {
  suppressMessages(untrace("write_chunk", where = asNamespace("lowmem")))
}
