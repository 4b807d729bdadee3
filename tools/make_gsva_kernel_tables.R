# Kernel values of R GSVA 1.46 (C code: src/kernel_estimation.c), shipped with tme so that
# tme.scoring's GSVA step 1 adds the very same doubles as R does (see
# src/tme/scoring/_gsva_kernel.py and src/tme/data/README.md).
#
#   Rscript tools/make_gsva_kernel_tables.R      # from the repository root
#
# gsva_r_pnorm_table.f64  10,001 doubles: GSVA's initCdfs() table,
#                         pnorm(10 * i / 10000) for i = 0..10000 (R's pnorm5, as GSVA calls it).
# gsva_r_ppois_grid.f64   101 x 101 doubles, row-major [q, c]: ppois(q, c + 0.5) for counts
#                         q, c = 0..100 (GSVA's Poisson kernel, bandwidth 0.5).
# Both raw little-endian IEEE-754 float64, no header.
out <- file.path("src", "tme", "data")
i <- 0:10000
writeBin(pnorm(10 * i / 10000), file.path(out, "gsva_r_pnorm_table.f64"), endian = "little")
k <- 0:100
grid <- outer(k, k, function(q, c) ppois(q, c + 0.5))  # grid[q + 1, c + 1]
writeBin(as.vector(t(grid)), file.path(out, "gsva_r_ppois_grid.f64"), endian = "little")
cat(paste("R", getRversion()), "\n")
