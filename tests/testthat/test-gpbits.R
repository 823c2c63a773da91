# Flags no API tells: gp bits an object was unserialized with (R keeps them,
# and base::serialize() writes them back), gp bits and attributes of
# attribute pairlist cells, the lock of an ALTREP wrapper's metadata. A
# build with LEVELS and ATTRIB (R < 4.5) reads them; a build without
# (R >= 4.5) learns them from R's own writer, object by object (the tap,
# src/rust/src/format/tap.rs), and leaves to R's writer an object whose
# stream has what the native writer cannot write (an attribute cell with
# attributes of its own, on R >= 4.6). Every object here must be base's
# bytes in every variant, sized exactly, and the same through a
# connection, a file and digest().

# Identities held in this file (printed at the end when LOWMEM_GPBITS_COUNT
# is set).
gpbits_count <- new.env(parent = emptyenv())
gpbits_count$n <- 0L

# `bytes` with `mask` or-ed into the int at byte `at` (1-based).
gp_edit_word <- function(bytes, at, mask, xdr) {
  endian <- if (xdr) "big" else .Platform$endian
  i <- at:(at + 3L)
  word <- readBin(bytes[i], "integer", size = 4L, endian = endian)
  bytes[i] <- writeBin(bitwOr(word, mask), raw(), size = 4L, endian = endian)
  bytes
}

# `x` unserialized from its version-2 stream with `mask` or-ed into the
# flags word at byte `at` (15: the object's own, after the 14-byte header).
gp_unserialized <- function(x, at, mask, xdr) {
  bytes <- base::serialize(x, NULL, xdr = xdr, version = 2L)
  unserialize(gp_edit_word(bytes, at, mask, xdr))
}

# The flags word bit of gp bit `bit` (the gp bits start at bit 12).
gp_mask <- function(bit) bitwShiftL(1L, 12L + bit)

# Problems with `x`: lowmem's bytes against base's in every variant (and
# serialized_size()), through a connection, to a file (as saveRDS(compress
# = FALSE) writes it) and digest() (against digest::digest() where it is
# installed). Counts the identities that held. `x` may be a function that
# makes it afresh for each comparison (see the locked wrapper).
gp_problems <- function(x, label) {
  make <- if (is.function(x)) x else function() x
  problems <- character()
  note <- function(ok, what) {
    if (ok) gpbits_count$n <- gpbits_count$n + 1L else problems <<- c(problems, paste(label, what))
  }
  for (v in lm_variants()) {
    p <- lm_compare_variant(make(), v)
    note(is.null(p), paste0("(", lm_variant_label(v), "): ", paste(p, collapse = "; ")))
  }
  con <- rawConnection(raw(0), "wb")
  lowmem::serialize(make(), con)
  note(identical(rawConnectionValue(con), base::serialize(make(), NULL)), "connection")
  close(con)
  ours <- tempfile()
  theirs <- tempfile()
  on.exit(unlink(c(ours, theirs)))
  for (version in 2:3) {
    lowmem::serialize_to_file(make(), ours, version = version)
    saveRDS(make(), theirs, compress = FALSE, version = version)
    note(identical(readBin(ours, "raw", file.size(ours)), readBin(theirs, "raw", file.size(theirs))),
         sprintf("file (version %d)", version))
  }
  if (requireNamespace("digest", quietly = TRUE)) {
    for (version in 2:3) {
      note(identical(lowmem::digest(make(), "md5", serializeVersion = version),
                     digest::digest(make(), "md5", serializeVersion = version)),
           sprintf("digest (version %d)", version))
    }
  }
  problems
}

expect_gp_identical <- function(x, label) {
  problems <- gp_problems(x, label)
  expect(length(problems) == 0L, paste(problems, collapse = "\n"))
}

gp_vectors <- function() {
  list(double = c(1.5, 2.5), integer = c(1L, NA), character = c("a", NA), list = list(1, "b"),
       logical = c(TRUE, NA), raw = as.raw(1:3), complex = complex(real = 1, imaginary = 2))
}

test_that("vectors unserialized with any gp bit: base's bytes", {
  for (xdr in c(TRUE, FALSE)) {
    for (type in names(gp_vectors())) {
      for (bit in 0:15) {
        x <- gp_unserialized(gp_vectors()[[type]], 15L, gp_mask(bit), xdr)
        expect_gp_identical(x, sprintf("%s with gp bit %d (xdr %s)", type, bit, xdr))
      }
    }
  }
  # The reproducer: gp bit 0 of a double vector.
  b <- base::serialize(c(1.5, 2.5), NULL, xdr = FALSE, version = 2)
  b[16] <- as.raw(0x10)
  x <- unserialize(b)
  expect_identical(lowmem::serialize(x, NULL), base::serialize(x, NULL))
})

test_that("CHARSXPs unserialized with any gp bit: base's bytes", {
  utf8 <- intToUtf8(c(0x63, 0x61, 0x66, 0xe9))
  for (xdr in c(TRUE, FALSE)) {
    for (s in list("a", utf8)) {
      for (bit in 0:15) {
        # STRSXP flags, length, then the first CHARSXP's flags word.
        x <- gp_unserialized(c(s, NA), 23L, gp_mask(bit), xdr)
        expect_gp_identical(x, sprintf("string %s with gp bit %d (xdr %s)", encodeString(s), bit, xdr))
      }
    }
  }
})

test_that("attribute cells unserialized with gp bits, the object bit, attributes: base's bytes", {
  # REALSXP flags, length, one double, then the first attribute cell.
  cell <- 31L
  for (xdr in c(TRUE, FALSE)) {
    for (bit in 0:15) {
      x <- gp_unserialized(structure(1.5, foo = 1L, bar = "b"), cell, gp_mask(bit), xdr)
      expect_gp_identical(x, sprintf("attribute cell with gp bit %d (xdr %s)", bit, xdr))
    }
    x <- gp_unserialized(structure(1.5, foo = 1L), cell, 0x100L, xdr)
    expect_gp_identical(x, sprintf("attribute cell with the object bit (xdr %s)", xdr))
    # A cell with attributes of its own: its flags word gets the attribute
    # bit, and its attributes (a pairlist item) come first.
    bytes <- base::serialize(structure(1.5, foo = 1L), NULL, xdr = xdr, version = 2L)
    bytes <- gp_edit_word(bytes, cell, bitwOr(0x200L, gp_mask(3L)), xdr)
    own <- base::serialize(pairlist(zz = 1L), NULL, xdr = xdr, version = 2L)[-(1:14)]
    x <- unserialize(c(bytes[seq_len(cell + 3L)], own, bytes[-seq_len(cell + 3L)]))
    expect_identical(attr(x, "foo"), 1L)
    expect_gp_identical(x, sprintf("attribute cell with attributes (xdr %s)", xdr))
    expect_equal(lowmem::serialized_size(x), length(base::serialize(x, NULL)))
  }
})

# A C helper, built here as a package's tests may: it sets gp bits and
# attributes where R code cannot (test code: SETLEVELS, SET_ATTRIB).
gp_helper <- local({
  dll <- NULL
  function() {
    if (!is.null(dll)) return(dll)
    dir <- tempfile("gpbits")
    dir.create(dir)
    src <- file.path(dir, "gpbits.c")
    writeLines(c(
      "#define ENABLE_LEGACY_NONAPI /* R >= 4.6 declares ATTRIB, SET_ATTRIB, SET_OBJECT only so */",
      "#include <R.h>",
      "#include <Rinternals.h>",
      "int (LEVELS)(SEXP x);          /* R >= 4.6 no longer declares them; libR still has them */",
      "int (SETLEVELS)(SEXP x, int v);",
      "SEXP gp_levels(SEXP x, SEXP lev) { SETLEVELS(x, LEVELS(x) | asInteger(lev)); return x; }",
      "SEXP gp_char_levels(SEXP s, SEXP lev) {",
      "  SEXP c = STRING_ELT(s, 0); SETLEVELS(c, LEVELS(c) | asInteger(lev)); return s; }",
      "SEXP gp_cell(SEXP x, SEXP i, SEXP lev, SEXP obj, SEXP attrib) {",
      "  SEXP cell = ATTRIB(x);",
      "  for (int k = 0; k < asInteger(i); k++) cell = CDR(cell);",
      "  SETLEVELS(cell, LEVELS(cell) | asInteger(lev));",
      "  if (asLogical(obj)) SET_OBJECT(cell, 1);",
      "  if (attrib != R_NilValue) SET_ATTRIB(cell, attrib);",
      "  return x; }"
    ), src)
    rcmd <- file.path(R.home("bin"), "R")
    out <- suppressWarnings(system2(rcmd, c("CMD", "SHLIB", shQuote(src)), stdout = TRUE, stderr = TRUE))
    lib <- file.path(dir, paste0("gpbits", .Platform$dynlib.ext))
    if (!file.exists(lib)) skip(paste("no C compiler:", paste(out, collapse = " ")))
    dll <<- dyn.load(lib)
    dll
  }
})

gp_call <- function(name, ...) {
  .Call(getNativeSymbolInfo(name, gp_helper()), ...)
}

test_that("objects whose gp bits C code set: base's bytes", {
  gp_helper()
  for (bit in 0:15) {
    for (type in names(gp_vectors())) {
      x <- gp_vectors()[[type]]
      x <- c(x, x) # a fresh vector
      gp_call("gp_levels", x, bitwShiftL(1L, bit))
      expect_gp_identical(x, sprintf("%s with gp bit %d set by C", type, bit))
    }
  }
  # CHARSXPs: bits the string cache and the encoding do not use (S4, and 7
  # to 15), on strings made for the test alone.
  for (bit in c(4L, 7:15)) {
    s <- paste0("gpbits-", bit, "-", Sys.getpid(), "-", sample.int(1e9, 1L))
    x <- c(s, "b")
    gp_call("gp_char_levels", x, bitwShiftL(1L, bit))
    expect_gp_identical(x, sprintf("CHARSXP with gp bit %d set by C", bit))
  }
})

test_that("attribute cells with gp bits, the object bit and attributes set by C: base's bytes", {
  gp_helper()
  for (bit in 0:15) {
    x <- structure(c(1.5, 2.5), foo = 1L, names = c("a", "b"))
    gp_call("gp_cell", x, 1L, bitwShiftL(1L, bit), FALSE, NULL)
    expect_gp_identical(x, sprintf("attribute cell with gp bit %d set by C", bit))
  }
  x <- data.frame(a = 1:3, b = c("x", "y", "z"))
  gp_call("gp_cell", x, 0L, 1L, TRUE, NULL)
  expect_gp_identical(x, "data frame's attribute cell with the object bit and gp bit 0")
  for (where in 0:1) {
    x <- structure(list(1, "a"), foo = 1L, bar = 2L)
    gp_call("gp_cell", x, where, 0x100L, FALSE, pairlist(zz = 1L))
    expect_gp_identical(x, sprintf("attribute cell %d with attributes set by C", where))
    expect_equal(lowmem::serialized_size(x), length(base::serialize(x, NULL)))
    path <- lowmem:::serialize_path(x)
    if (lowmem:::native_status()$attributes == "R_mapAttrib") {
      # Items the native writer cannot see: R's writer writes the object.
      expect_identical(as.character(path), "universal")
      expect_match(attr(path, "tap"), "^failed")
    } else {
      expect_identical(as.character(path), "native")
    }
  }
})

# A wrapper (R's ALTREP wrapper class) of a wrapper, used once (which on
# R >= 4.6 locks its data: the lock is a gp bit of its metadata, which R
# writes in version 3). Made afresh for each comparison: every
# serialization of a locked wrapper makes R 4.6 count one more reference
# to its data, and R raises an error past a limit ("REFCNT on locked
# WRAPPER data increased"), for base::serialize() as for lowmem.
gp_locked_wrapper <- function(data) {
  function() {
    w1 <- .Internal(wrap_meta(data(), 1L, 1L))
    w2 <- .Internal(wrap_meta(w1, 1L, 1L))
    invisible(w2 * 2L)
    w2
  }
}

test_that("a locked ALTREP wrapper whose wrapped value is ALTREP: base's bytes", {
  expect_gp_identical(gp_locked_wrapper(function() as.double(1:100)), "locked wrapper")
  expect_gp_identical(gp_locked_wrapper(function() 1:10 + 0L), "locked integer wrapper")
  # The reproducer.
  w1 <- .Internal(wrap_meta(as.double(1:100), 1L, 1L))
  w2 <- .Internal(wrap_meta(w1, 1L, 1L))
  invisible(w2 * 2)
  expect_identical(lowmem::serialize(w2, NULL), base::serialize(w2, NULL))
})

test_that("serialize_path() and native_status() tell what the tap learnt", {
  x <- gp_unserialized(c(1.5, 2.5), 15L, gp_mask(0L), TRUE)
  status <- lowmem:::native_status()
  path <- lowmem:::serialize_path(x)
  expect_identical(as.character(path), "native")
  if (status$gp_bits == "API predicates") {
    expect_true(status$tap)
    expect_identical(attr(path, "tap"), "learned the flags of 1 nodes")
    expect_gt(lowmem:::native_status()$tap_learned, status$tap_learned)
  } else {
    expect_false(status$tap)
    expect_null(attr(path, "tap"))
  }
})

test_that("identities counted", {
  if (nzchar(Sys.getenv("LOWMEM_GPBITS_COUNT"))) {
    message(sprintf("gp bits: %d identities held on R %s", gpbits_count$n, getRversion()))
  }
  expect_gt(gpbits_count$n, 0L)
})
