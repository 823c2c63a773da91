# The format probes: what the running R's own writer writes, learned from R
# itself when the package loads, never assumed from its version number.
#
# Where a rule of the format changed between R versions (R >= 4.6 no longer
# writes the GROWABLE bit of vectors grown in place), the rule is read off
# base::serialize()'s bytes (where this build cannot read the bit and R
# writes it, the native writer learns it per object from R's own writer:
# the tap, src/rust/src/format/tap.rs; the grown probe objects exercise
# it); then a few small objects that exercise every
# part of the format the native writer covers are serialized with base R
# and with the native writer, in every variant, and compared. Only if all
# agree may the native writer run in this session; otherwise R's own
# serializer writes everything (the same bytes, exactly sized, slower) and
# serialize_path() says why. The cost is a few milliseconds, once.

# Small objects that together meet every rule the native writer follows.
probe_objects <- function() {
  grown <- function(empty, values) {
    x <- empty
    for (i in seq_along(values)) x[[i]] <- values[[i]]
    x
  }
  # Made at run time, not written as literals: the package's code is
  # unserialized from its lazy-load database, which in a session whose
  # native encoding is not the install's would translate (and warn about)
  # literal strings that are not ASCII.
  utf8 <- intToUtf8(c(0x63, 0x61, 0x66, 0xe9))
  latin1 <- iconv(utf8, "UTF-8", "latin1")
  bytes <- rawToChar(as.raw(c(0xff, 0xfe)))
  Encoding(bytes) <- "bytes"
  list(
    "grown double vector" = grown(double(), as.double(1:40)),
    "grown list" = grown(list(), as.list(1:40)),
    "grown character vector" = grown(character(), as.character(1:40)),
    "atomic vectors" = list(c(TRUE, NA), c(1L, NA), c(1.5, NA, NaN, Inf), complex(real = 1, imaginary = -2),
                            as.raw(0:3), logical(), integer(), double(), character(), NULL),
    "strings in every encoding" = c("ascii", utf8, latin1, bytes, NA, ""),
    "data frame (compact row names)" = data.frame(a = 1:3, b = c("x", "y", "z"), f = factor(c("u", "v", "u"))),
    "attributes in their order" = structure(1:3, zeta = "z", alpha = list(1), names = c("a", "b", "c")),
    "S4 bit" = asS4(structure(c(1.5, 2), class = "probe")),
    "S4 bit without attributes" = asS4(c(1L, 2L)),
    "pairlist and symbols" = list(pairlist(a = 1, 2), as.name("sym"), list(as.name("sym"))),
    "compact sequences" = list(1:10, as.numeric(3:1)),
    "wrapper" = sort(c(3, 1, 2)),
    "deferred string" = as.character(1:5),
    "nested lists" = list(list(list(1, "a"), list()), structure(list(1, 2), names = c("x", ""))),
    "matrix" = matrix(1:6, 2, dimnames = list(c("r1", "r2"), NULL)),
    "gp bits from a stream" = probe_gp_bits()
  )
}

# A double vector with gp bit 0 set, as R keeps it from a stream that has
# it (files written by C code that set gp bits): no API tells the bit; a
# build without LEVELS learns it from R's writer (the tap).
probe_gp_bits <- function() {
  bytes <- base::serialize(c(1.5, 2.5), NULL, xdr = TRUE, version = 2L)
  bytes[17L] <- as.raw(0x10) # the REALSXP's flags word 0x0000000e, after the 14-byte header
  unserialize(bytes)
}

# The variants of base::serialize(): its arguments, and lowmem's format code.
# Where R's printf is not glibc's, R's writer writes the ASCII formats
# (native_status()$ascii_refusal): they are not probed there.
probe_variants <- function() {
  variants <- list()
  formats <- list(list("xdr", FALSE, TRUE), list("binary", FALSE, FALSE),
                  list("ascii", TRUE, TRUE), list("asciihex", NA, TRUE))
  if (!is.null(.Call(C_lowmem_native_status)[[9L]])) formats <- formats[1:2]
  for (version in 2:3) {
    for (format in formats) {
      variants[[length(variants) + 1L]] <- list(
        label = sprintf("%s, version %d", format[[1]], version),
        ascii = format[[2]], xdr = format[[3]], version = version,
        code = format_code(format[[2]], format[[3]])
      )
    }
  }
  variants
}

# Whether base R writes the GROWABLE bit (0x20 of the gp bits) of a vector
# grown in place: read off the flags word of its native-binary version-2
# serialization, after the 14-byte header.
probe_writes_growable <- function(oracle) {
  x <- probe_objects()[["grown double vector"]]
  bytes <- oracle(x, NULL, xdr = FALSE, version = 2L)
  flags <- readBin(bytes[15:18], "integer", size = 4L, endian = .Platform$endian)
  bitwAnd(flags, bitwShiftL(0x20L, 12L)) != 0L
}

# Runs the probes and turns the native writer on or off for the session;
# returns NULL if it is on, else why it is off. `oracle` stands in for
# base::serialize in tests.
probe_native <- function(oracle = base::serialize) {
  writes_growable <- probe_writes_growable(oracle)
  # The probes' own jobs follow the rule just learned.
  .Call(C_lowmem_session_configure, writes_growable, "the format probes are running")
  reason <- probe_disagreement(oracle, writes_growable)
  .Call(C_lowmem_session_configure, writes_growable, reason)
  invisible(reason)
}

# Objects are made afresh for each variant, and the native writer goes
# first: R's writer expands a deferred string it writes in version 2, which
# would change the object the native writer sees. That string is left out
# of version 2: the native writer does not cover it there (R's writer
# writes it in real use), and covering all the rest is the point.
# All objects go in one list; only if that disagrees are they compared one
# by one, to name the culprit.
# As probe_native(), for .onLoad: should the probes fail, R's writer does
# everything in this session.
probe_session <- function(oracle = base::serialize) {
  tryCatch(probe_native(oracle), error = function(e) {
    reason <- paste("the format probes failed:", conditionMessage(e))
    .Call(C_lowmem_session_configure, TRUE, reason)
    invisible(reason)
  })
}

probe_disagreement <- function(oracle, writes_growable) {
  for (variant in probe_variants()) {
    objects <- probe_objects()
    if (variant$version < 3L) objects[["deferred string"]] <- NULL
    if (!probe_agrees(objects, variant, oracle)) {
      for (name in names(objects)) {
        why <- probe_one(probe_objects()[[name]], name, variant, oracle, writes_growable)
        if (!is.null(why)) return(why)
      }
      return(sprintf("the format probes disagree together (%s) but not one by one", variant$label))
    }
  }
  NULL
}

probe_agrees <- function(x, variant, oracle) {
  ours <- .Call(C_lowmem_native_probe, x, variant$code, variant$version)
  theirs <- oracle(x, NULL, ascii = variant$ascii, xdr = variant$xdr, version = variant$version)
  identical(ours, theirs)
}

# NULL if the native writer writes base's bytes for `x` (or does not cover
# it), else what differs.
probe_one <- function(x, name, variant, oracle, writes_growable) {
  ours <- .Call(C_lowmem_native_probe, x, variant$code, variant$version)
  if (is.null(ours)) {
    return(sprintf("the native writer does not cover the format probe '%s' (%s)", name, variant$label))
  }
  theirs <- oracle(x, NULL, ascii = variant$ascii, xdr = variant$xdr, version = variant$version)
  if (identical(ours, theirs)) {
    return(NULL)
  }
  n <- min(length(ours), length(theirs))
  at <- which(ours[seq_len(n)] != theirs[seq_len(n)])
  at <- if (length(at)) at[[1]] else n + 1L
  why <- sprintf(
    "base::serialize() of this R writes other bytes than the native writer for the format probe '%s' (%s), from byte %d on",
    name, variant$label, at
  )
  # 0x20 of the gp bits is 0x02 in the flags word's second-lowest byte.
  growable <- writes_growable && length(ours) == length(theirs) && at <= n &&
    bitwXor(as.integer(ours[[at]]), as.integer(theirs[[at]])) == 2L
  if (growable) {
    why <- paste0(why, ": this R writes the GROWABLE bit of vectors grown in place, ",
                  "which R's API does not tell a package, and the tap did not learn it")
  }
  why
}

# What the probes found and how this build reads R objects: refusal (NULL
# when the native writer runs, else why not), writes_growable, gp_bits
# ("LEVELS" or "API predicates"), attributes ("ATTRIB" or "R_mapAttrib"),
# tap (whether the native writer learns from R's own writer, object by
# object, the flags no API tells it: a build without LEVELS; see
# src/rust/src/format/tap.rs), tap_passes (how many taps have run in this
# session), tap_last (what the last one found: "learned the flags of N
# nodes" or "failed: why"; NULL before the first) and tap_learned (nodes
# whose flags all taps of the session learnt).
native_status <- function() {
  status <- .Call(C_lowmem_native_status)
  names(status) <- c("refusal", "writes_growable", "gp_bits", "attributes", "tap", "tap_passes",
                     "tap_last", "tap_learned", "ascii_refusal")
  status
}

# When the tap runs: "auto" (where the session needs it), "always" (before
# every native pass, on any R), "fail" (always, and it fails: the object
# goes to R's writer) or "never" (the flags it would learn are lost: for
# benchmarks of its cost). For tests. Returns the previous mode, invisibly.
tap_mode <- function(mode = c("auto", "always", "fail", "never")) {
  modes <- c("auto", "always", "fail", "never")
  old <- .Call(C_lowmem_tap_mode, match(match.arg(mode), modes) - 1L)
  invisible(modes[[old + 1L]])
}
