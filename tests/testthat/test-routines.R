# Every routine of lowmem's registration table (src/entrypoint.c: C's and
# extendr's), called with wrong arguments in a child R process: each call
# must end in a value or a lowmem condition, never in a crash or another
# error. An external pointer is dereferenced only if it is one of lowmem's
# own, of the kind the routine takes, and still live.

# The child: calls the routines from the `from`-th case on, printing a line
# before each call and one with its outcome after it, so that the parent
# knows which call a dead child died in and can go on from the next.
routines_child_code <- function(from) {
  c(
    "suppressPackageStartupMessages(library(lowmem))",
    "`%||%` <- function(a, b) if (is.null(a)) b else a",
    sprintf("from <- %d", as.integer(from)),
    "ns <- asNamespace('lowmem')",
    "routines <- getDLLRegisteredRoutines('lowmem')$.Call",
    # Pointers of lowmem's own of other kinds: a sampler, and the pointer
    # to a pass of R's serializer, kept after its pass.
    "sampler <- if (file.exists('/proc/self/statm')) lowmem:::timeline_start(60, 10) else NULL",
    "kept <- NULL; again <- NULL",
    "orig <- ns$write_pass_quietly",
    "unlockBinding('write_pass_quietly', ns)",
    "assign('write_pass_quietly', function(call_ptr) {",
    "  kept <<- call_ptr",
    "  value <- orig(call_ptr)",
    # The same pointer, its pass done: refused.
    "  again <<- tryCatch(.Call(ns$C_lowmem_write_pass, call_ptr), error = function(e) e)",
    "  value",
    "}, envir = ns)",
    "same <- identical(lowmem::serialize(quote(f(x)), NULL), base::serialize(quote(f(x)), NULL))",
    "assign('write_pass_quietly', orig, envir = ns)",
    "cat('PASS\\t', same, '\\t', typeof(kept), '\\t', class(again)[[1]], '\\n', sep = '')",
    # Pointers made elsewhere: R's, a DLL's handle, a registered routine of
    # another package's.
    "foreign <- list(",
    "  new = new('externalptr'),",
    "  dll = getLoadedDLLs()[['utils']][['info']],",
    "  routine = getDLLRegisteredRoutines('utils')$.Call[[1]]$address,",
    "  lowmem_routine = ns$C_lowmem_write_pass$address",
    ")",
    "wrong <- c(list(nil = NULL, int = 1L, neg = -1L, na = NA, big = 1e300, chr = 'a',",
    "                chr0 = character(), chrna = NA_character_, list = list(1, 'a'),",
    "                fun = function(...) stop('called'), env = globalenv()),",
    "           foreign, list(sampler = sampler, kept_pass = kept))",
    # Arguments that work, for the routines that take some: each argument
    # in turn is made wrong on top of them (NULL for the others).
    "con <- rawConnection(raw(), 'wb')",
    "baseline <- list(",
    "  lowmem_serialize_raw = list(1:3, 3L, NULL, NULL),",
    "  lowmem_serialized_size = list(1:3, 3L, NULL, NULL),",
    "  lowmem_serialize_conn = list(1:3, con, FALSE, 3L, NULL, NULL, 1024, NULL),",
    "  lowmem_serialize_file = list(1:3, 'out.rds', 0L, 0L, 3L, NULL, NULL, 1024, NULL),",
    "  lowmem_serialize_path = list(1:3, 3L, NULL, NULL),",
    "  lowmem_native_probe = list(1:3, 3L, NULL),",
    "  lowmem_digest = list(1:3, 1L, 3L, NULL, 14L, FALSE, -1L, 0L, FALSE, NULL),",
    "  lowmem_bench_floor = list(c(1, 2), 24),",
    "  lowmem_timeline_start = list(60, 10),",
    "  lowmem_session_configure = list(TRUE, NULL)",
    ")",
    # The cases: every argument the same wrong value, then each argument
    # wrong in turn.
    "cases <- list()",
    "for (r in names(routines)) {",
    "  n <- routines[[r]]$numParameters",
    "  for (w in names(wrong)) {",
    "    cases[[length(cases) + 1]] <- list(r = r, w = w, at = 0L)",
    "    if (n > 1) for (i in seq_len(n)) cases[[length(cases) + 1]] <- list(r = r, w = w, at = i)",
    "  }",
    "  if (n == 0) cases[[length(cases) + 1]] <- list(r = r, w = 'none', at = 0L)",
    "}",
    "cat('CASES\\t', length(cases), '\\n', sep = '')",
    "outcome <- function(value) {",
    # An extendr routine's failure: an error record (R/rust.R).
    "  if (is.character(value) && length(value) == 2 && startsWith(value[[1]], 'lowmem_error'))",
    "    value <- lowmem:::rust_value(value)",
    "  'value'",
    "}",
    "for (k in seq_along(cases)) {",
    "  if (k < from) next",
    "  case <- cases[[k]]",
    "  n <- routines[[case$r]]$numParameters",
    "  args <- if (case$w == 'none') list() else if (case$at == 0L) rep(list(wrong[[case$w]]), n)",
    "          else { a <- baseline[[case$r]] %||% vector('list', n); a[case$at] <- list(wrong[[case$w]]); a }",
    "  cat('START\\t', k, '\\t', case$r, '\\t', case$w, '\\t', case$at, '\\n', sep = '')",
    "  result <- tryCatch(",
    "    suppressWarnings(outcome(do.call(.Call, c(list(routines[[case$r]]), args)))),",
    "    lowmem_error = function(e) paste0('lowmem_error\\t', class(e)[[1]]),",
    "    error = function(e) paste0('other\\t', gsub('[\\t\\n]', ' ', conditionMessage(e))),",
    "    interrupt = function(e) 'interrupt'",
    "  )",
    "  invisible(lowmem:::test_interrupt_at(0L))",
    "  cat('END\\t', k, '\\t', case$r, '\\t', case$w, '\\t', case$at, '\\t', result, '\\n', sep = '')",
    "}",
    "if (!is.null(sampler)) invisible(lowmem:::timeline_stop(sampler))",
    "cat('FINISHED\\n')"
  )
}

routines_field <- function(lines, tag) {
  hits <- lines[startsWith(lines, paste0(tag, "\t"))]
  strsplit(hits, "\t", fixed = TRUE)
}

test_that("every registered routine survives wrong arguments with a classed error or a value", {
  dir <- tempfile("lowmem-routines-")
  dir.create(dir)
  old <- setwd(dir) # a routine that takes "a" as a path writes there
  on.exit({
    setwd(old)
    unlink(dir, recursive = TRUE)
  })
  table <- getDLLRegisteredRoutines("lowmem")$.Call
  expect_gte(length(table), 20)
  expect_true("lowmem_write_pass" %in% names(table))

  ends <- list()
  crashes <- character()
  from <- 1L
  total <- NA_integer_
  repeat {
    child <- hardening_run_child(routines_child_code(from), timeout = 300)
    lines <- strsplit(child$output, "\n", fixed = TRUE)[[1]]
    if (is.na(total)) {
      pass <- routines_field(lines, "PASS")
      expect_identical(pass, list(c("PASS", "TRUE", "externalptr", "lowmem_error_argument")),
                       label = "a pass's pointer used again")
      counted <- routines_field(lines, "CASES")
      if (length(counted) == 0L) {
        fail(paste("the child died before its calls:", paste(utils::tail(lines, 5), collapse = " | ")))
        return()
      }
      total <- as.integer(counted[[1]][[2]])
    }
    ends <- c(ends, routines_field(lines, "END"))
    if (child$status == 0L && "FINISHED" %in% lines) break
    # The child died: in the call it started last.
    started <- routines_field(lines, "START")
    last <- if (length(started)) started[[length(started)]] else c("START", from, "?", "?", "?")
    crashes <- c(crashes, sprintf("%s(%s at argument %s; 0 = all) killed the child (exit status %d): %s",
                                  last[[3]], last[[4]], last[[5]], child$status,
                                  paste(utils::tail(lines, 2), collapse = " | ")))
    last <- as.integer(last[[2]])
    if (length(crashes) >= 5 || last >= total) break
    from <- last + 1L
  }
  expect_identical(crashes, character(), label = "calls that killed the child")
  outcomes <- do.call(rbind, lapply(ends, function(f) f[2:7]))
  colnames(outcomes) <- c("case", "routine", "value", "at", "outcome", "detail")
  expect_identical(nrow(outcomes), total)
  expect_setequal(unique(outcomes[, "routine"]), names(table))
  # Also fine: R's own serializer refusing a version (base's error for the
  # same call), and the error of a function given as refhook or progress
  # reporter, which R code calls.
  fine <- outcomes[, "outcome"] %in% c("value", "lowmem_error") |
    (outcomes[, "outcome"] == "other" & grepl("^version -?[0-9]+ not supported$", outcomes[, "detail"])) |
    (outcomes[, "outcome"] == "other" & outcomes[, "value"] == "fun" & outcomes[, "detail"] == "called")
  bad <- outcomes[!fine, , drop = FALSE]
  expect_identical(nrow(bad), 0L,
                   label = paste(apply(utils::head(bad, 20), 1, paste, collapse = " "), collapse = "\n"))
  # The routines that take pointers refuse every pointer not theirs.
  refused <- function(routine, values) {
    rows <- outcomes[outcomes[, "routine"] == routine & outcomes[, "value"] %in% values, , drop = FALSE]
    expect_gt(nrow(rows), 0)
    expect_true(all(rows[, "outcome"] == "lowmem_error" & rows[, "detail"] == "lowmem_error_argument"),
                label = paste(routine, "refuses", paste(values, collapse = ", ")))
  }
  pointers <- c("new", "dll", "routine", "lowmem_routine", "kept_pass", "sampler")
  refused("lowmem_write_pass", c("nil", "int", "chr", "list", pointers))
  refused("lowmem_timeline_stop", c("nil", "int", "chr", "list", setdiff(pointers, "sampler")))
})

test_that("a pass handed to R runs once, and its pointer is dead after it", {
  ns <- asNamespace("lowmem")
  kept <- NULL
  again <- NULL
  orig <- ns$write_pass_quietly
  unlockBinding("write_pass_quietly", ns)
  on.exit({
    assign("write_pass_quietly", orig, envir = ns)
    lockBinding("write_pass_quietly", ns)
  })
  assign("write_pass_quietly", function(call_ptr) {
    kept <<- call_ptr
    value <- orig(call_ptr)
    again <<- tryCatch(.Call(ns$C_lowmem_write_pass, call_ptr), error = function(e) e)
    value
  }, envir = ns)
  x <- list(quote(f(x)), 1:3)
  expect_identical(lowmem::serialize(x, NULL), base::serialize(x, NULL))
  expect_s3_class(again, "lowmem_error_argument")
  expect_match(conditionMessage(again), "call_ptr", fixed = TRUE)
  expect_error(.Call(ns$C_lowmem_write_pass, kept), class = "lowmem_error_argument")
  expect_error(lowmem:::write_pass_quietly(NULL), class = "lowmem_error_argument")
  expect_error(lowmem:::write_pass_quietly(new("externalptr")), class = "lowmem_error_argument")
})

test_that("argument checks of the routines raise classed errors with their messages", {
  expect_error(.Call(lowmem:::C_lowmem_serialize_raw, 1, 3L, NULL, "a"), "`refhook` must be a function",
               class = "lowmem_error_argument")
  expect_error(.Call(lowmem:::C_lowmem_serialize_raw, 1, 3L, list(), NULL), "bad version value",
               class = "lowmem_error_argument")
  expect_error(.Call(lowmem:::C_lowmem_serialize_conn, 1, NULL, FALSE, 3L, NULL, NULL, 1024, NULL),
               "`con` must be a connection", class = "lowmem_error_argument")
  con <- rawConnection(raw(), "wb")
  on.exit(close(con))
  expect_error(.Call(lowmem:::C_lowmem_serialize_conn, 1, con, FALSE, 3L, NULL, NULL, 1024, 1L),
               "`progress` must be a function", class = "lowmem_error_argument")
  expect_error(.Call(lowmem:::C_lowmem_session_configure, TRUE, 1L), "`reason` must be NULL or a string",
               class = "lowmem_error_argument")
  expect_error(.Call(lowmem:::C_lowmem_session_configure, TRUE, character()),
               class = "lowmem_error_argument")
  expect_error(lowmem:::bench_floor(1L, 8), "`x` must be a double vector", class = "lowmem_error_argument")
  expect_error(lowmem:::bench_floor(1, 4), "`size`", class = "lowmem_error_argument")
  expect_error(lowmem:::result_test_collect("never"), "`when`", class = "lowmem_error_argument")
  expect_error(lowmem:::serialize_path(1, version = 2, refhook = NULL), NA)
  expect_error(.Call(lowmem:::C_lowmem_serialize_path, 1, 3L, NULL, 1L), "`refhook`",
               class = "lowmem_error_argument")
})
