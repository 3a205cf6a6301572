"""The labeling loop as a person runs it: images written as files, then ``skgmvae fit | suggest | predict``.

The images are written as files, the commands run as subprocesses with the package defaults (the folder is
read at 28x28, so the convolutional model), the suggested images are labeled from their true classes as a
person would type them, and the accuracy of ``predict`` on the images not labeled is scored. Each step is
timed. With ``--rounds 2`` a second round follows: ``suggest --labels`` the first round's file (so no
labeled image is suggested again), label those, ``predict`` with both files.

- ``--dataset digits``: scikit-learn's 1,797 digits (or the first ``--images``) as 8x8 PNG files (dark strokes
  on white, in three subfolders). Written to ``benchmarks/results/digits/labeling-loop.csv``.
- ``--dataset fashion-mnist``: the first ``--images`` of the 10,000 Fashion-MNIST test images (the Debian
  package's copy), written as RGB files of mixed formats and sizes, as a folder of photos would be: every
  other image a JPEG (quality 90), the rest PNG, each enlarged to 28, 36, 48 or 64 pixels a side, in ten
  subfolders. Written to ``benchmarks/results/fashion-mnist/labeling-loop.csv``.

Commands (from the repository root)::

    python -m benchmarks labeling_loop --labels 30
    python -m benchmarks labeling_loop --dataset fashion-mnist --labels 100 --rounds 2

Each row of the CSV is one step (``step_command``: the ``skgmvae`` command it ran, paths relative to the work
folder) with its seconds, and after ``predict`` the labels given, the accuracy on the images not labeled, the
route ``predict`` chose and its cross-validated estimate.
"""

import csv
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._protocol import RESULTS, command_line, parser, provenance, write_csv

NAME = "labeling_loop"
SIDES = (28, 36, 48, 64)


def write_digits(folder, n_images=None):
    """The digits (the first ``n_images``) as PNG files in three subfolders; returns ``{relative path: class}``."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    truth = {}
    for index, (image, label) in enumerate(zip(digits.images[:n_images], digits.target[:n_images])):
        relative = Path(f"part{index % 3}") / f"digit{index:04d}.png"
        (folder / relative.parent).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.uint8(255 - image * 255 / 16), mode="L").save(folder / relative)
        truth[relative.as_posix()] = str(label)
    return truth


def write_fashion(folder, n_images, data_dir=None):
    """Fashion-MNIST test images as RGB JPEG and PNG files of mixed sizes; returns ``{relative path: class}``."""
    from PIL import Image

    from skgmvae.datasets import load_dataset

    data = load_dataset("fashion-mnist", data_dir=data_dir)
    images, labels = data["X_test"][:n_images], data["y_test"][:n_images]
    truth = {}
    for index, (pixels, label) in enumerate(zip(images, labels)):
        side = SIDES[(index // 2) % len(SIDES)]  # each size in both formats
        image = Image.fromarray(np.uint8(np.round(255 * pixels.reshape(28, 28))), mode="L").convert("RGB")
        image = image.resize((side, side), Image.BILINEAR)
        suffix = ".jpg" if index % 2 else ".png"
        relative = Path(f"shelf{index % 10}") / f"item{index:05d}{suffix}"
        (folder / relative.parent).mkdir(parents=True, exist_ok=True)
        image.save(folder / relative, **({"quality": 90} if suffix == ".jpg" else {}))
        truth[relative.as_posix()] = data["target_names"][int(label)]
    return truth


def run(command, steps, name, work, round_):
    start = time.perf_counter()
    output = subprocess.run([sys.executable, "-m", "skgmvae", *command], check=True, capture_output=True, text=True)
    shown = " ".join(part.replace(f"{work}/", "") for part in command)  # paths relative to the work folder
    steps.append({"round": round_, "step": name, "step_command": "skgmvae " + shown,
                  "seconds": time.perf_counter() - start})
    print(f"{steps[-1]['step_command']}: {steps[-1]['seconds']:.0f} s", flush=True)
    return output.stdout


def predict_choice(printed):
    """The route ``skgmvae predict`` printed, and its cross-validated estimate (None after a fallback)."""
    chosen = re.search(r"^route: ([\w-]+), chosen by", printed, re.MULTILINE)
    if chosen is None:  # no search: the fallback message names the route in quotes
        fallback = re.search(r"^route: taken without .*?Predicting with .*?\('([\w-]+)'\)", printed, re.MULTILINE)
        return {"route": f"{fallback.group(1) if fallback else 'unknown'} (fallback, no search)", "cv_estimate": None}
    estimate = re.search(r"^estimated accuracy ([\d.]+)%", printed, re.MULTILINE)
    return {"route": chosen.group(1), "cv_estimate": float(estimate.group(1)) / 100 if estimate else None}


def label_suggestions(suggested, truth, labels_file):
    """Fill in the suggested file's label column from the true classes, as a person would; returns how many."""
    with open(suggested, newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = reader.fieldnames, list(reader)
    with open(labels_file, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({**row, "label": truth[row["path"]]} for row in rows)
    return len(rows)


def smallest(out):
    """The smallest configuration: 300 digits read at 8x8 (the dense model), a small model, 20 labels."""
    return ["--images", "300", "--labels", "20", "--k", "10", "--side", "8", "--max-epochs", "1", "--out",
            str(Path(out) / "labeling-loop.csv")]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=["digits", "fashion-mnist"], default="digits")
    arguments.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST files")
    arguments.add_argument("--images", type=int, default=None,
                           help="images to write (default: the 1,797 digits, 10,000 Fashion-MNIST test images)")
    arguments.add_argument("--labels", type=int, default=30, help="suggested images to label per round (default 30)")
    arguments.add_argument("--rounds", type=int, default=1, help="rounds of suggest, label, predict (default 1)")
    arguments.add_argument("--strategy", default=None,
                           help="`skgmvae suggest --strategy` (default: the CLI's; the checked-in figures used "
                                "'representative')")
    arguments.add_argument("--k", type=int, default=None, help="`skgmvae fit --k` (default: the package's)")
    arguments.add_argument("--side", type=int, default=None, help="`skgmvae fit --side` (default: the CLI's 28)")
    arguments.add_argument("--max-epochs", type=int, default=None, help="`skgmvae fit --max-epochs` (smoke runs)")
    arguments.add_argument("--out", default=None, help="CSV to write (default benchmarks/results/<dataset>/...)")
    args = arguments.parse_args(argv)
    out = Path(args.out) if args.out else RESULTS / args.dataset / "labeling-loop.csv"
    steps, scores = [], {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        images = work / "images"
        truth = (write_digits(images, args.images) if args.dataset == "digits"
                 else write_fashion(images, args.images or 10_000, args.data_dir))
        fit = ["fit", str(images), "--out", str(work / "model.pt")]
        fit += [] if args.k is None else ["--k", str(args.k)]
        fit += [] if args.side is None else ["--side", str(args.side)]
        run(fit + ([] if args.max_epochs is None else ["--max-epochs", str(args.max_epochs)]), steps, "fit", work, 0)
        given, n_labels = [], 0
        for round_ in range(1, args.rounds + 1):
            suggested, labels = work / f"to_label-{round_}.csv", work / f"labels-{round_}.csv"
            strategy = [] if args.strategy is None else ["--strategy", args.strategy]
            run(["suggest", str(work / "model.pt"), str(images), "-n", str(args.labels), "--out", str(suggested),
                 *strategy, *[part for path in given for part in ("--labels", str(path))]], steps, "suggest", work,
                round_)
            n_labels += label_suggestions(suggested, truth, labels)
            given.append(labels)
            predictions = work / f"predictions-{round_}.csv"
            printed = run(["predict", str(work / "model.pt"), str(images),
                           *[part for path in given for part in ("--labels", str(path))], "--out", str(predictions)],
                          steps, "predict", work, round_)
            with open(predictions, newline="") as handle:
                rest = [row for row in csv.DictReader(handle) if not row["given"]]
            accuracy = float(np.mean([row["label"] == truth[row["path"]] for row in rest]))
            scores[round_] = {"labels": n_labels, "unlabeled_images": len(rest), "accuracy": round(accuracy, 4),
                              **predict_choice(printed)}
            print(printed)
            print(f"round {round_}: {n_labels} labels, {len(rest)} unlabeled images, accuracy {100 * accuracy:.1f}%")
    total = sum(step["seconds"] for step in steps)
    print(f"{total:.0f} s in all")
    rows = []
    for step in steps + [{"round": "", "step": "total", "step_command": "", "seconds": total}]:
        score = scores.get(step["round"] or args.rounds, {}) if step["step"] != "fit" else {}
        rows.append({**step, "seconds": round(step["seconds"], 1), "labels": score.get("labels"),
                     "unlabeled_images": score.get("unlabeled_images"), "accuracy": score.get("accuracy"),
                     "route": score.get("route") if step["step"] == "predict" else None,
                     "cv_estimate": score.get("cv_estimate") if step["step"] == "predict" else None})
    write_csv(out, rows, provenance(command_line(NAME, argv), seeds="fit --seed 0"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
