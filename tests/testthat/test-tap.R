# The tap (src/rust/src/format/tap.rs): where this build cannot read gp bits
# (no LEVELS, R >= 4.5), the native writer learns the flags R writes where
# no API tells them (here: the GROWABLE bit of vectors grown in place, which
# R < 4.6 writes; test-gpbits.R has the rest) from R's own writer, object
# by object. Elsewhere it never runs.

# Objects holding vectors grown in place (long enough for R to give them
# spare capacity, hence the bit), made afresh for each use.
tap_grown <- function(n = 100L) {
  grow <- function(empty, values) {
    x <- empty
    for (i in seq_along(values)) x[[i]] <- values[[i]]
    x
  }
  s4 <- asS4(numeric())
  for (i in seq_len(n)) s4[i] <- i
  list(
    double = grow(double(), seq_len(n) / 2),
    integer = grow(integer(), seq_len(n)),
    character = grow(character(), as.character(seq_len(n))),
    list = grow(list(), as.list(seq_len(n))),
    logical = grow(logical(), rep(c(TRUE, NA), length.out = n)),
    complex = grow(complex(), complex(real = seq_len(n), imaginary = -1)),
    raw = grow(raw(), as.raw(seq_len(n) %% 256)),
    "data frame from rbind()" = do.call(rbind, lapply(seq_len(n), function(i) {
      data.frame(a = i, b = letters[i %% 26 + 1], f = factor(c("u", "v")[i %% 2 + 1]))
    })),
    "two frames rbind()-ed" = rbind(data.frame(x = seq_len(n) + 0.5, y = as.character(seq_len(n))),
                                    data.frame(x = 0, y = "z")),
    nested = list(list(grow(double(), seq_len(n)), list(grow(character(), letters))),
                  grow(list(), lapply(seq_len(n), function(i) grow(integer(), seq_len(i))))),
    S4 = s4,
    "in attributes" = structure(1:3, grown = grow(double(), seq_len(n) + 0.25),
                                names = grow(character(), c("a", "b", "c"))),
    # R hands vector data over in big pieces and the rest in small ones,
    # which C gathers before they go to the tap: their order must stay.
    "long vectors around grown ones" = list(runif(1e5), grow(double(), seq_len(n)), letters,
                                            seq_len(3e4) * 2L, grow(character(), letters), runif(5e3)),
    "twice, and plain" = {
      g <- grow(double(), seq_len(n))
      list(g, g, seq_len(n) + 0, list(g))
    }
  )
}

# The GROWABLE bit (0x20000 of the flags word) as base R writes it for `x`
# (a vector), read off its native-binary version-2 stream.
tap_base_growable <- function(x) {
  flags <- readBin(base::serialize(x, NULL, xdr = FALSE, version = 2L)[15:18], "integer",
                   size = 4L, endian = .Platform$endian)
  bitwAnd(flags, 0x20000L) != 0L
}

# Streams `x` with lowmem to a connection in variant `v` and, for XDR
# (what saveRDS() writes), to a file; the bytes of each (the connection's
# for the file where the variant is not XDR).
tap_streams <- function(x, v) {
  text <- isTRUE(v$ascii) || is.na(v$ascii)
  path <- tempfile()
  on.exit(unlink(path))
  con <- file(path, if (text) "w" else "wb")
  lowmem::serialize(x, con, ascii = v$ascii, xdr = v$xdr, version = v$version)
  close(con)
  via_con <- readBin(path, "raw", file.size(path))
  if (!isFALSE(v$ascii) || !v$xdr) return(list(connection = via_con, file = via_con))
  unlink(path)
  lowmem::serialize_to_file(x, path, version = v$version)
  list(connection = via_con, file = readBin(path, "raw", file.size(path)))
}

# Every variant of every grown object: base's bytes from serialize(x, NULL),
# serialized_size() and both streams, the path `path`. (The objects hold no
# ALTREP vectors, which R's writer would change: one set serves all.)
expect_grown_identical <- function(path = "native") {
  grown <- tap_grown()
  for (name in names(grown)) {
    for (v in lm_variants()) {
      label <- sprintf("%s (%s)", name, lm_variant_label(v))
      x <- grown[[name]]
      got <- lowmem:::serialize_path(x, ascii = v$ascii, xdr = v$xdr, version = v$version)
      expect_identical(as.character(got), path, label = paste(label, "path:", attr(got, "reason")))
      problems <- lm_compare_variant(x, v)
      expect(is.null(problems), paste0(label, ":\n  ", paste(problems, collapse = "\n  ")))
      theirs <- base::serialize(x, NULL, ascii = v$ascii, xdr = v$xdr, version = v$version)
      streams <- tap_streams(x, v)
      expect_identical(streams$connection, theirs, label = paste(label, "connection"))
      expect_identical(streams$file, theirs, label = paste(label, "file"))
    }
  }
}

test_that("the grown objects have the bit where this R writes it", {
  grown <- tap_grown()
  writes <- lowmem:::native_status()$writes_growable
  for (name in c("double", "integer", "character", "list", "logical", "complex", "raw", "S4")) {
    expect_identical(tap_base_growable(grown[[name]]), writes, label = name)
  }
  expect_true(isS4(grown$S4))
  expect_identical(tap_base_growable(grown[["data frame from rbind()"]]$a), writes)
  expect_identical(tap_base_growable(grown[["two frames rbind()-ed"]]$y), writes)
})

test_that("the tap runs only where this build cannot read the bit R writes", {
  status <- lowmem:::native_status()
  needed <- status$gp_bits == "API predicates"
  expect_identical(status$tap, needed)
  before <- lowmem:::native_status()$tap_passes
  x <- tap_grown()
  lowmem::serialize(x, NULL)
  lowmem::serialized_size(x)
  lowmem::serialized_size(x, ascii = TRUE)
  path <- tempfile(fileext = ".rds")
  on.exit(unlink(path))
  lowmem::serialize_to_file(x, path)
  taps <- lowmem:::native_status()$tap_passes - before
  if (needed) {
    # One each, and for the binary size only where attributes are read
    # through R_mapAttrib: binary sizes do not depend on flags words, but
    # on attribute cells' own attributes, which only the tap sees there
    # (the tap runs for ASCII sizes everywhere).
    expect_identical(taps, if (status$attributes == "R_mapAttrib") 4 else 3)
  } else {
    expect_identical(taps, 0)
  }
  # Never for an object the native writer does not cover.
  before <- lowmem:::native_status()$tap_passes
  lowmem::serialize(list(x, function() 1), NULL)
  expect_identical(lowmem:::native_status()$tap_passes, before)
})

test_that("grown vectors: base's bytes in all 12 variants, natively, on every R", {
  expect_null(lowmem:::native_status()$refusal)
  expect_grown_identical("native")
})

test_that("with the tap on every R (forced), grown vectors are still base's bytes", {
  old <- lowmem:::tap_mode("always")
  on.exit(lowmem:::tap_mode(old))
  before <- lowmem:::native_status()$tap_passes
  expect_grown_identical("native")
  expect_gt(lowmem:::native_status()$tap_passes, before)
  # Everything the probes cover, ALTREP objects included (made afresh:
  # R's writer in the tap expands compact sequences in version 2).
  for (name in names(lowmem:::probe_objects())) {
    for (v in lm_variants()) {
      if (name == "deferred string" && v$version == 2L) next
      x <- lowmem:::probe_objects()[[name]]
      label <- sprintf("%s (%s)", name, lm_variant_label(v))
      got <- lowmem:::serialize_path(x, ascii = v$ascii, xdr = v$xdr, version = v$version)
      expect_identical(as.character(got), "native", label = paste(label, "path:", attr(got, "reason")))
      x <- lowmem:::probe_objects()[[name]]
      ours <- lowmem::serialize(x, NULL, ascii = v$ascii, xdr = v$xdr, version = v$version)
      expect_identical(ours, base::serialize(x, NULL, ascii = v$ascii, xdr = v$xdr, version = v$version),
                       label = label)
    }
  }
})

test_that("a tap that fails sends the object to R's writer, with the same bytes", {
  old <- lowmem:::tap_mode("fail")
  on.exit(lowmem:::tap_mode(old))
  path <- lowmem:::serialize_path(tap_grown())
  expect_identical(as.character(path), "universal")
  expect_match(attr(path, "reason"), "disagree \\(the tap\\): R's writer wrote the int")
  expect_grown_identical("universal")
  file <- tempfile(fileext = ".rds")
  on.exit(unlink(file), add = TRUE)
  lowmem::serialize_to_file(tap_grown(), file)
  expect_identical(as.vector(lowmem:::last_stream_path()), "universal")
  expect_match(attr(lowmem:::last_stream_path(), "reason"), "the tap")
  # And back: the mode is per session, the objects are unchanged.
  lowmem:::tap_mode("auto")
  expect_identical(as.character(lowmem:::serialize_path(tap_grown())), "native")
})

test_that("tap_mode() says the previous mode and refuses unknown ones", {
  old <- lowmem:::tap_mode("always")
  on.exit(lowmem:::tap_mode(old))
  expect_identical(lowmem:::tap_mode("fail"), "always")
  expect_identical(lowmem:::tap_mode("auto"), "fail")
  expect_error(lowmem:::tap_mode("sometimes"))
})
