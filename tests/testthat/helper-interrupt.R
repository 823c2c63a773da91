# Helpers for test-interrupt.R and test-leaks.R: interrupts that arrive at a
# chosen point of a call, armed through lowmem's test hook (R/testhook.R,
# src/testhook.c), never by a timer, so they arrive mid-stream on a machine
# of any speed under any load.

# The hook is compiled out on Windows (src/testhook.c): it returns NA there.
skip_without_interrupt_hook <- function() {
  if (is.na(lowmem:::test_interrupt_at(0L))) {
    testthat::skip("no interrupt test hook here: R for Windows takes no SIGINT raised from C (src/testhook.c)")
  }
}

# Evaluates `expr` with the hook armed at the `at`-th interrupt check of
# lowmem's C code (NULL: `expr` arms it itself, from inside the stream, with
# interrupt_next()). Returns the interrupt condition, or the value of `expr`
# if none came. The hook is disarmed on the way out, whatever happens.
with_interrupt_at <- function(at, expr) {
  skip_without_interrupt_hook()
  on.exit(lowmem:::test_interrupt_at(0L), add = TRUE)
  if (!is.null(at)) lowmem:::test_interrupt_at(at)
  tryCatch(expr, interrupt = identity)
}

# Arms the hook for the next check: for a refhook or a progress callback,
# which the stream calls, so that the interrupt comes right after them.
interrupt_next <- function() invisible(lowmem:::test_interrupt_at(1L))

# How many interrupt checks `f()` makes: the hook armed too far ahead to
# fire counts them.
interrupt_checks <- function(f) {
  skip_without_interrupt_hook()
  far <- .Machine$integer.max
  lowmem:::test_interrupt_at(far)
  on.exit(lowmem:::test_interrupt_at(0L))
  f()
  far - lowmem:::test_interrupt_at(0L)
}

# Checks 1, 2, the middle one and the last of `n`: the start, the middle
# and the end of a call.
interrupt_points <- function(n) unique(pmax(1L, c(1L, 2L, n %/% 2L, n)))

expect_interrupt <- function(result, label = NULL) {
  expect_s3_class(result, "interrupt")
  if (!inherits(result, "interrupt")) {
    fail(paste(label, "not interrupted: got", paste(class(result), collapse = "/")))
  }
}

# The bytes of all lowmem_raw results not yet collected (src/result.c),
# after a collection: an interrupted serialize(x, NULL) must leave none.
live_result_bytes <- function() {
  invisible(gc())
  lowmem:::result_info(raw(0))$live_bytes
}

# Writes an "old" file at `path`; returns its bytes.
old_file <- function(path) {
  saveRDS("the old file", path, compress = FALSE)
  stream_file_bytes(path)
}

# A following write works: the session is usable.
expect_usable_session <- function(dir) {
  path <- file.path(dir, "after.rds")
  serialize_to_file(list(1:3, "after"), path)
  expect_identical(readRDS(path), list(1:3, "after"))
  unlink(path)
}

# The shape of every interrupted file write: an old file at `dir`/x.rds,
# then write(path, arm), which must call arm() from inside the stream (a
# refhook, a progress callback). arm() notes the directory as it is then
# (the temporary file must be there: mid-stream) and arms the interrupt for
# the next check. Afterwards: an interrupt, the old file as it was, nothing
# else left in the directory.
expect_interrupted_file_write <- function(dir, write, label) {
  path <- file.path(dir, "x.rds")
  old <- old_file(path)
  seen <- NULL
  arm <- function() {
    if (is.null(seen)) {
      seen <<- stream_dir_entries(dir)
      interrupt_next()
    }
  }
  expect_interrupt(with_interrupt_at(NULL, write(path, arm)), label)
  expect_true(any(is_lowmem_temp(seen)), label = paste(label, "armed mid-stream"))
  expect_identical(stream_file_bytes(path), old, label = label)
  expect_identical(stream_dir_entries(dir), "x.rds", label = label)
}
