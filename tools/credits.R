# Writes inst/AUTHORS and LICENSE.note from the vendored crates' Cargo.toml
# files: name, version, authors, license and repository of each.
#   Rscript tools/credits.R <vendor dir>
args <- commandArgs(trailingOnly = TRUE)
vendor <- args[[1]]

field <- function(lines, key) {
  # Top-level `key = "value"` or `key = ["a", "b"]` in the [package] table.
  pkg <- lines[seq_len(min(c(grep("^\\[(?!package\\])", lines, perl = TRUE), length(lines) + 1)) - 1)]
  hit <- grep(paste0("^", key, "\\s*="), pkg, value = TRUE)
  if (!length(hit)) return(NA_character_)
  value <- sub("^[^=]*=\\s*", "", hit[[1]])
  if (startsWith(value, "[")) {
    # A multi-line array: join until the closing bracket.
    start <- match(hit[[1]], pkg)
    end <- start
    while (!grepl("\\]", pkg[[end]])) end <- end + 1
    value <- paste(sub("^[^=]*=\\s*", "", pkg[start:end]), collapse = " ")
  }
  items <- regmatches(value, gregexpr('"([^"\\\\]|\\\\.)*"', value))[[1]]
  paste(gsub('^"|"$', "", items), collapse = ", ")
}

crates <- sort(list.dirs(vendor, recursive = FALSE, full.names = TRUE))
info <- do.call(rbind, lapply(crates, function(dir) {
  lines <- readLines(file.path(dir, "Cargo.toml"), warn = FALSE)
  start <- grep("^\\[package\\]", lines)
  lines <- lines[(start + 1):length(lines)]
  data.frame(
    name = field(lines, "name"), version = field(lines, "version"),
    authors = field(lines, "authors"), license = field(lines, "license"),
    repository = field(lines, "repository")
  )
}))

authors <- c(
  "The lowmem package includes the following Rust crates, vendored in",
  "src/rust/vendor.tar.xz (name version: authors).",
  "",
  sprintf("%s %s: %s", info$name, info$version, ifelse(is.na(info$authors) | info$authors == "",
                                                      "the crate's authors", info$authors))
)
dir.create("inst", showWarnings = FALSE)
writeLines(authors, "inst/AUTHORS")

note <- c(
  "The lowmem package itself is MIT-licensed (see LICENSE). Its Rust core",
  "links the following crates, vendored in src/rust/vendor.tar.xz, under their",
  "own licenses (name version: license; repository):",
  "",
  sprintf("%s %s: %s; %s", info$name, info$version, info$license,
          ifelse(is.na(info$repository), "no repository given", info$repository))
)
writeLines(note, "LICENSE.note")
cat(sprintf("credits: %d crates in inst/AUTHORS and LICENSE.note\n", nrow(info)))
