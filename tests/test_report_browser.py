"""Build the Snakemake HTML report for a small run with hostile names and open it in headless Chromium.

Checks: the report renders (non-blank screenshot), its JavaScript raises no error, no injected
script or event handler runs (they would log XSS-FIRED), the forest plot is in the page, and the
page needs nothing from the network. Chromium comes from tests/browser/install_chromium.sh (apt);
the test is skipped only when it cannot be installed, and fails instead when CI=true.

Screenshots are kept in $TME_SCREENSHOTS (default /tmp/tme-screens): report_landing.png,
report_forest.png, report_methods.png, report_paired_cd68.png, methods_page.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, SNAKEMAKE, cohort_config

pytestmark = [pytest.mark.browser, pytest.mark.workflow]

XSS = "<script>console.error('XSS-FIRED')</script><img src=x onerror=\"console.error('XSS-FIRED')\"> & \"q\" $x$"
LONG = "USER_SET_WITH_A_VERY_LONG_NAME_" * 6
ODD_FOLDER = "gene sets (v2) $HOME #1 %20 é;x=1"
ODD_MEASURE = "CD8+/PD-1+ T cells"
#: The routes by which user strings once reached the report as live markup: each must now be refused
#: by the config check, with the key named, before anything runs.
REFUSED = {
    "arm label as an RST raw directive": (
        "design",
        "treatment_arm",
        ".. raw:: html\n\n   <script>console.error('XSS-FIRED')</script>",
    ),
    "arm label as an RST include directive": ("design", "treatment_arm", ".. include:: /etc/hostname"),
    "arm label as an RST link to javascript": ("design", "reference_arm", "`click <javascript:console.error(1)>`_"),
    "timepoint label as an RST raw directive (blinded run)": ("design", "post", ".. raw:: html"),
    "gene-set path closing the rules script block": (
        "scoring",
        "gene_sets",
        "</script><script>console.error('XSS-FIRED')</script>.gmt",
    ),
}
SCREENS = Path(os.environ.get("TME_SCREENSHOTS", "/tmp/tme-screens"))


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    script = REPO / "tests" / "browser" / "install_chromium.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900)
    path = done.stdout.strip().splitlines()[-1] if done.returncode == 0 and done.stdout.strip() else ""
    if path and Path(path).exists():
        return path
    message = f"Chromium is not installed and {script.name} could not install it: {done.stderr.strip()[-400:]}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _snakemake(workdir: Path, configfile: Path, *args: str, timeout: int = 600):
    cmd = [
        str(SNAKEMAKE),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        *args,
    ]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONHASHSEED": "0"}
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done


@pytest.fixture(scope="module")
def built_report(small_cohort, tmp_path_factory):
    """Run the small cohort with hostile gene-set names and exclusion reason; build the report.

    ``TME_REPORT_RUN=<dir>`` reuses a directory this fixture built before (for iterating on the
    browser checks without rerunning the workflow).
    """
    reuse = os.environ.get("TME_REPORT_RUN")
    if reuse and (Path(reuse) / "report.html").exists():
        return Path(reuse), Path(reuse) / "report.html"
    work = tmp_path_factory.mktemp("report_run")
    cohort = work / "cohort"
    shutil.copytree(small_cohort, cohort)
    sheet = (cohort / "samples.tsv").read_text().splitlines()
    header = sheet[0].split("\t")
    col = header.index("exclude_reason")
    row = sheet[-1].split("\t")
    row[col] = XSS.replace("\t", " ")  # a free-text exclusion reason
    sheet[-1] = "\t".join(row)
    (cohort / "samples.tsv").write_text("\n".join(sheet) + "\n")
    genes = [
        "IL1B",
        "IL1A",
        "CXCL8",
        "IL6",
        "PTGS2",
        "CCL2",
        "CCL3",
        "CCL4",
        "CCL20",
        "CXCL1",
        "CXCL2",
        "SOD2",
        "NFKBIA",
        "TNFAIP3",
        "ICAM1",
        "IER3",
    ]
    odd = cohort / ODD_FOLDER  # characters a path may keep: they reach rule inputs and the report's script blocks
    odd.mkdir()
    (odd / "user.gmt").write_text(
        f"{XSS}\tna\t" + "\t".join(genes) + "\n" + f"{LONG}\tna\t" + "\t".join(genes[::-1]) + "\n"
    )
    immune = cohort / "immune.tsv"  # a measure name with every character a measure may hold
    immune.write_text(immune.read_text().replace("\tCD8\t", f"\t{ODD_MEASURE}\t"))
    # a few collections and a short plan (with the hostile user set in it) keep the run short
    config = cohort_config(
        cohort,
        scoring={"gene_sets": [str(odd / "user.gmt")], "collections": ["tme_il1", "danaher2017"]},
        statistics={
            "n_bootstrap": 200,
            "gsea_permutations": 100,
            # the gene level is slow on a shared machine; test_plots.py covers its figures
            "differential_expression": os.environ.get("TME_REPORT_TEST_DE", "") == "1",
        },
        # the hostile user set is a primary endpoint, and hostile text is an endpoint's display name and unit
        analysis_plan={
            "endpoints": [
                {"name": "il1", "feature": "TME_IL1_INDUCED|singscore", "role": "primary", "display": XSS, "unit": XSS},
                {"name": "tam", "feature": "DANAHER2017_Macrophages|mean", "role": "primary"},
                {"name": "user", "feature": f"{XSS}|ssgsea", "role": "key_secondary"},
                {"name": "cd68", "feature": "CD68", "role": "primary", "display": LONG},
            ]
        },
    )
    configfile = work / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    _snakemake(work, configfile, "--quiet", "rules")
    report = work / "report.html"
    _snakemake(work, configfile, "--report", str(report), timeout=120)
    return work, report


def _run_chromium(chromium: str, url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with every host name unresolvable: the page must work offline."""
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
        "--virtual-time-budget=15000",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _console_errors(stderr: str) -> list[str]:
    """Console lines that are errors (uncaught exceptions, failed loads) or a fired injection."""
    lines = [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    return [line for line in lines if re.search(r"Uncaught|Error|XSS-FIRED|Failed to load", line)]


# Clicks through the report's menu like a reader (text of each item in turn; in a result table the
# row's "eye" button), then marks <body data-tme-nav="done"> (or "missing: <step>").
NAVIGATE = """<script>
(function(){
  const steps = %s;
  function find(t){
    const els = [...document.querySelectorAll('a,button,td,li,span,div')].filter(e => e.textContent.trim() === t);
    els.sort((a, b) => a.querySelectorAll('*').length - b.querySelectorAll('*').length);
    return els[0];
  }
  let i = 0, tries = 0;
  function next(){
    if (i >= steps.length) { document.body.setAttribute('data-tme-nav', 'done'); return; }
    const el = find(steps[i]);
    if (el) {
      const row = el.closest('tr');
      const eye = row && row.querySelector('a[iconname="eye"]');
      (eye || el.closest('a,button,li') || el).click();
      i++; tries = 0;
    } else if (++tries > 30) { document.body.setAttribute('data-tme-nav', 'missing: ' + steps[i]); return; }
    setTimeout(next, 300);
  }
  window.addEventListener('load', () => setTimeout(next, 500));
})();
</script>"""


def _navigating_copy(report: Path, steps: list[str], dest: Path) -> Path:
    """A copy of the report that clicks through ``steps`` after loading (the report itself is untouched)."""
    page = report.read_text(encoding="utf-8")
    end = page.rfind("</body>")
    dest.write_text(page[:end] + NAVIGATE % json.dumps(steps) + page[end:], encoding="utf-8")
    return dest


def _assert_not_blank(png: Path) -> None:
    from PIL import Image

    assert png.exists() and png.stat().st_size > 10_000, f"{png} is missing or tiny"
    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape[0] >= 900 and pixels.shape[1] >= 1300
    assert pixels.std() > 8, f"{png} looks blank (pixel SD {pixels.std():.1f})"


def _app(dom: str) -> str:
    """The part of the DOM React rendered (the menu and the result view)."""
    start = dom.find('id="app"')
    assert start >= 0, "the report has no app element"
    return dom[start:]


def test_report_is_self_contained_and_escaped(built_report):
    work, report = built_report
    page = report.read_text(encoding="utf-8")
    # every asset embedded: no script or stylesheet fetched from the network
    assert not re.search(r"<script[^>]+src=[\"']https?://", page)
    assert not re.search(r"<link[^>]+href=[\"']https?://", page)
    # hostile strings never appear as live markup in the page (Snakemake embeds rule params and
    # wildcards unescaped in a <script> block: tme keeps user strings out of both)
    assert not re.search(r"<script>console\.error", page)
    assert not re.search(r"<img src=x onerror", page)
    for block in re.finditer(r'<script id="([a-z-]+)">', page):  # every data block intact JSON
        body = page[block.end() : page.find("</script>", block.end())].strip()
        match = re.fullmatch(r"var \w+ = (.*?);?", body, re.S)
        assert match, block.group(1)
        json.loads(match.group(1))
    for category in ("Cohort & QC", "Signatures", "Immune cells", "Between-arm effects", "Methods"):
        assert json.dumps(category)[1:-1] in page or category.replace("&", "&amp;") in page, category
    assert re.search(r"\d{2}_[\w-]+_\d{2}\.png", page)  # forest pages: rank_family_page.png
    methods = (work / "results" / "report" / "methods.html").read_text()
    assert "&lt;script&gt;console.error(&#x27;XSS-FIRED&#x27;)" in methods


def test_report_renders_in_chromium(built_report, tmp_path):
    chromium = _chromium()
    work, report = built_report
    SCREENS.mkdir(parents=True, exist_ok=True)
    # landing page
    shot = SCREENS / "report_landing.png"
    done = _run_chromium(chromium, report.as_uri(), tmp_path, f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert not _console_errors(done.stderr), _console_errors(done.stderr)
    _assert_not_blank(shot)
    dom = _run_chromium(chromium, report.as_uri(), tmp_path, "--dump-dom")
    assert not _console_errors(dom.stderr), _console_errors(dom.stderr)
    app = _app(dom.stdout)
    assert "Between-arm effects" in app and "Cohort &amp; QC" in app  # React rendered the menu
    # click through to the forest plot, the methods page (in its frame) and a per-feature plot
    for name, steps in (
        ("forest", ["Between-arm effects", "Forest plots by family", "primary"]),
        ("methods", ["Methods", "Methods and provenance", "methods and provenance"]),
        ("paired_cd68", ["Immune cells", "Paired plots", "CD68"]),
    ):
        copy = _navigating_copy(report, steps, tmp_path / f"nav_{name}.html")
        dom = _run_chromium(chromium, copy.as_uri(), tmp_path, "--dump-dom")
        assert not _console_errors(dom.stderr), (name, _console_errors(dom.stderr))
        assert 'data-tme-nav="done"' in dom.stdout, (name, re.findall(r'data-tme-nav="[^"]*"', dom.stdout))
        shot = SCREENS / f"report_{name}.png"
        done = _run_chromium(chromium, copy.as_uri(), tmp_path, f"--screenshot={shot}")
        assert done.returncode == 0 and not _console_errors(done.stderr), done.stderr[-3000:]
        _assert_not_blank(shot)
    # the methods page on its own, full width
    methods = work / "results" / "report" / "methods.html"
    shot = SCREENS / "methods_page.png"
    done = _run_chromium(chromium, methods.as_uri(), tmp_path, f"--screenshot={shot}")
    assert done.returncode == 0 and not _console_errors(done.stderr), done.stderr[-3000:]
    _assert_not_blank(shot)


@pytest.mark.parametrize("route", list(REFUSED))
def test_injection_routes_are_refused(small_cohort, tmp_path, route):
    section, key, value = REFUSED[route]
    config = cohort_config(small_cohort, blinded="blinded" in route)
    if key == "gene_sets":
        folder = tmp_path / value.rsplit("/", 1)[0]
        folder.mkdir(parents=True)
        (folder / "x.gmt").write_text("S\tna\tIL1B\tCXCL8\n")
        value = [str(folder / "x.gmt")]
    config.setdefault(section, {})[key] = value
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    cmd = [
        str(SNAKEMAKE),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path / "run"),
        "--configfile",
        str(configfile),
        "--cores",
        "1",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and f"{section}.{key}" in done.stderr and "Fix:" in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "run" / "results").exists()


def test_report_has_no_live_link_or_host_file(built_report):
    work, report = built_report
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""href=\\?["']\s*javascript:""", page, re.I)  # an RST link once became one
    assert not re.search(r"<script>\s*console\.error", page)
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    captions = "".join(re.findall(r'"caption": "(.*?)", "mime_type"', page))
    assert not hostname or hostname not in captions
    stems = json.dumps("CD8_PD-1_T_cells")[1:-1]  # the odd measure's paired plot is in the report
    assert stems in page


def _dom_text(text: str) -> str:
    """``text`` as Chromium serialises a text node (``&``, ``<``, ``>`` escaped; quotes not)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\u00a0", "&nbsp;")


def _run_config(work: Path) -> dict:
    """The built run's validated config (defaults filled in) as its rules saw it."""
    from tme.config import load_config

    return load_config(work / "config.yaml")


def test_first_screen_answers_the_trial_question(built_report, tmp_path):
    """The landing view, before any click, holds every confirmatory endpoint with its effect,
    adjusted p and direction, and the forest of those endpoints; hostile names stay text."""
    from tme.plots.data import read_table
    from tme.report.key_results import Trial, key_results_table
    from tme.report.targets import statistics_table

    chromium = _chromium()
    work, report = built_report
    dom = _run_chromium(chromium, report.as_uri(), tmp_path, "--dump-dom")
    assert not _console_errors(dom.stderr), _console_errors(dom.stderr)
    app = _app(dom.stdout)
    start = app.find('id="tme-key-results"')
    assert start >= 0, "the key results are not on the landing view"
    landing = app[start:]
    config = _run_config(work)
    stats = read_table(work / statistics_table(config))
    expected = key_results_table(stats, Trial.from_config(config))
    plan = [e for e in config["analysis_plan"]["endpoints"] if e["role"] in ("primary", "key_secondary")]
    assert len(expected) == len(plan) >= 3
    for _, row in expected.iterrows():
        for value in row:
            assert _dom_text(value) in landing, (row["Endpoint"], value)
    assert _dom_text(XSS) in landing and "<script>console.error" not in landing
    assert re.search(r'<img alt="Standardised effects[^>]+src="data:image/png;base64,', landing)
    shot = SCREENS / "report_first_screen.png"
    done = _run_chromium(chromium, report.as_uri(), tmp_path, f"--screenshot={shot}")
    assert done.returncode == 0 and not _console_errors(done.stderr), done.stderr[-3000:]
    _assert_not_blank(shot)


def _expected_rows(work: Path) -> dict[str, list[int]]:
    """Rows of each table page's tables, in page order, counted from the TSVs the pages were made from."""
    from tme.report.tables import category_slug, report_tables

    config = _run_config(work)
    pages: dict[str, list[int]] = {}
    for table in report_tables(config, gene_level=bool(config["statistics"]["differential_expression"])):
        rows = len(pd.read_csv(work / table.path, sep="\t", dtype=str, keep_default_na=False))
        pages.setdefault(category_slug(table.category), []).append(rows)
    return pages


def test_table_pages_show_every_row_sortable(built_report, tmp_path):
    chromium = _chromium()
    work, _ = built_report
    expected = _expected_rows(work)
    for slug, rows in expected.items():
        page = work / "results" / "report" / "tables" / f"{slug}.html"
        dom = _run_chromium(chromium, page.as_uri(), tmp_path, "--dump-dom")
        assert not _console_errors(dom.stderr), (slug, _console_errors(dom.stderr))
        seen = re.search(r'data-tme-tables="([^"]*)"', dom.stdout)
        assert seen, f"{slug}: DataTables did not draw the tables"
        counts = json.loads(seen.group(1).replace("&quot;", '"'))
        assert [counts[f"table-{i + 1}"] for i in range(len(rows))] == rows, slug
        assert "<script>console.error" not in dom.stdout and "dt-paging" in dom.stdout


# Records the row counts a table page posts to the report (it is shown in a frame).
LISTEN = """<script>
window.addEventListener('message', e => {
  if (e.data && e.data.tme_tables) document.body.setAttribute('data-tme-seen', JSON.stringify(e.data.tme_tables));
});
</script>"""


def test_table_page_renders_inside_the_report(built_report, tmp_path):
    chromium = _chromium()
    work, report = built_report
    rows = _expected_rows(work)["cohort_qc"]
    listening = tmp_path / "listening.html"
    listening.write_text(report.read_text(encoding="utf-8").replace("</head>", LISTEN + "</head>", 1), encoding="utf-8")
    copy = _navigating_copy(
        listening, ["Cohort & QC", "Tables", "all tables of this section (sortable)"], tmp_path / "nav.html"
    )
    dom = _run_chromium(chromium, copy.as_uri(), tmp_path, "--dump-dom")
    assert not _console_errors(dom.stderr), _console_errors(dom.stderr)
    assert 'data-tme-nav="done"' in dom.stdout, re.findall(r'data-tme-nav="[^"]*"', dom.stdout)
    seen = re.search(r'data-tme-seen="([^"]*)"', dom.stdout)
    assert seen, "the table page did not report its tables from inside the report"
    counts = json.loads(seen.group(1).replace("&quot;", '"'))
    assert [counts[f"table-{i + 1}"] for i in range(len(rows))] == rows
