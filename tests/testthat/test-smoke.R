test_that("serialize matches base for a data frame", {
  df <- data.frame(x = c(1.5, NA), y = c("a", NA))
  expect_identical(lowmem::serialize(df, NULL), base::serialize(df, NULL))
})
