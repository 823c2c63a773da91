# Hardening: fork safety, memory pressure and long vectors (leaks are in
# test-leaks.R, interrupts in test-interrupt.R). Helpers are in
# helper-hardening.R.

# ---- fork safety -------------------------------------------------------------

# The script run by the fork test: the parent uses every entry point (gzip
# starts and joins worker threads), then forks; children use every entry
# point too, while the parent keeps writing gzip files. Objects and outputs
# come back in an RDS file and are compared with base R here.
hardening_fork_script <- '
make_obj <- function(i) {
  set.seed(i)
  list(i = i, x = runif(5e4), s = as.character(seq_len(2000) * i),
       df = data.frame(a = seq_len(100) + i, b = rep_len(letters, 100)))
}
threads <- function() lowmem:::rss_status()[["threads"]]
gunzip_file <- function(path) {
  con <- gzfile(path, "rb")
  on.exit(close(con))
  readBin(con, "raw", n = 1e8)
}
all_ways <- function(i) {
  obj <- make_obj(i)
  raw <- lowmem::serialize(obj, NULL)
  con <- rawConnection(raw(0), "wb")
  lowmem::serialize(obj, con, chunk_size = 8192)
  streamed <- rawConnectionValue(con)
  close(con)
  # Children share tempdir() and, forked, the state tempfile() draws names
  # from: name files by process id.
  path <- file.path(tempdir(), sprintf("fork-%d-%d.rds", Sys.getpid(), i))
  lowmem::serialize_to_file(obj, path, compress = "gzip", chunk_size = 65536)
  gz <- gunzip_file(path)
  unlink(path)
  list(obj = obj, raw = raw, streamed = streamed, gz = gz,
       size = lowmem::serialized_size(obj), pid = Sys.getpid(), threads = threads())
}
parent_before <- all_ways(0)
threads_before <- threads()
children <- parallel::mclapply(1:4, all_ways, mc.cores = 2)
job <- parallel::mcparallel(all_ways(5))
parent_during <- all_ways(6)
background <- parallel::mccollect(job, wait = TRUE)[[1]]
saveRDS(list(
  results = c(list(parent_before), children, list(background, parent_during)),
  parent_pid = Sys.getpid(), threads_before = threads_before, threads_after = threads(),
  leftovers = list.files(tempdir(), pattern = "lowmem", all.files = TRUE)
), "@OUT@")
cat("fork script done\\n")
'

test_that("lowmem works in forked children after the parent used it, without deadlock", {
  hardening_skip_unless_proc()
  testthat::skip_if_not(.Platform$OS.type == "unix", "fork() is Unix only")
  out <- tempfile(fileext = ".rds")
  on.exit(unlink(out), add = TRUE)
  child <- hardening_run_child(gsub("@OUT@", out, hardening_fork_script, fixed = TRUE), timeout = 60)

  # 124/137: killed by timeout, i.e. a deadlock (or a machine far too slow).
  expect_identical(child$status, 0L, label = paste("exit status; output:\n", child$output))
  expect_match(child$output, "fork script done")
  skip_if_not(file.exists(out), "the child script wrote no results")
  got <- readRDS(out)

  expect_length(got$results, 7L)
  pids <- vapply(got$results, function(r) if (is.list(r)) r$pid else NA_integer_, integer(1))
  expect_true(all(pids[2:6] != got$parent_pid), label = "children ran in other processes")
  for (r in got$results) {
    expect_type(r, "list") # a try-error here is an error in a child
    if (!is.list(r)) next
    expected <- base::serialize(r$obj, NULL)
    expect_identical(r$raw, expected)
    expect_identical(r$streamed, expected)
    expect_identical(r$gz, expected)
    expect_identical(r$size, as.double(length(expected)))
  }
  # The gzip workers are joined by the end of each call, in every process.
  expect_identical(got$threads_after, got$threads_before)
  expect_length(got$leftovers, 0L)
})

# ---- leaks -------------------------------------------------------------------

# Memory, files, descriptors and threads over many calls: test-leaks.R.

# ---- interrupts ----------------------------------------------------------------

# Interrupts of every kind of call: test-interrupt.R.

# ---- memory pressure ------------------------------------------------------------

# Address space of an Rscript that has loaded lowmem, in kB; the limits below
# are set relative to it, so that they work whatever R and its libraries take.
hardening_child_base_kb <- function() {
  child <- hardening_run_child(c(
    "invisible(loadNamespace('lowmem'))",
    "cat('VMSIZE', gsub('[^0-9]', '', grep('^VmSize:', readLines('/proc/self/status'), value = TRUE)), '\\n')"
  ), timeout = 60)
  kb <- as.numeric(sub(".*VMSIZE ([0-9]+).*", "\\1", child$output))
  if (child$status != 0L || is.na(kb)) {
    testthat::skip(paste("could not measure a child R's address space:", child$output))
  }
  kb
}

# Room for R, lowmem and a 400 MB double vector, plus 200 MB: not enough for
# a second 400 MB vector (the serialized output, or any other big buffer).
hardening_pressure_limit_kb <- function() {
  hardening_child_base_kb() + 400 * 1024 + 200 * 1024
}

hardening_pressure_script <- function(call) {
  c(
    "x <- tryCatch(runif(5e7), error = function(e) NULL)",
    "if (is.null(x)) { cat('SETUP FAILED\\n'); quit(status = 3) }",
    "f <- tempfile()",
    sprintf("r <- tryCatch({ %s; 'NO ERROR' }, error = function(e) paste('CAUGHT:', conditionMessage(e)))", call),
    "cat(r, '\\n')",
    "cat('survived\\n')",
    "small <- list(1:10, letters)",
    "cat('afterwards identical:', identical(lowmem::serialize(small, NULL), base::serialize(small, NULL)), '\\n')",
    "cat('temp files left:', length(list.files(tempdir(), pattern = 'lowmem', all.files = TRUE)), '\\n')",
    "cat('file:', if (!file.exists(f)) 'none' else if (file.size(f) > 0) 'written' else 'empty', '\\n')"
  )
}

# `outcome`: a pattern for the line the child prints after the call, either
# "CAUGHT: <the error message>" or "NO ERROR".
hardening_expect_survives <- function(child, outcome, what) {
  if (child$status == 3L) testthat::skip("the child could not allocate its 400 MB object")
  expect_identical(child$status, 0L, label = sprintf("exit status of the child (%s); output:\n%s", what, child$output))
  if (!identical(child$status, 0L)) return(invisible())
  expect_match(child$output, outcome)
  expect_match(child$output, "survived")
  expect_match(child$output, "afterwards identical: TRUE")
  expect_match(child$output, "temp files left: 0")
}

test_that("an allocation that cannot be satisfied is R's error, not a crash", {
  hardening_skip_unless_proc()
  limit <- hardening_pressure_limit_kb()
  # The output vector (a second 400 MB) cannot be allocated.
  child <- hardening_run_child(hardening_pressure_script("y <- lowmem::serialize(x, NULL)"),
                               ulimit_kb = limit)
  hardening_expect_survives(child, "CAUGHT: cannot allocate vector of size", "serialize(x, NULL)")
  # Nor, for a stream of 400 MB, chunk buffers that grow towards 1 GiB
  # (they double as the stream fills them) next to the connection's own
  # growing buffer: whichever allocation fails first is an R error.
  child <- hardening_run_child(hardening_pressure_script(
    "con <- rawConnection(raw(0), 'wb'); lowmem::serialize(x, con, chunk_size = 2^30)"
  ), ulimit_kb = limit)
  hardening_expect_survives(child, "CAUGHT: .+|NO ERROR", "a 1 GiB connection chunk")
})

test_that("serialize_to_file() buffers that cannot be allocated do not abort R", {
  hardening_skip_unless_proc()
  limit <- hardening_pressure_limit_kb()
  # The file sink's buffers (up to chunk_size bytes for the file writer;
  # blocks of chunk_size for gzip) are allocated in Rust, whose default on
  # a failed allocation is to abort the process: R and the user's session die.
  # Either an R error or a complete file (if the buffers were allocated as
  # needed) is fine; a dead process is not.
  for (compress in c("FALSE", "'gzip'")) {
    child <- hardening_run_child(hardening_pressure_script(sprintf(
      "lowmem::serialize_to_file(x, f, compress = %s, chunk_size = 2^30)", compress
    )), ulimit_kb = limit)
    hardening_expect_survives(child, "CAUGHT: .+|NO ERROR", paste("a 1 GiB chunk, compress =", compress))
    if (!identical(child$status, 0L)) next
    expect_match(child$output, if (grepl("NO ERROR", child$output)) "file: written" else "file: none")
  }
})

# ---- long vectors (opt-in) --------------------------------------------------------

hardening_skip_unless_long <- function(gb_needed) {
  testthat::skip_if_not(
    identical(Sys.getenv("LOWMEM_TEST_LONG"), "true"),
    "long-vector tests need LOWMEM_TEST_LONG=true (minutes, several GB)"
  )
  testthat::skip_if(hardening_mem_available_gb() < gb_needed, "not enough memory available")
}

# Serializes `x` (over 2^31 bytes of output) every way and compares. The
# base::serialize() oracle costs about three times the output on its own,
# so it is run only when that much memory is free; saveRDS() streams, and
# is the oracle for the file in any case.
hardening_check_long <- function(x) {
  n <- lowmem::serialized_size(x)
  expect_gt(n, 2^31)

  y <- lowmem::serialize(x, NULL)
  expect_identical(as.double(length(y)), n)
  if (hardening_mem_available_gb() > 3.5 * n / 1e9 + 1) {
    expect_identical(y, base::serialize(x, NULL))
  } else {
    message("long vectors: not enough free memory to compare with base::serialize()")
  }
  expect_identical(unserialize(y), x)
  rm(y)
  invisible(gc())

  dir <- tempfile("lowmem-long-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  ours <- file.path(dir, "lowmem.rds")
  theirs <- file.path(dir, "base.rds")
  serialize_to_file(x, ours)
  saveRDS(x, theirs, compress = FALSE)
  expect_identical(file.size(ours), n)
  expect_identical(unname(tools::md5sum(ours)), unname(tools::md5sum(theirs)))
  unlink(theirs)
  expect_identical(readRDS(ours), x)

  con <- file(theirs, "wb")
  lowmem::serialize(x, con)
  close(con)
  expect_identical(unname(tools::md5sum(theirs)), unname(tools::md5sum(ours)))
}

test_that("a raw vector of 2^31 + 10 bytes round-trips", {
  hardening_skip_unless_long(10)
  x <- rep_len(as.raw(0:250), 2^31 + 10) # 251 is prime: a shifted byte shows
  hardening_check_long(x)
})

test_that("a double vector of 2^28 + 1 elements round-trips", {
  hardening_skip_unless_long(10)
  set.seed(28)
  x <- runif(2^28 + 1)
  hardening_check_long(x)
})
