#' Serialize an R object into exactly one raw vector
#'
#' A drop-in replacement for [base::serialize()]: the same arguments, the
#' same result, byte for byte. With `connection = NULL` the result is
#' written straight into a raw vector allocated once at its final size, so
#' the peak extra memory is the output itself; base R needs about twice
#' that, because it grows a buffer and then copies it.
#'
#' Plain data (vectors, lists, attributes, factors, data frames, S4 objects
#' made of these, R's compact ALTREP vectors) is written by lowmem's own
#' native writer: sized from lengths and string byte counts, then encoded
#' straight into the result (or streamed to a connection). Anything else
#' (closures, environments, calls, external pointers, ...) goes through R's
#' own serializer, run twice for a raw vector: once to count the bytes, once
#' to write them (to a connection, once). With a `refhook` R's serializer
#' runs once, as base R does, because the hook is user code that may change
#' the object while it is written: the stream then waits in 1 MiB blocks
#' that are released as they are copied into the result, so the peak is
#' still the output plus one block.
#'
#' A result of 1 MiB or more lives outside R's heap: it is an ALTREP raw
#' vector over memory lowmem maps itself. It is a raw vector to R code in
#' every way (`identical()` to base R's, writable, serialized and saved as a
#' plain raw vector, copied into an ordinary one when duplicated). The point
#' is speed: allocating a large vector from R's heap makes R collect garbage
#' first whenever the heap's limit would be exceeded, which in a session
#' with millions of strings costs more than writing the stream. To keep dead
#' results from piling up outside R's view, lowmem runs R's garbage
#' collector itself once the results it allocated since its last collection
#' reach the size of those that survived it (and at least 64 MB). Set
#' `options(lowmem.altrep = FALSE)` for results from R's own heap.
#'
#' @section Flags no API tells:
#' Every item of the stream starts with a flags word that holds, besides the
#' type, the object's 16 "gp" bits and whether it has attributes.
#' `base::serialize()` writes the gp bits an object has, and an object keeps
#' those it was unserialized with (a file written by C code that set them),
#' the ones a package set, the GROWABLE bit of a vector grown in place (R <
#' 4.6), the lock of an ALTREP wrapper's metadata; attribute pairlist cells
#' have gp bits, and may have attributes, of their own. R 4.5's check
#' reports `LEVELS` as outside R's API, R 4.6's also `ATTRIB`, and no API
#' function tells these bits. So on R >= 4.5 lowmem lets R's own writer
#' serialize the object once, in native binary and without its data (R
#' hands over vector data in big pieces, which are skipped), into a matcher
#' (the "tap") that runs lowmem's walker alongside and learns, node by node,
#' the flags R writes where they differ from what the API tells; lowmem
#' then writes those. An object whose stream differs in any other way (on R
#' >= 4.6, an attribute cell with attributes of its own, which only C code
#' makes) is written by R's own writer. Either way the bytes, sizes, files
#' and digests are base R's on every R lowmem is tested on (4.2, 4.5, 4.6):
#' no object is known to be written otherwise. On R < 4.5 lowmem reads the
#' bits itself and the tap never runs. What it costs: one pass of R's writer
#' over the object's items, also for [serialized_size()] where attributes are
#' read through `R_mapAttrib` (R >= 4.6): next to nothing for numeric
#' columns, about what base R's whole serialize() costs for character
#' vectors (R's writer spends its time per item), so a string-heavy object
#' is written at about base R's speed there, still into one exactly sized
#' vector. `lowmem:::serialize_path(x)`
#' says what the tap found for `x` (attribute `"tap"`).
#'
#' @param object Any R object.
#' @param connection `NULL` for a raw vector, or a connection. The stream is
#'   written to a connection in chunks of `chunk_size` bytes, so the extra
#'   memory is a few chunks (about three: the chunk being filled, the raw
#'   vector handed to [writeBin()], and writeBin()'s own copy of it)
#'   whatever the object's size; the bytes are those
#'   `base::serialize()` writes to the same connection. A connection that is
#'   not open is opened (`"wb"`, or `"w"` for ASCII) and closed afterwards
#'   with [close()], which in R code also destroys it (`saveRDS()` closes
#'   without destroying, which only R's internals can do); base R 4.2's
#'   `serialize()` refuses such a connection instead.
#' @param ascii As in [base::serialize()]: `TRUE` writes the ASCII format,
#'   `NA` ASCII with hexadecimal doubles.
#' @param xdr As in [base::serialize()]: `FALSE` writes native binary
#'   (little-endian here) instead of XDR (big-endian).
#' @param version 2 or 3; `NULL` for R's default (3, unless the environment
#'   variable `R_DEFAULT_SERIALIZE_VERSION` says 2).
#' @param refhook `NULL`, or a function called for each environment,
#'   external pointer and weak reference, as in [base::serialize()].
#' @param chunk_size Bytes per write to a connection: small writes are
#'   coalesced into chunks of this size. Defaults to the option
#'   `lowmem.chunk_size`, or 1 MiB.
#' @param progress Show a progress bar for writes to a connection: `TRUE`,
#'   `FALSE`, or `NA` (the default) for one in interactive sessions when the
#'   output exceeds 1 GB. A bar costs a counting pass first, to know the
#'   total; with a `refhook` there is no bar, since the hook must run once,
#'   in the pass that writes.
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
                      version = NULL, refhook = NULL,
                      chunk_size = default_chunk_size(), progress = NA) {
  if (!is.null(connection)) {
    if (!inherits(connection, "connection")) {
      stop("'connection' must be a connection")
    }
    if (missing(ascii)) {
      ascii <- isOpen(connection) && summary(connection)$text == "text"
    }
    type <- format_code(ascii, xdr)
    check_refhook(refhook)
    return(invisible(serialize_to_connection(
      object, connection, type, version, refhook, chunk_size, progress
    )))
  }
  type <- format_code(ascii, xdr)
  check_refhook(refhook)
  .Call(C_lowmem_serialize_raw, object, type, version, refhook)
}
