"""The arguments of each ``skgmvae`` command: the subcommands of the parser of :mod:`skgmvae.cli`."""

import argparse

#: The commands of the labeling loop and what each does (the help of ``skgmvae`` lists them too).
COMMAND_HELP = {
    "fit": "train a GMVAE on a folder of images, without labels",
    "suggest": "list the images to label first, with a page to label them",
    "label": "label images in the browser; every label is written at once",
    "predict": "label every image from the labels given",
    "labels": "check labels files; --fix rewrites them so that every command reads them",
}
COMMANDS = tuple(COMMAND_HELP)
EXAMPLES = """examples:
  skgmvae fit scans/ --out model.pt
  skgmvae suggest model.pt scans/ -n 100 --out to_label.csv
  skgmvae label scans/ --labels to_label.csv --model model.pt   (or open to_label.html, label, Save)
  skgmvae suggest model.pt scans/ -n 100 --labels to_label.csv --out round2.csv
  skgmvae predict model.pt scans/ --labels to_label.csv --labels round2.csv --out predictions.csv
  skgmvae labels to_label.csv round2.csv --fix   (one spelling per label, as every command reads them)
"""


def add_commands(parser):
    """Add the commands of the labeling loop to ``parser``, each with its arguments."""
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, example):
        return commands.add_parser(name, help=COMMAND_HELP[name], epilog=f"example:\n  {example}",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    fit = command("fit", "skgmvae fit scans/ --out model.pt --k 100")
    fit.add_argument("images", help="folder of PNG/JPEG images (nested folders allowed)")
    fit.add_argument("--out", required=True, help="model file to write (e.g. model.pt)")
    fit.add_argument("--k", type=int, default=None,
                     help="number of clusters (default: 200, or a fifth of the images when there are fewer than 1000)")
    fit.add_argument("--side", type=int, default=28, help="images are resized to side x side pixels (default 28)")
    fit.add_argument("--invert", choices=["auto", "yes", "no"], default="auto",
                     help="store 1 - grey level, for dark strokes on a light background (default: auto)")
    fit.add_argument("--max-epochs", type=int, default=None, help="GMVAE epochs (default: the estimator's 'auto')")
    fit.add_argument("--device", default="auto", help="torch device: auto, cpu or cuda")
    fit.add_argument("--seed", type=int, default=0, help="random_state of the fit")
    fit.add_argument("--skip-unreadable", action="store_true",
                     help="leave out files that cannot be read (suggest and predict then skip them too)")
    fit.add_argument("--keep-partial", action="store_true",
                     help="on Ctrl-C, save the model of the last completed epoch (default: save nothing)")
    fit.add_argument("--force", action="store_true", help="replace the output files if they exist")

    suggest = command("suggest", "skgmvae suggest model.pt scans/ -n 100 --out to_label.csv")
    suggest.add_argument("model", help="model file written by `skgmvae fit`")
    suggest.add_argument("images", help="the image folder the model was fitted on (or one read the same way)")
    suggest.add_argument("-n", type=int, default=100, help="how many images to suggest (default 100)")
    suggest.add_argument("--out", required=True, help="CSV to write; the page goes beside it as .html")
    suggest.add_argument("--labels", action="append", default=[], metavar="CSV",
                         help="labels given so far (repeatable): their images are not suggested again (with the "
                              "coverage strategy, the next ones go where those labels leave images uncovered)")
    suggest.add_argument("--strategy", choices=["coverage", "representative", "uncertain"], default="coverage",
                         help="how to choose (default coverage; see skgmvae.suggest_labels)")
    suggest.add_argument("--audit", type=int, default=None, metavar="N",
                         help="how many of the -n images to draw at random instead, as an audit sample that predict "
                              "measures the accuracy on (default: one in ten, none below 20 images; 0: none)")
    suggest.add_argument("--seed", type=int, default=0, help="seed of the audit draw (default 0)")
    suggest.add_argument("--force", action="store_true", help="replace the output files if they exist")

    label = command("label", "skgmvae label scans/ --labels to_label.csv --model model.pt\n"
                             "(serves on 127.0.0.1 only, at an address that holds a key; Ctrl-C stops, "
                             "the labels are already saved)")
    label.add_argument("images", help="the image folder (only its images are served)")
    label.add_argument("--labels", required=True, metavar="CSV",
                       help="labels file to fill: its rows in order (e.g. from suggest), or every image when it "
                            "does not exist yet; rewritten on each label")
    label.add_argument("--model", default=None,
                       help="model file written by `skgmvae fit`: adds the view that labels a cluster at a time")
    label.add_argument("--port", type=int, default=None,
                       help="port on 127.0.0.1 (default: one derived from the labels file, the same on every start, "
                            "or any free port when it is taken; 0: any free port)")
    label.add_argument("--no-browser", action="store_true", help="print the address instead of opening a browser")
    label.add_argument("--grid-size", type=int, default=20, help="images shown per cluster (default 20)")

    predict = command("predict", "skgmvae predict model.pt scans/ --labels labels.csv --out predictions.csv")
    predict.add_argument("model", help="model file written by `skgmvae fit`")
    predict.add_argument("images", help="the image folder")
    predict.add_argument("--labels", required=True, action="append", metavar="CSV",
                         help="CSV with columns path and label (blank = unlabeled); repeat it for several rounds")
    predict.add_argument("--out", required=True, help="CSV of predictions to write")
    predict.add_argument("--ignore-case", action="store_true", help=argparse.SUPPRESS)  # replaced: see run_predict
    predict.add_argument("--flag", type=int, default=None,
                         help="how many of the least certain images to flag as worth labeling next "
                              "(default: 5%% of the images, at most 100)")
    predict.add_argument("--force", action="store_true", help="replace the output file if it exists")

    labels = command("labels", "skgmvae labels to_label.csv round2.csv --fix\n"
                               "(labels that differ only in case become their first spelling, in row "
                               "order, the files in the order given; -1 becomes blank)")
    labels.add_argument("files", nargs="+", metavar="CSV", help="labels files, in the order of the rounds")
    labels.add_argument("--fix", action="store_true", help="rewrite the files (each whole) with what is listed")
