# A test hook (src/testhook.c), for tests/testthat only: the n-th
# interrupt check of lowmem's C code from now on raises an interrupt, so a
# test sees one arrive at a chosen point of a stream, on any machine. One
# call arms it, `n = 0` disarms it; returns the checks that were still to
# go (0 once it fired).
test_interrupt_at <- function(n) {
  .Call(C_lowmem_test_interrupt_at, as.integer(n))
}
