library(testthat)
library(lowmem)

test_check("lowmem")
