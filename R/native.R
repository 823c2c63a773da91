# The native writer (src/native.c, src/rust/src/format/): diagnostics.

#' Which writer serialize() uses for an object
#'
#' `serialize()`, `serialized_size()` and `serialize_to_file()` write plain
#' data (atomic vectors, lists, attributes, symbols, S4 objects, base R's
#' compact ALTREP objects) with lowmem's native writer, and everything else
#' with R's own writer ("universal" path). Both give base R's bytes; this tells which one
#' runs, for tests and for curiosity.
#'
#' @inheritParams serialize
#' @return `"native"` or `"universal"`; for `"universal"`, attribute
#'   `"reason"` says why. Where the native writer learnt flags from R's own
#'   writer first (the tap: builds for R >= 4.5), attribute `"tap"` says
#'   what it found ("learned the flags of N nodes", or "failed: why", when
#'   the object goes to R's writer).
#' @keywords internal
#' @noRd
serialize_path <- function(object, ascii = FALSE, xdr = TRUE, version = NULL,
                           refhook = NULL) {
  type <- format_code(ascii, xdr)
  check_refhook(refhook)
  taps <- native_status()$tap_passes
  path <- .Call(C_lowmem_serialize_path, object, type, version, refhook)
  status <- native_status()
  if (status$tap_passes > taps) attr(path, "tap") <- status$tap_last
  path
}

# The benchmark's floor (inst/bench): a raw vector of `size` bytes whose tail
# is the XDR encoding of the doubles `x`.
bench_floor <- function(x, size) {
  .Call(C_lowmem_bench_floor, x, size)
}

# The result vector (src/result.c), for tests: whether `x` is one of lowmem's
# own `lowmem_raw` results (an ALTREP raw vector over lowmem's memory map),
# the bytes of all such results not yet finalized, and the bytes mapped
# since lowmem's last collection that make it collect again.
result_info <- function(x) {
  .Call(C_lowmem_result_info, x)
}

# lowmem's own full garbage collection (src/result.c), reported as R's own
# are while gcinfo(TRUE) is on: gc() would switch that off for its call.
# Returns gc()'s matrix: the heap in use after the collection.
collect_garbage <- function() {
  reporting <- gcinfo(FALSE)
  on.exit(gcinfo(reporting))
  gc(verbose = reporting, reset = FALSE, full = TRUE)
}

# For tests: the next serialize(x, NULL) collects garbage (running
# finalizers) where lowmem's policy would ("prepare", before the first pass)
# or where the result is allocated ("alloc", between the passes, as R's
# allocator may).
result_test_collect <- function(when) {
  invisible(.Call(C_lowmem_result_test_collect, when))
}

# The writer the last streaming call used, for tests: "native" or
# "universal" for the last serialize(x, con) or serialize_to_file() of this
# session (with the reason as attribute "reason" for "universal"), "none"
# before the first.
last_stream_path <- function() {
  .Call(C_lowmem_last_stream_path)
}
