# Conditions raised by lowmem. Every error of lowmem's own has class
# "lowmem_error" plus a more specific class; where base R has an error for
# the same mistake, lowmem raises base's message instead.

abort <- function(message, class = NULL, call = NULL) {
  stop(structure(
    class = c(class, "lowmem_error", "error", "condition"),
    list(message = message, call = call)
  ))
}

# Called from C (src/errors.c), for an error kind of src/lowmem.h.
abort_from_c <- function(message, class) {
  abort(message, class = class)
}

# Called from C (src/serialize.c, quiet_pass): a pass of R's serializer with
# warnings muffled, when another pass of the same call gives them.
write_pass_quietly <- function(call_ptr) {
  withCallingHandlers(
    .Call(C_lowmem_write_pass, call_ptr),
    warning = function(w) invokeRestart("muffleWarning")
  )
}
