# Errors: base's messages where base errors; lowmem's own classed errors;
# a failing refhook leaves the session (and its memory) intact.

# Not here: ascii = c(TRUE, FALSE). base::serialize() evaluates `!ascii && ...`,
# and R CMD check --as-cran (_R_CHECK_LENGTH_1_LOGIC2_) aborts the whole
# process on a length-2 `&&` operand, in base's code as in lowmem's.
lm_bad_args <- list(
  "version = 1" = list(version = 1),
  "version = 4" = list(version = 4),
  "version = 0" = list(version = 0),
  "version = -1" = list(version = -1),
  "version = NA" = list(version = NA),
  "version = NA_integer_" = list(version = NA_integer_),
  "version = 'a'" = list(version = "a"),
  "version = numeric(0)" = list(version = numeric(0)),
  "version = TRUE" = list(version = TRUE),
  "ascii = 'yes'" = list(ascii = "yes"),
  "ascii = NULL" = list(ascii = NULL),
  "ascii = logical(0)" = list(ascii = logical(0)),
  "xdr = NA" = list(xdr = NA),
  "xdr = 'yes'" = list(xdr = "yes"),
  "xdr = NULL" = list(xdr = NULL)
)

test_that("bad arguments give base's error messages (and warnings), serialize()", {
  x <- list(1, "a")
  for (nm in names(lm_bad_args)) {
    args <- lm_bad_args[[nm]]
    b <- lm_capture(do.call(base::serialize, c(list(x, NULL), args)))
    l <- lm_capture(do.call(lowmem::serialize, c(list(x, NULL), args)))
    expect(!is.null(b$error) || length(b$warnings) > 0, sprintf("base accepts %s silently", nm))
    expect(identical(l$error, b$error),
           sprintf("with %s base fails with %s, lowmem with %s", nm,
                   deparse(b$error), deparse(l$error)))
    expect(identical(l$warnings, b$warnings),
           sprintf("with %s base warns %s, lowmem %s", nm,
                   deparse(b$warnings), deparse(l$warnings)))
  }
})

test_that("bad arguments give base's error messages (and warnings), serialized_size()", {
  x <- list(1, "a")
  for (nm in names(lm_bad_args)) {
    args <- lm_bad_args[[nm]]
    b <- lm_capture(do.call(base::serialize, c(list(x, NULL), args)))
    s <- lm_capture(do.call(lowmem::serialized_size, c(list(x), args)))
    expect(identical(s$error, b$error),
           sprintf("with %s base fails with %s, serialized_size() with %s", nm,
                   deparse(b$error), deparse(s$error)))
    expect(identical(s$warnings, b$warnings),
           sprintf("with %s base warns %s, serialized_size() %s", nm,
                   deparse(b$warnings), deparse(s$warnings)))
  }
})

test_that("the messages named in the specification are exactly base's", {
  expect_error(lowmem::serialize(1, NULL, version = 0), "bad version value", fixed = TRUE)
  expect_error(lowmem::serialize(1, NULL, version = NA), "bad version value", fixed = TRUE)
  expect_error(lowmem::serialize(1, NULL, version = 1), "version 1 not supported", fixed = TRUE)
  expect_error(lowmem::serialize(1, NULL, version = 4), "version 4 not supported", fixed = TRUE)
  expect_error(lowmem::serialize(1, NULL, ascii = "yes"), "invalid argument type", fixed = TRUE)
  expect_error(lowmem::serialize(1, NULL, xdr = NA), "missing value where TRUE/FALSE needed", fixed = TRUE)
  expect_error(lowmem::serialized_size(1, version = 0), "bad version value", fixed = TRUE)
  expect_error(lowmem::serialized_size(1, version = 4), "version 4 not supported", fixed = TRUE)
  expect_error(lowmem::serialized_size(1, ascii = "yes"), "invalid argument type", fixed = TRUE)
  expect_error(lowmem::serialized_size(1, xdr = NA), "missing value where TRUE/FALSE needed", fixed = TRUE)
})

test_that("a connection that is not a connection: base's message", {
  b <- lm_capture(base::serialize(1, "notacon"))
  l <- lm_capture(lowmem::serialize(1, "notacon"))
  expect_identical(b$error, "'connection' must be a connection")
  expect_identical(l$error, b$error)
  expect_error(lowmem::serialize(1, 42L), "'connection' must be a connection", fixed = TRUE)
  expect_error(lowmem::serialize(1, list()), "'connection' must be a connection", fixed = TRUE)
})

test_that("a refhook that is not a function is a lowmem_error_argument", {
  for (hook in list(1, "f", list(), TRUE, quote(f))) {
    err <- expect_error(lowmem::serialize(1, NULL, refhook = hook), class = "lowmem_error_argument")
    expect_identical(class(err), c("lowmem_error_argument", "lowmem_error", "error", "condition"))
    expect_match(conditionMessage(err), "refhook")
    expect_error(lowmem::serialized_size(1, refhook = hook), class = "lowmem_error_argument")
    # Even with an environment in the object (where base would fail only
    # when it calls the hook, with "attempt to apply non-function").
    expect_error(lowmem::serialize(new.env(), NULL, refhook = hook), class = "lowmem_error_argument")
  }
})

# ---- a refhook that fails ----------------------------------------------------

# lm_big_object_with_env() and lm_boom(): helper-objects.R.

test_that("a refhook error propagates with its message, and the session goes on", {
  x <- lm_big_object_with_env()
  b <- lm_capture(base::serialize(x, NULL, refhook = lm_boom))
  expect_identical(b$error, "boom")
  for (v in lm_variants()) {
    l <- lm_capture(lowmem::serialize(x, NULL, ascii = v$ascii, xdr = v$xdr,
                                      version = v$version, refhook = lm_boom))
    s <- lm_capture(lowmem::serialized_size(x, ascii = v$ascii, xdr = v$xdr,
                                            version = v$version, refhook = lm_boom))
    expect(identical(l$error, "boom"), paste("serialize() with", lm_variant_label(v), "gave", deparse(l$error)))
    expect(identical(s$error, "boom"), paste("serialized_size() with", lm_variant_label(v), "gave", deparse(s$error)))
  }
  # The condition object itself is the hook's.
  err <- tryCatch(lowmem::serialize(x, NULL, refhook = function(e) {
    stop(structure(class = c("my_condition", "error", "condition"),
                   list(message = "custom", call = NULL)))
  }), error = function(e) e)
  expect_s3_class(err, "my_condition")
  # A hook that jumps out through a restart rather than an error.
  res <- withRestarts(
    lowmem::serialize(x, NULL, refhook = function(e) invokeRestart("lm_out", "jumped")),
    lm_out = function(v) v
  )
  expect_identical(res, "jumped")
  # Afterwards everything still works.
  expect_identical(lowmem::serialize(x, NULL), base::serialize(x, NULL))
  expect_identical(lowmem::serialized_size(x), as.double(length(base::serialize(x, NULL))))
  hook_ok <- function(e) "named"
  expect_identical(lowmem::serialize(x, NULL, refhook = hook_ok),
                   base::serialize(x, NULL, refhook = hook_ok))
})

test_that("a refhook failing on its second call: same as base", {
  e1 <- new.env(parent = emptyenv())
  e2 <- new.env(parent = emptyenv())
  make_hook <- function() {
    n <- 0L
    function(e) {
      n <<- n + 1L
      if (n == 2L) stop("second call fails") else NULL
    }
  }
  b <- lm_capture(base::serialize(list(e1, e2), NULL, refhook = make_hook()))
  l <- lm_capture(lowmem::serialize(list(e1, e2), NULL, refhook = make_hook()))
  s <- lm_capture(lowmem::serialized_size(list(e1, e2), refhook = make_hook()))
  expect_identical(b$error, "second call fails")
  expect_identical(l$error, b$error)
  expect_identical(s$error, b$error)
})

test_that("refhooks returning odd values behave as in base (error or bytes)", {
  e <- new.env(parent = emptyenv())
  hooks <- list(
    numeric = function(x) 1,
    empty_character = function(x) character(0),
    list = function(x) list("a"),
    na_character = function(x) NA_character_,
    named_character = function(x) c(a = "x"),
    two_strings = function(x) c("a", "b"),
    logical = function(x) TRUE,
    symbol = function(x) quote(a),
    invisible_null = function(x) invisible(NULL),
    empty_string = function(x) "",
    utf8 = function(x) "caf\u00e9"
  )
  for (nm in names(hooks)) {
    expect_identical_to_base(list(e, 1, e), refhook = hooks[[nm]], label = paste("hook", nm))
  }
})

# Memory after failures: test-leaks.R.

test_that("an xz encoder that cannot get its memory is a memory error", {
  skip_on_os(c("windows", "mac", "solaris")) # ulimit -v limits the address space on Linux
  # Level 9 needs about 670 MB for the encoder; 500 MB of address space is
  # enough for R to start.
  child <- hardening_run_child(ulimit_kb = 500000, c(
    'cat("started\\n")',
    'path <- tempfile()',
    'e <- tryCatch(lowmem::serialize_to_file(1:10, path, compress = "xz", compression_level = 9),',
    '              error = identity)',
    'cat("class:", class(e), "\\n")',
    'cat("file left:", file.exists(path), "\\n")'
  ))
  skip_if_not(grepl("started", child$output, fixed = TRUE), "R does not start in 500 MB")
  skip_if(grepl("class: NULL", child$output, fixed = TRUE), "xz got its memory")
  expect_match(child$output, "class: lowmem_error_memory lowmem_error", fixed = TRUE)
  expect_match(child$output, "file left: FALSE", fixed = TRUE)
})
