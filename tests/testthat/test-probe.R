# The format probes (R/probe.R): the rules of this R's writer are learned
# from base::serialize() when the package loads, and the native writer runs
# only if it writes what this R writes.

restore_probes <- function() lowmem:::probe_native()

test_that("on this R the probes agree: the native writer runs", {
  status <- lowmem:::native_status()
  expect_identical(status$refusal, lowmem:::probe_native())
  # The flags no API tells (gp bits: GROWABLE on R < 4.6, bits objects were
  # unserialized with, ...): a build without LEVELS (R >= 4.5) learns them
  # from R's own writer (the tap) for every object, the probes' included.
  blind <- status$gp_bits == "API predicates"
  expect_identical(status$tap, blind)
  before <- status$tap_passes
  expect_null(lowmem:::probe_native())
  expect_identical(lowmem:::native_status()$tap_passes > before, blind)
  expect_null(status$refusal)
  # The ASCII formats: the native writer writes them where R's printf is
  # glibc's (Linux), R's writer elsewhere (inst/notes/platforms.md).
  if (R.version$os == "linux-gnu") expect_null(status$ascii_refusal)
  expect_identical(as.character(lowmem:::serialize_path(1.5, ascii = TRUE)),
                   if (is.null(status$ascii_refusal)) "native" else "universal")
  expect_identical(as.character(lowmem:::serialize_path(data.frame(x = 1))), "native")
  # What the build reads R objects with follows the R it was built for.
  expect_identical(status$gp_bits, if (getRversion() >= "4.5.0") "API predicates" else "LEVELS")
  expect_identical(status$attributes, if (getRversion() >= "4.6.0") "R_mapAttrib" else "ATTRIB")
})

test_that("a disagreeing probe turns the native writer off, with the reason; bytes stay base's", {
  on.exit(restore_probes())
  # An oracle that writes one byte differently from base R, as another R
  # version's writer might.
  other_r <- function(x, connection, ...) {
    bytes <- base::serialize(x, connection, ...)
    bytes[length(bytes)] <- as.raw(bitwXor(as.integer(bytes[length(bytes)]), 1L))
    bytes
  }
  reason <- lowmem:::probe_native(other_r)
  expect_match(reason, "^base::serialize\\(\\) of this R writes other bytes than the native writer for the format probe '")
  df <- data.frame(x = runif(100), y = sample(letters, 100, TRUE))
  path <- lowmem:::serialize_path(df)
  expect_identical(as.character(path), "universal")
  expect_identical(attr(path, "reason"), reason)
  for (v in lm_variants()) {
    expect_identical(do.call(lowmem::serialize, c(list(df, NULL), v)),
                     do.call(base::serialize, c(list(df, NULL), v)), label = lm_variant_label(v))
  }
  expect_identical(lowmem::serialized_size(df), as.double(length(base::serialize(df, NULL))))
  # Streams too.
  path <- tempfile(fileext = ".rds")
  on.exit(unlink(path), add = TRUE)
  serialize_to_file(df, path)
  expect_identical(as.vector(lowmem:::last_stream_path()), "universal")
  expect_identical(readRDS(path), df)
  # Probing again with base R itself turns it back on where it was on.
  expect_identical(restore_probes(), lowmem:::native_status()$refusal)
})

test_that("probes that fail turn the native writer off, with the reason", {
  on.exit(restore_probes())
  failing <- function(x, connection, ...) stop("no serializer here")
  expect_error(lowmem:::probe_native(failing), "no serializer here")
  reason <- lowmem:::probe_session(failing)
  expect_identical(reason, "the format probes failed: no serializer here")
  expect_identical(lowmem:::native_status()$refusal, reason)
  expect_identical(attr(lowmem:::serialize_path(1:3 + 0L), "reason"), reason)
  expect_identical(lowmem::serialize(1:3 + 0L, NULL), base::serialize(1:3 + 0L, NULL))
})

test_that("the probes cover grown vectors, encodings, S4, ALTREP, compact row names", {
  objects <- lowmem:::probe_objects()
  expect_true(all(c("grown double vector", "strings in every encoding", "S4 bit", "compact sequences",
                    "wrapper", "deferred string", "data frame (compact row names)") %in% names(objects)))
  expect_true(isS4(objects[["S4 bit without attributes"]]))
  expect_identical(Encoding(objects[["strings in every encoding"]])[2:4], c("UTF-8", "latin1", "bytes"))
  expect_identical(.row_names_info(objects[["data frame (compact row names)"]], type = 0L), c(NA, -3L))
})

test_that("the probes load quietly in a session whose native encoding is not UTF-8", {
  skip_on_os("windows")
  rscript <- file.path(R.home("bin"), "Rscript")
  code <- paste(
    "w <- character(); withCallingHandlers(loadNamespace('lowmem'),",
    "warning = function(c) { w <<- c(w, conditionMessage(c)); invokeRestart('muffleWarning') });",
    "cat(length(w), is.null(lowmem:::native_status()$refusal), l10n_info()[['UTF-8']], sep = ' ')"
  )
  out <- system2(rscript, c("--vanilla", "-e", shQuote(code)), stdout = TRUE, stderr = TRUE,
                 env = c("LC_ALL=C", "LANG=C", paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))))
  expect_identical(tail(out, 1), paste("0", is.null(lowmem:::native_status()$refusal), "FALSE"))
})
