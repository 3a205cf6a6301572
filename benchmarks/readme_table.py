"""The README's results table: EMNIST Letters from the report table's summary, the article's figure beside it.

Reads ``summary.csv`` of ``label_efficiency``'s EMNIST report run (the unlabeled rest of the report half,
means over training seeds and draws) and writes ``readme-table.csv`` beside it: the cross-validated route,
soft decoding of q(c|x), the best stock classifier on the labeled rows at each count, LabelSpreading on the
pixels' principal components, and the article's figure (:data:`ARTICLE`). Prints the Markdown table that
README.md shows (``tests/test_benchmarks.py`` checks that they agree).

Command (from the repository root)::

    python -m benchmarks readme_table
"""

from pathlib import Path

from benchmarks._protocol import RESULTS, command_line, parser, provenance, read_csv, write_csv

NAME = "readme_table"
SUMMARY = RESULTS / "emnist-partial" / "summary.csv"
COUNTS = (73, 291, 728, 1456, 2912)
ROWS = {
    "skgmvae, cross-validated route (`RouteSearchCV`)": ("cross-validated route",),
    "skgmvae, soft decoding of q(c\\|x)": ("GMVAE soft",),
    "best stock classifier on the labeled rows": ("LogisticRegression", "MLPClassifier", "XGBoost"),
    "LabelSpreading on the pixels (PCA)": ("LabelSpreading (knn) on the candidates' PCA",),
}
SHORT_NAMES = {"LogisticRegression": "LR", "MLPClassifier": "MLP", "XGBoost": "XGBoost"}
ARTICLE_ROW = "the article: soft decoding, K=100, all 145,600 letters, 450 GPU epochs"
# The article's figures (accuracy by number of labels), as it states them.
ARTICLE = {291: 0.80}
ARTICLE_SOURCE = ("'You Don't Need Many Labels to Learn', Towards Data Science, 17 April 2026 "
                  "(github.com/murex/gmvae-label-decoding)")


def table_rows(summary, source=SUMMARY):
    """One row per (table row, count): the mean accuracy and, for the best stock classifier, which one."""
    means = {(row["method"], int(row["n_labels"])): float(row["mean"]) for row in summary
             if row["protocol_split"] == "report" and row["split"] == "rest"}
    rows = []
    for name, methods in ROWS.items():
        for n_labels in COUNTS:
            scored = [(means[(method, n_labels)], method) for method in methods if (method, n_labels) in means]
            if not scored:
                raise ValueError(f"{source} has no report row of {methods} at {n_labels} labels.")
            accuracy, method = max(scored)
            rows.append({"row": name, "n_labels": n_labels, "accuracy": accuracy, "method": method,
                         "source": f"{_shown(source)} (mean over training seeds and draws)"})
    rows += [{"row": ARTICLE_ROW, "n_labels": n_labels, "accuracy": accuracy, "method": "GMVAE soft",
              "source": ARTICLE_SOURCE} for n_labels, accuracy in ARTICLE.items()]
    return rows


def _shown(path):
    """``path`` relative to the repository when it is inside it."""
    path = Path(path).resolve()
    root = RESULTS.resolve().parents[1]
    return path.relative_to(root).as_posix() if root in path.parents else path.name


def markdown(rows):
    """The Markdown table of :func:`table_rows`' output (accuracy in %)."""
    lines = ["| accuracy (%) | " + " | ".join(f"{n} labels" for n in COUNTS) + " |",
             "|---|" + "---|" * len(COUNTS)]
    for name in list(ROWS) + [ARTICLE_ROW]:
        cells = {row["n_labels"]: row for row in rows if row["row"] == name}
        shown = []
        for n in COUNTS:
            row = cells.get(n)
            # The article states whole percents; the measured figures are given to a tenth.
            cell = "" if row is None else f"{100 * float(row['accuracy']):.{0 if name == ARTICLE_ROW else 1}f}"
            if row is not None and name == "best stock classifier on the labeled rows":
                cell += f" ({SHORT_NAMES.get(row['method'], row['method'])})"
            shown.append(cell or "-")
        lines.append(f"| {name} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def smallest(out):
    """The smallest configuration: the checked-in summary, the table written to ``out``."""
    return ["--out", str(Path(out) / "readme-table.csv")]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--summary", default=str(SUMMARY), help="summary.csv of the EMNIST report run")
    arguments.add_argument("--out", default=str(SUMMARY.parent / "readme-table.csv"), help="CSV to write")
    args = arguments.parse_args(argv)
    rows = table_rows(read_csv(args.summary), args.summary)
    write_csv(args.out, rows, provenance(command_line(NAME, argv), protocol_split="report",
                                         seeds="those of the summary"))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
