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
#' `saveRDS()` would write it; the link stays. A replaced file's
#' permissions, owner and group pass on to the new one.
#'
#' The temporary file is named `.lowmem-` plus ten random letters and
#' digits plus `.tmp`: a name of any length the directory takes can be
#' `path`, and one left behind by a process that was killed mid-write
#' blocks nothing (it can be deleted).
#'
#' Gzip is compressed on worker threads, one per core and at most 4: the
#' stream is cut into blocks of `chunk_size` bytes (at least 4096), each
#' deflated with the 32 KiB before it as a dictionary, and the blocks are
#' joined into one deflate stream, as pigz does. The file is a single gzip
#' member, which every gzip reader reads: [readRDS()], [gzcon()],
#' [memDecompress()], gzip itself.
#'
#' Zstandard (`compress = "zstd"`) is compressed on the same worker threads:
#' each block of `chunk_size` bytes (at least 4096) becomes a zstd frame of
#' its own, with a checksum and without its content size (as R writes its own), and the frames follow each
#' other in the file. A zstd decoder reads such a file as one stream:
#' [readRDS()] of R 4.5.0 or later (its `gzfile()` and `file()` recognise
#' zstd), `zstdfile()`, `zstd -d`. R before 4.5.0 cannot read zstd at all:
#' there the file is still written, with a warning of class
#' `lowmem_warning_unreadable`.
#'
#' @section Files written in place:
#' Where renaming a new file over `path` would change more than its
#' content, `path` is written as `saveRDS()` writes it: opened for writing
#' (created if missing, else emptied) and filled as the stream goes, so
#' that a failure midway leaves it partly written, as with `saveRDS()`.
#' That is where `path` is
#' * not a regular file: a character or block device, a FIFO, `/dev/stdout`
#'   on a terminal or a pipe;
#' * a regular file reached through a link in `/proc` (`/dev/stdout` or
#'   `/dev/fd/1` redirected to a file), with more than one hard link, or
#'   mounted on its own (a bind mount, such as a container's
#'   `-v file:file`);
#' * a regular file whose owner or group a new file could not be given
#'   (another user's file that a user other than root may write), or in a
#'   directory where the process may not create a file;
#' * a regular file of `/proc`;
#' * any file in a directory that keeps its names (on Linux, one with the
#'   append-only or immutable attribute, `chattr +a` or `+i`), where a
#'   temporary file could be neither renamed nor removed: a new file is
#'   created there as `saveRDS()` creates it (an immutable directory
#'   refuses it, as it refuses `saveRDS()`).
#'
#' A regular file the process may not write is an error with the system's
#' reason ("Permission denied"), as in `saveRDS()`, even where the
#' directory would allow a rename; so is a loop of symbolic links ("Too
#' many levels of symbolic links"). A write to a pipe whose reader has gone
#' is an error ("Broken pipe"). A temporary file that cannot be created is
#' an error that names it, with the system's reason.
#'
#' @param path The file to write. As in [saveRDS()], a name that the native
#'   encoding cannot represent (a non-ASCII name in the C locale) is an
#'   error.
#' @param compress `FALSE` (none), `TRUE` or `"gzip"`, `"bzip2"`, `"xz"`
#'   or `"zstd"`, as in [saveRDS()] (which has `"zstd"` from R 4.5.0; lowmem
#'   writes it on every R); also a number, which picks from `saveRDS()`'s
#'   list of codecs by position as `saveRDS()` does (1 is bzip2, 2 xz, 3
#'   gzip, and from R 4.5.0 4 zstd).
#' @param ascii `TRUE` writes the ASCII format, `NA` ASCII with hexadecimal
#'   doubles, as in [saveRDS()].
#' @param compression_level 0 (fastest) to 9 (smallest); by default 6 for
#'   gzip and xz and 9 for bzip2, the defaults of [gzfile()], [xzfile()] and
#'   [bzfile()]. For zstd, -19 (fastest) to 19 (smallest), by default 9,
#'   the range and default of R's `zstdfile()` (0 is zstd's own default,
#'   level 3).
#' @param chunk_size Bytes per block: the unit of writing and, for gzip and
#'   zstd, of compression. Defaults to the option `lowmem.chunk_size`, or 1 MiB.
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
  check_ascii_as_saverds(ascii)
  codec <- codec_code(compress)
  level <- compression_level %||% c(0L, 6L, 9L, 6L, 9L)[[codec + 1L]]
  range <- if (codec == 4L) c(-19, 19) else c(0, 9)
  if (!is.numeric(level) || length(level) != 1L || is.na(level) || level < range[[1]] || level > range[[2]]) {
    abort(sprintf("`compression_level` must be a number from %d to %d.", range[[1]], range[[2]]),
          class = "lowmem_error_argument")
  }
  type <- format_code(ascii, xdr = TRUE)
  check_refhook(refhook)
  .Call(
    C_lowmem_serialize_file, object, path.expand(native_path(path)), codec, as.integer(level),
    type, version, refhook, check_chunk_size(chunk_size), progress_reporter(progress)
  )
  if (codec == 4L && !r_reads_zstd()) {
    warning(structure(
      class = c("lowmem_warning_unreadable", "lowmem_warning", "warning", "condition"),
      list(message = sprintf(paste0(
        "'%s' is compressed with zstd, which this R (%s) cannot read: ",
        "readRDS() reads zstd files from R 4.5.0 on"), path, getRversion()), call = NULL)
    ))
  }
  invisible(path)
}

# Whether the running R decompresses zstd (R >= 4.5.0 built with libzstd):
# asked of memDecompress() with a frame of "x" (`printf x | zstd -c`), once.
r_reads_zstd <- function() {
  if (is.null(the$reads_zstd)) {
    frame <- as.raw(c(0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x09, 0x00, 0x00, 0x78, 0x23, 0x11, 0x04, 0x83))
    the$reads_zstd <- tryCatch(
      identical(suppressWarnings(memDecompress(frame, "zstd")), charToRaw("x")),
      error = function(e) FALSE
    )
  }
  the$reads_zstd
}

# 0 none, 1 gzip, 2 bzip2, 3 xz, 4 zstd (src/rust/src/codec/mod.rs), by
# saveRDS()'s rules on the running R: a logical through `if`, anything else
# through its switch(compress, ...) (a number picks by position, as there),
# rebuilt from saveRDS()'s own code so that the choices and their order are
# the running R's. A codec saveRDS() has and lowmem not is an
# unsupported-feature error; where saveRDS() fails, so does this, except
# that "zstd" is written on every R (saveRDS() has it from R 4.5.0).
codec_code <- function(compress) {
  if (is.logical(compress)) {
    return(if (compress) 1L else 0L)
  }
  if (is.character(compress) && length(compress) == 1L && identical(unname(compress), "zstd")) {
    return(4L)
  }
  codecs <- saverds_codecs()
  choose <- as.call(c(
    list(quote(switch), quote(compress)),
    stats::setNames(as.list(codecs), codecs),
    list(NA_character_)
  ))
  name <- eval(choose, list(compress = compress))
  if (!is.character(name) || length(name) != 1L || is.na(name)) {
    abort(paste0("invalid 'compress' argument: ", paste(format(compress), collapse = " ")),
          class = "lowmem_error_argument")
  }
  code <- match(name, c("gzip", "bzip2", "xz", "zstd"))
  if (is.na(code)) {
    abort(sprintf("compress = \"%s\" is not supported by lowmem; saveRDS() writes it", name),
          class = "lowmem_error_unsupported")
  }
  code
}

# The names of saveRDS()'s switch(compress, ...), in order; R's long-standing
# three if that switch cannot be found.
saverds_codecs <- function() {
  find <- function(e) {
    if (!is.call(e)) return(NULL)
    if (identical(e[[1L]], quote(switch)) && length(e) > 2L && identical(e[[2L]], quote(compress))) {
      names <- names(e)[-(1:2)]
      return(names[!is.na(names) & nzchar(names)])
    }
    for (part in as.list(e)[-1L]) {
      if (!missing(part)) {
        found <- find(part)
        if (!is.null(found)) return(found)
      }
    }
    NULL
  }
  found <- find(body(base::saveRDS))
  if (length(found) == 0L) c("bzip2", "xz", "gzip") else found
}

# The path in the native encoding, which is what a file name is: as in
# saveRDS(), a name the native encoding cannot represent (non-ASCII in the
# C locale) is an error, not a name with "<U+00E9>" in it.
native_path <- function(path) {
  encoding <- Encoding(path)
  if (identical(encoding, "unknown")) {
    return(path)
  }
  if (identical(encoding, "bytes")) {
    abort("translating strings with \"bytes\" encoding is not allowed",
          class = "lowmem_error_argument")
  }
  # Windows: paths are UTF-16; C hands Rust UTF-8 (src/entrypoint.c), which
  # holds any name, whatever the code page.
  if (.Platform$OS.type == "windows") {
    return(enc2utf8(path))
  }
  native <- iconv(path, encoding, "")
  if (is.na(native)) {
    abort(sprintf("unable to translate '%s' to native encoding", enc2native(path)),
          class = "lowmem_error_argument")
  }
  native
}

# saveRDS() of the running R decides which `ascii` values it takes: R >= 4.6
# refuses NA ("NA in coercion to boolean"), earlier R writes ASCII with
# hexadecimal doubles. Asked of saveRDS() itself, on NULL into a raw
# connection (microseconds), so that lowmem refuses what it refuses.
check_ascii_as_saverds <- function(ascii) {
  con <- rawConnection(raw(0), "wb")
  on.exit(close(con))
  tryCatch(
    saveRDS(NULL, con, ascii = ascii),
    error = function(e) abort(conditionMessage(e), class = "lowmem_error_argument")
  )
  invisible(ascii)
}
