# The native routines: one table (src/entrypoint.c) for C's and extendr's
# (src/rust/src/entry.rs); with R_forceSymbols on, a routine missing from
# it would fail only when called.

test_that("every routine the R code calls is registered", {
  ns <- asNamespace("lowmem")
  used <- unique(unlist(lapply(ls(ns, all.names = TRUE), function(name) {
    f <- get(name, envir = ns)
    if (is.function(f)) grep("^C_", all.names(body(f)), value = TRUE)
  })))
  expect_gt(length(used), 10)
  for (symbol in used) {
    expect_s3_class(get0(symbol, envir = ns), "NativeSymbolInfo")
  }
  expect_true(all(c("C_lowmem_rss_status", "C_lowmem_timeline_stop", "C_lowmem_native_status",
                    "C_lowmem_tap_mode") %in% used))
})

test_that("the extendr routines' error records become classed conditions", {
  expect_error(lowmem:::rust_value(c("lowmem_error_io", "it failed")), "it failed",
               class = "lowmem_error_io")
  expect_identical(lowmem:::rust_value(1:3), 1:3)
  expect_error(lowmem:::timeline_stop(1), "not a lowmem sampler handle", class = "lowmem_error_argument")
  # Any external pointer that is not a sampler.
  expect_error(lowmem:::timeline_stop(new("externalptr")), class = "lowmem_error_argument")
})

test_that("the timeline takes integer arguments as R's numbers", {
  skip_if_not(file.exists("/proc/self/statm"))
  handle <- lowmem:::timeline_start(0.001, 100L)
  expect_named(lowmem:::timeline_stop(handle), c("time", "rss", "stride"))
  expect_error(lowmem:::timeline_start(0.001, NA_integer_), class = "lowmem_error_argument")
  expect_error(lowmem:::timeline_start("a", 10), class = "lowmem_error_argument")
})
