# The oracle: lowmem::serialize() must give exactly base::serialize()'s
# bytes, and serialized_size() exactly their number, for every variant of
# the format.

# The 12 variants: version 2/3 x ascii FALSE/TRUE/NA x xdr TRUE/FALSE.
# (xdr only matters when ascii is FALSE, but every combination is a valid
# call and all of them are tested.)
lm_variants <- function() {
  out <- list()
  for (version in c(3L, 2L)) {
    for (ascii in c(FALSE, TRUE, NA)) {
      for (xdr in c(TRUE, FALSE)) {
        out[[length(out) + 1L]] <- list(version = version, ascii = ascii, xdr = xdr)
      }
    }
  }
  out
}

lm_variant_label <- function(v) {
  paste(sprintf("%s = %s", names(v), vapply(v, deparse, "")), collapse = ", ")
}

# The writer lowmem uses where the native writer would: "native", unless the
# format probes found that it cannot write what this R writes (then R's own
# writer does everything; see R/probe.R).
lm_writer <- function(path = "native") {
  if (identical(path, "native") && !is.null(lowmem:::native_status()$refusal)) "universal" else path
}

# For tests of what only the native writer does (R's writer expands compact
# sequences in version 2, recurses on nested lists, ...).
skip_if_native_off <- function() {
  refusal <- lowmem:::native_status()$refusal
  testthat::skip_if(!is.null(refusal), paste("the native writer is off in this session:", refusal))
}

# Runs `expr`, returning list(value, error, warnings): the value (NULL on
# error), the error's message (NULL if none) and the messages of all warnings
# (which are muffled).
lm_capture <- function(expr) {
  warnings <- character()
  error <- NULL
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) {
      error <<- conditionMessage(e)
      NULL
    }),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  list(value = value, error = error, warnings = warnings)
}

# A refhook wrapped so that it counts its calls.
lm_counting_hook <- function(hook) {
  if (is.null(hook)) return(NULL)
  calls <- 0L
  structure(
    function(x) {
      calls <<- calls + 1L
      hook(x)
    },
    calls = function() calls
  )
}
lm_hook_calls <- function(hook) if (is.null(hook)) 0L else attr(hook, "calls")()

# The first offset (1-based) at which two raw vectors differ, or NA if they
# are identical. A length difference counts as a difference at the end of the
# shorter one.
lm_first_difference <- function(a, b) {
  n <- min(length(a), length(b))
  d <- which(a[seq_len(n)] != b[seq_len(n)])
  if (length(d)) return(d[[1]])
  if (length(a) != length(b)) return(n + 1L)
  NA_integer_
}

lm_hex_window <- function(bytes, at, width = 8L) {
  if (is.null(bytes) || at > length(bytes)) return("<end>")
  idx <- seq(max(1L, at - width), min(length(bytes), at + width))
  paste(as.character(bytes[idx]), collapse = " ")
}

# Compares base and lowmem for one object and one variant. Returns NULL if
# they agree, otherwise a character vector describing each disagreement.
# Checks: the bytes (or the error message, where base errors), the size from
# serialized_size(), the number of refhook calls of each and, if
# `check_warnings`, the warnings.
lm_compare_variant <- function(x, v, refhook = NULL, check_warnings = TRUE) {
  problems <- character()
  hb <- lm_counting_hook(refhook)
  hl <- lm_counting_hook(refhook)
  hs <- lm_counting_hook(refhook)
  b <- lm_capture(base::serialize(x, NULL, ascii = v$ascii, xdr = v$xdr,
                                  version = v$version, refhook = hb))
  l <- lm_capture(lowmem::serialize(x, NULL, ascii = v$ascii, xdr = v$xdr,
                                    version = v$version, refhook = hl))
  s <- lm_capture(lowmem::serialized_size(x, ascii = v$ascii, xdr = v$xdr,
                                          version = v$version, refhook = hs))
  if (!is.null(b$error)) {
    if (!identical(l$error, b$error)) {
      problems <- c(problems, sprintf(
        "base::serialize() failed with %s, lowmem::serialize() %s",
        encodeString(b$error, quote = '"'),
        if (is.null(l$error)) "did not fail" else paste("failed with", encodeString(l$error, quote = '"'))
      ))
    }
    if (!identical(s$error, b$error)) {
      problems <- c(problems, sprintf(
        "base::serialize() failed with %s, serialized_size() %s",
        encodeString(b$error, quote = '"'),
        if (is.null(s$error)) "did not fail" else paste("failed with", encodeString(s$error, quote = '"'))
      ))
    }
  } else {
    if (!is.null(l$error)) {
      problems <- c(problems, paste("lowmem::serialize() failed:", l$error))
    } else if (!is.raw(l$value)) {
      problems <- c(problems, sprintf("lowmem::serialize() returned a %s, not a raw vector", typeof(l$value)))
    } else if (!identical(l$value, b$value)) {
      at <- lm_first_difference(b$value, l$value)
      problems <- c(problems, sprintf(
        paste0("bytes differ: base %d bytes, lowmem %d bytes; first difference at byte %d\n",
               "    base:   ... %s\n    lowmem: ... %s"),
        length(b$value), length(l$value), at,
        lm_hex_window(b$value, at), lm_hex_window(l$value, at)
      ))
    }
    if (!is.null(s$error)) {
      problems <- c(problems, paste("serialized_size() failed:", s$error))
    } else if (!is.double(s$value) || length(s$value) != 1L ||
               !identical(s$value, as.double(length(b$value)))) {
      problems <- c(problems, sprintf(
        "serialized_size() returned %s (%s), base wrote %d bytes",
        paste(format(s$value), collapse = " "), typeof(s$value), length(b$value)
      ))
    }
  }
  if (lm_hook_calls(hl) != lm_hook_calls(hb)) {
    problems <- c(problems, sprintf(
      "the refhook was called %d times by base::serialize(), %d times by lowmem::serialize()",
      lm_hook_calls(hb), lm_hook_calls(hl)
    ))
  }
  if (lm_hook_calls(hs) != lm_hook_calls(hb)) {
    problems <- c(problems, sprintf(
      "the refhook was called %d times by base::serialize(), %d times by serialized_size()",
      lm_hook_calls(hb), lm_hook_calls(hs)
    ))
  }
  if (check_warnings) {
    if (!identical(l$warnings, b$warnings)) {
      problems <- c(problems, sprintf(
        "warnings differ: base::serialize() gave [%s], lowmem::serialize() gave [%s]",
        paste(encodeString(b$warnings, quote = '"'), collapse = ", "),
        paste(encodeString(l$warnings, quote = '"'), collapse = ", ")
      ))
    }
    if (!identical(s$warnings, b$warnings)) {
      problems <- c(problems, sprintf(
        "warnings differ: base::serialize() gave [%s], serialized_size() gave [%s]",
        paste(encodeString(b$warnings, quote = '"'), collapse = ", "),
        paste(encodeString(s$warnings, quote = '"'), collapse = ", ")
      ))
    }
  }
  if (length(problems)) problems else NULL
}

# The expectation: one per variant. `x` is serialized as is; `...` is passed
# to lm_compare_variant() (refhook, check_warnings).
expect_identical_to_base <- function(x, ..., variants = lm_variants(), label = NULL) {
  if (is.null(label)) label <- paste(deparse(substitute(x), width.cutoff = 60L)[[1]], collapse = "")
  for (v in variants) {
    problems <- lm_compare_variant(x, v, ...)
    expect(
      is.null(problems),
      sprintf("lowmem disagrees with base for `%s` with %s:\n  %s",
              label, lm_variant_label(v), paste(problems, collapse = "\n  "))
    )
  }
  invisible(x)
}

# The value of `expr`, with anything it prints discarded.
lm_quietly <- function(expr) {
  utils::capture.output(value <- expr)
  value
}
