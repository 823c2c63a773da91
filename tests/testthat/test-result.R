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
  expect_identical(lowmem:::serialize_path(list(r))[[1]], "native")

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
  # since its last collection reach the live ones (at least 64 MB), so the
  # dead results mapped at any time stay bounded.
  most <- 0
  for (i in 1:40) {
    r <- lowmem::serialize(x, NULL)
    most <- max(most, lowmem:::result_info(NULL)$live_bytes - before)
  }
  expect_lte(most, 2 * 64 * 2^20 + 4 * size)
  rm(r)
  invisible(gc())
  expect_lte(lowmem:::result_info(NULL)$live_bytes - before, 0)
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
