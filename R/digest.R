#' Hash an R object as digest::digest() does, without serializing it first
#'
#' Returns exactly what `digest::digest(object, algo, ...)` returns for
#' the same arguments (with digest's default `serialize = TRUE`): the hash
#' of `serialize(object, NULL, ascii = ascii, version = serializeVersion)`
#' after its first `skip` bytes, over at most `length` bytes. digest builds
#' that raw vector and then hashes it, which peaks at about twice the
#' serialized size; here the bytes go into the hash as they are written
#' (by lowmem's native writer for plain data, else by R's serializer), in
#' chunks, so the extra memory is a few hundred kilobytes whatever the
#' object's size. The digest package is not needed: lowmem computes every
#' hash itself.
#'
#' One difference is digest's, for streams of 4 GiB or more: digest's C
#' code passes the length of what it hashes to md5, sha1, sha256 and crc32
#' as a 32-bit number (to murmur32 as an `int`), so it hashes only a prefix
#' of such a stream; lowmem hashes all of it.
#'
#' `algo = "spookyhash"` is not supported: digest computes it with its own
#' streaming rule, which lowmem does not reproduce (an error of class
#' `lowmem_error_unsupported`).
#'
#' @param object Any R object.
#' @param algo The hash algorithm, as in `digest::digest()`: `"md5"`,
#'   `"sha1"`, `"crc32"`, `"sha256"`, `"sha512"`, `"xxhash32"`,
#'   `"xxhash64"`, `"murmur32"` or `"blake3"` (`"spookyhash"`: see above).
#' @param length The number of bytes hashed after the skipped ones; `Inf`
#'   (or any negative number) for all.
#' @param skip The number of bytes of the stream's start not hashed.
#'   `"auto"` skips its header, as digest does: 14 bytes in binary (the
#'   format and R's versions, so that the hash does not change with R's
#'   version; the native encoding of version 3 is hashed), and up to the
#'   fourth newline in ASCII.
#' @param ascii `TRUE` to hash the ASCII format (`NA`: ASCII with
#'   hexadecimal doubles, with a numeric `skip`), as [base::serialize()].
#' @param raw `TRUE` to return the hash as a raw vector. For crc32,
#'   xxhash32, xxhash64 and murmur32 these are the bytes of the number,
#'   most significant first, as digest 0.6.38 and later return them
#'   (digest up to 0.6.37 returned the hex string for these).
#' @param seed The seed of xxhash32, xxhash64 and murmur32 (an integer).
#' @param serializeVersion The serialization version hashed: by default
#'   the option `serializeVersion`, else 2 (digest's rule).
#' @param refhook `NULL`, or a function called for each environment,
#'   external pointer and weak reference, as in [base::serialize()]
#'   (digest has no such argument; the hash is that of the stream
#'   `serialize(object, NULL, refhook = refhook)` writes).
#' @return A string of hex digits, or with `raw = TRUE` a raw vector:
#'   `identical()` to `digest::digest()`'s. With the option
#'   `digestOldCRC32Format = TRUE`, crc32's leading zeros are dropped from
#'   the string, as digest does.
#' @export
#' @examples
#' df <- data.frame(x = runif(10), y = letters[1:10])
#' lowmem::digest(df)
#' lowmem::digest(df, "xxhash64")
#' if (requireNamespace("digest", quietly = TRUE)) {
#'   identical(lowmem::digest(df, "sha256"), digest::digest(df, "sha256"))
#' }
digest <- function(object,
                   algo = c("md5", "sha1", "crc32", "sha256", "sha512", "xxhash32",
                            "xxhash64", "murmur32", "spookyhash", "blake3"),
                   length = Inf, skip = "auto", ascii = FALSE, raw = FALSE, seed = 0,
                   serializeVersion = getOption("serializeVersion", 2L), refhook = NULL) {
  # digest's own steps, in its order, so that the same arguments give the
  # same values (and the same base R errors).
  algos <- c("md5", "sha1", "crc32", "sha256", "sha512", "xxhash32", "xxhash64",
             "murmur32", "spookyhash", "blake3")
  algo <- match.arg(algo, algos)
  if (algo == "spookyhash") {
    abort(paste0("`algo = \"spookyhash\"` is not supported: digest computes it with its ",
                 "own streaming rule, which lowmem does not reproduce."),
          class = "lowmem_error_unsupported")
  }
  if (!(is.logical(raw) || is.numeric(raw)) || base::length(raw) != 1L || is.na(raw)) {
    abort("`raw` must be TRUE or FALSE.", class = "lowmem_error_argument")
  }
  if (is.infinite(length)) {
    length <- -1
  }
  type <- format_code(ascii, TRUE)
  check_refhook(refhook)
  ascii_header <- FALSE
  if (is.character(skip) && skip == "auto") {
    # digest's set_skip(): 14 bytes, or the ASCII header (in the stream).
    if (!ascii) skip <- 14 else ascii_header <- TRUE
  }
  if (is.character(skip)) {
    skip <- 0
  }
  val <- .Call(
    C_lowmem_digest, object, match(algo, algos), type, serializeVersion,
    as.integer(skip), ascii_header, as.integer(length), as.integer(seed), raw != 0, refhook
  )
  if (algo == "crc32" && is.character(val) && isTRUE(getOption("digestOldCRC32Format", FALSE))) {
    val <- sub("^0+", "", val)
  }
  val
}
