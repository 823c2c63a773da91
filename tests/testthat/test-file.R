# serialize_to_file(): what saveRDS() writes, streamed in chunks, and all or
# nothing. Helpers: helper-stream.R.

# ---- the bytes --------------------------------------------------------------

test_that("compress = FALSE writes saveRDS(compress = FALSE)'s bytes in every format", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  ours <- file.path(dir, "lowmem.rds")
  theirs <- file.path(dir, "base.rds")
  objects <- list(small = stream_objects(), big = stream_big_object())
  for (name in names(objects)) {
    x <- objects[[name]]
    for (version in 2:3) {
      for (ascii in c(FALSE, TRUE, NA)) {
        refused <- tryCatch({
          saveRDS(x, theirs, ascii = ascii, version = version, compress = FALSE)
          NULL
        }, error = conditionMessage)
        if (!is.null(refused)) {
          # This R's saveRDS() refuses this `ascii` (R >= 4.6: NA): so does lowmem.
          expect_error(serialize_to_file(x, ours, ascii = ascii, version = version),
                       refused, fixed = TRUE, class = "lowmem_error_argument")
          next
        }
        expected <- stream_file_bytes(theirs)
        chunk_sizes <- if (name == "big") list(1000, NULL) else list(7, 1000, NULL)
        for (chunk_size in chunk_sizes) {
          if (is.null(chunk_size)) {
            serialize_to_file(x, ours, ascii = ascii, version = version)
          } else {
            serialize_to_file(x, ours, ascii = ascii, version = version, chunk_size = chunk_size)
          }
          expect_identical(
            stream_file_bytes(ours), expected,
            label = sprintf("%s, version = %d, ascii = %s, chunk_size = %s", name, version, ascii,
                            if (is.null(chunk_size)) "default" else chunk_size)
          )
        }
      }
    }
  }
  expect_identical(stream_dir_entries(dir), c("base.rds", "lowmem.rds"))
})

# An uncompressed file is written with direct I/O where the file system
# takes it (src/rust/src/sink/direct.rs): chunks that are whole pages go
# straight from the staging buffer, anything else through an aligned block,
# and the tail through the page cache. Every mix gives saveRDS()'s bytes.
test_that("every chunk size gives saveRDS()'s bytes, aligned or not", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  ours <- file.path(dir, "lowmem.rds")
  theirs <- file.path(dir, "base.rds")
  # 4.8 MB of doubles and strings: several 1 MiB blocks and a ragged tail.
  x <- list(runif(5e5), as.character(1:2e4), "tail")
  saveRDS(x, theirs, compress = FALSE)
  expected <- stream_file_bytes(theirs)
  for (chunk_size in c(4096, 3 * 4096, 1048576, 4 * 1048576, 1e6 + 3, 777)) {
    serialize_to_file(x, ours, chunk_size = chunk_size)
    expect_true(identical(stream_file_bytes(ours), expected), label = paste("chunk_size", chunk_size))
    serialize_to_file(x, ours, chunk_size = chunk_size, refhook = function(e) NULL)
    expect_true(identical(stream_file_bytes(ours), expected),
                label = paste("chunk_size", chunk_size, "with R's writer"))
  }
})

test_that("serialize_to_file() returns the path invisibly", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  expect_invisible(serialize_to_file(1:3, path))
  expect_identical(withVisible(serialize_to_file(1:3, path))$value, path)
})

magic <- list(
  gzip = as.raw(c(0x1f, 0x8b)),
  bzip2 = charToRaw("BZh"),
  xz = as.raw(c(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00))
)

decompressed <- function(path, codec) {
  stream_read_all(switch(codec, gzip = gzfile(path, "rb"), bzip2 = bzfile(path, "rb"),
                      xz = xzfile(path, "rb")))
}

test_that("compressed files are read by readRDS() and decompress to the uncompressed bytes", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  plain_path <- file.path(dir, "plain.rds")
  path <- file.path(dir, "packed.rds")
  x <- stream_plain_object()
  serialize_to_file(x, plain_path)
  plain <- stream_file_bytes(plain_path)
  for (compress in list(TRUE, "gzip", "bzip2", "xz")) {
    codec <- if (isTRUE(compress)) "gzip" else compress
    # Small chunks make many gzip blocks, in one member (see below).
    for (chunk_size in list(4096, NULL)) {
      label <- sprintf("compress = %s, chunk_size = %s", deparse(compress),
                       if (is.null(chunk_size)) "default" else chunk_size)
      if (is.null(chunk_size)) {
        serialize_to_file(x, path, compress = compress)
      } else {
        serialize_to_file(x, path, compress = compress, chunk_size = chunk_size)
      }
      bytes <- stream_file_bytes(path)
      expect_identical(bytes[seq_along(magic[[codec]])], magic[[codec]], label = label)
      expect_lt(length(bytes), length(plain))
      expect_identical(decompressed(path, codec), plain, label = label)
      expect_identical(readRDS(path), x, label = label)
    }
  }
  expect_identical(stream_dir_entries(dir), c("packed.rds", "plain.rds"))
})

# A gzip file is one member, whatever the number of blocks: readers that
# stop after the first member (gzcon(), memDecompress()) get the whole
# stream. The trailer's length is the whole stream's: with a member per
# block it would be the last block's.
expect_one_gzip_member <- function(path, x, plain, label) {
  bytes <- stream_file_bytes(path)
  expect_identical(bytes[1:4], as.raw(c(0x1f, 0x8b, 0x08, 0x00)), label = label)
  isize <- sum(as.integer(bytes[length(bytes) - 3:0]) * 256^(0:3))
  expect_identical(isize, length(plain) %% 2^32, label = label)
  expect_identical(memDecompress(bytes, "gzip"), plain, label = label)
  expect_identical(unserialize(memDecompress(bytes, "gzip")), x, label = label)
  con <- gzcon(file(path, "rb"))
  expect_identical(readRDS(con), x, label = label) # (readRDS() leaves con open)
  close(con)
  expect_identical(stream_read_all(gzcon(file(path, "rb"))), plain, label = label)
  expect_identical(readRDS(path), x, label = label)
  if (nzchar(Sys.which("gzip"))) {
    expect_identical(system2("gzip", c("-t", shQuote(path))), 0L, label = label)
  }
}

test_that("a gzip file of many blocks is one gzip member that every reader reads", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- stream_plain_object()
  plain <- base::serialize(x, NULL)
  expect_gt(length(plain), 100 * 4096)
  for (refhook in list(NULL, function(e) NULL)) { # the native writer and R's
    for (chunk_size in list(4096, 65536 + 7, NULL)) {
      label <- sprintf("chunk_size = %s, %s writer", format(chunk_size),
                       if (is.null(refhook)) "native" else "R's")
      args <- list(x, path, compress = "gzip", refhook = refhook)
      if (!is.null(chunk_size)) args$chunk_size <- chunk_size
      do.call(serialize_to_file, args)
      expect_one_gzip_member(path, x, plain, label)
    }
  }
  expect_identical(stream_dir_entries(dir), "x.rds")
})

test_that("empty, tiny and block-sized gzip streams are one member", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  # raw(n) serializes to 31 + n bytes (version 3): 12257 bytes make three
  # blocks of 4096 exactly, so the final block is empty.
  expect_length(base::serialize(raw(12257), NULL), 3 * 4096)
  objects <- list(NULL, 1L, list(), "", raw(12257), raw(4096 - 31), raw(4096 - 30))
  for (x in objects) {
    for (refhook in list(NULL, function(e) NULL)) {
      label <- sprintf("%s, %s writer", paste(deparse(x), collapse = "")[1],
                       if (is.null(refhook)) "native" else "R's")
      serialize_to_file(x, path, compress = "gzip", chunk_size = 4096, refhook = refhook)
      expect_one_gzip_member(path, x, base::serialize(x, NULL), substr(label, 1, 60))
    }
  }
})

test_that("gzip levels 0 and 9 are one member; level 0 stores", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- stream_plain_object()
  plain <- base::serialize(x, NULL)
  for (level in c(0, 9)) {
    serialize_to_file(x, path, compress = "gzip", compression_level = level, chunk_size = 65536)
    expect_one_gzip_member(path, x, plain, paste("level", level))
    if (level == 0) expect_gt(file.size(path), length(plain))
    if (level == 9) expect_lt(file.size(path), length(plain) / 2)
  }
})

test_that("compression levels 1 and 9 are read back", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- stream_objects()[c("df", "altrep", "long_string")]
  plain <- base::serialize(x, NULL)
  for (codec in c("gzip", "bzip2", "xz")) {
    for (level in c(1, 9)) {
      label <- sprintf("compress = \"%s\", compression_level = %d", codec, level)
      serialize_to_file(x, path, compress = codec, compression_level = level)
      expect_identical(readRDS(path), x, label = label)
      expect_identical(decompressed(path, codec), plain, label = label)
    }
  }
})

test_that("environments, closures and ALTREP survive a compressed round trip", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- stream_objects()
  for (compress in list(FALSE, "gzip", "bzip2", "xz")) {
    serialize_to_file(x, path, compress = compress, chunk_size = 1000)
    back <- readRDS(path)
    expect_identical(base::serialize(back, NULL), base::serialize(x, NULL),
                     label = paste("compress =", compress))
    expect_identical(back$env_cycle[[1]]$self, back$env_cycle[[2]])
  }
})

test_that("a relative path is written relative to the working directory", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  old_wd <- setwd(dir)
  on.exit(setwd(old_wd), add = TRUE, after = FALSE)
  serialize_to_file(letters, "x.rds")
  expect_identical(readRDS(file.path(dir, "x.rds")), letters)
  expect_identical(stream_dir_entries(dir), "x.rds")
})

test_that("a new file gets saveRDS()'s permissions; a replaced file keeps its own", {
  skip_on_os("windows")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  ours <- file.path(dir, "lowmem.rds")
  theirs <- file.path(dir, "base.rds")
  saveRDS(1:3, theirs)
  serialize_to_file(1:3, ours)
  expect_identical(file.mode(ours), file.mode(theirs))
  Sys.chmod(ours, "0640")
  serialize_to_file(4:6, ours)
  expect_identical(file.mode(ours), as.octmode("0640"))
  expect_identical(readRDS(ours), 4:6)
})

# ---- arguments ------------------------------------------------------------

test_that("a bad `compress` is saveRDS()'s error", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  for (compress in list("zip", "gz", "")) {
    msg <- tryCatch(saveRDS(1:3, file.path(dir, "base.rds"), compress = compress),
                    error = conditionMessage)
    expect_match(msg, "invalid 'compress' argument", fixed = TRUE)
    expect_error(serialize_to_file(1:3, file.path(dir, "x.rds"), compress = compress),
                 msg, fixed = TRUE)
  }
  expect_identical(stream_dir_entries(dir), character())
})

test_that("bad arguments are errors of class lowmem_error_argument, and write nothing", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  for (bad in list(NA, NA_character_, "", c(path, path), 1, NULL)) {
    expect_error(serialize_to_file(1:3, bad), class = "lowmem_error_argument",
                 label = paste(deparse(bad), collapse = ""))
  }
  expect_error(serialize_to_file(1:3, path, ascii = "yes"), class = "lowmem_error_argument")
  expect_error(serialize_to_file(1:3, path, ascii = c(TRUE, FALSE)),
               class = "lowmem_error_argument")
  for (level in list(12, -1, NA, "a")) {
    expect_error(serialize_to_file(1:3, path, compress = "gzip", compression_level = level),
                 class = "lowmem_error_argument", label = deparse(level))
  }
  for (chunk_size in list(0, -1, NA, "a")) {
    # (The coercion warning "a" also gives is the next test's concern.)
    suppressWarnings(
      expect_error(serialize_to_file(1:3, path, chunk_size = chunk_size),
                   class = "lowmem_error_argument", label = deparse(chunk_size))
    )
  }
  expect_error(serialize_to_file(1:3, path, progress = "x"), class = "lowmem_error_argument")
  expect_error(serialize_to_file(1:3, path, refhook = "f"), class = "lowmem_error_argument")
  expect_identical(stream_dir_entries(dir), character())
})

test_that("a non-numeric chunk_size is an argument error without a coercion warning", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  expect_no_warning(
    tryCatch(serialize_to_file(1:3, file.path(dir, "x.rds"), chunk_size = "a"),
             lowmem_error_argument = function(e) NULL)
  )
})

# ---- nothing lost: failures leave the old file and no debris ---------------

# old_file() and expect_usable_session() are in helper-interrupt.R.

test_that("a missing directory is an I/O error naming the path and the reason", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "missing", "x.rds")
  err <- expect_error(serialize_to_file(1:3, path), class = "lowmem_error_io")
  expect_match(conditionMessage(err), path, fixed = TRUE)
  expect_match(conditionMessage(err), "No such file or directory", fixed = TRUE)
  expect_identical(stream_dir_entries(dir), character())
  expect_usable_session(dir)
})

test_that("a directory as path is an I/O error and is left alone", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  target <- file.path(dir, "sub")
  dir.create(target)
  err <- expect_error(serialize_to_file(1:3, target), class = "lowmem_error_io")
  expect_match(conditionMessage(err), target, fixed = TRUE)
  expect_true(dir.exists(target))
  expect_identical(stream_dir_entries(dir), "sub")
})

# No temporary file can be made there: a new file is saveRDS()'s error, an
# existing file that may be written is written in place, as saveRDS() does.
# (As root, test-file-safety.R runs the same as an unprivileged user.)
test_that("in a directory without write permission, a new file is an I/O error, an old one is written in place", {
  skip_on_os("windows")
  dir <- stream_new_dir()
  on.exit({
    Sys.chmod(dir, "0755")
    unlink(dir, recursive = TRUE)
  })
  path <- file.path(dir, "x.rds")
  theirs <- file.path(dir, "base.rds")
  old_file(path)
  old_file(theirs)
  Sys.chmod(dir, "0555")
  skip_if(file.access(dir, 2) == 0,
          "the directory stays writable after chmod 0555 (running as root)")
  new_path <- file.path(dir, "new.rds")
  expect_error(suppressWarnings(saveRDS(1:3, new_path)))
  err <- expect_error(serialize_to_file(1:3, new_path), class = "lowmem_error_io")
  expect_match(conditionMessage(err), new_path, fixed = TRUE)
  expect_match(conditionMessage(err), "Permission denied", fixed = TRUE)
  saveRDS(4:6, theirs, compress = FALSE)
  serialize_to_file(4:6, path)
  expect_identical(stream_file_bytes(path), stream_file_bytes(theirs))
  expect_identical(stream_dir_entries(dir), c("base.rds", "x.rds"))
})

test_that("a full file system is an I/O error; the old file stays, no debris", {
  with_tiny_tmpfs("64k", function(dir) {
    path <- file.path(dir, "x.rds")
    old <- old_file(path)
    # 200 KB that no codec shrinks below 64 KB.
    x <- sin(seq_len(25000)) * 1e6
    for (compress in list(FALSE, "gzip", "bzip2", "xz")) {
      label <- paste("compress =", compress)
      err <- expect_error(serialize_to_file(x, path, compress = compress, chunk_size = 8192),
                          class = "lowmem_error_io", label = label)
      expect_match(conditionMessage(err), path, fixed = TRUE, label = label)
      expect_match(conditionMessage(err), "No space left on device", fixed = TRUE, label = label)
      expect_identical(stream_file_bytes(path), old, label = label)
      expect_identical(stream_dir_entries(dir), "x.rds", label = label)
    }
    expect_usable_session(dir)
    serialize_to_file("new", path)
    expect_identical(readRDS(path), "new")
  })
})

# A file size limit (ulimit -f, with SIGXFSZ ignored) cuts the first 1 MiB
# direct write short at 21 KiB, an unaligned length: the writer falls back
# to the page cache for the rest, whose next write fails with EFBIG. In a
# child R process, so that the limit binds nothing else.
test_that("a file size limit mid-stream is an I/O error; the old file stays, no debris", {
  skip_if(Sys.which("bash") == "", "no bash")
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  old <- old_file(path)
  script <- file.path(dir, "write.R")
  writeLines(c(
    "r <- tryCatch(lowmem::serialize_to_file(runif(1e6), commandArgs(TRUE)[[1]]),",
    "              error = function(e) e)",
    "cat(class(r)[[1]], conditionMessage(r), sep = '\\n')"
  ), script)
  rscript <- file.path(R.home("bin"), "Rscript")
  command <- sprintf("trap '' XFSZ; ulimit -f 21; exec %s --vanilla %s %s",
                     shQuote(rscript), shQuote(script), shQuote(path))
  out <- system2("bash", c("-c", shQuote(command)), stdout = TRUE, stderr = TRUE,
                 env = paste0("R_LIBS=", shQuote(paste(.libPaths(), collapse = ":"))))
  expect_identical(out[[1]], "lowmem_error_io")
  expect_match(out[[2]], path, fixed = TRUE)
  expect_match(out[[2]], "File too large", fixed = TRUE)
  expect_identical(stream_file_bytes(path), old)
  expect_identical(stream_dir_entries(dir), c("write.R", "x.rds"))
})

test_that("a refhook that fails mid-stream leaves the old file and no debris", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- list(seq_len(5e5) * 2L, new.env(), "never written")
  for (compress in list(FALSE, "gzip", "bzip2", "xz")) {
    label <- paste("compress =", compress)
    old <- old_file(path)
    seen <- NULL
    hook <- function(e) {
      seen <<- file.info(file.path(dir, stream_dir_entries(dir)))["size"]
      stop("the refhook failed")
    }
    expect_error(
      serialize_to_file(x, path, compress = compress, refhook = hook, chunk_size = 65536),
      "the refhook failed", fixed = TRUE, label = label
    )
    # The hook ran mid-stream: the temporary file existed and had data.
    temp <- rownames(seen)[is_lowmem_temp(basename(rownames(seen)))]
    expect_length(temp, 1)
    if (isFALSE(compress)) expect_gt(seen[temp, "size"], 1e6)
    expect_identical(stream_file_bytes(path), old, label = label)
    expect_identical(stream_dir_entries(dir), "x.rds", label = label)
  }
  expect_usable_session(dir)
})

# Interrupts mid-stream, in both writers and every codec: test-interrupt.R.

# Interrupt checks go by time, not bytes (src/output.c): a stream runs at
# the speed of its slowest part, and xz at level 9 takes seconds per MB. A
# check per 16 MB once honoured a 0.05 s time limit after 96 MB. What keeps
# the latency bounded is structural, and counted here through the test hook
# (helper-interrupt.R) rather than timed: both writers reach an interrupt
# check at least once per 64 KiB of the stream through the codec (R's
# writer per piece of a vector, the native writer per step), and each
# check lets R honour an interrupt or a time limit once 50 ms have passed.
# An interrupt at the middle check then stops the write cleanly.
test_that("a slow codec is checked for interrupts at least every 64 KiB, in both writers", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  doubles <- runif(1.25e5) # 1 MB: a second or so of xz at level 9
  pieces <- floor(serialized_size(doubles) / 65536)
  writers <- list(
    "R's" = function(path) {
      serialize_to_file(list(new.env(), doubles), path, compress = "xz", compression_level = 9,
                        refhook = function(e) NULL)
    },
    native = function(path) serialize_to_file(doubles, path, compress = "xz", compression_level = 9)
  )
  for (name in names(writers)) {
    counted <- file.path(dir, "counted.rds")
    n <- interrupt_checks(function() writers[[name]](counted))
    unlink(counted)
    expect_gte(n, pieces, label = paste(name, "writer: interrupt checks"))
    old <- old_file(path)
    expect_interrupt(with_interrupt_at(max(1L, n %/% 2L), writers[[name]](path)), name)
    expect_identical(stream_file_bytes(path), old, label = name)
    expect_identical(stream_dir_entries(dir), "x.rds", label = name)
  }
  expect_usable_session(dir)
})

# The last progress report comes once the file is in place: a failure
# there cannot undo the write, so it is not an error of the call.
test_that("a progress callback that fails at 100 % leaves the complete file", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- list(runif(1000), letters)
  for (refhook in list(NULL, function(e) NULL)) {
    old_file(path)
    progress <- function(done, total) if (done == total && done > 0) stop("the bar broke")
    expect_no_error(capture.output(type = "message", invisible(.Call(
      lowmem:::C_lowmem_serialize_file, x, path, 0L, 1L, 0L, NULL, refhook, 1000, progress
    ))))
    expect_identical(readRDS(path), x)
    expect_identical(stream_dir_entries(dir), "x.rds")
  }
})

# ---- progress and refhook -----------------------------------------------------

test_that("progress = TRUE draws a bar on stderr non-interactively and writes the same file", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- stream_plain_object()
  for (compress in list(FALSE, "gzip")) {
    bar <- capture.output(type = "message", {
      serialize_to_file(x, path, compress = compress, progress = TRUE, chunk_size = 65536)
    })
    expect_match(paste(bar, collapse = ""), "100%", fixed = TRUE)
    expect_identical(readRDS(path), x)
  }
  invisible(capture.output(type = "message", serialize_to_file(x, path, progress = TRUE)))
  expect_identical(stream_file_bytes(path), base::serialize(x, NULL))
  expect_silent(serialize_to_file(x, path, progress = FALSE))
})

test_that("a refhook is called as often as by base, with or without a progress bar", {
  dir <- stream_new_dir()
  on.exit(unlink(dir, recursive = TRUE))
  path <- file.path(dir, "x.rds")
  x <- stream_refhook_object()
  base_hook <- stream_naming_hook()
  expected <- base::serialize(x, NULL, refhook = base_hook$hook)
  for (progress in c(FALSE, TRUE)) {
    for (compress in list(FALSE, "gzip")) {
      hook <- stream_naming_hook()
      capture.output(type = "message", {
        serialize_to_file(x, path, compress = compress, refhook = hook$hook, progress = progress,
                          chunk_size = 4096)
      })
      label <- sprintf("progress = %s, compress = %s", progress, compress)
      expect_identical(hook$calls(), base_hook$calls(), label = label)
      bytes <- if (isFALSE(compress)) stream_file_bytes(path) else decompressed(path, "gzip")
      expect_identical(bytes, expected, label = label)
    }
  }
})

test_that("a symbolic link is written through, as saveRDS() writes", {
  dir <- tempfile("lowmem-link-")
  dir.create(file.path(dir, "real"), recursive = TRUE)
  on.exit(unlink(dir, recursive = TRUE))
  real <- file.path(dir, "real", "x.rds")
  link <- file.path(dir, "x.rds")
  writeLines("old", real)
  skip_if_not(file.symlink(file.path("real", "x.rds"), link), "cannot make symbolic links here")
  lowmem::serialize_to_file(1:10, link)
  expect_identical(Sys.readlink(link), file.path("real", "x.rds"))
  expect_identical(readRDS(real), 1:10)
  expect_identical(list.files(file.path(dir, "real"), all.files = TRUE, no.. = TRUE), "x.rds")
})
