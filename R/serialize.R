#' Serialize an R object into exactly one raw vector
#'
#' A drop-in replacement for [base::serialize()]: the same arguments, the
#' same result, byte for byte. With `connection = NULL` the result is
#' written straight into a raw vector allocated once at its final size, so
#' the peak extra memory is the output itself; base R needs about twice
#' that, because it grows a buffer and then copies it.
#'
#' It runs R's own serializer twice: once to count the bytes, once to write
#' them. A `refhook` is called only in the first pass; its answers are
#' replayed in the second, so it sees each object once, as with base R.
#'
#' @param object Any R object.
#' @param connection `NULL` for a raw vector, or an open connection. A
#'   connection is currently handed to [base::serialize()] unchanged.
#' @param ascii,xdr,version,refhook As in [base::serialize()]: `ascii = TRUE`
#'   writes text, `ascii = NA` text with hexadecimal doubles; `xdr = FALSE`
#'   native binary; `version` 2 or 3 (`NULL`: R's default); `refhook` a
#'   function called for environments, external pointers and weak references.
#' @return For `connection = NULL`, a raw vector identical to
#'   `base::serialize(object, NULL, ascii, xdr, version, refhook)`;
#'   otherwise `NULL`, invisibly.
#' @seealso [serialized_size()] for the size alone.
#' @export
#' @examples
#' df <- data.frame(x = runif(10), y = letters[1:10])
#' bytes <- lowmem::serialize(df, NULL)
#' identical(bytes, base::serialize(df, NULL))
#' identical(unserialize(bytes), df)
serialize <- function(object, connection = NULL, ascii = FALSE, xdr = TRUE,
                      version = NULL, refhook = NULL) {
  if (!is.null(connection)) {
    if (!inherits(connection, "connection")) {
      stop("'connection' must be a connection")
    }
    if (missing(ascii)) {
      ascii <- summary(connection)$text == "text"
    }
    return(invisible(base::serialize(object, connection, ascii, xdr, version, refhook)))
  }
  type <- format_code(ascii, xdr)
  check_refhook(refhook)
  .Call(C_lowmem_serialize_raw, object, type, version, refhook)
}
