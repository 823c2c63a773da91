#' The exact size of an object's serialization
#'
#' Counts the bytes `serialize(object, NULL, ...)` would produce, without
#' producing them. For plain data the count comes from lengths and string
#' byte counts (microseconds even for a large data frame); otherwise R's
#' serializer runs into a counter. Nothing that grows with the object is
#' allocated.
#'
#' @inheritParams serialize
#' @return The number of bytes, as a double (it may exceed `2^31`).
#' @export
#' @examples
#' x <- runif(1e5)
#' serialized_size(x)
#' length(serialize(x, NULL))
serialized_size <- function(object, ascii = FALSE, xdr = TRUE, version = NULL,
                            refhook = NULL) {
  type <- format_code(ascii, xdr)
  check_refhook(refhook)
  .Call(C_lowmem_serialized_size, object, type, version, refhook)
}
