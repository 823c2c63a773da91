# Argument handling shared by serialize() and serialized_size().

# The stream format code, computed with exactly base::serialize()'s
# expressions so that bad `ascii`/`xdr` values fail with base's errors:
# 0 = XDR, 1 = ASCII, 2 = ASCII with hex doubles, 3 = native binary.
format_code <- function(ascii, xdr, connection = NULL) {
  if (!ascii && inherits(connection, "sockconn")) {
    # base::serialize() takes another internal route here; the format is the same.
  }
  if (is.na(ascii)) 2L else if (ascii) 1L else if (!xdr) 3L else 0L
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
