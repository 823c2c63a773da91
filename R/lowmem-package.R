#' lowmem: serialize R objects with less memory
#'
#' `base::serialize(x, NULL)` writes into a buffer that grows while it
#' writes, then copies it into a new raw vector: the process peaks at about
#' twice the output above where it started. lowmem writes R's own
#' serialization format, byte for byte what `base::serialize()` writes,
#' straight into one raw vector allocated at its final size, or streams it in
#' chunks to a connection or a file.
#'
#' Serialization:
#' * [serialize()]: a drop-in replacement for `base::serialize()`, to a raw
#'   vector or a connection.
#' * [serialize_to_file()]: an `.rds` file as `saveRDS()` writes it
#'   (uncompressed, gzip, bzip2, xz or zstd), replaced atomically.
#' * [serialized_size()]: the exact size of the output, without producing it.
#' * [digest()]: `digest::digest()`'s hash of an object, without a copy of
#'   its serialization.
#'
#' Measuring memory:
#' * [mem_peak()]: the peak resident memory while evaluating an expression.
#' * [mem_timeline()]: resident memory over time while evaluating one.
#' * [mem_plot()]: several timelines on one plot.
#'
#' @keywords internal
#' @importFrom utils txtProgressBar setTxtProgressBar
#' @useDynLib lowmem, .registration = TRUE, .fixes = "C_"
"_PACKAGE"

.onLoad <- function(libname, pkgname) {
  probe_session()
}
