# digest(): digest::digest() is the oracle. Every comparison is
# identical(lowmem::digest(x, algo, ...), digest::digest(x, algo, ...)):
# for every fixture and algorithm, over raw, length, skip, ascii, seed and
# both serialization versions; then over random objects. With a refhook
# (digest has none) the oracle is digest's hash of base::serialize()'s
# bytes, skipped as digest's "auto" skips them.

digest_algos <- c("md5", "sha1", "crc32", "sha256", "sha512", "xxhash32", "xxhash64",
                  "murmur32", "blake3")

# Comparisons made (and held) in this file; printed at the end when
# LOWMEM_DIGEST_COUNT is set.
digest_count <- new.env(parent = emptyenv())
digest_count$n <- 0L

# The argument sets every fixture is hashed with, for each algorithm.
digest_arg_sets <- function() {
  list(
    list(),
    list(serializeVersion = 3L),
    list(raw = TRUE),
    list(raw = TRUE, serializeVersion = 3L),
    list(ascii = TRUE),
    list(ascii = TRUE, serializeVersion = 3L),
    list(ascii = TRUE, raw = TRUE),
    list(skip = 0),
    list(skip = 3, length = 40),
    list(length = 0),
    list(length = 17, serializeVersion = 3L),
    list(skip = 1e6),
    list(ascii = TRUE, skip = 5, length = 100),
    list(ascii = NA, skip = 0),
    list(seed = 7L),
    list(seed = -1L, serializeVersion = 3L)
  )
}

# A value or an error, for a message.
digest_shown <- function(x) {
  if (inherits(x, "error")) return(paste("<error:", conditionMessage(x), ">"))
  paste(format(x), collapse = " ")
}

# The first mismatch as text, or NULL if lowmem agrees with `expected`.
# The serializer's warnings ("'package:x' may not be available when
# loading") are both packages' and are not compared.
digest_mismatch <- function(x, algo, args, expected) {
  got <- tryCatch(suppressWarnings(do.call(lowmem::digest, c(list(x, algo), args), quote = TRUE)),
                  error = identity)
  digest_count$n <- digest_count$n + 1L
  if (identical(got, expected)) return(NULL)
  sprintf("%s, %s: lowmem %s, digest %s", algo, deparse1(args[names(args) != "refhook"]),
          digest_shown(got), digest_shown(expected))
}

# Objects whose stream changes from one serialization to the next (a srcref's
# srcfile environment that testthat's parser is still filling) cannot be
# compared across two calls.
digest_stable <- function(x) {
  suppressWarnings(identical(base::serialize(x, NULL), base::serialize(x, NULL)))
}

# digest up to 0.6.37 ignores `raw` for the algorithms whose hash is a
# number and returns its hex text; from 0.6.38 on (and in lowmem) it
# returns the number's bytes, most significant first: the same hex digits.
digest_numbers <- c("crc32", "xxhash32", "xxhash64", "murmur32")
digest_raw_of_hex <- function(hex) {
  as.raw(strtoi(substring(hex, seq(1L, nchar(hex), 2L), seq(2L, nchar(hex), 2L)), 16L))
}
digest_as_current <- function(value, algo, args) {
  if (isTRUE(args$raw) && algo %in% digest_numbers && is.character(value)) {
    return(digest_raw_of_hex(value))
  }
  value
}

digest_expected <- function(x, algo, args) {
  expected <- tryCatch(suppressWarnings(do.call(digest::digest, c(list(x, algo), args), quote = TRUE)),
                       error = identity)
  digest_as_current(expected, algo, args)
}

digest_oracle <- function(x, algo, args) {
  expected <- digest_expected(x, algo, args)
  if (inherits(expected, "error")) return(NULL) # checked apart (the ascii = NA case)
  digest_mismatch(x, algo, args, expected)
}

# With a refhook: digest of base::serialize()'s stream.
digest_hook_oracle <- function(x, algo, args, refhook) {
  version <- args$serializeVersion %||% 2L
  ascii <- args$ascii %||% FALSE
  bytes <- suppressWarnings(base::serialize(x, NULL, ascii = ascii, version = version,
                                            refhook = refhook))
  skip <- args$skip %||% if (isTRUE(ascii)) which(bytes[1:30] == as.raw(10))[4] else 14
  expected <- digest::digest(bytes, algo, serialize = FALSE, skip = skip,
                             length = args$length %||% Inf, raw = args$raw %||% FALSE,
                             seed = args$seed %||% 0)
  expected <- digest_as_current(expected, algo, args)
  digest_mismatch(x, algo, c(args, list(refhook = refhook)), expected)
}

test_that("every fixture hashes as digest::digest() hashes it, for every algorithm and argument set", {
  skip_if_not_installed("digest")
  fixtures <- lm_fixtures()
  problems <- character()
  unstable <- character()
  for (name in names(fixtures)) {
    if (!digest_stable(fixtures[[name]])) {
      unstable <- c(unstable, name)
      next
    }
    for (algo in digest_algos) {
      for (args in digest_arg_sets()) {
        bad <- digest_oracle(fixtures[[name]], algo, args)
        if (!is.null(bad)) problems <- c(problems, paste0(name, ": ", bad))
      }
    }
  }
  expect_identical(head(problems, 20), character())
  expect_lte(length(unstable), 2L)
})

test_that("random objects hash as digest::digest() hashes them", {
  skip_if_not_installed("digest")
  n <- as.integer(Sys.getenv("LOWMEM_DIGEST_RANDOM_N", "400"))
  problems <- character()
  for (i in seq_len(n)) {
    case <- lm_random_case(20261202L + i)
    if (!digest_stable(case$object)) next
    v <- case$variant
    set.seed(i)
    args <- list(serializeVersion = v$version)
    if (!is.na(v$ascii)) args$ascii <- v$ascii
    if (lm_coin(0.3)) args$raw <- TRUE
    if (lm_coin(0.2)) args$skip <- sample(0:40, 1L)
    if (lm_coin(0.2)) args$length <- sample(0:200, 1L)
    if (lm_coin(0.2)) args$seed <- sample(-5:5, 1L)
    for (algo in digest_algos) {
      bad <- if (is.null(case$refhook)) {
        digest_oracle(case$object, algo, args)
      } else {
        digest_hook_oracle(case$object, algo, args, case$refhook)
      }
      if (!is.null(bad)) problems <- c(problems, sprintf("seed %d: %s", case$seed, bad))
    }
  }
  expect_identical(head(problems, 20), character())
})

test_that("a refhook is called, and its names are hashed", {
  skip_if_not_installed("digest")
  e <- new.env()
  x <- list(a = 1:3, e = e, f = function(x) x)
  environment(x$f) <- e
  calls <- 0L
  hook <- function(env) {
    calls <<- calls + 1L
    if (identical(env, e)) "the-env" else NULL
  }
  problems <- character()
  for (algo in digest_algos) {
    for (args in list(list(), list(serializeVersion = 3L, raw = TRUE), list(ascii = TRUE))) {
      problems <- c(problems, digest_hook_oracle(x, algo, args, hook))
    }
  }
  expect_identical(problems, character())
  expect_gt(calls, 0L)
})

test_that("a large vector, a data frame and a frame of strings hash as digest's", {
  skip_if_not_installed("digest")
  objects <- list(
    doubles = runif(3e6),
    frame = data.frame(x = runif(2e5), f = factor(sample(letters, 2e5, TRUE)),
                       s = sample(c("a", "caf\u00e9", NA), 2e5, TRUE)),
    strings = as.character(seq_len(2e5))
  )
  for (name in names(objects)) {
    for (algo in digest_algos) {
      expect_null(digest_oracle(objects[[name]], algo, list()), label = paste(name, algo))
    }
  }
})

test_that("raw = TRUE gives a number's bytes, most significant first", {
  for (algo in digest_numbers) {
    hex <- lowmem::digest(list(1, "a"), algo, seed = 3L)
    expect_identical(lowmem::digest(list(1, "a"), algo, seed = 3L, raw = TRUE), digest_raw_of_hex(hex))
  }
  expect_length(lowmem::digest(1, "xxhash64", raw = TRUE), 8L)
})

test_that("the serializeVersion and digestOldCRC32Format options are digest's", {
  skip_if_not_installed("digest")
  x <- list(1, "a")
  withr_options <- function(opts, code) {
    old <- options(opts)
    on.exit(options(old))
    code
  }
  withr_options(list(serializeVersion = 3L), {
    expect_identical(lowmem::digest(x), digest::digest(x))
    expect_identical(lowmem::digest(x), lowmem::digest(x, serializeVersion = 3L))
  })
  y <- 1:10
  crc <- vapply(0:300, function(i) lowmem::digest(i, "crc32"), "")
  zero <- which(startsWith(crc, "0"))[1]
  expect_false(is.na(zero))
  withr_options(list(digestOldCRC32Format = TRUE), {
    expect_identical(lowmem::digest(zero - 1L, "crc32"), digest::digest(zero - 1L, "crc32"))
    expect_false(startsWith(lowmem::digest(zero - 1L, "crc32"), "0"))
  })
  expect_identical(lowmem::digest(y, "crc32"), digest::digest(y, "crc32"))
})

test_that("bad arguments give classed errors, or base R's", {
  expect_error(lowmem::digest(1, "spookyhash"), class = "lowmem_error_unsupported")
  expect_error(lowmem::digest(1, "nope"), "should be one of")
  expect_error(lowmem::digest(1, raw = "yes"), class = "lowmem_error_argument")
  expect_error(lowmem::digest(1, raw = NA), class = "lowmem_error_argument")
  expect_error(lowmem::digest(1, refhook = 1), class = "lowmem_error_argument")
  expect_error(lowmem::digest(1, serializeVersion = 0), "bad version value")
  expect_error(lowmem::digest(1, ascii = NA), "missing value") # as digest's set_skip()
  expect_error(lowmem::digest(1, serializeVersion = 1L), "version 1 not supported")
})

test_that("an error in the refhook propagates", {
  hook <- function(env) stop("hook failed")
  x <- list(runif(10), new.env())
  expect_error(lowmem::digest(x, refhook = hook), "hook failed")
  expect_identical(lowmem::digest(1:3), lowmem::digest(1:3))
})

test_that("an interrupt stops a digest in either writer, and the next one works", {
  skip_if_not_installed("digest")
  x <- runif(2e6) # 16 MB: several interrupt checks in either writer
  for (hook in list(NULL, function(env) NULL)) {
    y <- if (is.null(hook)) x else list(x, new.env()) # R's serializer with a hook
    expect_interrupt(with_interrupt_at(2L, lowmem::digest(y, "sha1", refhook = hook)))
  }
  expect_identical(lowmem::digest(x, "xxhash64"), digest::digest(x, "xxhash64"))
})

test_that("the hash takes no copy of the stream", {
  skip_if_no_proc()
  x <- runif(2e7) # 160 MB serialized
  peak <- lowmem::mem_peak(lowmem::digest(x, "xxhash64"))
  expect_lt(peak$increase, 32 * 1024^2)
  peak <- lowmem::mem_peak(lowmem::digest(list(x, quote(f(y))), "md5")) # R's serializer
  expect_lt(peak$increase, 32 * 1024^2)
})

test_that("the comparisons were made", {
  skip_if_not_installed("digest")
  expect_gt(digest_count$n, 10000L)
  if (nzchar(Sys.getenv("LOWMEM_DIGEST_COUNT"))) {
    cat("\ndigest oracle comparisons:", digest_count$n, "\n")
  }
})
