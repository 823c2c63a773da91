# The entry points written with extendr (src/rust/src/entry.rs) return a
# failure as an error record, c(class, message), which none of them returns
# otherwise: raised here, after Rust has returned, as a classed condition.
rust_value <- function(x) {
  if (is.character(x)) abort(x[[2]], class = x[[1]])
  x
}
