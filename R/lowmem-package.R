#' lowmem: serialize R objects with less memory
#'
#' `base::serialize(x, NULL)` writes into a buffer that grows while it
#' writes, then copies it into a new raw vector: the process peaks at about
#' twice the output above where it started. lowmem writes R's own
#' serialization format, byte for byte what `base::serialize()` writes,
#' straight into one raw vector allocated at its final size, or streams it in
#' chunks to a connection or a file.
#'
#' * [serialize()]: a drop-in replacement for `base::serialize()`.
#' * [serialized_size()]: the exact size of the output, without producing it.
#'
#' @keywords internal
#' @importFrom utils txtProgressBar setTxtProgressBar
#' @useDynLib lowmem, .registration = TRUE, .fixes = "C_"
"_PACKAGE"

.onLoad <- function(libname, pkgname) {
  probe_session()
}
