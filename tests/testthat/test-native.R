# The native writer (src/native.c, src/rust/src/format/): byte identity with
# base::serialize in all 12 variants, the path each object takes, and the
# objects that must fall back to R's writer.

native_variants <- expand.grid(
  version = 2:3, ascii = c(FALSE, TRUE, NA), xdr = c(TRUE, FALSE),
  stringsAsFactors = FALSE
)

# Checks lowmem against base for every variant. `make`, if given, builds the
# object afresh for each variant (ALTREP objects change state when base R
# writes them in version 2, so sharing one object between variants would test
# a different object each time). `path` is the expected path: one string, or
# a function of the version.
expect_native_identical <- function(object, path = "native", variants = native_variants,
                                    make = function() object) {
  for (i in seq_len(nrow(variants))) {
    v <- variants$version[[i]]
    a <- variants$ascii[[i]]
    x <- variants$xdr[[i]]
    label <- sprintf("version = %d, ascii = %s, xdr = %s", v, a, x)
    expected_path <- if (is.function(path)) path(v) else path
    expected_path <- if (is.null(expected_path)) NULL else lm_writer(expected_path)
    if (!is.null(expected_path)) {
      got <- lowmem:::serialize_path(make(), ascii = a, xdr = x, version = v)
      expect_identical(as.character(got), expected_path,
        label = paste0(label, ": path (", attr(got, "reason"), ")")
      )
    }
    fresh <- make()
    ours <- lowmem::serialize(fresh, NULL, ascii = a, xdr = x, version = v)
    size <- lowmem::serialized_size(fresh, ascii = a, xdr = x, version = v)
    theirs <- base::serialize(fresh, NULL, ascii = a, xdr = x, version = v)
    expect_identical(ours, theirs, label = label)
    expect_identical(size, as.double(length(theirs)), label = paste(label, "size"))
  }
}

v3_native <- function(version) if (version >= 3) "native" else "universal"

binary_variants <- native_variants[!is.na(native_variants$ascii) & !native_variants$ascii, ]

test_that("plain vectors of every type are written natively and identically", {
  expect_native_identical(NULL)
  expect_native_identical(logical())
  expect_native_identical(c(TRUE, NA, FALSE))
  expect_native_identical(c(0L, -1L, NA, .Machine$integer.max, -.Machine$integer.max))
  expect_native_identical(c(1.5, 0.1, 1 / 3, 1e-5, 1e15, 1e16, 123456789012345678, 5e-324,
                            .Machine$double.xmax, 2.2250738585072014e-308, 100, 0.1 + 0.2))
  expect_native_identical(c(1 + 2i, NA, complex(real = -0, imaginary = Inf)))
  expect_native_identical(as.raw(c(0, 1, 15, 16, 255)))
  expect_native_identical(character())
  expect_native_identical(c("a", NA, "", "bb"))
  expect_native_identical(list())
  expect_native_identical(list(1L, "b", c(a = 1, b = 2), as.raw(1:3), 1i, TRUE, NA, NULL, list()))
  expect_native_identical(as.expression(list(1, "a", NULL)))
})

test_that("special doubles keep their bits: -0, NaN payloads, NA_real_, Inf", {
  bits <- function(hi, lo) {
    # A double from its two 32-bit words (little- or big-endian machine).
    words <- if (.Platform$endian == "little") c(lo, hi) else c(hi, lo)
    readBin(writeBin(as.integer(words), raw()), "double", size = 8,
            endian = .Platform$endian)
  }
  x <- c(-0, 0, NaN, NA_real_, Inf, -Inf,
         bits(0x7ff00000L, 1L),            # signalling NaN payload
         bits(0x7ff80000L, 1954L),         # quiet NA: still NA (low word 1954)
         bits(-524288L, 1954L),            # 0xfff80000: negative NA
         bits(-524288L, 12345L),           # negative NaN with a payload
         bits(0x000fffffL, -1L))           # largest subnormal
  expect_native_identical(x)
  expect_native_identical(complex(real = x, imaginary = rev(x)))
  # The payloads survive a round trip of the native bytes.
  for (xdr in c(TRUE, FALSE)) {
    back <- unserialize(lowmem::serialize(x, NULL, xdr = xdr))
    expect_identical(writeBin(back, raw()), writeBin(x, raw()))
  }
})

test_that("CHARSXP encoding flags: ASCII, UTF-8, latin1, bytes, native, NA", {
  utf8 <- "caf\u00e9"
  latin1 <- iconv(utf8, "UTF-8", "latin1")
  bytes <- utf8
  Encoding(bytes) <- "bytes"
  native <- rawToChar(as.raw(c(0x63, 0x61, 0x66, 0xc3, 0xa9)))
  expect_identical(Encoding(c(utf8, latin1, bytes, native)),
                   c("UTF-8", "latin1", "bytes", "unknown"))
  x <- c("abc", utf8, latin1, bytes, native, "", NA)
  expect_native_identical(x)
  # The flags words in the stream: 0x40009, 0x8009, 0x4009, 0x2009, 0x9, ...
  s <- lowmem::serialize(x, NULL, version = 2)
  hex <- paste(as.character(s), collapse = "")
  for (word in c("00040009", "00008009", "00004009", "00002009")) {
    expect_match(hex, word, fixed = TRUE)
  }
  expect_match(hex, "00000009ffffffff", fixed = TRUE) # NA_character_
})

test_that("HASHASH and CACHED bits are cleared from CHARSXP flags", {
  # A string used as a symbol name in a hashed environment gets its hash
  # cached in the CHARSXP (HASHASH); every mkChar string is CACHED.
  name <- "lowmem_native_hashed_name"
  e <- new.env(hash = TRUE)
  assign(name, 1, envir = e)
  get(name, envir = e)
  expect_native_identical(c(name, names(as.list(e))))
})

test_that("strings with every byte value are escaped as R does", {
  all_bytes <- rawToChar(as.raw(1:255))
  high <- rawToChar(as.raw(c(0x80:0xff)))
  specials <- rawToChar(as.raw(c(0x20, 0x0a, 0x09, 0x0b, 0x08, 0x0d, 0x0c, 0x07,
                                 0x5c, 0x3f, 0x27, 0x22, 0x7f)))
  expect_native_identical(c(all_bytes, high, specials, " ", "a b"))
  big5 <- rawToChar(as.raw(c(0xa4, 0x40)))
  expect_native_identical(big5)
})

test_that("attributes: order, shared symbols, nested attributes", {
  x <- structure(1:3, zeta = "z", alpha = quote(alpha), names = c("a", "b", "c"))
  expect_native_identical(x)
  expect_native_identical(list(quote(a), quote(a), quote(b), structure(1, a = quote(b))))
  expect_native_identical(structure(list(1), names = "x", inner = structure(2, names = "y")))
  expect_native_identical(quote(x))
  expect_native_identical(as.name("caf\u00e9"))
  expect_native_identical(list(quote(expr = ), quote(a)))
})

test_that("pairlists as data, with tags, attributes and the missing argument", {
  expect_native_identical(pairlist(a = 1, 2))
  expect_native_identical(formals(function(x, y = 2) NULL))
  pl <- pairlist(a = 1)
  attr(pl, "foo") <- 2
  expect_native_identical(pl)
  expect_native_identical(list(pairlist(1, b = "x"), pairlist()))
})

test_that("factors, data frames, dates, matrices, arrays, tables", {
  expect_native_identical(factor(c("a", "b", "a"), levels = c("b", "a")))
  expect_native_identical(factor(c("lo", "hi"), ordered = TRUE))
  expect_native_identical(data.frame(x = c(1.5, NA), y = c("a", NA)))
  expect_native_identical(data.frame(a = 1:3, b = letters[1:3], stringsAsFactors = TRUE))
  expect_native_identical(as.Date("2024-02-29") + 0:2)
  expect_native_identical(as.POSIXct("2024-02-29 12:00:00", tz = "UTC"))
  expect_native_identical(as.POSIXlt("2024-02-29 12:00:00", tz = "UTC"))
  expect_native_identical(matrix(1:6, 2, dimnames = list(c("a", "b"), NULL)))
  expect_native_identical(array(runif(24), c(2, 3, 4)))
  expect_native_identical(table(c("a", "b", "a")))
  expect_native_identical(mtcars)
  expect_native_identical(iris)
})

test_that("S4 objects and the S4 bit", {
  setClass("LowmemNativePoint", representation(x = "numeric", label = "character"),
           where = globalenv())
  setClass("LowmemNativeNum", contains = "numeric", where = globalenv())
  on.exit({
    removeClass("LowmemNativePoint", where = globalenv())
    removeClass("LowmemNativeNum", where = globalenv())
  })
  expect_native_identical(new("LowmemNativePoint", x = 1:3 + 0.5, label = "p"))
  expect_native_identical(new("LowmemNativeNum", c(1.5, 2)))
  # The S4 bit without the object bit or any attribute.
  s4_plain <- asS4(c(1L, 2L, 3L))
  expect_true(isS4(s4_plain))
  expect_null(attributes(s4_plain))
  expect_native_identical(s4_plain)
})

test_that("vectors grown in a loop: the GROWABLE bit as this R writes it", {
  grow <- function() {
    x <- c()
    for (i in 1:100) x[i] <- i / 2
    l <- list()
    for (i in 1:10) l[[i]] <- i
    s <- character()
    for (i in 1:20) s[i] <- letters[i %% 26 + 1]
    list(x, l, s)
  }
  # R < 4.6 writes the GROWABLE bit (0x20 in the levels): flags 00 02 00 0e;
  # R >= 4.6 does not: 00 00 00 0e. Whichever this R does, lowmem does.
  flags <- base::serialize(grow()[[1]], NULL, version = 2)[15:18]
  expect_true(identical(flags, as.raw(c(0, 2, 0, 0x0e))) || identical(flags, as.raw(c(0, 0, 0, 0x0e))))
  expect_identical(lowmem:::native_status()$writes_growable, identical(flags[[2]], as.raw(2)))
  expect_native_identical(make = grow)
})

test_that("ALTREP compact sequences: compact in version 3, computed in version 2", {
  expect_native_identical(make = function() 1:10)
  expect_native_identical(make = function() 10:1)
  expect_native_identical(make = function() -5:5)
  expect_native_identical(make = function() as.numeric(1:3))
  expect_native_identical(make = function() as.numeric(5:1))
  expect_native_identical(make = function() 2147483646:2147483650) # a compact_realseq
  expect_native_identical(make = function() -2147483647:-2147483640)
  expect_native_identical(make = function() list(1:3, 4:6, data.frame(i = 1:5)))
  # Longer than one chunk of the version-2 computation (4096) and of a step.
  expect_native_identical(make = function() 1:100000, variants = binary_variants)
  expect_native_identical(make = function() 3e6:1, variants = binary_variants)
  expect_native_identical(make = function() as.numeric(-1e5:1e5), variants = binary_variants)
  # Expanded in memory, still written compactly in version 3.
  expanded <- function() {
    x <- 1:10
    x[]
    invisible(sum(x))
    x
  }
  expect_native_identical(make = expanded)
  # Modified: an ordinary vector.
  modified <- function() {
    x <- 1:10
    x[1] <- 5L
    x
  }
  expect_native_identical(make = modified)
  # Attributes on a long compact sequence: R wraps it (duplicate_attr).
  expect_native_identical(make = function() {
    x <- 1:100
    attr(x, "foo") <- "bar"
    x
  })
  # Version 2 does not expand the sequence in memory (base R's writer does).
  skip_if_native_off()
  x <- 1:10
  lowmem::serialize(x, NULL, version = 2)
  expect_match(paste(capture.output(.Internal(inspect(x))), collapse = " "), "compact")
})

test_that("ALTREP deferred strings: before, partly and fully expanded", {
  # Before full expansion, version 2 would have to format the numbers:
  # left to R's writer.
  expect_native_identical(make = function() as.character(1:3), path = v3_native)
  expect_native_identical(make = function() as.character(c(1.5, 2, NA, -Inf)), path = v3_native)
  partly <- function() {
    x <- as.character(1:3)
    x[[2]]
    x
  }
  expect_native_identical(make = partly, path = v3_native)
  fully <- function() {
    x <- as.character(1:3)
    x[2] <- "b" # forces full expansion; the state is dropped
    x
  }
  expect_native_identical(make = fully)
})

test_that("ALTREP wrappers: with metadata, without, over compact sequences", {
  expect_native_identical(make = function() sort(c(3L, 1L, 2L)))
  expect_native_identical(make = function() sort(c(3, 1, NA, 2)))
  expect_native_identical(make = function() sort(c("b", "a", "c")))
  # No useful metadata over a plain vector: written as an ordinary vector
  # with the wrapper's own attributes.
  no_meta <- function() {
    x <- runif(100)
    y <- x
    names(y) <- paste0("n", 1:100)
    y
  }
  expect_native_identical(make = no_meta)
  explicit <- function(x, srt = NA_integer_, no_na = FALSE) {
    force(x)
    function() .Internal(wrap_meta(x, srt, no_na))
  }
  expect_native_identical(make = explicit(c(3L, 1L, 2L)))
  expect_native_identical(make = explicit(c(TRUE, NA)))
  expect_native_identical(make = explicit(c(TRUE, FALSE), 1L, TRUE))
  expect_native_identical(make = explicit(c(1i, 2i), NA_integer_, TRUE))
  expect_native_identical(make = explicit(as.raw(1:3), 1L, FALSE))
  expect_native_identical(make = explicit(c("x", NA), NA_integer_, FALSE))
  expect_native_identical(make = explicit(structure(c(2, 1), foo = "x"), -1L, TRUE))
  expect_native_identical(make = explicit(1:10))
  expect_native_identical(make = explicit(as.numeric(1:10), 1L, TRUE))
  expect_native_identical(make = function() .Internal(wrap_meta(.Internal(wrap_meta(1:10, 1L, TRUE)), 1L, TRUE)))
  # A wrapper of a deferred string: its elements are not formatted yet, so
  # version 2 leaves it to R's writer.
  expect_native_identical(make = explicit(as.character(1:3)), path = v3_native)
})

test_that("lists nested deeper than R can read back go to R's writer, which refuses as base does", {
  skip_if_native_off()
  nest <- function(depth) {
    deep <- NULL
    for (i in seq_len(depth)) deep <- list(deep)
    deep
  }
  # The native writer writes up to 10000 levels (format/walk.rs, MAX_DEPTH)...
  at_limit <- nest(10000)
  expect_identical(as.character(lowmem:::serialize_path(at_limit)), "native")
  bytes <- lowmem::serialize(at_limit, NULL)
  expect_identical(length(bytes), 23L + 10000L * 8L + 4L)
  level <- as.raw(c(0, 0, 0, 0x13, 0, 0, 0, 1)) # VECSXP, length 1
  expect_identical(bytes[24:(length(bytes) - 4)], rep(level, 10000))
  expect_identical(bytes[length(bytes) - 3:0], as.raw(c(0, 0, 0, 0xfe)))
  # ... and leaves deeper ones to R's writer: a file nested 1e5 deep would
  # crash R 4.2.2's reader (readRDS() ends the session), so lowmem does
  # what base does, which refuses it with R's stack-overflow error.
  path <- lowmem:::serialize_path(nest(10001))
  expect_identical(as.character(path), "universal")
  expect_match(attr(path, "reason"), "nested deeper")
  deep <- nest(1e5)
  base_result <- tryCatch(base::serialize(deep, NULL), error = function(e) e)
  expect_s3_class(base_result, "stackOverflowError")
  # (expect_error() does not see stack-overflow errors; tryCatch does.)
  ours <- tryCatch(lowmem::serialize(deep, NULL), error = function(e) e)
  expect_s3_class(ours, "stackOverflowError")
  dir <- tempfile()
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  file <- tryCatch(serialize_to_file(deep, file.path(dir, "deep.rds")), error = function(e) e)
  expect_s3_class(file, "stackOverflowError")
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), character())
  # R 4.2.2's reader recurses and crashes the process (C stack overflow)
  # somewhere between 20000 and 50000 levels (in a plain Rscript), so the
  # round trip is checked at a depth it can read (and base can write) with
  # the C stack testthat leaves.
  deep <- NULL
  for (i in 1:5000) deep <- list(deep)
  expect_native_identical(deep, variants = binary_variants)
  expect_identical(unserialize(lowmem::serialize(deep, NULL)), deep)
  # Deep attribute chains and long pairlists do not recurse either.
  chain <- 1
  for (i in 1:2000) chain <- structure(list(), a = chain)
  expect_native_identical(chain, variants = binary_variants)
  long_pairlist <- as.pairlist(as.list(1:100000))
  expect_native_identical(long_pairlist, variants = binary_variants)
})

test_that("objects outside plain data fall back to R's writer, identically", {
  fallback <- function(x, ...) expect_native_identical(x, path = "universal", ...)
  fallback(function(x) x + 1)
  fallback(new.env())
  fallback(y ~ x)
  fallback(quote(f(x)))
  fallback(list(1, list(2, quote(a + b))))
  fallback(expression(a + b))
  fallback(methods::new("externalptr"))
  fallback(sum)
  fallback(`if`)
  fallback(data.frame(f = I(list(function() 1))))
  # A refhook always takes R's writer.
  hook <- function(x) NULL
  x <- list(1, "a")
  expect_identical(as.character(lowmem:::serialize_path(x, refhook = hook)), "universal")
  expect_identical(lowmem::serialize(x, NULL, refhook = hook), base::serialize(x, NULL, refhook = hook))
  # An unsupported version is left to R's writer and its error.
  expect_identical(as.character(lowmem:::serialize_path(1, version = 1)), "universal")
  expect_error(lowmem::serialize(1, NULL, version = 1), "version 1 not supported")
})

test_that("singletons R writes as bare codes are covered", {
  expect_native_identical(list(globalenv(), emptyenv(), baseenv(), .BaseNamespaceEnv, NULL,
                               quote(expr = )))
})

test_that("the default version is R's", {
  x <- list(1:3, "a")
  expect_identical(lowmem::serialize(x, NULL), base::serialize(x, NULL))
  expect_identical(lowmem::serialize(x, NULL, version = NULL), base::serialize(x, NULL))
})

# Runs `code` in a fresh Rscript with environment `env`; returns its last
# line of output.
native_in_subprocess <- function(code, env) {
  lib <- dirname(system.file(package = "lowmem"))
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)),
                 env = c(paste0("R_LIBS=", lib), env), stdout = TRUE, stderr = TRUE)
  tail(out, 1)
}

test_that("the session's default version and native encoding are R's", {
  skip_on_cran()
  code <- paste(
    "x <- list(1:3, 'caf\\u00e9', quote(a))",
    "same <- identical(lowmem::serialize(x, NULL), base::serialize(x, NULL))",
    "path <- lowmem:::serialize_path(x)",
    "cat(same, path, rawToChar(base::serialize(x, NULL, ascii = TRUE)[1:60]) |> strsplit('\\n') |> unlist() |> head(6) |> paste(collapse = ','), '\\n')",
    sep = "; "
  )
  v2 <- native_in_subprocess(code, "R_DEFAULT_SERIALIZE_VERSION=2")
  expect_match(v2, "^TRUE native A,2,", fixed = FALSE)
  c_locale <- native_in_subprocess(code, "LC_ALL=C")
  expect_match(c_locale, "^TRUE native A,3,.*ANSI_X3.4-1968")
})

test_that("large vectors cross the 16 MB steps intact", {
  set.seed(1)
  x <- list(runif(3e6), sample.int(1e6, 5e6, replace = TRUE), as.raw(sample(0:255, 2e7, TRUE)),
            complex(real = runif(2e6), imaginary = runif(2e6)), sample(c(TRUE, FALSE, NA), 5e6, TRUE))
  expect_native_identical(x, variants = binary_variants)
  s <- as.character(sample.int(1e6, 2e6, replace = TRUE))
  s[sample.int(2e6, 1000)] <- NA
  expect_native_identical(s, variants = binary_variants)
})

# An interrupt between the steps: test-interrupt.R.

test_that("random nested plain data matches base", {
  set.seed(42)
  leaf <- function() {
    switch(sample.int(9, 1),
      NULL,
      sample(c(TRUE, FALSE, NA), sample(0:5, 1), TRUE),
      sample(c(-3:3, NA), sample(0:5, 1), TRUE),
      c(runif(sample(0:4, 1)), NA, NaN, -0)[sample.int(7, sample(0:4, 1))],
      complex(real = runif(2), imaginary = c(NA, 1)),
      c(sample(c(letters, "caf\u00e9", "", NA), sample(0:4, 1), TRUE)),
      as.raw(sample(0:255, sample(0:4, 1))),
      sample(list(quote(a), quote(b), as.name("c d")), 1)[[1]],
      sample(list(1:10, as.numeric(2:5), as.character(1:4)), 1)[[1]]
    )
  }
  node <- function(depth) {
    if (depth == 0 || runif(1) < 0.3) {
      x <- leaf()
    } else {
      x <- lapply(seq_len(sample(0:4, 1)), function(i) node(depth - 1))
      if (runif(1) < 0.5) names(x) <- sample(c("a", "b", "", NA), length(x), TRUE)
    }
    if (!is.null(x) && !is.name(x) && runif(1) < 0.3) {
      attr(x, sample(c("foo", "bar", "class"), 1)) <- leaf()
    }
    x
  }
  objects <- Filter(Negate(is.null), replicate(300, tryCatch(node(4), error = function(e) NULL),
                                               simplify = FALSE))
  for (x in objects) {
    for (i in seq_len(nrow(native_variants))) {
      v <- native_variants$version[[i]]
      a <- native_variants$ascii[[i]]
      xdr <- native_variants$xdr[[i]]
      expect_identical(lowmem::serialize(x, NULL, ascii = a, xdr = xdr, version = v),
                       base::serialize(x, NULL, ascii = a, xdr = xdr, version = v))
    }
  }
})

test_that("a long raw vector (2^31 + 10 bytes) is written with a long length", {
  skip_if_not(identical(Sys.getenv("LOWMEM_TEST_LONG"), "true"), "set LOWMEM_TEST_LONG=true")
  x <- raw(2^31 + 10)
  x[c(1, length(x))] <- as.raw(c(1, 2))
  expect_identical(as.character(lowmem:::serialize_path(x)), lm_writer("native"))
  ours <- lowmem::serialize(x, NULL)
  expect_identical(lowmem::serialized_size(x), as.double(length(ours)))
  expect_identical(ours[24:35], as.raw(c(0, 0, 0, 0x18, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)))
  expect_identical(ours[36:39], as.raw(c(0x80, 0, 0, 0x0a)))
  theirs <- base::serialize(x, NULL)
  expect_identical(ours, theirs)
})
