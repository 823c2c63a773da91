# Argument handling shared by serialize() and serialized_size().

# The stream format code, computed with exactly base::serialize()'s
# expressions so that bad `ascii`/`xdr` values fail with base's errors: R's
# R_pstream_format_t (lm_format in src/lowmem.h), which C and Rust take as
# it is: 1 = ASCII, 2 = native binary, 3 = XDR, 4 = ASCII with hex doubles.
format_code <- function(ascii, xdr) {
  # base::serialize() first evaluates `!ascii && inherits(con, "sockconn")`
  # (sockets take another internal route, in the same format): that is
  # where a bad `ascii` fails ("invalid argument type", or one of length
  # two). The same operators here, for the same conditions.
  invisible(!ascii && FALSE)
  if (is.na(ascii)) 4L else if (ascii) 1L else if (!xdr) 2L else 3L
}

is_ascii_format <- function(type) {
  type %in% c(1L, 4L)
}

check_refhook <- function(refhook) {
  if (!is.null(refhook) && !is.function(refhook)) {
    abort(
      sprintf("`refhook` must be a function or NULL, not %s.", describe(refhook)),
      class = "lowmem_error_argument"
    )
  }
  invisible(refhook)
}

describe <- function(x) {
  if (is.null(x)) "NULL" else sprintf("an object of class '%s'", class(x)[[1]])
}

`%||%` <- function(x, y) if (is.null(x)) y else x

check_chunk_size <- function(chunk_size) {
  ok <- is.numeric(chunk_size) && length(chunk_size) == 1L && !is.na(chunk_size) &&
    chunk_size >= 1 && chunk_size <= .Machine$integer.max && chunk_size == trunc(chunk_size)
  if (!ok) {
    abort("`chunk_size` must be a whole number of bytes from 1 to 2^31 - 1.",
          class = "lowmem_error_argument")
  }
  chunk_size
}

default_chunk_size <- function() {
  getOption("lowmem.chunk_size", 1048576)
}

# A function(done, total) that draws a progress bar, or NULL for none.
# NA: only in interactive sessions, and only for outputs over 1 GB.
progress_reporter <- function(progress) {
  if (!is.logical(progress) || length(progress) != 1L) {
    abort("`progress` must be TRUE, FALSE or NA.", class = "lowmem_error_argument")
  }
  if (isFALSE(progress) || (is.na(progress) && !interactive())) {
    return(NULL)
  }
  forced <- isTRUE(progress)
  bar <- NULL
  function(done, total) {
    if (!forced && total < 1e9) {
      return(invisible())
    }
    if (is.null(bar)) {
      bar <<- utils::txtProgressBar(min = 0, max = max(total, 1), style = 3, file = stderr())
    }
    utils::setTxtProgressBar(bar, done)
    if (done >= total) close(bar)
    invisible()
  }
}
