# Interrupts in the middle of every kind of call, in both writers (the
# native one and R's, which a refhook selects) and every codec. Each
# interrupt is armed from inside the call by lowmem's test hook (see
# helper-interrupt.R), so it arrives at a known interrupt check whatever the
# machine's speed. Afterwards: R's interrupt condition, nothing half-written
# left, the memory given back, and the session serializing normally. That
# repeated interrupted calls leak nothing is in test-leaks.R.

interrupt_object <- function() {
  set.seed(5)
  runif(5e6) # 40 MB: a few 16 MB steps of the native writer per pass
}

# An object whose count takes many steps: a count reads lengths, not vector
# data, so its steps go with the nodes (here the strings) it looks at.
size_object <- function() paste0("s", seq_len(2e5))

# A refhook that arms the interrupt when R's writer calls it: the object
# starts with an environment, so that is at the start of the stream.
arming_hook <- function(e) {
  interrupt_next()
  NULL
}

expect_session_works <- function() {
  small <- list(runif(1e4), as.character(1:500), data.frame(a = 1:20, b = letters[1:20]))
  expected <- base::serialize(small, NULL)
  expect_identical(lowmem::serialize(small, NULL), expected)
  con <- rawConnection(raw(0), "wb")
  on.exit(close(con))
  lowmem::serialize(small, con, chunk_size = 4096)
  expect_identical(rawConnectionValue(con), expected)
  expect_identical(lowmem::serialized_size(small), as.double(length(expected)))
}

test_that("the hook counts interrupt checks and fires once, at the one asked for", {
  x <- size_object()
  n <- interrupt_checks(function() lowmem::serialized_size(x))
  expect_gte(n, 2)
  expect_identical(interrupt_checks(function() lowmem::serialized_size(x)), n) # deterministic
  # Armed past the call's checks: no interrupt, and it is still armed after.
  lowmem:::test_interrupt_at(n + 5L)
  expect_identical(lowmem::serialized_size(x), as.double(length(base::serialize(x, NULL))))
  expect_identical(lowmem:::test_interrupt_at(0L), 5L)
  # Fired: disarmed (one-shot).
  expect_interrupt(with_interrupt_at(n, lowmem::serialized_size(x)))
  expect_identical(lowmem:::test_interrupt_at(0L), 0L)
  expect_identical(lowmem::serialized_size(x), as.double(length(base::serialize(x, NULL))))
})

test_that("serialize(x, NULL) interrupted at any check leaves no result behind", {
  x <- interrupt_object()
  expected <- base::serialize(x, NULL)
  before <- live_result_bytes()
  writers <- list(native = NULL, "R's" = arming_hook)
  for (name in names(writers)) {
    hook <- writers[[name]]
    y <- if (is.null(hook)) x else list(new.env(), x)
    quiet <- if (is.null(hook)) NULL else function(e) NULL # R's writer, no interrupt
    n <- interrupt_checks(function() lowmem::serialize(y, NULL, refhook = quiet))
    expect_gte(n, 4) # counting and writing pass, or R's writer every 4 KB
    for (at in interrupt_points(n)) {
      label <- sprintf("%s writer, check %d of %d", name, at, n)
      expect_interrupt(with_interrupt_at(at, lowmem::serialize(y, NULL, refhook = quiet)), label)
      expect_identical(live_result_bytes(), before, label = label)
    }
    if (!is.null(hook)) {
      # Armed from the refhook, mid-stream.
      expect_interrupt(with_interrupt_at(NULL, lowmem::serialize(y, NULL, refhook = hook)), name)
      expect_identical(live_result_bytes(), before, label = name)
    }
  }
  expect_identical(lowmem::serialize(x, NULL), expected)
  expect_session_works()
})

test_that("serialized_size(x) interrupted mid-count is an interrupt", {
  x <- size_object()
  n <- interrupt_checks(function() lowmem::serialized_size(x))
  for (at in interrupt_points(n)) {
    expect_interrupt(with_interrupt_at(at, lowmem::serialized_size(x)), paste("check", at))
  }
  y <- list(new.env(), x)
  expect_interrupt(with_interrupt_at(NULL, lowmem::serialized_size(y, refhook = arming_hook)))
  expect_session_works()
})

test_that("serialize(x, con) interrupted mid-stream wrote a prefix and closes what it opened", {
  x <- interrupt_object()
  for (name in c("native", "R's")) {
    y <- if (name == "native") x else list(new.env(), x)
    hook <- if (name == "native") NULL else arming_hook
    at <- if (name == "native") 3L else NULL # else armed from the refhook
    expected <- base::serialize(y, NULL)

    con <- rawConnection(raw(0), "wb")
    expect_interrupt(with_interrupt_at(at, lowmem::serialize(y, con, chunk_size = 65536, refhook = hook)),
                     name)
    written <- rawConnectionValue(con)
    close(con)
    expect_lt(length(written), length(expected)) # stopped midway, not at the end
    expect_identical(written, expected[seq_along(written)], label = name)

    # A connection lowmem opened itself is closed (destroyed) on the way out.
    path <- tempfile()
    connections <- nrow(showConnections(all = TRUE))
    expect_interrupt(with_interrupt_at(at, lowmem::serialize(y, file(path), refhook = hook)), name)
    expect_identical(nrow(showConnections(all = TRUE)), connections, label = name)
    expect_lt(file.size(path), length(expected))
    unlink(path)
  }
  expect_session_works()
})

test_that("serialize_to_file() interrupted mid-stream, every codec and writer: old file intact, no debris", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  set.seed(7)
  x <- runif(5e5) # 4 MB: progress is reported from 1 MiB on, then the interrupt
  codecs <- c(none = 0L, gzip = 1L, bzip2 = 2L, xz = 3L)
  threads <- if (file.exists("/proc/self/status")) lowmem:::rss_status()[["threads"]]
  for (codec in names(codecs)) {
    compress <- if (codec == "none") FALSE else codec
    # R's writer, armed by the refhook at the environment that starts the stream.
    expect_interrupted_file_write(dir, function(path, arm) {
      serialize_to_file(list(new.env(), x), path, compress = compress, compression_level = 1,
                        refhook = function(e) { arm(); NULL })
    }, paste("R's writer,", codec))
    # The native writer, armed by the progress callback that C calls between
    # its steps (passed to the entry point directly: the public `progress`
    # only takes TRUE, FALSE or NA).
    expect_interrupted_file_write(dir, function(path, arm) {
      .Call(lowmem:::C_lowmem_serialize_file, x, path, codecs[[codec]], 1L, 0L, NULL, NULL,
            65536, function(done, total) if (done > 0) arm())
    }, paste("native writer,", codec))
    expect_identical(as.vector(lowmem:::last_stream_path()), lm_writer("native"))
    # The compressors' worker threads are gone too.
    if (!is.null(threads)) expect_identical(lowmem:::rss_status()[["threads"]], threads, label = codec)
  }
  expect_usable_session(dir)
  expect_session_works()
})
