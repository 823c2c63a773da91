# serialize_to_file(compress = "zstd"): a zstd frame per block, read by
# readRDS() of R >= 4.5.0; written on older R too, with a classed warning.
# Helpers: helper-stream.R.

zstd_magic <- as.raw(c(0x28, 0xb5, 0x2f, 0xfd))

# Whether this R reads zstd (readRDS(), zstdfile(), memDecompress()).
zstd_r_reads <- function() lowmem:::r_reads_zstd()

skip_unless_r_reads_zstd <- function() {
  skip_if_not(zstd_r_reads(), "this R does not read zstd (R >= 4.5.0 does)")
}

# The decompressed bytes of a zstd file: by this R's zstdfile() where it has
# one, and by the zstd program where there is one; both if both. Skips if
# neither can.
zstd_decompressed <- function(path) {
  results <- list()
  if (zstd_r_reads()) {
    results$r <- stream_read_all(get("zstdfile", baseenv())(path, "rb"))
  }
  if (nzchar(Sys.which("zstd"))) {
    out <- tempfile()
    on.exit(unlink(out))
    status <- system2("zstd", c("-dqf", shQuote(path), "-o", shQuote(out)))
    expect_identical(status, 0L, label = "zstd -d")
    results$cli <- stream_file_bytes(out)
  }
  if (length(results) == 0L) skip("no zstd decompressor: neither this R nor the zstd program")
  if (length(results) == 2L) expect_identical(results$r, results$cli)
  results[[1L]]
}

# saveRDS(x, compress = FALSE)'s bytes.
zstd_plain_bytes <- function(x, dir) {
  path <- file.path(dir, "plain-oracle.rds")
  on.exit(unlink(path))
  saveRDS(x, path, compress = FALSE)
  stream_file_bytes(path)
}

# Writes with "zstd", muffling the warning of an R that cannot read it.
zstd_write <- function(x, path, ...) {
  withCallingHandlers(
    serialize_to_file(x, path, compress = "zstd", ...),
    lowmem_warning_unreadable = function(w) invokeRestart("muffleWarning")
  )
}

# The file is zstd, decompresses to saveRDS(compress = FALSE)'s bytes and,
# where this R reads zstd, readRDS() gives the object back.
expect_zstd_file <- function(path, x, plain, label) {
  bytes <- stream_file_bytes(path)
  expect_identical(bytes[1:4], zstd_magic, label = label)
  expect_identical(zstd_decompressed(path), plain, label = label)
  if (zstd_r_reads()) {
    expect_identical(readRDS(path), x, label = label)
    expect_identical(unserialize(memDecompress(bytes, "zstd")), x, label = label)
  }
}

# ---- what is written --------------------------------------------------------

test_that("zstd files decompress to saveRDS(compress = FALSE)'s bytes and readRDS() reads them", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- stream_plain_object()
  plain <- zstd_plain_bytes(x, dir)
  expect_gt(length(plain), 100 * 4096)
  for (refhook in list(NULL, function(e) NULL)) { # the native writer and R's
    # 4096: a hundred frames and more; 65536 + 7: blocks of an odd size.
    for (chunk_size in list(4096, 65536 + 7, NULL)) {
      label <- sprintf("chunk_size = %s, %s writer", format(chunk_size),
                       if (is.null(refhook)) "native" else "R's")
      args <- list(x, path, refhook = refhook)
      if (!is.null(chunk_size)) args$chunk_size <- chunk_size
      do.call(zstd_write, args)
      expect_zstd_file(path, x, plain, label)
      expect_lt(file.size(path), length(plain))
    }
  }
  expect_identical(stream_dir_entries(dir), "x.rds")
})

test_that("the objects of the stream tests survive a zstd round trip in every format", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  objects <- stream_objects()
  for (name in names(objects)) {
    for (ascii in list(FALSE, TRUE)) {
      for (version in 2:3) {
        label <- sprintf("%s, ascii = %s, version = %d", name, ascii, version)
        zstd_write(objects[[name]], path, ascii = ascii, version = version)
        theirs <- file.path(dir, "theirs.rds")
        saveRDS(objects[[name]], theirs, ascii = ascii, version = version, compress = FALSE)
        expect_identical(zstd_decompressed(path), stream_file_bytes(theirs), label = label)
        unlink(theirs)
      }
    }
  }
  # Environments and closures are new objects after a round trip: compared
  # through their serialization.
  skip_unless_r_reads_zstd()
  x <- objects[c("df", "altrep", "long_string")]
  zstd_write(x, path)
  expect_identical(readRDS(path), x)
})

test_that("empty, tiny and block-sized zstd streams", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  # raw(n) serializes to 31 + n bytes (version 3): 12257 bytes make three
  # blocks of 4096 exactly, so the stream ends on a block boundary.
  expect_length(base::serialize(raw(12257), NULL), 3 * 4096)
  objects <- list(NULL, 1L, list(), "", raw(12257), raw(4096 - 31), raw(4096 - 30))
  for (x in objects) {
    for (refhook in list(NULL, function(e) NULL)) {
      label <- sprintf("%s, %s writer", substr(paste(deparse(x), collapse = ""), 1, 40),
                       if (is.null(refhook)) "native" else "R's")
      zstd_write(x, path, chunk_size = 4096, refhook = refhook)
      expect_zstd_file(path, x, zstd_plain_bytes(x, dir), label)
    }
  }
})

test_that("zstd levels at both ends of R's range are read back; 9 is the default", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- stream_plain_object()
  plain <- zstd_plain_bytes(x, dir)
  sizes <- c()
  for (level in c(-19, -1, 0, 1, 9, 19)) {
    zstd_write(x, path, compression_level = level, chunk_size = 65536)
    expect_zstd_file(path, x, plain, paste("level", level))
    sizes[[as.character(level)]] <- file.size(path)
  }
  expect_lt(sizes[["19"]], sizes[["-19"]])
  # zstd is deterministic: the default level's file is level 9's.
  zstd_write(x, path, chunk_size = 65536)
  expect_identical(file.size(path), sizes[["9"]])
  for (level in list(-20, 20, NA, "9", c(1, 2))) {
    expect_error(serialize_to_file(x, path, compress = "zstd", compression_level = level),
                 class = "lowmem_error_argument")
  }
  # The other codecs keep their range.
  expect_error(serialize_to_file(x, path, compress = "gzip", compression_level = -1),
               class = "lowmem_error_argument")
  expect_error(serialize_to_file(x, path, compress = "gzip", compression_level = 19),
               class = "lowmem_error_argument")
})

test_that("an R that cannot read zstd gets a classed warning, an R that can none", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  if (zstd_r_reads()) {
    expect_no_warning(serialize_to_file(1:3, path, compress = "zstd"))
    expect_true(getRversion() >= "4.5.0")
  } else {
    w <- expect_warning(serialize_to_file(1:3, path, compress = "zstd"),
                        class = "lowmem_warning_unreadable")
    expect_match(conditionMessage(w), "R 4.5.0", fixed = TRUE)
    expect_match(conditionMessage(w), path, fixed = TRUE)
  }
  expect_identical(stream_file_bytes(path)[1:4], zstd_magic)
})

test_that("saveRDS()'s spellings of zstd give zstd: the name, and its number where saveRDS() has one", {
  skip_unless_r_reads_zstd()
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  ours <- file.path(dir, "ours.rds")
  theirs <- file.path(dir, "theirs.rds")
  x <- stream_plain_object()
  position <- match("zstd", lowmem:::saverds_codecs())
  expect_false(is.na(position))
  for (compress in list("zstd", position, as.integer(position))) {
    label <- paste("compress =", deparse(compress))
    saveRDS(x, theirs, compress = compress)
    serialize_to_file(x, ours, compress = compress)
    expect_identical(stream_file_bytes(theirs)[1:4], zstd_magic, label = label)
    expect_identical(stream_file_bytes(ours)[1:4], zstd_magic, label = label)
    expect_identical(readRDS(ours), x, label = label)
    expect_identical(zstd_decompressed(ours), zstd_decompressed(theirs), label = label)
  }
})

# ---- nothing lost: failures leave the old file and no debris ---------------

test_that("a full file system during a zstd write is an I/O error; the old file stays, no debris", {
  with_tiny_tmpfs("64k", function(dir) {
    path <- file.path(dir, "x.rds")
    old <- old_file(path)
    # 400 KB of random doubles, which zstd does not shrink below 64 KB, in
    # 8 KiB frames: the disk fills mid-stream.
    set.seed(1)
    x <- runif(5e4)
    for (refhook in list(NULL, function(e) NULL)) {
      err <- expect_error(zstd_write(x, path, chunk_size = 8192, refhook = refhook),
                          class = "lowmem_error_io")
      expect_match(conditionMessage(err), path, fixed = TRUE)
      expect_match(conditionMessage(err), "No space left on device", fixed = TRUE)
      expect_identical(stream_file_bytes(path), old)
      expect_identical(stream_dir_entries(dir), "x.rds")
    }
    zstd_write("new", path)
    expect_identical(zstd_decompressed(path), zstd_plain_bytes("new", tempdir()))
  })
})

test_that("a refhook that fails mid-stream of a zstd write leaves the old file and no debris", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- list(seq_len(5e5) * 2L, new.env(), "never written")
  old <- old_file(path)
  seen <- NULL
  hook <- function(e) {
    seen <<- stream_dir_entries(dir)
    stop("the refhook failed")
  }
  expect_error(zstd_write(x, path, refhook = hook, chunk_size = 65536),
               "the refhook failed", fixed = TRUE)
  # The hook ran mid-stream: the temporary file existed.
  expect_true(any(is_lowmem_temp(seen)))
  expect_identical(stream_file_bytes(path), old)
  expect_identical(stream_dir_entries(dir), "x.rds")
})

# Interrupts armed from inside the stream (helper-interrupt.R): from the
# refhook (R's writer) and from the progress callback, which C calls
# between the native writer's steps (passed to the C entry point directly,
# as in test-interrupt.R).
test_that("an interrupt mid-stream of a zstd write leaves the old file and no debris, in both writers", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  zeros <- numeric(1e6)
  expect_interrupted_file_write(dir, function(path, arm) {
    zstd_write(list(new.env(), rep(list(zeros), 100)), path, refhook = function(e) { arm(); NULL })
  }, "R's writer")
  expect_interrupted_file_write(dir, function(path, arm) {
    .Call(lowmem:::C_lowmem_serialize_file, rep(list(zeros), 100), path, 4L, 9L, 0L, NULL, NULL,
          65536, function(done, total) if (done > 0) arm())
  }, "native writer")
  zstd_write(list(1:3, "after"), path)
  expect_identical(zstd_decompressed(path), zstd_plain_bytes(list(1:3, "after"), tempdir()))
})
