#' Serialize an R object to a file, in constant memory, all or nothing
#'
#' Writes what [saveRDS()] writes, but streams it to the file in chunks of
#' `chunk_size` bytes: the extra memory is a few chunks whatever the object's
#' size. Plain data is streamed by lowmem's native writer (as in
#' [serialize()]), anything else, and any call with a `refhook`, by R's own
#' serializer. With `compress = FALSE` the file's bytes equal
#' `saveRDS(object, path, compress = FALSE)`'s; compressed files are read by
#' [readRDS()] like saveRDS's.
#'
#' The file is written under a temporary name in the same directory, synced
#' to disk and renamed over `path` only when complete. An uncompressed file
#' is written with direct I/O where the file system allows it: it must reach
#' the disk before the rename anyway, and this skips copying it into the
#' page cache first (so it is not cached for a read right after). If anything fails
#' (disk full, permissions, a refhook that errors, an interrupt), the
#' temporary file is removed and an existing file at `path` is left as it
#' was. If `path` is a symbolic link, the file it points to is replaced, as
#' `saveRDS()` would write it; the link stays.
#'
#' Gzip is compressed on worker threads, one per core and at most 4: the
#' stream is cut into blocks of `chunk_size` bytes (at least 4096), each
#' deflated with the 32 KiB before it as a dictionary, and the blocks are
#' joined into one deflate stream, as pigz does. The file is a single gzip
#' member, which every gzip reader reads: [readRDS()], [gzcon()],
#' [memDecompress()], gzip itself.
#'
#' @param path The file to write.
#' @param compress `FALSE` (none), `TRUE` or `"gzip"`, `"bzip2"` or `"xz"`,
#'   as in [saveRDS()].
#' @param ascii `TRUE` writes the ASCII format, `NA` ASCII with hexadecimal
#'   doubles, as in [saveRDS()].
#' @param compression_level 0 (fastest) to 9 (smallest); by default 6 for
#'   gzip and xz and 9 for bzip2, the defaults of [gzfile()], [xzfile()] and
#'   [bzfile()].
#' @param chunk_size Bytes per block: the unit of writing and, for gzip, of
#'   compression. Defaults to the option `lowmem.chunk_size`, or 1 MiB.
#' @inheritParams serialize
#' @return `path`, invisibly.
#' @seealso [serialize()] for raw vectors and connections.
#' @export
#' @examples
#' path <- tempfile(fileext = ".rds")
#' df <- data.frame(x = runif(1000), y = sample(letters, 1000, TRUE))
#' serialize_to_file(df, path, compress = "gzip")
#' identical(readRDS(path), df)
#' unlink(path)
serialize_to_file <- function(object, path, compress = FALSE, ascii = FALSE,
                              version = NULL, refhook = NULL,
                              chunk_size = default_chunk_size(),
                              compression_level = NULL, progress = NA) {
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    abort("`path` must be a single, non-empty file path.", class = "lowmem_error_argument")
  }
  if (!is.logical(ascii) || length(ascii) != 1L) {
    abort("`ascii` must be TRUE, FALSE or NA.", class = "lowmem_error_argument")
  }
  codec <- codec_code(compress)
  level <- compression_level %||% c(0L, 6L, 9L, 6L)[[codec + 1L]]
  if (!is.numeric(level) || length(level) != 1L || is.na(level) || level < 0 || level > 9) {
    abort("`compression_level` must be a number from 0 to 9.", class = "lowmem_error_argument")
  }
  type <- if (is.na(ascii)) 2L else if (ascii) 1L else 0L
  check_refhook(refhook)
  .Call(
    C_lowmem_serialize_file, object, path.expand(path), codec, as.integer(level),
    type, version, refhook, check_chunk_size(chunk_size), progress_reporter(progress)
  )
  invisible(path)
}

# 0 none, 1 gzip, 2 bzip2, 3 xz (src/rust/src/codec/mod.rs); saveRDS()'s rules.
codec_code <- function(compress) {
  if (is.logical(compress) && length(compress) == 1L && !is.na(compress)) {
    return(if (compress) 1L else 0L)
  }
  if (is.character(compress) && length(compress) == 1L) {
    code <- match(compress, c("gzip", "bzip2", "xz"))
    if (!is.na(code)) return(code)
  }
  stop("invalid 'compress' argument: ", paste(format(compress), collapse = " "))
}
