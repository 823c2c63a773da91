#' Hash an R object, a string or a file as digest::digest() does, without serializing it first
#'
#' A drop-in for `digest::digest()`: the same arguments, in the same order,
#' with the same defaults and the same meaning, and the same value. With
#' `serialize = TRUE` (the default) the hash is that of `serialize(object,
#' NULL, ascii = ascii, version = serializeVersion)` after its first `skip`
#' bytes, over at most `length` bytes. digest builds that raw vector and
#' then hashes it, which peaks at about twice the serialized size; here the
#' bytes go into the hash as they are written (by lowmem's native writer for
#' plain data, else by R's serializer), in chunks, so the extra memory is a
#' few hundred kilobytes whatever the object's size. With `serialize =
#' FALSE` the bytes of a raw vector, or of a string, are hashed; with `file
#' = TRUE` (or `file = path`) those of a file, read in chunks. The digest
#' package is not needed: lowmem computes every hash itself.
#'
#' What "the same value" means exactly: `identical()` to what
#' `digest::digest()` returns for the same call, for every algorithm of
#' digest 0.6.39, checked against digest 0.6.31 and 0.6.39 in lowmem's
#' tests; warnings and errors as digest's (same messages; lowmem's errors
#' carry a class, see below). The differences:
#' * `algo = "spookyhash"`: digest skips the first `skip` bytes by whole
#'   write calls of R's serializer (an error if one straddles them); lowmem
#'   supports a skip that ends one of the header's writes (0, 2, 6, 10 or
#'   14, with version 3 also 18 and the end of the native encoding's name;
#'   digest's `"auto"` is 14) and gives an error of class
#'   `lowmem_error_unsupported` for any other.
#' * Where digest's versions differ, lowmem does as the installed digest
#'   does: `raw = TRUE` for crc32, xxhash32, xxhash64, murmur32, crc32c,
#'   xxh3_64 and xxh3_128 gives the hex text as digest up to 0.6.37 did,
#'   the hash's bytes (most significant first) as digest 0.6.38 and later
#'   do, and without digest installed.
#' * `crc32c` (digest 0.6.32 and later), `xxh3_64` and `xxh3_128` (0.6.35
#'   and later) are available whichever digest is installed.
#' * Streams of 4 GiB or more: digest's C code passes the length of what it
#'   hashes to md5, sha1, sha256 and crc32 as a 32-bit number (to murmur32
#'   as an `int`), so it hashes only a prefix of such a stream; lowmem
#'   hashes all of it.
#' * An error message for a file that cannot be opened or read says why.
#' * The default `serializeVersion`, `.getSerializeVersion()`, is the
#'   option `serializeVersion` in both; without it, 2 in lowmem, and in
#'   digest the option's value when digest was loaded (2 if it was unset).
#'
#' Errors: a problem digest reports through `errormode` is an error of
#' class `lowmem_error_argument` (a file that does not exist, is a
#' directory or cannot be read: `lowmem_error_io`) with
#' `errormode = "stop"`; with `"warn"` a warning and `NA`, with `"silent"`
#' `NULL`, as digest. A file that cannot be opened is then an error
#' (`lowmem_error_io`) whatever `errormode` says, as in digest; a bad
#' `serializeVersion` gives base R's message with class
#' `lowmem_error_argument` or `lowmem_error_unsupported`. Other bad values
#' give the base R errors digest gives (`match.arg()`, `as.integer()`).
#'
#' @param object Any R object; with `serialize = FALSE` a raw vector or a
#'   character vector (its first string is hashed, its bytes as stored,
#'   `NA` and `character(0)` as `"NA"`); with `file = TRUE` a file's path.
#' @param algo The hash algorithm, as in `digest::digest()`: `"md5"`,
#'   `"sha1"`, `"crc32"`, `"sha256"`, `"sha512"`, `"xxhash32"`,
#'   `"xxhash64"`, `"murmur32"`, `"blake3"`, `"crc32c"`, `"xxh3_64"` or
#'   `"xxh3_128"`, or `"spookyhash"` (see above; its value ignores `raw`,
#'   `length` and `seed`, as digest's does).
#' @param serialize `TRUE` to hash the object's serialization, `FALSE` to
#'   hash `object`'s bytes (a string or a raw vector).
#' @param file `TRUE` if `object` is the path of a file whose content is
#'   hashed (in chunks); or the path itself, `object` then missing.
#' @param length The number of bytes hashed after the skipped ones; `Inf`
#'   (or any negative number) for all.
#' @param skip The number of bytes at the start not hashed (a file's are
#'   skipped by seeking). `"auto"` (any string) with `serialize = TRUE`
#'   skips the stream's header, as digest does: 14 bytes in binary (the
#'   format and R's versions, so that the hash does not change with R's
#'   version; the native encoding of version 3 is hashed), and up to the
#'   fourth newline in ASCII; else nothing.
#' @param ascii `TRUE` to hash the ASCII format (`NA`: ASCII with
#'   hexadecimal doubles, with a numeric `skip`), as [base::serialize()].
#' @param raw `TRUE` to return the hash as a raw vector: any value whose
#'   `as.integer()` is not 0, `NA` included, as digest's C code reads it. For
#'   crc32, xxhash32, xxhash64, murmur32, crc32c, xxh3_64 and xxh3_128, see above.
#' @param seed The seed of xxhash32, xxhash64, murmur32, xxh3_64 and
#'   xxh3_128 (as an integer; digest ignores it for xxh3 of a file, and so
#'   does lowmem).
#' @param errormode What a problem digest reports gives: `"stop"` an error,
#'   `"warn"` a warning and `NA`, `"silent"` `NULL` (see above).
#' @param serializeVersion The serialization version hashed: by default
#'   the option `serializeVersion`, else 2 (digest's rule).
#' @param refhook `NULL`, or a function called for each environment,
#'   external pointer and weak reference, as in [base::serialize()]
#'   (digest has no such argument; the hash is that of the stream
#'   `serialize(object, NULL, refhook = refhook)` writes).
#' @return A string of hex digits, or with `raw` a raw vector, as
#'   `digest::digest()` returns them. With the option
#'   `digestOldCRC32Format = TRUE`, crc32's leading zeros are dropped from
#'   the string, as digest does.
#' @export
#' @examples
#' df <- data.frame(x = runif(10), y = letters[1:10])
#' lowmem::digest(df)
#' lowmem::digest(df, "xxhash64")
#' lowmem::digest("abc", "sha256", serialize = FALSE)
#' path <- tempfile()
#' writeLines("some text", path)
#' lowmem::digest(path, "crc32c", file = TRUE)
#' if (requireNamespace("digest", quietly = TRUE)) {
#'   identical(lowmem::digest(df, "sha256"), digest::digest(df, "sha256"))
#'   identical(lowmem::digest(file = path), digest::digest(file = path))
#' }
#' unlink(path)
digest <- function(object,
                   algo = c("md5", "sha1", "crc32", "sha256", "sha512", "xxhash32",
                            "xxhash64", "murmur32", "spookyhash", "blake3", "crc32c",
                            "xxh3_64", "xxh3_128"),
                   serialize = TRUE, file = FALSE, length = Inf, skip = "auto",
                   ascii = FALSE, raw = FALSE, seed = 0,
                   errormode = c("stop", "warn", "silent"),
                   serializeVersion = .getSerializeVersion(), refhook = NULL) {
  # digest 0.6.39's own steps, in its order, so that the same arguments give
  # the same values, warnings and (base R) errors; digest's .Call is replaced
  # by lowmem's streaming hash.
  algo <- match.arg(algo, digest_algos)
  errormode <- match.arg(errormode, c("stop", "warn", "silent"))
  if (is.infinite(length)) {
    length <- -1 # digest's "all"
  }
  if (is.character(file) && missing(object)) {
    object <- file
    file <- TRUE
  }
  is_streaming_algo <- algo == "spookyhash"
  if (is_streaming_algo && !serialize) {
    return(digest_problem(paste0(algo, " algorithm is not available without serialization."),
                          mode = errormode))
  }
  if (serialize && !file) {
    if (is_streaming_algo) {
      return(digest_spooky(object, skip, ascii, serializeVersion, refhook))
    }
    return(digest_stream(object, algo, length, skip, ascii, raw, seed, serializeVersion, refhook))
  } else if (!is.character(object) && !inherits(object, "raw") && !is_streaming_algo) {
    return(digest_problem(paste("Argument object must be of type character",
                                "or raw vector if serialize is FALSE"), mode = errormode))
  }
  if (file && !is.character(object)) {
    return(digest_problem("file=TRUE can only be used with a character object", mode = errormode))
  }
  if (file && is_streaming_algo) {
    return(digest_problem(paste0(algo, " algorithm can not be used with files."), mode = errormode))
  }
  if (file) {
    object <- path.expand(object)
    if (.Platform$OS.type == "windows") object <- enc2utf8(object)
    digest_check_file(object, errormode) # digest goes on after a warning
  }
  if (is.character(skip)) {
    skip <- 0
  }
  seed <- as.integer(seed)
  if (file && algo %in% c("xxh3_64", "xxh3_128")) {
    seed <- 0L # digest's C code resets XXH3's file state without the seed
  }
  val <- .Call(C_lowmem_digest_data, object, match(algo, digest_algos), as.logical(file),
               as.integer(skip), as.integer(length), seed, digest_raw(raw, algo))
  digest_old_crc32(val, algo)
}

# digest's algorithms, in its order: match() gives its algo_int codes.
digest_algos <- c("md5", "sha1", "crc32", "sha256", "sha512", "xxhash32", "xxhash64",
                  "murmur32", "spookyhash", "blake3", "crc32c", "xxh3_64", "xxh3_128")

# digest's default serializeVersion (its .getSerializeVersion()).
.getSerializeVersion <- function() {
  getOption("serializeVersion", 2L)
}

# serialize = TRUE: the hash of the stream as it is written.
digest_stream <- function(object, algo, length, skip, ascii, raw, seed, serializeVersion,
                          refhook) {
  type <- format_code(ascii, TRUE)
  check_refhook(refhook)
  digest_check_version(serializeVersion)
  ascii_header <- FALSE
  if (is.character(skip) && skip == "auto") {
    # digest's set_skip(): 14 bytes, or the ASCII header (found in the stream).
    if (!ascii) skip <- 14 else ascii_header <- TRUE
  }
  if (is.character(skip)) {
    skip <- 0
  }
  val <- .Call(
    C_lowmem_digest, object, match(algo, digest_algos), type, serializeVersion,
    as.integer(skip), ascii_header, as.integer(length), as.integer(seed),
    digest_raw(raw, algo), refhook
  )
  digest_old_crc32(val, algo)
}

# base::serialize()'s checks of `version`, with its messages, classed.
digest_check_version <- function(version) {
  if (is.null(version)) return(invisible())
  v <- suppressWarnings(as.integer(version)[1L])
  if (is.na(v) || v <= 0L) {
    abort("bad version value", class = "lowmem_error_argument")
  }
  if (!v %in% 2:3) {
    abort(sprintf("version %d not supported", v), class = "lowmem_error_unsupported")
  }
  invisible()
}

# The algorithms whose hash digest's C code (up to 0.6.37) returned as hex
# text whatever `raw` said.
digest_number_algos <- c("crc32", "xxhash32", "xxhash64", "murmur32", "crc32c", "xxh3_64", "xxh3_128")

# digest passes as.integer(raw) to C, which returns bytes unless it is 0
# (NA, as raw = NA gives, counts as TRUE). Up to 0.6.37 digest returned the
# hex text for the algorithms whose hash is a number; lowmem does as the
# installed digest does (0.6.38 and later, or no digest: the bytes).
digest_raw <- function(raw, algo) {
  raw <- as.integer(raw)
  if (algo %in% digest_number_algos && digest_raw_numbers_as_text()) {
    return(0L)
  }
  raw
}

digest_raw_numbers_as_text <- function() {
  version <- digest_installed_version()
  !is.null(version) && version < "0.6.37.1"
}

# The version of the digest package that library(digest) would use: the
# loaded one, else the installed one; NULL if there is none.
digest_installed_version <- function() {
  if (isNamespaceLoaded("digest")) {
    return(getNamespaceVersion("digest"))
  }
  path <- system.file(package = "digest")
  if (!nzchar(path)) return(NULL)
  tryCatch(utils::packageVersion("digest", lib.loc = dirname(path)), error = function(e) NULL)
}

# The option digestOldCRC32Format drops crc32's leading zeros, as digest does.
digest_old_crc32 <- function(val, algo) {
  if (algo == "crc32" && is.character(val) && isTRUE(getOption("digestOldCRC32Format", FALSE))) {
    val <- sub("^0+", "", val)
  }
  val
}

# digest's .errorhandler(): an error (classed here), or a warning and NA, or
# NULL, by `errormode`.
digest_problem <- function(txt, obj = "", mode = "stop", class = "lowmem_error_argument") {
  mode <- match.arg(mode, c("stop", "warn", "silent"))
  if (mode == "stop") {
    abort(paste0(txt, obj), class = class)
  } else if (mode == "warn") {
    warning(txt, obj, call. = FALSE)
    return(invisible(NA))
  }
  invisible(NULL)
}

# digest's check_file(): its result is not used, so with errormode "warn" or
# "silent" the file is opened anyway (a missing file is then an error).
digest_check_file <- function(object, errormode) {
  if (!file.exists(object)) {
    return(digest_problem("The file does not exist: ", object, mode = errormode,
                          class = "lowmem_error_io"))
  }
  if (!isTRUE(!file.info(object)$isdir)) {
    return(digest_problem("The specified pathname is not a file: ", object, mode = errormode,
                          class = "lowmem_error_io"))
  }
  if (file.access(object, 4) != 0) {
    return(digest_problem("The specified file is not readable: ", object, mode = errormode,
                          class = "lowmem_error_io"))
  }
}

# spookyhash: digest serializes in native binary (xdr = FALSE, whatever `ascii`) into a SpookyHash
# V2 state seeded with 0 and 0, skipping the first `skip` bytes (as an 8-bit
# number) by whole write calls of R's serializer, and returns the hex of the
# 16 bytes whatever `raw`, `length` and `seed` are. lowmem's stream has the
# same bytes but not the same write calls: a skip is supported where it ends
# one of the header's writes, the only place digest's "auto" puts it.
digest_spooky <- function(object, skip, ascii, serializeVersion, refhook) {
  check_refhook(refhook)
  digest_check_version(serializeVersion)
  if (is.character(skip) && skip == "auto") {
    skip <- if (!ascii) 14 else which(object[1:30] == as.raw(10))[4] # digest's set_skip()
  }
  if (is.character(skip)) {
    skip <- 0
  }
  to_skip <- as.integer(skip)[1L]
  to_skip <- if (is.na(to_skip)) 0L else to_skip %% 256L # C's asInteger(), then uint8
  ends <- c(0L, 2L, 6L, 10L, 14L) # "X\n", then three integers
  if (identical(as.integer(serializeVersion), 3L)) {
    header <- base::serialize(NULL, NULL, version = 3L)
    ends <- c(ends, 18L, 18L + readBin(header[15:18], "integer", endian = "big")) # the encoding
  }
  if (!to_skip %in% ends) {
    abort(sprintf(paste0("`algo = \"spookyhash\"` with `skip = %d` is not supported: digest skips ",
                         "whole writes of R's serializer, and lowmem supports a skip at the end ",
                         "of one of the header's (%s)."), to_skip, paste(ends, collapse = ", ")),
          class = "lowmem_error_unsupported")
  }
  .Call(C_lowmem_digest, object, match("spookyhash", digest_algos), format_code(FALSE, FALSE),
        serializeVersion, to_skip, FALSE, -1L, 0L, 0L, refhook)
}
