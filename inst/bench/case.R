# One benchmark case in this fresh R process:
#   Rscript case.R <object> <method>
# Prints one CSV line: object,method,bytes,seconds,start_mb,peak_extra_mb.
# Peak memory is the kernel's, measured by lowmem::mem_peak(): VmHWM after
# resetting it through /proc/self/clear_refs, minus VmRSS before the call.
args <- commandArgs(trailingOnly = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
source(file.path(here, "cases.R"))

# Load lowmem before measuring: its load is not part of any method's cost.
invisible(loadNamespace("lowmem"))
# No JIT compilation of this script's closures: R's JIT compiles `method` on
# its first call, inside the measured region, and loading the compiler's
# environments costs about 3 MB of heap (found with gdb on small_lists).
invisible(compiler::enableJIT(0))
x <- objects[[args[[1]]]]()
method <- methods[[args[[2]]]]
target <- tempfile(fileext = ".rds")
# Run the method once on a tiny object: one-time costs (lazy-loading the
# functions it calls) are paid per session, not per object.
invisible(method(list(1, "a"), target))
unlink(target)
# Write back what earlier cases left dirty in the page cache, so that their
# disk writes do not land in this case's measurement.
invisible(system2("sync"))
invisible(gc()) # (so system.time() need not: its gc() would run after the reset)
m <- lowmem::mem_peak(system.time(bytes <- method(x, target), gcFirst = FALSE)[["elapsed"]])
stopifnot(identical(m$method, "vmhwm")) # the kernel's high-water mark, not samples
elapsed <- m$value
if (is.na(bytes) && file.exists(target)) bytes <- file.size(target)
# Remove the file and let the file system finish with it (freeing, and on
# this machine discarding, its blocks) before the next case starts.
unlink(target)
invisible(system2("sync"))
cat(sprintf("%s,%s,%.0f,%.3f,%.1f,%.1f\n", args[[1]], args[[2]], bytes, elapsed,
            m$rss_before / 2^20, m$increase / 2^20))
