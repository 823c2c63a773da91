# Streaming to R connections: serialize(x, con).

serialize_to_connection <- function(object, connection, type, version, refhook,
                                    chunk_size, progress) {
  ascii <- is_ascii_format(type)
  if (!isOpen(connection)) {
    open(connection, if (ascii) "w" else "wb")
    on.exit(close(connection))
  }
  info <- summary(connection)
  # In base R's order: writability first, then the text-mode check.
  if (!identical(info[["can write"]], "yes")) {
    stop("cannot write to this connection")
  }
  text <- identical(info$text, "text")
  if (text && !ascii) {
    stop("only ascii format can be written to text mode connections")
  }
  .Call(
    C_lowmem_serialize_conn, object, connection, text, type, version, refhook,
    check_chunk_size(chunk_size), progress_reporter(progress)
  )
}


# Writes one chunk. Binary-mode connections take the raw bytes; text-mode
# ones take ASCII-format output (printable bytes and newlines only) as text,
# as base R's serialize() gives it to them. writeBin() only warns on a short
# write; that is an error here, as in base::serialize().
write_chunk <- function(bytes, con, text) {
  if (text) {
    cat(rawToChar(bytes), file = con, sep = "")
    return(invisible())
  }
  # The warning is muffled and turned into an error only after writeBin()
  # has returned: raising it from inside the handler would jump over
  # writeBin()'s own clean-up and leak its copy of the chunk.
  problem <- NULL
  withCallingHandlers(
    writeBin(bytes, con),
    warning = function(w) {
      problem <<- conditionMessage(w)
      invokeRestart("muffleWarning")
    }
  )
  if (!is.null(problem)) {
    abort(paste0("error writing to connection: ", problem), class = "lowmem_error_io")
  }
  invisible()
}
