/* A test hook, and nothing else: an interrupt at a chosen point of a call.
 *
 * Tests must see an interrupt arrive in the middle of a stream whatever the
 * machine's speed, which a timer cannot promise (a faster machine finishes
 * first). lowmem:::test_interrupt_at(n) (R/testhook.R) arms a countdown;
 * every interrupt check of lowmem's C code (R's writer, the native writer's
 * steps, a chunk written to a connection) counts down, and the n-th one
 * raises SIGINT in this thread, whose handler (R's) marks an interrupt
 * pending, and then lets R check for it at once: R raises its interrupt
 * condition right there. The countdown is one-shot and touched only by R's
 * main thread. Off (0), which it always is outside the tests, a check costs
 * one comparison. */
#include <R.h>
#include <Rinternals.h>

#include "lowmem_c.h"

#ifdef _WIN32
/* R for Windows emulates signals in its own runtime; a SIGINT raised
   through the C runtime's raise() would not reach R's handler but end the
   process. So there is no hook on Windows: no check ever fires, and
   test_interrupt_at() returns NA, on which the interrupt tests skip
   (tests/testthat/helper-interrupt.R). */
int lm_test_interrupt_due(void)
{
    return 0;
}

SEXP lowmem_test_interrupt_at(SEXP n)
{
    (void) n;
    return Rf_ScalarInteger(NA_INTEGER);
}
#else
#include <signal.h>

static int countdown = 0;

int lm_test_interrupt_due(void)
{
    if (countdown <= 0 || --countdown > 0) return 0;
    raise(SIGINT);
    return 1;
}

/* Arms the countdown (n > 0) or disarms it (0); returns the checks that
   were still to go (0 once the interrupt was raised). */
SEXP lowmem_test_interrupt_at(SEXP n)
{
    int old = countdown;
    countdown = Rf_asInteger(n);
    if (countdown == NA_INTEGER || countdown < 0) countdown = 0;
    return Rf_ScalarInteger(old);
}
#endif
