# Benchmark cases: the objects and the ways of writing them.
# Sourced by case.R (one case per fresh Rscript) and run.R (the driver).

objects <- list(
  # The seed: 50e6 doubles, 400 MB serialized.
  seed_df = function() data.frame(runif(50e6, 1, 10)),
  # Four times the seed, for streaming memory: 1.6 GB serialized.
  big_df = function() data.frame(runif(200e6, 1, 10)),
  # Strings: 1e6 rows x 3 character columns.
  strings_df = function() {
    set.seed(1)
    data.frame(
      a = sprintf("id-%08d", sample.int(1e6)),
      b = sample(c(state.name, month.name), 1e6, TRUE),
      c = paste0("x", sample.int(1e4, 1e6, TRUE)),
      stringsAsFactors = FALSE
    )
  },
  # A mixed data frame: 1e7 rows of double, integer, factor, logical, Date, character.
  mixed_df = function() {
    set.seed(1)
    n <- 1e7
    data.frame(
      dbl = runif(n), int = sample.int(1e6, n, TRUE),
      fct = factor(sample(letters, n, TRUE)), lgl = sample(c(TRUE, FALSE, NA), n, TRUE),
      date = as.Date("2020-01-01") + sample.int(1000, n, TRUE),
      chr = sprintf("v%04d", sample.int(1e3, n, TRUE)),
      stringsAsFactors = FALSE
    )
  },
  # Many small objects: a list of 1e5 small named lists.
  small_lists = function() {
    set.seed(1)
    lapply(seq_len(1e5), function(i) list(id = i, name = paste0("n", i), x = runif(3)))
  }
)

# Each method writes `x`; `target` is a scratch file path. Returns the bytes written.
methods <- list(
  base_raw = function(x, target) length(base::serialize(x, NULL)),
  lowmem_raw = function(x, target) length(lowmem::serialize(x, NULL)),
  base_size = function(x, target) length(base::serialize(x, NULL)),
  lowmem_size = function(x, target) lowmem::serialized_size(x),
  saveRDS_none = function(x, target) { saveRDS(x, target, compress = FALSE); file.size(target) },
  base_con = function(x, target) {
    con <- file(target, "wb"); on.exit(close(con)); base::serialize(x, con); NA
  },
  lowmem_con = function(x, target) {
    con <- file(target, "wb"); on.exit(close(con)); lowmem::serialize(x, con); NA
  },
  lowmem_file_none = function(x, target) { lowmem::serialize_to_file(x, target); file.size(target) },
  saveRDS_gzip = function(x, target) { saveRDS(x, target); file.size(target) },
  lowmem_file_gzip = function(x, target) {
    lowmem::serialize_to_file(x, target, compress = "gzip"); file.size(target)
  },
  # The floor for raw output of a one-column data frame of doubles: allocate
  # a raw vector of (nearly) the output's size and fill it with the
  # byte-swapped doubles, which is what XDR encoding must at least do.
  floor_raw = function(x, target) length(writeBin(x[[1]], raw(), endian = "big"))
)

# What run.R measures: object -> methods. Each case runs `reps` times, each
# time in a fresh process; the table reports the median.
plan <- list(
  seed_df = c("base_raw", "lowmem_raw", "base_size", "lowmem_size",
              "saveRDS_none", "lowmem_file_none", "base_con", "lowmem_con",
              "saveRDS_gzip", "lowmem_file_gzip"),
  big_df = c("saveRDS_none", "lowmem_file_none", "lowmem_con", "lowmem_file_gzip"),
  strings_df = c("base_raw", "lowmem_raw", "saveRDS_none", "lowmem_file_none",
                 "base_con", "lowmem_con", "saveRDS_gzip", "lowmem_file_gzip"),
  mixed_df = c("base_raw", "lowmem_raw"),
  small_lists = c("base_raw", "lowmem_raw")
)
