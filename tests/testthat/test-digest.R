# digest(): digest::digest() of the machine is the oracle. Every comparison is
# identical(lowmem::digest(...), digest::digest(...)) for the same call, made
# with the arguments named and by position (helper-digest.R): the fixtures x
# every algorithm the installed digest has x argument sets, for serialize =
# TRUE, serialize = FALSE (strings, raw vectors) and file = TRUE; then random
# objects. With a refhook (digest has none) the oracle is digest's hash of
# base::serialize()'s bytes; spookyhash has its own argument sets. The
# algorithms an older digest lacks (0.6.31:
# crc32c, xxh3_64, xxh3_128) are checked against published test vectors and
# against lowmem's other routes to the same bytes.

# The argument sets every fixture is hashed with (serialize = TRUE).
digest_arg_sets <- function() {
  list(
    list(),
    list(serializeVersion = 3L),
    list(raw = TRUE),
    list(raw = NA),
    list(ascii = TRUE),
    list(ascii = TRUE, serializeVersion = 3L),
    list(skip = 0),
    list(skip = 3, length = 40),
    list(length = 0),
    list(length = 17, serializeVersion = 3L),
    list(skip = 1e6),
    list(ascii = TRUE, skip = 5, length = 100),
    list(ascii = NA, skip = 0),
    list(seed = 7L),
    list(seed = -1L, serializeVersion = 3L),
    list(errormode = "warn", seed = 2L),
    list(serialize = TRUE, file = FALSE, errormode = "silent")
  )
}

# For spookyhash: digest ignores raw, length and seed (and ascii, but for its
# "auto" skip), and skips whole writes of R's serializer (lowmem: those of
# the header).
digest_spooky_arg_sets <- function() {
  list(
    list(),
    list(serializeVersion = 3L),
    list(skip = 0),
    list(skip = 2, serializeVersion = 3L),
    list(skip = 270), # 14 as digest's 8-bit count
    list(raw = TRUE, length = 10, seed = 4L, errormode = "warn")
  )
}

# For a string or raw vector (serialize = FALSE).
digest_bytes_arg_sets <- function() {
  list(
    list(serialize = FALSE),
    list(serialize = FALSE, skip = 3, length = 40),
    list(serialize = FALSE, skip = "auto", raw = TRUE),
    list(serialize = FALSE, raw = NA, seed = 7L),
    list(serialize = FALSE, length = 0),
    list(serialize = FALSE, skip = 1e6),
    list(serialize = FALSE, seed = -3L, errormode = "warn")
  )
}

# For a file (file = TRUE, the object its path).
digest_file_arg_sets <- function() {
  list(
    list(file = TRUE),
    list(file = TRUE, skip = 14),
    list(file = TRUE, skip = 5, length = 50),
    list(file = TRUE, raw = TRUE, seed = 3L),
    list(file = TRUE, raw = NA, length = 2000),
    list(file = TRUE, length = 0),
    list(file = TRUE, skip = 1e6),
    list(serialize = FALSE, file = TRUE, seed = -1L),
    list(file = 1, length = 100) # digest's if (file)
  )
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
  got <- digest_try(lowmem::digest, c(list(x, algo), args, list(refhook = refhook)))
  digest_counted("hook")
  if (identical(got, expected)) return(NULL)
  sprintf("%s, %s: lowmem %s, digest %s", algo, deparse1(args), digest_shown(got),
          digest_shown(expected))
}

digest_raw_of_hex <- function(hex) {
  as.raw(strtoi(substring(hex, seq(1L, nchar(hex), 2L), seq(2L, nchar(hex), 2L)), 16L))
}

# The first bytes of xxHash's sanity-test buffer (byte i: the top byte of
# PRIME32 * PRIME64^i modulo 2^64).
digest_xxh_test_buffer <- as.raw(c(0x00, 0x52, 0x92, 0x9b, 0xb7, 0x32))

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
    for (algo in digest_oracle_algos()) {
      # By position too for a third of the (fixture, algorithm) pairs, in turn.
      positional <- (match(name, names(fixtures)) + match(algo, digest_lowmem_algos)) %% 3L == 0L
      for (args in digest_arg_sets()) {
        bad <- digest_oracle(fixtures[[name]], algo, args, positional)
        if (!is.null(bad)) problems <- c(problems, paste0(name, ": ", bad))
      }
    }
  }
  expect_identical(head(problems, 20), character())
  expect_lte(length(unstable), 2L)
})

test_that("spookyhash hashes every fixture as digest::digest() hashes it", {
  skip_if_not_installed("digest")
  fixtures <- lm_fixtures()
  problems <- character()
  for (i in seq_along(fixtures)) {
    if (!digest_stable(fixtures[[i]])) next
    for (args in digest_spooky_arg_sets()) {
      bad <- digest_oracle(fixtures[[i]], "spookyhash", args, positional = i %% 3L == 0L)
      if (!is.null(bad)) problems <- c(problems, paste0(names(fixtures)[i], ": ", bad))
    }
  }
  expect_identical(head(problems, 20), character())
  big <- list(runif(3e5), letters) # many of the hash's blocks
  expect_null(digest_oracle(big, "spookyhash", list(serializeVersion = 3L)))
  # digest errors for a skip inside one of the serializer's writes; lowmem,
  # which cannot tell where a write ends past the header, for any skip not at
  # the end of one of the header's.
  expect_error(digest::digest(1, "spookyhash", skip = 3), "unexpected length")
  expect_error(lowmem::digest(1, "spookyhash", skip = 3), class = "lowmem_error_unsupported")
  expect_error(lowmem::digest(1, "spookyhash", skip = 18), class = "lowmem_error_unsupported")
})

test_that("raw vectors, strings and files hash as digest::digest() hashes them", {
  skip_if_not_installed("digest")
  fixtures <- lm_fixtures()
  dir <- tempfile("digest-files")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  problems <- character()
  for (i in seq_along(fixtures)) {
    x <- fixtures[[i]]
    if (!digest_stable(x)) next
    bytes <- suppressWarnings(base::serialize(x, NULL, version = 2L))
    path <- file.path(dir, paste0(i, ".bin"))
    writeBin(bytes, path)
    objects <- list(bytes = bytes)
    if (is.character(x)) objects$string <- x
    for (algo in digest_oracle_algos()) {
      positional <- (i + match(algo, digest_lowmem_algos)) %% 3L == 0L
      for (args in digest_bytes_arg_sets()) {
        for (what in names(objects)) {
          bad <- digest_oracle(objects[[what]], algo, args, positional)
          if (!is.null(bad)) problems <- c(problems, sprintf("%s (%s): %s", names(fixtures)[i], what, bad))
        }
      }
      for (args in digest_file_arg_sets()) {
        bad <- digest_oracle(path, algo, args, positional)
        if (!is.null(bad)) problems <- c(problems, sprintf("%s (file): %s", names(fixtures)[i], bad))
      }
      # digest(file = path), the object missing.
      got <- lowmem::digest(file = path, algo = algo)
      digest_counted("named")
      if (!identical(got, digest::digest(file = path, algo = algo))) {
        problems <- c(problems, sprintf("%s (file = path): %s", names(fixtures)[i], algo))
      }
    }
  }
  expect_identical(head(problems, 20), character())
})

test_that("strings hash as digest's C code reads them (the first one, its bytes as stored)", {
  skip_if_not_installed("digest")
  strings <- list("", "abc", c("first", "second"), character(), NA_character_, "caf\u00e9",
                  iconv("caf\u00e9", "UTF-8", "latin1"), strrep("xyz", 5000))
  problems <- character()
  for (x in strings) {
    for (algo in digest_oracle_algos()) {
      for (args in digest_bytes_arg_sets()) {
        problems <- c(problems, digest_oracle(x, algo, args))
      }
    }
  }
  expect_identical(problems, character())
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
    for (algo in digest_oracle_algos()) {
      bad <- if (is.null(case$refhook)) {
        digest_oracle(case$object, algo, args, positional = i %% 2L == 0L)
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
  for (algo in digest_oracle_algos()) {
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
    for (algo in digest_oracle_algos()) {
      expect_null(digest_oracle(objects[[name]], algo, list(), FALSE), label = paste(name, algo))
    }
  }
  path <- tempfile()
  on.exit(unlink(path))
  writeBin(base::serialize(objects$doubles, NULL), path) # 24 MB: many chunks
  for (algo in digest_oracle_algos()) {
    expect_null(digest_oracle(path, algo, list(file = TRUE, skip = 100, length = 2e7), FALSE), label = algo)
  }
})

test_that("raw = TRUE gives a number's bytes, most significant first, as the installed digest does", {
  # digest up to 0.6.37 returned the hex text of these (whatever raw said);
  # lowmem follows the digest installed (none: the bytes, as digest 0.6.38
  # and later).
  old <- requireNamespace("digest", quietly = TRUE) && packageVersion("digest") < "0.6.38"
  expect_identical(lowmem:::digest_raw_numbers_as_text(), old)
  for (algo in c("crc32", "xxhash32", "xxhash64", "murmur32", "crc32c", "xxh3_64", "xxh3_128")) {
    hex <- lowmem::digest(list(1, "a"), algo, seed = 3L)
    got <- lowmem::digest(list(1, "a"), algo, seed = 3L, raw = TRUE)
    expect_identical(got, if (old) hex else digest_raw_of_hex(hex))
    expect_identical(lowmem:::digest_raw(TRUE, algo), if (old) 0L else 1L)
    expect_identical(lowmem::digest("abc", algo, serialize = FALSE, raw = NA),
                     if (old) lowmem::digest("abc", algo, serialize = FALSE) else
                       digest_raw_of_hex(lowmem::digest("abc", algo, serialize = FALSE)))
  }
  hex <- lowmem::digest("abc", "md5", serialize = FALSE)
  expect_identical(lowmem::digest("abc", "md5", serialize = FALSE, raw = TRUE), digest_raw_of_hex(hex))
  expect_identical(lowmem::digest("abc", "md5", serialize = FALSE, raw = NA), digest_raw_of_hex(hex))
})

test_that("crc32c, xxh3_64 and xxh3_128 give their published test vectors", {
  vec <- function(x, algo, ...) lowmem::digest(x, algo, serialize = FALSE, ...)
  expect_identical(vec("123456789", "crc32c"), "e3069283") # CRC-32C's check value
  expect_identical(vec(raw(32), "crc32c"), "8a9136aa") # RFC 3720, B.4
  expect_identical(vec(as.raw(0:31), "crc32c"), "46dd794e")
  expect_identical(vec("", "crc32c"), "00000000")
  # xxHash's sanity test vectors (tests/sanity_test_vectors.h).
  buffer <- digest_xxh_test_buffer
  expect_identical(vec(raw(), "xxh3_64"), "2d06800538d394c2")
  expect_identical(vec(buffer[1], "xxh3_64"), "c44bdff4074eecdb")
  expect_identical(vec(buffer, "xxh3_64"), "27b56a84cd2d7325")
  expect_identical(vec(raw(), "xxh3_128"), "99aa06d3014798d86001c324468d497f")
  digest_count$n[["vectors"]] <- digest_count$n[["vectors"]] + 8L
})

test_that("every algorithm gives the same hash by every route to the same bytes", {
  dir <- tempfile("digest-routes")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  objects <- list(1:10, list(a = "x", b = runif(5000)), mtcars, quote(f(x)))
  for (i in seq_along(objects)) {
    x <- objects[[i]]
    bytes <- base::serialize(x, NULL, version = 2L)
    path <- file.path(dir, i)
    writeBin(bytes, path)
    for (algo in digest_lowmem_algos) {
      label <- paste(i, algo)
      expect_identical(lowmem::digest(bytes, algo, FALSE, skip = 14, seed = 5L),
                       lowmem::digest(x, algo, seed = 5L), label = label)
      expect_identical(lowmem::digest(path, algo, file = TRUE, skip = 14), lowmem::digest(x, algo),
                       label = label)
      expect_identical(lowmem::digest(bytes, algo, FALSE, skip = 3, length = 100),
                       lowmem::digest(head(bytes[-(1:3)], 100), algo, FALSE), label = label)
    }
  }
  # digest's C code starts XXH3's file state without the seed.
  expect_identical(lowmem::digest(path, "xxh3_64", file = TRUE, seed = 9L),
                   lowmem::digest(path, "xxh3_64", file = TRUE))
  expect_false(identical(lowmem::digest(bytes, "xxh3_64", FALSE, seed = 9L),
                         lowmem::digest(bytes, "xxh3_64", FALSE)))
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

test_that("library(lowmem) masks digest::digest with a call-compatible digest()", {
  skip_if_not_installed("digest")
  theirs <- formals(digest::digest)
  ours <- formals(lowmem::digest)
  expect_identical(names(ours)[seq_along(theirs)], names(theirs))
  expect_identical(eval(ours$algo)[seq_along(eval(theirs$algo))], eval(theirs$algo))
  for (arg in setdiff(names(theirs), "algo")) {
    expect_identical(ours[[arg]], theirs[[arg]], label = arg)
  }
  masked <- local({
    digest <- lowmem::digest
    list(digest("abc", serialize = FALSE), digest("abc", "sha1", FALSE), digest(mtcars, "md5", TRUE))
  })
  expect_identical(masked, list(digest::digest("abc", serialize = FALSE),
                                digest::digest("abc", "sha1", FALSE),
                                digest::digest(mtcars, "md5", TRUE)))
})

test_that("bad arguments give classed errors, or base R's; errormode is digest's", {
  expect_error(lowmem::digest(1, "spookyhash", skip = 5), class = "lowmem_error_unsupported")
  expect_error(lowmem::digest(1, "nope"), "should be one of")
  expect_error(lowmem::digest(1, raw = list(1:2)), "cannot be coerced") # digest's as.integer(raw)
  expect_error(lowmem::digest(1, refhook = 1), class = "lowmem_error_argument")
  expect_error(lowmem::digest(1, serializeVersion = 0), "bad version value",
               class = "lowmem_error_argument")
  expect_error(lowmem::digest(1, ascii = NA), "missing value") # as digest's set_skip()
  expect_error(lowmem::digest(1, serializeVersion = 1L), "version 1 not supported",
               class = "lowmem_error_unsupported")
  not_bytes <- "Argument object must be of type character or raw vector if serialize is FALSE"
  expect_error(lowmem::digest(1, serialize = FALSE), not_bytes, fixed = TRUE,
               class = "lowmem_error_argument")
  expect_warning(value <- lowmem::digest(1, serialize = FALSE, errormode = "warn"), not_bytes,
                 fixed = TRUE)
  expect_identical(value, NA)
  expect_null(lowmem::digest(1, serialize = FALSE, errormode = "silent"))
  expect_error(lowmem::digest(1, "spookyhash", serialize = FALSE),
               "spookyhash algorithm is not available without serialization",
               class = "lowmem_error_argument")
  expect_error(lowmem::digest("x", "spookyhash", file = TRUE),
               "spookyhash algorithm can not be used with files", class = "lowmem_error_argument")
  expect_error(lowmem::digest(1, file = TRUE), not_bytes, fixed = TRUE, # digest's first check
               class = "lowmem_error_argument")
  missing_file <- tempfile()
  expect_error(lowmem::digest(missing_file, file = TRUE), "The file does not exist",
               class = "lowmem_error_io")
  expect_error(lowmem::digest(tempdir(), file = TRUE), "not a file", class = "lowmem_error_io")
  # digest's check_file() only reports: with "warn" or "silent" the file is
  # opened anyway; a missing one is then an error, a directory reads as nothing.
  expect_warning(expect_error(lowmem::digest(missing_file, file = TRUE, errormode = "warn"),
                              "Cannot open input file", class = "lowmem_error_io"),
                 "does not exist")
  expect_error(lowmem::digest(missing_file, file = TRUE, errormode = "silent"),
               "Cannot open input file", class = "lowmem_error_io")
  expect_identical(lowmem::digest(tempdir(), file = TRUE, errormode = "silent"),
                   lowmem::digest(raw(), serialize = FALSE))
  skip_if_not_installed("digest")
  expect_identical(lowmem::digest(tempdir(), file = TRUE, errormode = "silent"),
                   digest::digest(tempdir(), file = TRUE, errormode = "silent"))
  expect_error(digest::digest(missing_file, file = TRUE, errormode = "silent"), "Cannot open input file")
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

test_that("the hash takes no copy of the stream, nor of a file", {
  skip_if_no_proc()
  x <- runif(2e7) # 160 MB serialized
  peak <- lowmem::mem_peak(lowmem::digest(x, "xxhash64"))
  expect_lt(peak$increase, 32 * 1024^2)
  peak <- lowmem::mem_peak(lowmem::digest(list(x, quote(f(y))), "md5")) # R's serializer
  expect_lt(peak$increase, 32 * 1024^2)
  path <- tempfile()
  on.exit(unlink(path))
  lowmem::serialize_to_file(x, path)
  rm(x)
  peak <- lowmem::mem_peak(lowmem::digest(path, "sha256", file = TRUE))
  expect_lt(peak$increase, 32 * 1024^2)
})

test_that("the comparisons were made", {
  skip_if_not_installed("digest")
  expect_gt(digest_count$n[["named"]], 10000L)
  expect_gt(digest_count$n[["positional"]], 3000L)
  if (nzchar(Sys.getenv("LOWMEM_DIGEST_COUNT"))) {
    cat(sprintf("\ndigest %s oracle comparisons: %s; algorithms: %s\n", packageVersion("digest"),
                paste(names(digest_count$n), digest_count$n, collapse = ", "),
                paste(digest_oracle_algos(), collapse = " ")))
  }
})
