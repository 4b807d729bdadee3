# R GSVA anchor for benchmarks/bench_scoring.py (one scoring call per process).
#
#   Rscript bench_scoring_anchor.R <method> <kcdf> <matrix.f64> <genes.txt> <n_samples> <sets.gmt> <out.f64>
#
# <matrix.f64>: raw little-endian float64, samples x genes in C order (= genes x samples in R's
# column order). Warm-up: the same call on the first 10 samples. Prints, as JSON on the last
# line, the timed call's elapsed seconds ("call"), for method gsva those of its kernel step alone
# ("kernel": GSVA:::compute.gene.density on the same genes, after the call), and the seconds of
# this benchmark-only work, warm-up and kernel timing ("extra": the caller takes them off the
# process's wall time); writes the scores (sets x samples, GMT set order, column-major).
args <- commandArgs(TRUE)
suppressPackageStartupMessages(library(GSVA))
genes <- readLines(args[4])
n_samples <- as.integer(args[5])
x <- matrix(readBin(args[3], "double", n = length(genes) * n_samples, endian = "little"),
            nrow = length(genes), dimnames = list(genes, paste0("S", seq_len(n_samples))))
lines <- strsplit(readLines(args[6]), "\t")
sets <- setNames(lapply(lines, function(f) setdiff(f[-(1:2)], "")), vapply(lines, `[`, "", 1))
score <- function(m) {
  invisible(capture.output(es <- gsva(m, sets, method = args[1], kcdf = args[2], min.sz = 1,
                                      max.sz = Inf, ssgsea.norm = FALSE, parallel.sz = 1,
                                      verbose = FALSE)))
  es
}
warm_up <- system.time(score(x[, 1:10]))[["elapsed"]]
elapsed <- system.time(es <- score(x))[["elapsed"]]
writeBin(as.vector(es[names(sets), ]), args[7], endian = "little")
kernel <- ""
extra <- warm_up
if (args[1] == "gsva") {
  seconds <- system.time({
    kept <- x[matrixStats::rowSds(x) >= 1e-10, , drop = FALSE]  # gsva() drops constant genes first
    GSVA:::compute.gene.density(kept, seq_len(ncol(kept)), args[2] == "Poisson", TRUE)
  })[["elapsed"]]
  kernel <- sprintf(', "kernel": %.6f', seconds)
  extra <- extra + seconds
}
cat(sprintf('{"call": %.6f, "extra": %.6f%s}\n', elapsed, extra, kernel))
