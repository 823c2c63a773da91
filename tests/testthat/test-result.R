# The result of serialize(x, NULL) (src/result.c): a large result is an
# ALTREP raw vector over lowmem's own memory map; to R code it must be an
# ordinary raw vector in every way.

# Compared with identical(): a failing expect_identical() on megabytes of
# raw would spend minutes formatting the difference.
expect_same <- function(object, expected) {
  expect_true(identical(object, expected))
}

big_object <- function() {
  set.seed(42)
  data.frame(x = runif(3e5), s = sample(c(state.name, NA), 3e5, TRUE))
}

test_that("a large result is lowmem's own vector, a small one is R's", {
  x <- big_object()
  r <- lowmem::serialize(x, NULL)
  expect_true(lowmem:::result_info(r)$own)
  expect_false(lowmem:::result_info(lowmem::serialize(1:10, NULL))$own)
  # The universal path (a call inside) gets the same kind of result.
  u <- list(x, quote(f(y)))
  expect_identical(lowmem:::serialize_path(u)[[1]], "universal")
  ru <- lowmem::serialize(u, NULL)
  expect_true(lowmem:::result_info(ru)$own)
  expect_same(ru, base::serialize(u, NULL))
  # So does the one-pass path of a refhook.
  rh <- lowmem::serialize(list(x, new.env()), NULL, refhook = function(e) "env")
  expect_true(lowmem:::result_info(rh)$own)
  expect_same(rh, base::serialize(list(x, new.env()), NULL, refhook = function(e) "env"))
})

test_that("option lowmem.altrep = FALSE gives R's own vectors", {
  x <- big_object()
  old <- options(lowmem.altrep = FALSE)
  on.exit(options(old))
  r <- lowmem::serialize(x, NULL)
  expect_false(lowmem:::result_info(r)$own)
  expect_same(r, base::serialize(x, NULL))
})

test_that("the result behaves as an ordinary raw vector", {
  x <- big_object()
  b <- base::serialize(x, NULL)
  r <- lowmem::serialize(x, NULL)
  expect_true(lowmem:::result_info(r)$own)
  expect_identical(typeof(r), "raw")
  expect_identical(length(r), length(b))
  expect_same(r, b)
  expect_true(identical(b, r))
  expect_identical(unserialize(r), x)
  expect_same(r[1:100], b[1:100])
  expect_same(r[length(r)], b[length(b)])
  expect_same(rev(r)[1:10], rev(b)[1:10])
  expect_same(c(r, as.raw(1)), c(b, as.raw(1)))
  expect_same(rawToChar(r[3:4]), rawToChar(b[3:4]))
  expect_identical(as.integer(r[1:16]), as.integer(b[1:16]))
  expect_identical(which(r == as.raw(0))[1:5], which(b == as.raw(0))[1:5])
  expect_same(memCompress(r, "gzip"), memCompress(b, "gzip"))

  # Serialized by anyone, it is a plain raw vector: every format and version.
  for (version in 2:3) {
    for (xdr in c(TRUE, FALSE)) {
      expect_same(base::serialize(r, NULL, version = version, xdr = xdr),
                       base::serialize(b, NULL, version = version, xdr = xdr))
      expect_same(lowmem::serialize(list(r), NULL, version = version, xdr = xdr),
                       base::serialize(list(b), NULL, version = version, xdr = xdr))
    }
  }
  expect_same(lowmem::serialize(r, NULL, ascii = TRUE), base::serialize(b, NULL, ascii = TRUE))
  # lowmem's writer reads it natively.
  expect_identical(lowmem:::serialize_path(list(r))[[1]], lm_writer("native"))

  path <- tempfile(fileext = ".rds")
  on.exit(unlink(path))
  saveRDS(r, path)
  back <- readRDS(path)
  expect_same(back, b)
  expect_false(lowmem:::result_info(back)$own)

  con <- rawConnection(raw(0), "wb")
  writeBin(r, con)
  expect_same(rawConnectionValue(con), b)
  close(con)
})

test_that("modifying a copy leaves the original alone; in place works", {
  x <- big_object()
  b <- base::serialize(x, NULL)
  r <- lowmem::serialize(x, NULL)
  r2 <- r
  r2[1] <- as.raw(0xff)
  expect_same(r, b)
  expect_same(r2[1], as.raw(0xff))
  expect_same(r2[-1], b[-1])
  r[2] <- as.raw(0xee) # r is not shared now
  expect_same(r[2], as.raw(0xee))
  expect_same(r[-2], b[-2])
})

test_that("results are unmapped when collected, and dead ones do not pile up", {
  x <- big_object()
  size <- as.numeric(lowmem::serialized_size(x))
  invisible(gc())
  before <- lowmem:::result_info(NULL)$live_bytes
  r <- lowmem::serialize(x, NULL)
  expect_gte(lowmem:::result_info(NULL)$live_bytes - before, size)
  rm(r)
  invisible(gc())
  expect_lte(lowmem:::result_info(NULL)$live_bytes - before, 0)

  # A loop keeping one result alive: lowmem collects when the bytes mapped
  # since its last collection reach its threshold (the live ones, R's heap,
  # at least 64 MB), so the dead results mapped at any time stay bounded.
  # The loop maps twice the threshold at least: collections must happen.
  threshold <- lowmem:::result_info(NULL)$gc_threshold
  expect_gte(threshold, 64 * 2^20)
  most <- 0
  mapped <- 0
  while (mapped < 2 * threshold + 4 * size) {
    r <- lowmem::serialize(x, NULL)
    mapped <- mapped + size
    info <- lowmem:::result_info(NULL)
    most <- max(most, info$live_bytes - before)
    threshold <- max(threshold, info$gc_threshold)
  }
  expect_lte(most, threshold + 3 * size)
  rm(r)
  invisible(gc())
  expect_lte(lowmem:::result_info(NULL)$live_bytes - before, 0)
})

test_that("lowmem's collection threshold follows R's heap", {
  x <- big_object()
  lowmem:::result_test_collect("prepare")
  r <- lowmem::serialize(x, NULL)
  heap <- sum(gc()[, 2]) * 2^20
  threshold <- lowmem:::result_info(NULL)$gc_threshold
  expect_gte(threshold, 64 * 2^20)
  expect_gte(threshold, 0.5 * heap)
  expect_lte(threshold, max(64 * 2^20, 2 * heap))
  # A heap with many more objects raises it.
  strings <- paste0("s", seq_len(2e6))
  lowmem:::result_test_collect("prepare")
  r <- lowmem::serialize(x, NULL)
  expect_gte(lowmem:::result_info(NULL)$gc_threshold, threshold + 64 * 2^20)
  rm(strings)
})

test_that("results cross fork boundaries as plain raw vectors", {
  skip_on_os("windows")
  x <- big_object()
  b <- base::serialize(x, NULL)
  out <- parallel::mclapply(1:2, function(i) lowmem::serialize(x, NULL), mc.cores = 2)
  expect_same(out[[1]], b)
  expect_same(out[[2]], b)
  r <- lowmem::serialize(x, NULL)
  back <- parallel::mclapply(1:2, function(i) length(r) + as.integer(r[i]), mc.cores = 2)
  expect_same(back[[2]], length(b) + as.integer(b[2]))
})

# A finalizer that changes `obj` (removes an environment's binding, expands
# a deferred string), on an object that becomes garbage now.
finalizer_changing <- function(change) {
  local({
    junk <- new.env()
    reg.finalizer(junk, function(j) change())
  })
  invisible()
}

test_that("lowmem's own collection runs before the object is counted", {
  # R's writer (an environment inside): the finalizer removes a binding.
  e <- new.env(parent = emptyenv())
  e$big <- runif(2e5)
  e$small <- 1
  obj <- list(e, quote(f(x)))
  expect_identical(lowmem:::serialize_path(obj)[[1]], "universal")
  finalizer_changing(function() rm("big", envir = e))
  lowmem:::result_test_collect("prepare")
  r <- lowmem::serialize(obj, NULL)
  expect_false(exists("big", envir = e, inherits = FALSE))
  expect_same(r, base::serialize(obj, NULL))

  # The native writer: the finalizer expands a deferred string.
  s <- as.character(1:1e5)
  obj2 <- list(s, runif(2e5))
  expect_identical(lowmem:::serialize_path(obj2)[[1]], "native")
  finalizer_changing(function() match("x", s))
  lowmem:::result_test_collect("prepare")
  r2 <- lowmem::serialize(obj2, NULL)
  expect_true(lowmem:::result_info(r2)$own)
  expect_same(r2, base::serialize(obj2, NULL))
})

test_that("a collection between the passes that changes the object gives base's bytes", {
  # As when R's allocator collects garbage for the result (or an allocation
  # inside R's serializer does): the writing pass then disagrees with the
  # count, and R's serializer writes the object once more, in one pass.
  for (version in 2:3) {
    e <- new.env(parent = emptyenv())
    e$big <- runif(2e5)
    e$small <- 1
    obj <- list(e, quote(f(x)))
    finalizer_changing(function() rm("big", envir = e))
    lowmem:::result_test_collect("alloc")
    r <- lowmem::serialize(obj, NULL, version = version)
    expect_false(exists("big", envir = e, inherits = FALSE))
    expect_same(r, base::serialize(obj, NULL, version = version))
  }
  # Smaller than the count, and a small result from R's heap.
  e <- new.env(parent = emptyenv())
  e$a <- 1:10
  obj <- list(e, quote(f(x)))
  finalizer_changing(function() e$a <- runif(10))
  lowmem:::result_test_collect("alloc")
  r <- lowmem::serialize(obj, NULL, ascii = TRUE)
  expect_false(lowmem:::result_info(r)$own)
  expect_same(r, base::serialize(obj, NULL, ascii = TRUE))

  # The native writer: a deferred string expanded between its passes.
  for (xdr in c(TRUE, FALSE)) {
    s <- as.character(1:1e5)
    obj2 <- list(s, runif(2e5))
    finalizer_changing(function() match("x", s))
    lowmem:::result_test_collect("alloc")
    r2 <- lowmem::serialize(obj2, NULL, xdr = xdr)
    expect_same(r2, base::serialize(obj2, NULL, xdr = xdr))
  }
  # A writing pass thrown away leaves no mapping behind.
  invisible(gc())
  before <- lowmem:::result_info(NULL)$live_bytes
  s <- as.character(1:1e5)
  obj2 <- list(s, runif(2e5))
  finalizer_changing(function() match("x", s))
  lowmem:::result_test_collect("alloc")
  r2 <- lowmem::serialize(obj2, NULL)
  expect_lte(lowmem:::result_info(NULL)$live_bytes - before, length(r2) + 4096)
})

test_that("results outlive the package's unloading, and its reloading", {
  skip_if_not_installed("pkgload")
  # In a child: unloading lowmem here would break the rest of the suite.
  child <- hardening_run_child(timeout = 120, c(
    'x <- runif(3e5)',
    'b <- base::serialize(x, NULL)',
    'r <- lowmem::serialize(x, NULL)',
    'kept <- lowmem::serialize(list(x, quote(f(y))), NULL)',
    'stopifnot(lowmem:::result_info(r)$own, lowmem:::result_info(kept)$own)',
    'pkgload::unload("lowmem")',
    'stopifnot(!isNamespaceLoaded("lowmem"), !"lowmem" %in% names(getLoadedDLLs()))',
    'stopifnot(length(r) == length(b), identical(r, b), identical(r[5:20], b[5:20]))',
    'stopifnot(identical(unserialize(r), x), identical(base::serialize(r, NULL), base::serialize(b, NULL)))',
    'r[1] <- as.raw(0xff); stopifnot(r[1] == as.raw(0xff), identical(r[-1], b[-1]))',
    'rm(r); invisible(gc())',
    'loadNamespace("lowmem")',
    'r2 <- lowmem::serialize(x, NULL)',
    'stopifnot(lowmem:::result_info(r2)$own, identical(r2, b))',
    'stopifnot(identical(unserialize(kept), list(x, quote(f(y)))))',
    'rm(kept, r2); invisible(gc())',
    'stopifnot(lowmem:::result_info(NULL)$live_bytes == 0)',
    'r3 <- lowmem::serialize(x, NULL)',
    'pkgload::unload("lowmem"); rm(r3); invisible(gc()); invisible(gc())',
    'cat("survived\\n")'
  ))
  expect_identical(child$status, 0L, label = child$output)
  expect_match(child$output, "survived", fixed = TRUE)
})
