"""Does planning from the bundled example predict the power of the planted IL-1 effect?

The example (``config/example``, ``tme simulate --seed 34``) plants a −1.0 log2 change of the IL-1
inflammation program in the anakinra arm (``truth.tsv``); the endpoint is the IL-1-induced signature
scored as the workflow scores it (``TME_IL1_INDUCED|singscore``, log2 CPM + 1 of the nf-core counts).

* **Truth**: a population of 2,000 patients from the same simulator (seed 3434): the planted effect
  on the singscore scale is its ANCOVA estimate, and the true power at ``n`` randomised per arm is
  the share of trials, drawn from that population (without replacement, patients without a post
  sample included, as in a real trial), whose ANCOVA rejects at α = 0.05.
* **Planning**: nuisance parameters estimated from the example's 44 patients only
  (:func:`tme.planning.estimate_nuisance`), then the simulated power
  (:func:`tme.planning.simulated_power`, the estimated missing share) and the exact analytic power
  at the expected pairs, at the planted effect; ``analytic CI``: the analytic power at the limits of
  the residual SD's 95 % CI (what the example's size leaves uncertain).
* **Method check**: the same simulation fed the population's nuisance parameters instead of the
  example's, separating the method's error from the 44-patient estimation error.

Usage::

    python benchmarks/planning_example.py --trials 2000

The last line is ``RESULT planted_effect=… n<n>=<empirical>/<planned> … within_mc_error=k/K
within_ci=k/K true_parameters_within_mc_error=k/K`` (``within_mc_error``: |planned − empirical| ≤
2 combined Monte Carlo SEs).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from tme.config import Design, validate_config
from tme.expression import read_expression
from tme.inputs import read_sheet
from tme.planning import TrialModel, Trials, ancova_many, ancova_power, estimate_nuisance, simulated_power
from tme.signature_scores import score_signatures
from tme.signatures import load_library
from tme.simulate import simulate_cohort

REPO = Path(__file__).resolve().parents[1]
ENDPOINT = "TME_IL1_INDUCED|singscore"
ALPHA = 0.05
N_GRID = (3, 4, 5, 6, 8)


def _scores(adata: ad.AnnData) -> pd.DataFrame:
    signature = {"TME_IL1_INDUCED": load_library()["TME_IL1_INDUCED"]}
    scores, _ = score_signatures(adata, signature, [("TME_IL1_INDUCED", "singscore")])
    return scores.assign(feature=ENDPOINT, value=scores["score"])[
        ["patient_id", "arm", "timepoint", "feature", "value"]
    ]


def example_values() -> pd.DataFrame:
    """The example scored through the workflow's own readers (sample sheet, nf-core counts)."""
    example = REPO / "config" / "example"
    config = validate_config(
        {
            "samples": str(example / "samples.tsv"),
            "expression": {"path": str(example / "salmon.merged.gene_counts.tsv.gz"), "format": "nfcore_salmon_counts"},
        }
    )
    result = read_expression(config["expression"], read_sheet(config))
    return _scores(result.adata[~result.adata.obs_names.isin(result.low_library.index)].copy())


def cohort_values(cohort: dict) -> pd.DataFrame:
    """A simulated cohort scored in memory, as :func:`tme.expression.read_expression` would (log2 CPM + 1)."""
    samples = cohort["samples"].query("exclude_reason == ''").set_index("sample_id")
    counts = cohort["counts"].set_index("gene_name").drop(columns="gene_id")
    library = counts.sum(axis=0)
    counts = counts.loc[:, library >= 100_000]  # the workflow's min_library_size
    x = np.log2(counts / counts.sum(axis=0) * 1e6 + 1)
    obs = samples.loc[x.columns, ["patient_id", "arm", "timepoint"]]
    return _scores(ad.AnnData(X=x.T.to_numpy(), obs=obs, var=pd.DataFrame(index=x.index)))


def _wide(values: pd.DataFrame) -> pd.DataFrame:
    wide = values.pivot(index="patient_id", columns="timepoint", values="value").reindex(columns=["pre", "post"])
    return wide.join(values.drop_duplicates("patient_id").set_index("patient_id")["arm"])


def empirical_power(population: pd.DataFrame, n: int, n_trials: int, rng: np.random.Generator) -> float:
    """Share of ``n``-per-arm trials drawn from the population whose ANCOVA rejects at ALPHA."""
    wide = _wide(population)
    arms = [wide[wide["arm"] == a] for a in ("usual_care", "anakinra")]
    picks = [np.argsort(rng.random((n_trials, len(a))), axis=1)[:, :n] for a in arms]
    pre = np.hstack([a["pre"].to_numpy()[p] for a, p in zip(arms, picks)])
    post = np.hstack([a["post"].to_numpy()[p] for a, p in zip(arms, picks)])
    fits = ancova_many(Trials(pre, post, np.repeat([False, True], n)))
    return float(np.mean(np.nan_to_num(fits.p, nan=1.0) <= ALPHA))


def planted_effect(population: pd.DataFrame) -> tuple[float, float]:
    """ANCOVA estimate (and SE) of the arm effect in the whole population."""
    wide = _wide(population)
    fits = ancova_many(
        Trials(wide["pre"].to_numpy()[None], wide["post"].to_numpy()[None], (wide["arm"] == "anakinra").to_numpy())
    )
    return float(fits.estimate[0]), float(fits.se[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--population", type=int, default=2000, help="patients of the truth cohort (multiple of 4)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    example = example_values()
    population = cohort_values(simulate_cohort(seed=3434, n_patients=args.population))
    effect, effect_se = planted_effect(population)
    row = estimate_nuisance(example, Design(), [ENDPOINT], n_bootstrap=2000, seed=1).iloc[0]
    model = TrialModel.from_row(row)
    truth_row = estimate_nuisance(population, Design(), [ENDPOINT], n_bootstrap=200, seed=1).iloc[0]
    print(
        f"planted effect on the singscore scale: {effect:.4f} (SE {effect_se:.4f}, {args.population} patients); "
        f"residual SD: example {row['residual_sd']:.4f} (95 % CI {row['residual_sd_ci_low']:.4f}–"
        f"{row['residual_sd_ci_high']:.4f}), population {truth_row['residual_sd']:.4f}; rho {row['rho']:.3f} "
        f"(population {truth_row['rho']:.3f}); missing posts {row['missing_post']:.3f}"
    )
    rows = []
    for n in N_GRID:
        truth = empirical_power(population, n, args.trials, np.random.default_rng(n))
        planned, se = simulated_power(
            {ENDPOINT: model},
            {ENDPOINT: effect},
            ENDPOINT,
            n,
            n_trials=args.trials,
            alpha=ALPHA,
            multiplicity="none",
            seed=1,
        )
        # the same machinery fed the population's parameters: is the method right when the inputs are?
        oracle, oracle_se = simulated_power(
            {ENDPOINT: TrialModel.from_row(truth_row)},
            {ENDPOINT: effect},
            ENDPOINT,
            n,
            n_trials=args.trials,
            alpha=ALPHA,
            multiplicity="none",
            seed=2,
        )
        pairs = n * (1 - row["missing_post"])
        band = [ancova_power(pairs, effect, row[f"residual_sd_ci_{s}"], ALPHA) for s in ("high", "low")]
        combined = np.sqrt(se**2 + truth * (1 - truth) / args.trials)
        rows.append(
            {
                "n_per_arm": n,
                "power_empirical": truth,
                "power_planned_simulated": planned,
                "mc_se_combined": combined,
                "power_planned_analytic": ancova_power(pairs, effect, row["residual_sd"], ALPHA),
                "analytic_ci_low": band[0],
                "analytic_ci_high": band[1],
                "within_mc_error": abs(planned - truth) <= 2 * combined,
                "within_ci": band[0] <= truth <= band[1],
                "power_true_parameters": oracle,
                "true_parameters_within_mc_error": abs(oracle - truth)
                <= 2 * np.sqrt(oracle_se**2 + truth * (1 - truth) / args.trials),
            }
        )
    table = pd.DataFrame(rows)
    print(table.round(4).to_string(index=False))
    print(f"{time.perf_counter() - start:.0f} s")
    pairs = " ".join(
        f"n{r.n_per_arm}={r.power_empirical:.3f}/{r.power_planned_simulated:.3f}" for r in table.itertuples()
    )
    print(
        f"RESULT planted_effect={effect:.4f} {pairs} within_mc_error={int(table['within_mc_error'].sum())}/"
        f"{len(table)} within_ci={int(table['within_ci'].sum())}/{len(table)} "
        f"true_parameters_within_mc_error={int(table['true_parameters_within_mc_error'].sum())}/{len(table)}"
    )


if __name__ == "__main__":
    main()
