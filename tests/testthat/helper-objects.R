# A fixed, named set of objects covering every SEXP type R lets us make.
#
# lm_fixtures() builds the set afresh on each call, so that state changed by
# earlier code (deferred strings expanded by `%in%`, `sort()`, `match()`, or
# an assignment) does not leak from one test into another.
#
# Every closure, formula and environment here is given an explicit, small
# enclosure (the global, base or empty environment, or a namespace): if it
# captured the builder's frame, serializing it would serialize the whole
# fixture set through that frame.
#
# What cannot be made from R code:
# * Weak references: R 4.2.2 has no R-level constructor. rlang, which testthat
#   itself imports (so it is present wherever testthat is), has one; it is used
#   when available (lm_weakref()) and the weakref fixtures are left out
#   otherwise.
# * The object bit without a class attribute: R code cannot set OBJECT()
#   without setting a class. The set includes such an object anyway, made by
#   unserializing a hand-written stream whose flags have the object bit and no
#   attributes (lm_object_bit_no_class()).

lm_int32_xdr <- function(v) {
  as.raw(unlist(lapply(as.integer(v), function(i) {
    rev(packBits(intToBits(i), "raw"))
  })))
}

# An integer vector c(42L) with OBJECT() set and no attributes.
lm_object_bit_no_class <- function() {
  bytes <- c(
    charToRaw("X\n"),
    lm_int32_xdr(c(
      2L,                  # format version 2
      262402L,             # written by R 4.1.2 (any version works)
      131840L,             # readable by R 2.3.0
      13L + 256L,          # INTSXP with the object bit, no attributes
      1L, 42L
    ))
  )
  x <- unserialize(bytes)
  stopifnot(is.object(x), is.null(attributes(x)))
  x
}

lm_weakref_constructor <- function() {
  pkg <- "rlang" # testthat's own dependency; see above
  if (!requireNamespace(pkg, quietly = TRUE)) return(NULL)
  if (!exists("new_weakref", envir = asNamespace(pkg), inherits = FALSE)) return(NULL)
  getExportedValue(pkg, "new_weakref")
}

# An external pointer with no base constructor: the address of one of
# lowmem's registered routines (class "RegisteredNativeSymbol").
lm_extptr <- function() {
  getDLLRegisteredRoutines("lowmem")$.Call$lowmem_serialize_raw$address
}

# Depth of the deeply nested list. With the default 8 MB C stack, base R
# 4.2.2 (x86_64, Rscript) serializes a list nested up to 25703 deep and
# fails beyond with "C stack usage ... is too close to the limit" (lowmem:
# up to 25702, its C frames being a little larger). 10000 leaves ample room
# for testthat's own frames and other stack sizes.
lm_deep_depth <- 10000L

lm_deep_list <- function(depth = lm_deep_depth) {
  x <- list()
  for (i in seq_len(depth)) x <- list(x)
  x
}

lm_deep_call <- function(depth = 1000L) {
  x <- quote(x)
  for (i in seq_len(depth)) x <- call("f", x, i)
  x
}

lm_s4_classes <- local({
  where <- NULL
  function() {
    if (is.null(where)) {
      where <<- new.env(parent = globalenv())
      methods::setClass("LmPoint", representation(x = "numeric", y = "character"), where = where)
      methods::setClass("LmNumber", contains = "numeric", representation(unit = "character"), where = where)
    }
    invisible(where)
  }
})

lm_fixtures <- function() {
  g <- globalenv()
  out <- list()

  # NULL and atomic vectors, empty and with every special value.
  out["null"] <- list(NULL)
  out$logical <- c(TRUE, FALSE, NA)
  out$logical_empty <- logical()
  out$integer <- c(0L, 1L, -1L, .Machine$integer.max, -.Machine$integer.max, NA_integer_)
  out$integer_empty <- integer()
  out$double <- c(0, -0, 1.5, -2.25e-300, 1e308, pi, .Machine$double.xmin,
                  4.9e-324, NA_real_, NaN, Inf, -Inf)
  out$double_empty <- double()
  out$complex <- complex(real = c(1, NA, NaN, -0, Inf, 0),
                         imaginary = c(-1, 0, NA, Inf, -Inf, NaN))
  out$complex_na <- NA_complex_
  out$complex_empty <- complex()
  out$character <- c("a", "", NA_character_, "NA", " spaces and\ttabs\n", "quote\"back\\slash")
  out$character_empty <- character()
  out$character_na <- NA_character_
  out$raw <- as.raw(0:255)
  out$raw_empty <- raw()
  out$double_1e5 <- seq(0, 1, length.out = 1e5) * pi
  out$integer_1e5 <- rev(seq_len(1e5)) * 3L

  # Strings in every encoding.
  out$utf8 <- c("caf\u00e9", "\u4e2d\u6587", "\U0001F600", "\u00fc\u00df")
  latin1 <- iconv(c("caf\u00e9", "na\u00efve", "plain"), "UTF-8", "latin1")
  out$latin1 <- latin1
  marked <- "\xe9t\xe9"
  Encoding(marked) <- "latin1"
  out$latin1_marked <- marked
  bytes <- c("\xff\xfe\x01", "\x80abc")
  Encoding(bytes) <- "bytes"
  out$bytes <- bytes
  out$ascii <- c("plain", "ASCII only")
  out$native_unflagged <- "caf\xc3\xa9" # native (UTF-8 here), not marked
  out$encodings_mixed <- c(out$utf8[1], latin1[1], bytes[1], "ascii", NA, out$native_unflagged)
  out$long_string <- strrep("abcdefghij", 1e5) # 1e6 characters
  out$long_string_utf8 <- strrep("\u00e9\u4e2d", 2e4)

  # Attributes.
  out$named <- c(a = 1, b = 2, c = NA)
  out$named_na_names <- structure(1:3, names = c("a", NA, ""))
  out$matrix <- matrix(1:6, 2, dimnames = list(c("r1", "r2"), c("a", "b", "c")))
  out$matrix_character <- matrix(letters[1:6], 3)
  out$array <- array(seq_len(24) / 7, 2:4, dimnames = list(NULL, c("x", "y", "z"), NULL))
  out$classed <- structure(list(1, "a"), class = c("my_class", "list"))
  out$arbitrary_attrs <- structure(1:3, foo = "bar", baz = list(1, NULL), comment = "hi")
  out$factor <- factor(c("lo", "hi", NA, "lo"), levels = c("lo", "hi"))
  out$ordered <- factor(c("b", "a"), levels = c("a", "b"), ordered = TRUE)
  out$date <- as.Date(c("2024-02-29", NA, "1970-01-01"))
  out$posixct <- as.POSIXct(c("2024-01-02 03:04:05", NA), tz = "UTC")
  out$posixlt <- as.POSIXlt("2024-01-02 03:04:05", tz = "UTC")
  out$difftime <- as.difftime(c(1, 2.5), units = "hours")
  out$data_frame <- data.frame(x = 1:3, y = c("a", "b", NA), z = c(0.5, NA, 2),
                               f = factor(c("u", "v", "u")), stringsAsFactors = FALSE)
  out$data_frame_rownames <- data.frame(x = 1:2, row.names = c("first", "second"))
  out$data_frame_empty <- data.frame()
  out$data_frame_list_column <- structure(
    list(id = 1:2, l = list(1:3, letters)),
    row.names = c(NA, -2L), class = "data.frame"
  )

  # Lists and pairlists.
  out$list <- list(1, "a", NULL, list(TRUE, list(NA)), c(x = 1i))
  out$list_empty <- list()
  out$list_named <- list(a = 1, b = list(c = 2, d = list(e = "deep")))
  out$list_deep <- lm_deep_list()
  out$pairlist <- pairlist(a = 1, 2, b = "x", c = NULL)
  out$pairlist_long <- as.pairlist(as.list(seq_len(5000)))

  # Language.
  out$symbol <- as.name("x")
  # Symbols are in the native encoding: a non-ASCII one needs a UTF-8 locale
  # (in a C locale R would make it "caf<U+00E9>", with a warning).
  if (l10n_info()[["UTF-8"]]) out$symbol_non_ascii <- as.name("caf\u00e9")
  out$symbol_backquoted <- as.name("a name with spaces")
  out$call <- quote(f(x, y = 2, ...))
  # str2lang(): no srcref on the `function` call (it would hold an environment).
  out$call_nested <- str2lang("if (a > 1) b[[1]]$c else function(x, y = 1) x + y")
  out$call_function_srcref <- quote(function(x) x) # with a srcref if sourced with keep.source
  out$call_deep <- lm_deep_call()
  out$formula <- stats::as.formula("y ~ x + log(z) | g", env = g)
  out$formula_one_sided <- stats::as.formula("~ a:b", env = emptyenv())
  out$missing_arg_in_list <- list(quote(expr = ), 1)
  out$alist <- alist(a = , b = 1)
  out$expression <- expression(a + 1, "b", 2L, quote(c))
  out$expression_empty <- expression()

  # S4.
  lm_s4_classes()
  out$s4 <- methods::new("LmPoint", x = c(1, 2), y = "p")
  out$s4_numeric <- methods::new("LmNumber", c(1.5, 2.5), unit = "m")
  out$s4_bit_no_class <- asS4(1:2)
  out$object_bit_no_class <- lm_object_bit_no_class()

  # Environments.
  cyc <- new.env(parent = emptyenv())
  cyc$self <- cyc
  cyc$list <- list(cyc, cyc)
  out$env_cycle <- cyc
  out$env_unhashed <- list2env(list(a = 1, b = "two"), envir = new.env(hash = FALSE, parent = g))
  locked <- list2env(list(a = 1:3), parent = g)
  lockEnvironment(locked, bindings = TRUE)
  out$env_locked <- locked
  half <- list2env(list(a = 1, b = 2), parent = emptyenv())
  lockBinding("a", half)
  out$env_one_locked_binding <- half
  active <- new.env(parent = g)
  makeActiveBinding("now", eval(quote(function() 42), g), active)
  active$plain <- "value"
  out$env_active_binding <- active
  prom <- new.env(parent = g)
  delayedAssign("lazy", stop("never forced"), eval.env = g, assign.env = prom)
  delayedAssign("lazy2", a + b, eval.env = list2env(list(a = 1, b = 2), parent = baseenv()),
                assign.env = prom)
  out$env_promise <- prom
  out$env_classed <- structure(new.env(parent = emptyenv()), class = "my_env", tag = "t")
  dots_fun <- eval(quote(function(...) environment()), g)
  out$env_dots <- local(dots_fun(1, x + 1, y = "a"),
                        envir = list2env(list(x = 1, dots_fun = dots_fun), parent = g))
  out$env_dots_empty <- dots_fun()
  out$globalenv <- g
  out$emptyenv <- emptyenv()
  out$baseenv <- baseenv()
  out$namespace <- asNamespace("stats")
  out$envs_shared <- list(cyc, cyc, locked, g, emptyenv(), cyc)
  out$package_env <- as.environment("package:stats") # base warns

  # Functions.
  out$closure <- eval(quote(function(x, y = 2, ...) x + y), g)
  out$closure_srcref <- eval(parse(text = "function(x) {\n  x + 1 # a comment\n}",
                                   keep.source = TRUE)[[1]], g)
  out$closure_compiled <- compiler::cmpfun(eval(quote(function(x) {
    s <- 0
    for (i in seq_len(x)) s <- s + i
    s
  }), g))
  out$closure_compiled_srcref <- compiler::cmpfun(out$closure_srcref)
  out$closure_namespace <- stats::sd
  out$closure_in_cycle <- local({
    e <- new.env(parent = g)
    e$f <- eval(quote(function() f), e)
    e$f
  })
  out$builtin <- sum
  out$special <- `if`
  out$primitives <- list(`[`, `+`, .Primitive("length"), `function`)

  # ALTREP.
  out$altrep_intseq <- 1:1e6
  out$altrep_intseq_desc <- 10:-10
  out$altrep_realseq <- as.numeric(1:3)
  out$altrep_realseq_big <- as.numeric(1:1e5)
  out$altrep_deferred_string <- as.character(1:1000)
  partial <- as.character(1:1000)
  invisible(partial[[3]]) # expands one element only
  out$altrep_deferred_string_partial <- partial
  modified <- as.character(1:1000)
  modified[2] <- "x" # forces a full expansion
  out$altrep_deferred_string_modified <- modified
  out$altrep_deferred_real_string <- as.character(c(1.5, 2, NA, 1e10))
  out$altrep_wrapper <- sort(c(3, 1, 2))
  out$altrep_wrapper_names <- sort(c(b = 3L, a = 1L, c = 2L))
  w <- sort(c(3, 1, 2))
  attr(w, "foo") <- "bar"
  out$altrep_wrapper_attr <- w
  out$altrep_in_list <- list(1:10, as.character(1:5), sort(c(2, 1)))

  # External pointers and weak references.
  out$extptr <- lm_extptr()
  out$extptr_null <- methods::new("externalptr")
  out$extptrs_shared <- list(out$extptr, out$extptr, out$extptr_null)
  out$native_symbol_info <- getDLLRegisteredRoutines("lowmem")$.Call$lowmem_serialize_raw
  new_weakref <- lm_weakref_constructor()
  if (!is.null(new_weakref)) {
    key <- new.env(parent = emptyenv())
    out$weakref <- new_weakref(key, value = list(1, "v"))
    out$weakref_shared <- list(out$weakref, key, out$weakref)
  }

  out
}

# The fixtures for which identical() is a meaningful round-trip check:
# no environments, external pointers, weak references or functions with
# references to them.
lm_roundtrip_names <- function() {
  c("null", "logical", "logical_empty", "integer", "integer_empty", "double",
    "double_empty", "complex", "complex_na", "complex_empty", "character",
    "character_empty", "character_na", "raw", "raw_empty", "double_1e5",
    "integer_1e5", "utf8", "latin1", "latin1_marked", "bytes", "ascii",
    "native_unflagged", "encodings_mixed", "long_string", "long_string_utf8",
    "named", "named_na_names", "matrix", "matrix_character", "array",
    "classed", "arbitrary_attrs", "factor", "ordered", "date", "posixct",
    "posixlt", "difftime", "data_frame", "data_frame_rownames",
    "data_frame_empty", "data_frame_list_column", "list", "list_empty",
    "list_named", "list_deep", "pairlist", "pairlist_long", "symbol",
    "symbol_non_ascii", "symbol_backquoted", "call", "call_nested",
    "call_deep", "missing_arg_in_list", "alist", "expression",
    "expression_empty", "s4", "s4_numeric", "s4_bit_no_class",
    "object_bit_no_class", "builtin", "special", "primitives",
    "altrep_intseq", "altrep_intseq_desc", "altrep_realseq",
    "altrep_realseq_big", "altrep_deferred_string",
    "altrep_deferred_string_partial", "altrep_deferred_string_modified",
    "altrep_deferred_real_string", "altrep_wrapper", "altrep_wrapper_names",
    "altrep_wrapper_attr", "altrep_in_list")
}

# ---- objects for failing refhooks (test-errors.R, test-leaks.R) --------------

# About 1 MB with an environment in the middle: a refhook that fails there
# (lm_boom()) fails with half of the object counted.
lm_big_object_with_env <- function() {
  e <- new.env(parent = emptyenv())
  e$payload <- 1:10
  list(head = seq(0, 1, length.out = 1e5), env = e, tail = paste0("s", seq_len(20000)))
}

lm_boom <- function(x) if (is.environment(x)) stop("boom") else NULL
