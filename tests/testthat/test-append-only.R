# Directories that keep their names: append-only (chattr +a: new names, no
# removal or rename) and immutable (chattr +i: no change at all). A
# temporary file made there could be neither renamed over the target nor
# removed, so serialize_to_file() writes in place there, as saveRDS() does,
# and leaves no .lowmem-*.tmp behind. Root only (chattr sets these
# attributes for root alone), on a file system that has them (ext4 does,
# tmpfs does not): tempdir(), /var/tmp, or else an ext4 image mounted
# through a loop device; skipped where none of them takes the attribute.

append_only_chattr <- function(flag, path) {
  suppressWarnings(system2("chattr", c(flag, shQuote(path)), stdout = FALSE, stderr = FALSE))
}

# A fresh directory that takes `chattr +a`, removed (after its attributes
# are cleared, and the image unmounted) when `envir` exits.
append_only_dir <- function(envir = parent.frame()) {
  skip_on_os(c("windows", "mac", "solaris"))
  skip_if(!nzchar(Sys.which("chattr")), "needs chattr")
  skip_if_not(stream_running_as_root(), "chattr +a needs root")
  takes_attribute <- function(dir) {
    ok <- identical(append_only_chattr("+a", dir), 0L)
    if (ok) append_only_chattr("-a", dir)
    ok
  }
  for (parent in unique(c(tempdir(), "/var/tmp"))) {
    if (!dir.exists(parent)) next
    dir <- tempfile("lowmem-append-", tmpdir = parent)
    dir.create(dir)
    if (takes_attribute(dir)) {
      withr_defer(function() {
        append_only_chattr("-ai", dir)
        unlink(dir, recursive = TRUE)
      }, envir)
      return(dir)
    }
    unlink(dir, recursive = TRUE)
  }
  # An ext4 image of its own, mounted through a loop device.
  skip_if(!nzchar(Sys.which("mkfs.ext4")) || !nzchar(Sys.which("mount")), "needs mkfs.ext4 and mount")
  base <- tempfile("lowmem-ext4-")
  dir.create(base)
  image <- file.path(base, "image")
  mnt <- file.path(base, "mnt")
  dir.create(mnt)
  mounted <- FALSE
  withr_defer(function() {
    if (mounted) {
      append_only_chattr("-ai", file.path(mnt, "dir"))
      system2("umount", shQuote(mnt), stdout = FALSE, stderr = FALSE)
    }
    unlink(base, recursive = TRUE)
  }, envir)
  made <- suppressWarnings(system2("mkfs.ext4", c("-q", "-F", shQuote(image), "8M"), stdout = FALSE, stderr = FALSE))
  skip_if_not(identical(made, 0L), "cannot make an ext4 image")
  status <- suppressWarnings(system2("mount", c("-o", "loop", shQuote(image), shQuote(mnt)),
                                     stdout = FALSE, stderr = FALSE))
  skip_if_not(identical(status, 0L), "cannot mount an ext4 image through a loop device")
  mounted <- TRUE
  dir <- file.path(mnt, "dir")
  dir.create(dir)
  skip_if_not(takes_attribute(dir), "the file system refuses chattr +a")
  dir
}

# on.exit() in another frame, without withr.
withr_defer <- function(fun, envir) {
  do.call(on.exit, list(substitute(fun(), list(fun = fun)), add = TRUE), envir = envir)
}

append_only_debris <- function(dir) {
  list.files(dir, pattern = "^\\.lowmem-", all.files = TRUE)
}

test_that("in an append-only directory a new and an existing file are written in place, as by saveRDS()", {
  dir <- append_only_dir()
  x <- list(a = 1:10, b = letters, c = runif(100))
  path <- function(name) file.path(dir, name)
  saveRDS("old", path("existing-base.rds"), compress = FALSE)
  saveRDS("old", path("existing.rds"), compress = FALSE)
  expect_identical(append_only_chattr("+a", dir), 0L)
  # saveRDS() itself writes there.
  saveRDS(x, path("new-base.rds"), compress = FALSE)
  saveRDS(x, path("existing-base.rds"), compress = FALSE)
  for (round in 1:2) { # again: over the file just written
    expect_identical(serialize_to_file(x, path("new.rds")), path("new.rds"))
    serialize_to_file(x, path("existing.rds"))
    serialize_to_file(x, path("gzip.rds"), compress = "gzip")
  }
  expect_identical(readBin(path("new.rds"), "raw", 1e6), readBin(path("new-base.rds"), "raw", 1e6))
  expect_identical(readBin(path("existing.rds"), "raw", 1e6), readBin(path("existing-base.rds"), "raw", 1e6))
  expect_identical(readRDS(path("new.rds")), x)
  expect_identical(readRDS(path("existing.rds")), x)
  expect_identical(readRDS(path("gzip.rds")), x)
  expect_identical(append_only_debris(dir), character())
  # The native writer and R's (a closure goes to R's writer).
  f <- function(y) y + 1
  serialize_to_file(f, path("closure.rds"))
  expect_identical(deparse(readRDS(path("closure.rds"))), deparse(f))
  expect_identical(append_only_debris(dir), character())
  expect_setequal(list.files(dir), c("closure.rds", "existing-base.rds", "existing.rds", "gzip.rds",
                                     "new-base.rds", "new.rds"))
})

test_that("in an immutable directory an existing file is written in place, a new one is saveRDS()'s error", {
  dir <- append_only_dir()
  x <- 1:10
  path <- function(name) file.path(dir, name)
  saveRDS("old", path("existing.rds"), compress = FALSE)
  expect_identical(append_only_chattr("+i", dir), 0L)
  serialize_to_file(x, path("existing.rds"))
  expect_identical(readRDS(path("existing.rds")), x)
  expect_error(suppressWarnings(saveRDS(x, path("new-base.rds"))))
  err <- expect_error(serialize_to_file(x, path("new.rds")), class = "lowmem_error_io")
  expect_identical(conditionMessage(err), sprintf("cannot write '%s': Operation not permitted", path("new.rds")))
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "existing.rds")
})
