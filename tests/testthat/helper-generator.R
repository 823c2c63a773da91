# A generator of random nested R objects, for comparing lowmem with base on
# shapes nobody thought of.
#
# lm_random_case(seed) builds one object (and maybe a refhook) from `seed`
# alone, so a failure is reproduced by the seed it reports. It covers every
# type of the fixed set (helper-objects.R) except the ones that would make
# the comparison itself misleading (package environments, which warn, and
# closures whose environment is the generator's frame). Environments,
# external pointers and sub-objects are shared: the same object may appear
# several times, and environments may contain themselves.

# Evaluates `code` with the RNG seeded by `seed`, restoring the caller's RNG
# state (and kind) afterwards.
lm_with_seed <- function(seed, code) {
  genv <- globalenv()
  old_kind <- RNGkind()
  had_seed <- exists(".Random.seed", envir = genv, inherits = FALSE)
  if (had_seed) old_seed <- get(".Random.seed", envir = genv, inherits = FALSE)
  on.exit({
    do.call(RNGkind, as.list(old_kind))
    if (had_seed) {
      assign(".Random.seed", old_seed, envir = genv)
    } else if (exists(".Random.seed", envir = genv, inherits = FALSE)) {
      rm(".Random.seed", envir = genv)
    }
  })
  set.seed(seed, kind = "Mersenne-Twister", normal.kind = "Inversion", sample.kind = "Rejection")
  code
}

lm_coin <- function(p) stats::runif(1) < p
lm_pick <- function(x) x[[sample.int(length(x), 1L)]]

lm_gen_strings <- local({
  pool <- NULL
  function() {
    if (is.null(pool)) {
      latin1 <- iconv(c("caf\u00e9", "\u00e0 la", "\u00ff"), "UTF-8", "latin1")
      bytes <- c("\xff\x01", "\x80\x81")
      Encoding(bytes) <- "bytes"
      pool <<- list(
        ascii = c("a", "b", "x", "foo", "bar baz", "NA", "TRUE", "1e5", "with\"quote",
                  "back\\slash", "tab\there", "new\nline", "\u007f"),
        utf8 = c("caf\u00e9", "\u4e2d\u6587", "\U0001F600", "\u00fc\u00df\u00e7", "\u0394x"),
        latin1 = latin1,
        bytes = bytes,
        native = c("caf\xc3\xa9", "\xe2\x82\xac"), # unflagged UTF-8 bytes
        special = c("", NA)
      )
    }
    pool
  }
})

lm_random_strings <- function(n) {
  pool <- lm_gen_strings()
  kinds <- sample(names(pool), n, replace = TRUE, prob = c(5, 2, 2, 1, 1, 1))
  out <- character(n)
  for (k in unique(kinds)) {
    idx <- which(kinds == k)
    out[idx] <- pool[[k]][sample.int(length(pool[[k]]), length(idx), replace = TRUE)]
  }
  long <- which(stats::runif(n) < 0.1 & !is.na(out) & Encoding(out) != "bytes")
  if (length(long)) {
    out[long] <- paste0(out[long], strrep("z", sample(c(1L, 50L, 300L), length(long), replace = TRUE)))
  }
  out
}

# Strings usable as names of bindings and symbols: non-empty, not NA, not bytes.
lm_random_names <- function(n) {
  pool <- lm_gen_strings()
  # (Non-ASCII names only in a UTF-8 locale: symbols are native strings.)
  choices <- c(pool$ascii, if (l10n_info()[["UTF-8"]]) pool$utf8, "x", "y", "z", "..1", "a.b", "if")
  choices <- choices[nzchar(choices)]
  make.unique(sample(choices, n, replace = TRUE))
}

lm_random_length <- function() {
  sample(c(0L, 1L, 2L, 3L, 5L, 10L, 20L, 100L, 10000L), 1L,
         prob = c(8, 12, 8, 6, 5, 4, 3, 2, 0.3))
}

lm_random_atomic <- function(type = lm_pick(c("logical", "integer", "double", "complex",
                                               "character", "raw"))) {
  n <- lm_random_length()
  switch(type,
    logical = sample(c(TRUE, FALSE, NA), n, replace = TRUE),
    integer = sample(c(0L, 1L, -1L, 42L, .Machine$integer.max, -.Machine$integer.max,
                       NA_integer_, sample.int(1e6, 3L)), n, replace = TRUE),
    double = {
      x <- stats::rnorm(n) * 10^sample(-300:300, n, replace = TRUE)
      special <- lm_coin(0.5)
      if (n && special) {
        k <- sample.int(n, max(1L, n %/% 3L))
        x[k] <- sample(c(NA, NaN, Inf, -Inf, -0, 0, 4.9e-324, 1.5), length(k), replace = TRUE)
      }
      x
    },
    complex = complex(real = lm_random_atomic_fixed("double", n),
                      imaginary = lm_random_atomic_fixed("double", n)),
    character = lm_random_strings(n),
    raw = as.raw(sample.int(256L, n, replace = TRUE) - 1L)
  )
}

lm_random_atomic_fixed <- function(type, n) {
  x <- lm_random_atomic(type)
  rep_len(if (length(x)) x else NA_real_, n)
}

lm_random_altrep <- function() {
  switch(sample.int(7L, 1L),
    { a <- sample(-5:5, 1L); a:(a + sample(0:2000, 1L)) },
    as.numeric(seq_len(sample(1:500, 1L))),
    as.character(seq_len(sample(1:200, 1L))),
    { x <- as.character(seq_len(sample(2:100, 1L))); invisible(x[[2]]); x },
    as.character(stats::runif(sample(1:20, 1L))),
    sort(stats::runif(sample(1:50, 1L))),
    { x <- sort(sample.int(100L, 10L)); names(x) <- letters[1:10]; x }
  )
}

lm_random_leaf <- function(ctx) {
  kind <- sample(c("atomic", "null", "altrep", "symbol", "primitive", "extptr",
                   "special_env", "structured"), 1L,
                 prob = c(20, 2, 3, 2, 1, 1, 1, 3))
  switch(kind,
    atomic = lm_random_atomic(),
    null = NULL,
    altrep = lm_random_altrep(),
    symbol = as.name(lm_random_names(1L)),
    primitive = lm_pick(list(sum, `if`, `[`, length, `function`, `+`, c)),
    extptr = lm_pick(ctx$extptrs),
    special_env = lm_pick(list(globalenv(), emptyenv(), baseenv(),
                               asNamespace("stats"), asNamespace("base"))),
    structured = lm_random_structured()
  )
}

lm_random_structured <- function() {
  n <- sample(0:6, 1L)
  switch(sample.int(9L, 1L),
    factor(sample(c("a", "b", NA), n, replace = TRUE), levels = c("b", "a")),
    as.Date("2000-01-01") + sample(-1e4:1e4, n, replace = TRUE),
    as.POSIXct(sample(c(0, 1e9, NA, -1.5), n, replace = TRUE), origin = "1970-01-01", tz = "UTC"),
    data.frame(x = seq_len(n), y = lm_random_symbol_strings(n), stringsAsFactors = lm_coin(0.5)),
    data.frame(x = seq_len(n), row.names = make.unique(rep("r", n))),
    matrix(stats::runif(2L * n), 2L),
    array(seq_len(2L * 3L * n), c(2L, 3L, n)),
    methods::new("LmPoint", x = stats::runif(n), y = lm_random_strings(1L)),
    methods::new("LmNumber", stats::runif(n), unit = lm_random_strings(1L))
  )
}

lm_random_env <- function(ctx, depth) {
  parent <- lm_pick(c(list(emptyenv(), globalenv(), baseenv(), asNamespace("stats")), ctx$envs))
  e <- new.env(hash = lm_coin(0.7), parent = parent)
  ctx$envs[[length(ctx$envs) + 1L]] <- e # before filling it: it may contain itself
  k <- sample(0:4, 1L)
  nms <- lm_random_names(k)
  for (nm in nms) {
    r <- stats::runif(1)
    if (r < 0.1) {
      makeActiveBinding(nm, eval(quote(function() 1), globalenv()), e)
    } else if (r < 0.2) {
      eval_env <- lm_pick(c(list(globalenv()), ctx$envs))
      do.call(delayedAssign, list(nm, call("f", as.name("x"), lm_random_atomic("integer")),
                                  eval_env, e))
    } else {
      assign(nm, lm_random_object(ctx, depth + 1L), envir = e)
    }
  }
  if (lm_coin(0.1) && k > 0) lockBinding(nms[[1]], e)
  if (lm_coin(0.1)) lockEnvironment(e, bindings = lm_coin(0.5))
  if (lm_coin(0.1)) attr(e, "class") <- "lm_env_class"
  e
}

lm_random_language <- function(ctx, depth) {
  fun <- if (lm_coin(0.8)) as.name(lm_random_names(1L)) else lm_random_object(ctx, depth + 1L)
  args <- lapply(seq_len(sample(0:4, 1L)), function(i) lm_random_object(ctx, depth + 1L))
  if (length(args) && lm_coin(0.4)) names(args) <- c(lm_random_names(1L), rep("", length(args) - 1L))
  if (length(args) && lm_coin(0.1)) args[[1]] <- quote(expr = )
  as.call(c(list(fun), args))
}

lm_random_closure <- function(ctx, depth) {
  nf <- sample(0:3, 1L)
  formals <- as.pairlist(stats::setNames(
    lapply(seq_len(nf), function(i) if (lm_coin(0.5)) quote(expr = ) else lm_random_atomic("integer")),
    lm_random_names(nf)
  ))
  body <- lm_random_language(ctx, depth)
  env <- lm_pick(c(list(globalenv(), baseenv(), emptyenv()), ctx$envs))
  f <- eval(call("function", formals, body), globalenv())
  environment(f) <- env
  # (The compiler walks the enclosures up to the global environment; it fails
  # on a chain that ends in the empty environment without passing it.)
  # The compiler also rejects some random bodies (e.g. `if` with one
  # argument); those stay uncompiled.
  if (lm_coin(0.05) && lm_reaches_global(env)) {
    f <- tryCatch(compiler::cmpfun(f), error = function(e) f)
  }
  f
}

lm_random_dots_env <- function(ctx, depth) {
  dots_fun <- eval(quote(function(...) environment()), globalenv())
  args <- lapply(seq_len(sample(0:3, 1L)), function(i) lm_random_leaf(ctx))
  if (length(args) && lm_coin(0.5)) names(args) <- lm_random_names(length(args))
  envir <- lm_pick(c(list(globalenv()), ctx$envs))
  do.call(dots_fun, args, envir = envir)
}

lm_random_container <- function(ctx, depth) {
  kind <- sample(c("list", "pairlist", "language", "expression", "env", "closure", "dots"),
                 1L, prob = c(10, 2, 3, 1, 3, 2, 1))
  children <- function() {
    lapply(seq_len(sample(c(0L, 1L, 2L, 3L, 5L), 1L)), function(i) lm_random_object(ctx, depth + 1L))
  }
  switch(kind,
    list = {
      x <- children()
      if (length(x) && lm_coin(0.05)) x[length(x) + 1L] <- list(quote(expr = ))
      x
    },
    pairlist = {
      x <- children()
      if (length(x)) names(x) <- lm_random_names(length(x))
      as.pairlist(x)
    },
    language = lm_random_language(ctx, depth),
    expression = as.expression(children()),
    env = lm_random_env(ctx, depth),
    closure = lm_random_closure(ctx, depth),
    dots = lm_random_dots_env(ctx, depth)
  )
}

lm_reaches_global <- function(env) {
  while (!identical(env, emptyenv())) {
    if (identical(env, globalenv())) return(TRUE)
    env <- parent.env(env)
  }
  FALSE
}

# Strings that R can turn into symbols (names of pairlists and calls, classes).
lm_random_symbol_strings <- function(n) {
  x <- lm_random_strings(n)
  bad <- is.na(x) | Encoding(x) == "bytes" |
    (!l10n_info()[["UTF-8"]] & !grepl("^[ -~]*$", x, useBytes = TRUE))
  x[bad] <- "lm_sym"
  x
}

# Adds random attributes where R allows them without changing shared state.
lm_random_attributes <- function(x, ctx, depth) {
  t <- typeof(x)
  if (t %in% c("NULL", "symbol", "builtin", "special", "environment", "externalptr", "S4") ||
      is.object(x)) {
    return(x)
  }
  n <- length(x)
  if (n && t != "closure" && lm_coin(0.4)) {
    names(x) <- if (t %in% c("pairlist", "language")) lm_random_symbol_strings(n) else lm_random_strings(n)
  }
  if (n >= 2L && t %in% c("logical", "integer", "double", "complex", "character", "raw", "list") &&
      n %% 2L == 0L && lm_coin(0.3)) {
    dim(x) <- c(2L, n %/% 2L)
  }
  if (lm_coin(0.2)) attr(x, lm_random_names(1L)) <- lm_random_object(ctx, depth + 1L)
  if (lm_coin(0.15)) {
    s <- lm_random_symbol_strings(1L)
    class(x) <- lm_pick(list("lm_a", c("lm_b", "lm_a"), if (nzchar(s)) s else "lm_c"))
  }
  x
}

lm_random_object <- function(ctx, depth = 0L) {
  if (length(ctx$shared) && lm_coin(0.08)) return(lm_pick(ctx$shared))
  x <- if (depth >= ctx$max_depth || lm_coin(0.45)) {
    lm_random_leaf(ctx)
  } else {
    lm_random_container(ctx, depth)
  }
  if (lm_coin(0.3)) x <- lm_random_attributes(x, ctx, depth)
  if (lm_coin(0.15)) ctx$shared[length(ctx$shared) + 1L] <- list(x)
  x
}

# One random case: list(seed, object, variant, refhook).
lm_random_case <- function(seed) {
  lm_s4_classes()
  lm_with_seed(seed, {
    ctx <- new.env(parent = emptyenv())
    ctx$envs <- list()
    ctx$shared <- list()
    ctx$extptrs <- list(lm_extptr(), methods::new("externalptr"))
    ctx$max_depth <- sample(1:6, 1L)
    object <- lm_random_object(ctx)
    variant <- lm_pick(lm_variants())
    refhook <- NULL
    if (lm_coin(0.3)) {
      named <- ctx$envs[as.logical(seq_along(ctx$envs) %% 2L)]
      name_pointers <- lm_coin(0.5)
      refhook <- function(x) {
        for (i in seq_along(named)) if (identical(x, named[[i]])) return(paste0("env-", i))
        if (name_pointers && typeof(x) == "externalptr") return("pointer")
        NULL
      }
    }
    list(seed = seed, object = object, variant = variant, refhook = refhook)
  })
}

# A printable description of a case, for failure messages.
lm_describe_case <- function(case, max_chars = 3000L) {
  shown <- function(f) {
    out <- tryCatch(paste(utils::capture.output(f()), collapse = "\n"),
                    error = function(e) paste("<error:", conditionMessage(e), ">"))
    if (nchar(out) > max_chars) paste0(substr(out, 1L, max_chars), "\n... (truncated)") else out
  }
  paste0(
    "seed: ", case$seed, " (reproduce: lm_random_case(", case$seed, "))\n",
    "variant: ", lm_variant_label(case$variant), "\n",
    "refhook: ", if (is.null(case$refhook)) "none" else "names some environments", "\n",
    "str():\n", shown(function() utils::str(case$object, max.level = 4L, list.len = 8L)), "\n",
    "dput():\n", shown(function() dput(case$object, control = c("keepNA", "keepInteger", "showAttributes")))
  )
}
