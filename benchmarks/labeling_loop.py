"""The labeling loop as a person runs it: images written as files, then ``skgmvae fit | suggest | predict``.

scikit-learn's 1,797 digits are written as 8x8 PNG files (dark strokes on white, in three subfolders), the
three commands run as subprocesses with the package defaults (the folder is read at 28x28, so the
convolutional model), the suggested images are labeled from their true classes as a person would type
them, and the accuracy of ``predict`` on the images not labeled is scored. Each step is timed. Written to
``benchmarks/results/digits/labeling-loop.csv``.

Command (from the repository root)::

    python -m benchmarks.labeling_loop --labels 30
"""

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "digits"


def write_digits(folder):
    """The digits as PNG files in three subfolders; returns ``{relative path: class}``."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    truth = {}
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        relative = Path(f"part{index % 3}") / f"digit{index:04d}.png"
        (folder / relative.parent).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.uint8(255 - image * 255 / 16), mode="L").save(folder / relative)
        truth[relative.as_posix()] = str(label)
    return truth


def run(command, steps, name, work):
    start = time.perf_counter()
    output = subprocess.run([sys.executable, "-m", "skgmvae", *command], check=True, capture_output=True, text=True)
    shown = " ".join(part.replace(f"{work}/", "") for part in command)  # paths relative to the work folder
    steps.append({"step": name, "command": "skgmvae " + shown, "seconds": time.perf_counter() - start})
    print(f"{steps[-1]['command']}: {steps[-1]['seconds']:.0f} s", flush=True)
    return output.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=30, help="suggested images to label (default 30)")
    parser.add_argument("--out", default=str(RESULTS / "labeling-loop.csv"))
    args = parser.parse_args(argv)
    steps = []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        images = work / "images"
        truth = write_digits(images)
        run(["fit", str(images), "--out", str(work / "model.pt")], steps, "fit", work)
        run(["suggest", str(work / "model.pt"), str(images), "-n", str(args.labels), "--out",
             str(work / "to_label.csv")], steps, "suggest", work)
        with open(work / "to_label.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with open(work / "labels.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label"])
            writer.writerows([row["path"], truth[row["path"]]] for row in rows)
        printed = run(["predict", str(work / "model.pt"), str(images), "--labels", str(work / "labels.csv"), "--out",
                       str(work / "predictions.csv")], steps, "predict", work)
        with open(work / "predictions.csv", newline="") as handle:
            predictions = [row for row in csv.DictReader(handle) if not row["given"]]
    accuracy = float(np.mean([row["label"] == truth[row["path"]] for row in predictions]))
    total = sum(step["seconds"] for step in steps)
    print(printed)
    print(f"{len(predictions)} unlabeled digits, accuracy {100 * accuracy:.1f}%; {total:.0f} s in all")
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", "command", "seconds", "labels", "unlabeled_images",
                                                    "accuracy", "machine"])
        writer.writeheader()
        for step in steps + [{"step": "total", "command": "", "seconds": total}]:
            writer.writerow({**step, "seconds": round(step["seconds"], 1), "labels": args.labels,
                             "unlabeled_images": len(predictions), "accuracy": round(accuracy, 4),
                             "machine": machine})


if __name__ == "__main__":
    main()
