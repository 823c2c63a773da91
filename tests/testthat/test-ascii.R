# Doubles in the ASCII formats: lowmem writes them with its own formatter
# (src/rust/src/format/dtoa.rs: glibc's %.16g for ascii = TRUE, %a for
# ascii = NA), base R with the C library's printf. The bytes must be the
# same for every double. Helpers: helper-oracle.R, helper-stream.R.

# ascii = TRUE and NA, versions 3 and 2 (xdr does not matter in text).
ascii_variants <- function() {
  Filter(function(v) !isFALSE(v$ascii) && v$xdr, lm_variants())
}

# The doubles where a formatter goes wrong first.
ascii_edge_doubles <- function() {
  xmin <- .Machine$double.xmin
  xmax <- .Machine$double.xmax
  tiny <- 2^-1074
  c(
    0, -0, NA_real_, NaN, -NaN, Inf, -Inf,
    # Subnormals: smallest, a few, largest; DBL_MIN, DBL_MAX.
    tiny, -tiny, 3 * tiny, 2^-1060, 2^-1023, xmin - tiny, -(xmin - tiny), xmin, -xmin, xmax, -xmax,
    # Powers of two and ten across the range.
    2^(-1074:1023), 10^(-323:308), -10^(-20:20),
    1e-5, 1e-4, 1e15, 1e16, 1e22, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, 2 / 3, pi, exp(1), 1.5, 100,
    # %g's switch to the exponent form: just below and above 1e-4 and 1e16.
    9.999999999999999e-05, 0.00010000000000000002, 9999999999999998, 1.0000000000000002e16,
    999999999999999.9, 99999999999999.98,
    # Ties at the 17th significant digit (exact binary values): to even.
    1234567890123456.5, 1234567890123457.5, 4503599627370495.5, 0.5, 2.5,
    # Integers up to 2^53 and beyond.
    2^53 - (0:20), 2^53 + c(2, 4), 2^63, 2^64, 123456789012345678, -123456789012345678,
    0:1000, -(1:100),
    # One ulp either side of 1.
    1 + .Machine$double.eps, 1 - .Machine$double.eps / 2
  )
}

# Random doubles of every kind: uniform, normal at every scale, "nice"
# decimals (rounded to 0 to 6 places, as data read from text are), random
# bit patterns (NaN payloads and subnormals among them).
ascii_random_doubles <- function(n = 20000L) {
  set.seed(20261208)
  bits <- readBin(as.raw(sample.int(256L, 8L * n, replace = TRUE) - 1L), "double", n, size = 8L)
  c(
    runif(n),
    rnorm(n) * 10^sample(-300:300, n, replace = TRUE),
    round(rnorm(n) * 1000, sample(0:6, n, replace = TRUE)),
    bits
  )
}

test_that("edge doubles are written as base writes them in both ASCII formats", {
  x <- ascii_edge_doubles()
  expect_identical_to_base(x, variants = ascii_variants())
  # One double per vector too: each its own line, no neighbour to hide behind.
  for (v in x[c(1:18, length(x))]) {
    expect_identical_to_base(v, variants = ascii_variants(), label = format(v, digits = 17))
  }
})

test_that("random doubles are written as base writes them in both ASCII formats", {
  expect_identical_to_base(ascii_random_doubles(), variants = ascii_variants(),
                           label = "random doubles")
})

test_that("complex vectors are written as base writes them in both ASCII formats", {
  edge <- ascii_edge_doubles()
  z <- complex(real = edge, imaginary = rev(edge))
  expect_identical_to_base(z, variants = ascii_variants())
  r <- ascii_random_doubles(5000L)
  expect_identical_to_base(complex(real = r, imaginary = rev(r)), variants = ascii_variants(),
                           label = "random complex")
})

test_that("doubles inside objects and attributes are written as base writes them", {
  x <- list(
    a = structure(c(0.1, -0, 5e-324), dim = c(1L, 3L), scale = 1e-300),
    df = data.frame(x = c(1.5, NA, -Inf, 3e300), y = c(2^-1074, NaN, Inf, 1 / 3))
  )
  expect_identical_to_base(x, variants = ascii_variants())
})

test_that("serialize_to_file(ascii = ) writes saveRDS()'s bytes for the doubles", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  ours <- file.path(dir, "lowmem.rds")
  theirs <- file.path(dir, "base.rds")
  x <- list(ascii_edge_doubles(), ascii_random_doubles(2000L))
  x[[3]] <- complex(real = x[[2]], imaginary = rev(x[[2]]))
  for (version in 2:3) {
    for (ascii in c(TRUE, NA)) {
      refused <- tryCatch({
        saveRDS(x, theirs, ascii = ascii, version = version, compress = FALSE)
        NULL
      }, error = conditionMessage)
      if (!is.null(refused)) next # R >= 4.6 refuses ascii = NA (test-file.R checks lowmem does too)
      serialize_to_file(x, ours, ascii = ascii, version = version, chunk_size = 1000)
      expect_identical(stream_file_bytes(ours), stream_file_bytes(theirs),
                       label = sprintf("version = %d, ascii = %s", version, ascii))
    }
  }
})
