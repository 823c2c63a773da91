# Leaks: memory, files, descriptors and threads stay flat over many calls,
# successful, failing and interrupted, of every kind. Memory is the
# resident set measured by rss_growth() (helper-rss.R), each with a
# positive control that really leaks; descriptors and threads are counted.
# The margins were measured on a 2-core machine with both cores kept busy
# by other processes (see rss_growth()'s LOWMEM_TEST_RSS_LOG): RSS growth
# does not depend on the CPU load, only on the heap's layout.

# A ~100 KB object: a double vector, strings and a data frame, so that
# several of R's item types go through the stream.
leak_object <- function() {
  set.seed(6)
  list(
    x = runif(1.1e4),
    s = as.character(seq_len(500)),
    df = data.frame(a = seq_len(200), b = rep_len(letters, 200))
  )
}

# ---- successful and failing calls ---------------------------------------------

# A leak of the output's size on every call would add about 1000 x 100 KB =
# 100 MB over the loop; the threshold is half of that. A quarter (25 MB) was
# not enough: late in a full R CMD check run, 1000 calls of serialize(x, NULL)
# once grew RSS by 31 MB through the heap's layout alone (in a fresh
# process 6000 calls grow it by 0.0 MB). The positive control proves the
# measure sees a real leak (it keeps ~200 MB).
leak_mb <- 50

test_that("the RSS measure detects a leak of the output's size (positive control)", {
  hardening_skip_unless_proc()
  obj <- leak_object()
  kept <- list()
  # Two outputs kept per call: late in a check run the heap holds freed
  # pages that are still resident, which absorb part of a leak before the
  # RSS grows (one output per call was once seen as 44.5 MB on R 4.6.2,
  # where the tap's own allocations come and go on every call).
  growth <- rss_growth(function() {
    kept[[length(kept) + 1L]] <<- list(lowmem::serialize(obj, NULL), lowmem::serialize(obj, NULL))
  })
  expect_gt(length(lowmem::serialize(obj, NULL)), 90e3)
  expect_gt(growth, leak_mb)
  rm(kept)
})

test_that("serialize(x, NULL) and serialized_size(x) do not leak", {
  hardening_skip_unless_proc()
  obj <- leak_object()
  expect_lt(rss_growth(function() lowmem::serialize(obj, NULL)), leak_mb)
  expect_lt(rss_growth(function() lowmem::serialized_size(obj)), leak_mb)
  expect_lt(rss_growth(function() lowmem::serialize(obj, NULL, ascii = TRUE), n = 200L), leak_mb)
})

test_that("serialize(x, con) leaks no memory and no connections", {
  hardening_skip_unless_proc()
  obj <- leak_object()
  connections <- nrow(showConnections(all = TRUE))
  fds <- hardening_open_fds()
  # An unopened connection: lowmem opens it and closes (destroys) it again.
  expect_lt(rss_growth(function() lowmem::serialize(obj, file(nullfile()))), leak_mb)
  expect_lt(rss_growth(function() {
    con <- rawConnection(raw(0), "wb")
    on.exit(close(con))
    lowmem::serialize(obj, con, chunk_size = 16384)
  }), leak_mb)
  expect_identical(nrow(showConnections(all = TRUE)), connections)
  expect_identical(hardening_open_fds(), fds)
})

test_that("digest() does not leak, also when its refhook fails", {
  hardening_skip_unless_proc()
  obj <- leak_object()
  expect_lt(rss_growth(function() lowmem::digest(obj, "sha256")), leak_mb)
  x <- lm_big_object_with_env()
  expect_lt(rss_growth(function() try(lowmem::digest(x, "md5", refhook = lm_boom), silent = TRUE), n = 200L),
            leak_mb)
})

test_that("serialize_to_file() leaks no memory, files, descriptors or threads", {
  hardening_skip_unless_proc()
  obj <- leak_object()
  dir <- hardening_scratch_dir()
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  path <- file.path(dir, "out.rds")
  fds <- hardening_open_fds()
  threads <- thread_count()

  expect_lt(rss_growth(function() serialize_to_file(obj, path)), leak_mb)
  expect_identical(readBin(path, "raw", 1e6), base::serialize(obj, NULL))
  expect_lt(rss_growth(function() serialize_to_file(obj, path, compress = "gzip")), leak_mb)
  expect_identical(readRDS(path), obj)

  expect_identical(hardening_entries(dir), "out.rds")
  expect_identical(hardening_open_fds(), fds)
  expect_identical(thread_count(), threads)
})

test_that("failing calls leak no memory, files or descriptors either", {
  hardening_skip_unless_proc()
  # An environment makes R call the refhook, which fails: in the counting pass
  # for serialize(x, NULL), after the file was created for serialize_to_file().
  obj <- c(leak_object(), list(env = new.env()))
  boom <- function(x) stop("refhook failed")
  dir <- hardening_scratch_dir()
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  path <- file.path(dir, "out.rds")
  writeBin(as.raw(1:3), path)
  fds <- hardening_open_fds()
  threads <- thread_count()
  fails <- function(expr) tryCatch({ expr; FALSE }, error = function(e) TRUE)

  expect_lt(rss_growth(function() {
    stopifnot(fails(lowmem::serialize(obj, NULL, refhook = boom)))
  }), leak_mb)
  expect_lt(rss_growth(function() {
    stopifnot(fails(serialize_to_file(obj, path, compress = "gzip", refhook = boom)))
  }, n = 500L), leak_mb)
  expect_lt(rss_growth(function() {
    stopifnot(fails(serialize_to_file(obj, file.path(dir, "no", "such", "dir.rds"))))
  }), leak_mb)

  expect_identical(hardening_entries(dir), "out.rds")
  expect_identical(readBin(path, "raw", 10), as.raw(1:3))
  expect_identical(hardening_open_fds(), fds)
  expect_identical(thread_count(), threads)
})

test_that("a connection write that fails leaks nothing", {
  hardening_skip_unless_proc()
  skip_if_not(file.exists("/dev/full"), "needs /dev/full")
  # Every write to /dev/full fails: writeBin() warns and lowmem turns the
  # warning into its error. R's writeBin() holds a copy of the chunk in
  # memory from R_Calloc() (src/main/connections.c, do_writebin) that it
  # frees only after the warning returns; leaving writeBin() by a jump from
  # a calling handler skips that free. With 1 MiB chunks, 100 failed calls
  # would then leave about 100 MB behind.
  x <- runif(2e5) # 1.6 MB: the first full chunk is written, and fails
  con <- file("/dev/full", "wb", raw = TRUE)
  on.exit(close(con), add = TRUE)
  expect_error(lowmem::serialize(x, con, chunk_size = 2^20), class = "lowmem_error_io")
  fails <- function(expr) tryCatch({ expr; FALSE }, error = function(e) TRUE)
  growth <- rss_growth(function() {
    stopifnot(fails(lowmem::serialize(x, con, chunk_size = 2^20)))
  }, n = 100L)
  expect_lt(growth, leak_mb)
})

# A leak of the object's size on every call would add 200 MB over 200 calls.
leak_failures_mb <- 16

test_that("failing serializations do not leak memory (200 reps of a ~1 MB object)", {
  skip_unless_rss()
  x <- lm_big_object_with_env()
  expect_gt(lowmem::serialized_size(x), 1e6)

  # Positive control: the measurement sees memory that is really kept, here
  # 200 x 1 MB = 200 MB retained in a list (more than free heap left by
  # earlier tests could absorb).
  kept <- list()
  leak <- function() kept[[length(kept) + 1L]] <<- runif(131072)
  expect_gt(rss_growth(leak, 200), leak_failures_mb)
  rm(kept)

  # The hook fails during the counting pass.
  fail_counting <- function() {
    try(lowmem::serialize(x, NULL, refhook = lm_boom), silent = TRUE)
    try(lowmem::serialized_size(x, refhook = lm_boom), silent = TRUE)
  }
  expect_lt(rss_growth(fail_counting, 200), leak_failures_mb)

  # A hook that changes the object while it is written (which made the
  # writing pass of a two-pass design overrun its count; with a hook lowmem
  # now writes in one pass, as base R).
  fail_writing <- function() {
    y <- x
    y$env <- new.env(parent = emptyenv())
    target <- new.env(parent = emptyenv())
    y$after <- target
    y$first <- new.env(parent = emptyenv())
    y <- y[c("first", "head", "env", "tail", "after")]
    first <- y$first
    hook <- function(e) {
      if (identical(e, target)) assign("grow", seq_len(1000) + 0.5, envir = first)
      NULL
    }
    try(lowmem::serialize(y, NULL, refhook = hook), silent = TRUE)
  }
  expect_lt(rss_growth(fail_writing, 200), leak_failures_mb)

  # Successful calls, for comparison.
  succeed <- function() lowmem::serialize(x, NULL)
  expect_lt(rss_growth(succeed, 200), leak_failures_mb)
})

# ---- interrupted calls ----------------------------------------------------------

# Interrupted at a check of the hook (helper-interrupt.R) in the middle of
# the call, 100 times each: if an interrupted call left its output, its
# buffers or its job behind, 100 of them would leave 100 x 1.6 MB = 160 MB
# (raw, file) or at least the chunk buffers (connections).
test_that("interrupted calls leak no memory, files, descriptors or threads", {
  hardening_skip_unless_proc()
  x <- runif(2e5) # 1.6 MB
  y <- list(new.env(), x) # for R's writer
  dir <- hardening_scratch_dir()
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  path <- file.path(dir, "out.rds")
  writeBin(as.raw(1:3), path)
  fds <- hardening_open_fds()
  threads <- thread_count()
  connections <- nrow(showConnections(all = TRUE))
  interrupted <- function(at, expr) stopifnot(inherits(with_interrupt_at(at, expr), "interrupt"))
  arm <- function(e) {
    interrupt_next()
    NULL
  }
  # Positive control: the same loop keeping each output.
  kept <- list()
  expect_gt(rss_growth(function() kept[[length(kept) + 1L]] <<- lowmem::serialize(x, NULL),
                       n = 100L, warmup = 0L), leak_mb)
  rm(kept)

  # The native writer checks serialize(x, NULL) every 16 MB: 20 MB are one
  # check in the counting pass, one in the writing pass, where the 20 MB
  # result exists. 50 calls leaving it would leave 1 GB.
  big <- runif(2.5e6)
  expect_lt(rss_growth(function() interrupted(2L, lowmem::serialize(big, NULL)), n = 50L,
                       label = "interrupted raw_native"), leak_mb)
  expect_lt(rss_growth(function() interrupted(2L, lowmem::digest(big, "md5")), n = 50L,
                       label = "interrupted digest_native"), leak_mb)
  calls <- list(
    raw_r = function() interrupted(NULL, lowmem::serialize(y, NULL, refhook = arm)),
    con_native = function() {
      con <- rawConnection(raw(0), "wb")
      on.exit(close(con))
      interrupted(3L, lowmem::serialize(x, con, chunk_size = 65536))
    },
    con_r = function() {
      con <- rawConnection(raw(0), "wb")
      on.exit(close(con))
      interrupted(NULL, lowmem::serialize(y, con, chunk_size = 65536, refhook = arm))
    },
    file_native_gzip = function() interrupted(3L, serialize_to_file(x, path, compress = "gzip", compression_level = 1)),
    file_r = function() interrupted(NULL, serialize_to_file(y, path, refhook = arm)),
    digest_r = function() interrupted(NULL, lowmem::digest(y, "md5", refhook = arm))
  )
  for (name in names(calls)) {
    expect_lt(rss_growth(calls[[name]], n = 100L, label = paste("interrupted", name)), leak_mb,
              label = name)
  }
  expect_identical(readBin(path, "raw", 10), as.raw(1:3))
  expect_identical(hardening_entries(dir), "out.rds")
  expect_identical(hardening_open_fds(), fds)
  expect_identical(thread_count(), threads)
  expect_identical(nrow(showConnections(all = TRUE)), connections)
})
