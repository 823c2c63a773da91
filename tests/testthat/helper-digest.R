# digest(): digest::digest() of the machine is the oracle (test-digest.R).

# The algorithms lowmem::digest() computes (spookyhash: a classed error),
# and those of them the installed digest has (0.6.31: no crc32c, no xxh3).
digest_lowmem_algos <- c("md5", "sha1", "crc32", "sha256", "sha512", "xxhash32", "xxhash64",
                         "murmur32", "blake3", "crc32c", "xxh3_64", "xxh3_128")
digest_oracle_algos <- function() {
  if (!requireNamespace("digest", quietly = TRUE)) return(character())
  intersect(digest_lowmem_algos, eval(formals(digest::digest)$algo))
}

# Comparisons made and held, by kind; printed at the end of test-digest.R
# when LOWMEM_DIGEST_COUNT is set.
digest_count <- new.env(parent = emptyenv())
digest_count$n <- c(named = 0L, positional = 0L, hook = 0L, vectors = 0L)
digest_counted <- function(kind) digest_count$n[[kind]] <- digest_count$n[[kind]] + 1L

# digest's formals after `object`, with the values their defaults give.
digest_defaults <- function() {
  list(algo = "md5", serialize = TRUE, file = FALSE, length = Inf, skip = "auto",
       ascii = FALSE, raw = FALSE, seed = 0, errormode = "stop",
       serializeVersion = getOption("serializeVersion", 2L))
}

# A call's arguments: `x`, `algo` and `args` named as given, or every
# argument up to the last one given by position, the others at their
# defaults (digest(x, "md5", TRUE, FALSE, Inf, 3, ...)).
digest_call_args <- function(x, algo, args, positional) {
  if (!positional) return(c(list(x, algo), args))
  all <- digest_defaults()
  all$algo <- algo
  all[names(args)] <- args
  last <- max(match(c("algo", names(args)), names(all)))
  c(list(x), unname(all[seq_len(last)]))
}

# A value or an error, for a message.
digest_shown <- function(x) {
  if (inherits(x, "error")) return(paste("<error:", conditionMessage(x), ">"))
  paste(format(x), collapse = " ")
}

# Warnings (the serializer's "'package:x' may not be available", errormode =
# "warn") are both packages' and are not compared here.
digest_try <- function(f, call_args) {
  tryCatch(suppressWarnings(do.call(f, call_args, quote = TRUE)), error = identity)
}

# The first mismatch as text, or NULL if lowmem::digest() returns what
# digest::digest() returns for the same call, with the arguments named and,
# if `positional`, by position too. A call digest refuses is not compared
# (test-digest.R checks the refusals apart).
digest_oracle <- function(x, algo, args, positional = TRUE) {
  problems <- NULL
  for (positional in c(FALSE, if (positional) TRUE)) {
    call_args <- digest_call_args(x, algo, args, positional)
    expected <- digest_try(digest::digest, call_args)
    if (inherits(expected, "error")) next
    got <- digest_try(lowmem::digest, call_args)
    digest_counted(if (positional) "positional" else "named")
    if (!identical(got, expected)) {
      problems <- c(problems, sprintf("%s, %s%s: lowmem %s, digest %s", algo, deparse1(args),
                                      if (positional) " (by position)" else "",
                                      digest_shown(got), digest_shown(expected)))
    }
  }
  problems[1]
}

# Objects whose stream changes from one serialization to the next (a srcref's
# srcfile environment that testthat's parser is still filling) cannot be
# compared across two calls.
digest_stable <- function(x) {
  suppressWarnings(identical(base::serialize(x, NULL), base::serialize(x, NULL)))
}
