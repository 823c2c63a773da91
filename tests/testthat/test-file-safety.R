# serialize_to_file() on targets a rename must not replace, and arguments
# saveRDS() takes: saveRDS() of the running R is the oracle. Helpers:
# helper-safety.R, helper-stream.R, helper-hardening.R.

safety_object <- function() list(1:10, "x", c(a = 1.5))

# ---- file names -----------------------------------------------------------------

test_that("names of 236 to 255 bytes are written as saveRDS() writes them", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  x <- safety_object()
  for (n in c(236, 245, 255)) {
    theirs <- file.path(dir, paste0("b", strrep("n", n - 5), ".rds"))
    ours <- file.path(dir, paste0("l", strrep("n", n - 5), ".rds"))
    saveRDS(x, theirs, compress = FALSE)
    for (compress in list(FALSE, "gzip")) {
      serialize_to_file(x, ours, compress = compress) # new, then replaced
      serialize_to_file(x, ours, compress = FALSE)
      expect_identical(stream_file_bytes(ours), stream_file_bytes(theirs), label = paste(n, "bytes"))
    }
    expect_identical(nchar(basename(ours), "bytes"), as.integer(n))
    expect_identical(stream_dir_entries(dir), sort(basename(c(theirs, ours))))
    unlink(c(theirs, ours))
  }
})

# A process killed mid-write leaves its temporary file. Temporary names are
# random and drawn again when taken; before, they were the PID and a
# counter, so the same PID (R as PID 1 in a container) met its own debris.
test_that("a temporary file left by a killed process blocks no later write", {
  safety_skip_unless_unix()
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  # Killed by its own refhook, mid-stream, after its temporary file has data.
  killed <- safety_script(dir, c(
    "x <- list(seq_len(5e5), new.env())",
    "lowmem::serialize_to_file(x, commandArgs(TRUE)[[1]], chunk_size = 65536,",
    "  refhook = function(e) tools::pskill(Sys.getpid(), tools::SIGKILL))"
  ), "killed.R")
  safety_sh(paste(safety_rscript(killed), shQuote(path)))
  debris <- setdiff(stream_dir_entries(dir), "killed.R")
  expect_length(debris, 1)
  expect_true(is_lowmem_temp(debris))
  # A fresh process whose first temporary names are taken, as the names a
  # PID-and-counter scheme would give it.
  writer <- safety_script(dir, c(
    "path <- commandArgs(TRUE)[[1]]",
    "for (n in 0:9) file.create(file.path(dirname(path), sprintf('.x.rds.lowmem-%d-%d.tmp', Sys.getpid(), n)))",
    "lowmem::serialize_to_file(1:3, path)",
    "cat(identical(readRDS(path), 1:3), '\\n')"
  ), "writer.R")
  expect_identical(trimws(safety_sh(paste(safety_rscript(writer), shQuote(path)))), "TRUE")
  serialize_to_file(letters, path)
  expect_identical(readRDS(path), letters)
  left <- setdiff(stream_dir_entries(dir), c("killed.R", "writer.R", "x.rds"))
  expect_identical(left[is_lowmem_temp(left)], debris) # others' debris is left alone
})
