"""Label-efficiency benchmark with the GMVAE article's protocol, on the report split by default.

Train the GMVAE on the unlabeled pool with the package's defaults, once per training seed
(``--train-seeds``); for each number of labels and each draw, draw the labeled rows uniformly at random
from the split's label candidates, fit every method on exactly those rows, and measure accuracy on the
candidates not drawn and on the split's held-out rows where there are some (Fashion-MNIST: the test images
in the report split, the validation images in the development split; see ``benchmarks/_protocol.py``).

The methods: soft and hard decoding of q(c|x); the GMVAE's latent means scaled to unit length
(``output='latent'``, then ``Normalizer()``) fed to LabelSpreading and to an SVC; soft decoding of a
:class:`~skgmvae.UMAPMixture` fitted on those codes; stock classifiers on the pixels of the labeled rows;
LabelSpreading on 50 principal components of the label candidates (the candidates, not the whole pool,
are its graph); KMeans with the same K and the majority label of each cluster. Beside these fixed routes,
the row ``cross-validated route`` is the procedure a user can run: on each draw, the route is chosen by
cross-validation on that draw's labeled rows alone (:class:`skgmvae.RouteSearchCV` on the
precomputed features, ``transformer='precomputed'``), and the route picked is recorded.

Results go to ``benchmarks/results/<dataset>/`` (the development split's to its ``development/``
folder): ``records.csv`` (every run, with its training seed, draw, protocol split and, for the
cross-validated route, the route picked), ``summary.csv`` (mean, 95% interval over all runs, spread over
draws and over training seeds), ``purity.csv`` (cluster purity of q(c|x) and of the UMAP mixture on the
split's images, per training seed), ``paired.csv`` (every pair of methods on the same runs: mean difference
and its 95% t-interval, ``tie`` when it holds 0), ``ties.csv`` (the best method at each count and the
methods tied with it), ``routes.csv`` (how often each route was picked), ``results.md``, ``accuracy.png``
and ``training.png``.

Commands (from the repository root)::

    python -m benchmarks label_efficiency --dataset emnist --train-seeds 0 1 2
    python -m benchmarks label_efficiency --dataset fashion-mnist --train-seeds 0 1 2
    python -m benchmarks label_efficiency --dataset digits --max-epochs 2 --pretrain-epochs 1 \\
        --seeds 2 --out smoke-run          # a smoke run of the whole benchmark

``--data-dir`` (or ``SKGMVAE_DATA``) points at the data; by default ``../shared/data`` for EMNIST and
``/usr/share/datasets/fashion-mnist`` for Fashion-MNIST are searched. Each training seed's model is
fitted and cached in the model cache unless ``--reuse-model`` takes it from there.
"""

import copy
import csv
import warnings

import numpy as np

from benchmarks._knn_graphs import GraphCachedLabelSpreading, KnnGraph
from benchmarks._protocol import (
    SETTINGS,
    add_split_argument,
    cache_path,
    command_line,
    load_or_fit_gmvae,
    protocol_split,
    provenance,
    recorded_fit_seconds,
    results_dir,
    write_csv,
)
from benchmarks._protocol import parser as suite_parser
from benchmarks._stats import cluster_purity, paired_rows, route_counts, summarize_over_seeds, ties_with_best
from skgmvae import (
    ClusterLabelDecoder,
    GMVAETransformer,
    LabeledOnlyClassifier,
    RouteSearchCV,
    UMAPMixture,
    builtin_routes,
)
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import draw_labeled_rows, format_table, label_efficiency, semi_supervised_dtype
from skgmvae.plotting import save_label_efficiency_figure, save_training_figure

NAME = "label_efficiency"
FEATURES_INDEPENDENT_OF_THE_GMVAE = ("pixels", "pca", "kmeans")
CV_ROUTE = "cross-validated route"
# The route search's feature blocks, by the names of the benchmark's features that hold them.
ROUTE_FEATURES = {"posterior": "posterior", "latent": "latent", "umap": "umap-posterior"}


def build_methods(k, random_state, n_jobs=None):
    """Each fixed route's estimator and the name of the features it reads (``n_jobs``: neighbour searches)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC
    from xgboost import XGBClassifier

    return {
        "GMVAE soft": (ClusterLabelDecoder(mode="soft"), "posterior"),
        "GMVAE hard": (ClusterLabelDecoder(mode="hard"), "posterior"),
        "GMVAE latent + LabelSpreading": (
            GraphCachedLabelSpreading(kernel=KnnGraph(20, n_jobs=n_jobs), max_iter=100), "latent"),
        "GMVAE latent + SVC": (LabeledOnlyClassifier(SVC(C=10)), "latent"),
        "GMVAE latent + UMAPMixture soft": (ClusterLabelDecoder(mode="soft"), "umap-posterior"),
        "LogisticRegression": (LabeledOnlyClassifier(LogisticRegression(max_iter=1000)), "pixels"),
        "MLPClassifier": (LabeledOnlyClassifier(MLPClassifier((256,), max_iter=500, random_state=random_state)),
                          "pixels"),
        "XGBoost": (LabeledOnlyClassifier(XGBClassifier(n_estimators=200, n_jobs=2, verbosity=0,
                                                        random_state=random_state)), "pixels"),
        "LabelSpreading (knn) on the candidates' PCA": (
            GraphCachedLabelSpreading(kernel=KnnGraph(10, n_jobs=n_jobs), max_iter=100), "pca"),
        f"KMeans({k}) + majority": (ClusterLabelDecoder(mode="hard"), "kmeans"),
    }


def independent_feature_maker(X_fit, X_candidates, k):
    """Rows to the features that do not read the GMVAE (pixels, PCA, KMeans), fitted on the data once."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    kmeans = KMeans(k, n_init=1, random_state=0).fit(X_fit)
    pca = PCA(50, random_state=0).fit(X_candidates)

    def features_of(rows):
        return {"pixels": rows, "pca": pca.transform(rows), "kmeans": np.eye(k)[kmeans.predict(rows)]}

    return features_of


def gmvae_feature_maker(gmvae, X_candidates):
    """Rows to the features that read the GMVAE: q(c|x), unit-length codes and the UMAPMixture posterior."""
    from sklearn.preprocessing import normalize

    both_model = copy.deepcopy(gmvae).set_params(output="posterior_and_latent")  # one encoder pass for both outputs
    umap_mixture = UMAPMixture(gmvae.k, random_state=0)

    def features_from(both, umap_posterior_of):
        # Unit-length codes: the contrastive term shapes their directions (benchmarks/latent_pipelines.py).
        codes = normalize(both[:, gmvae.k:])
        return {"posterior": both[:, :gmvae.k], "latent": codes, "umap-posterior": umap_posterior_of(codes)}

    # The candidates are encoded once; the UMAP mixture is fitted on their codes, and their posterior is read
    # from its fitted embedding.
    candidate_features = features_from(both_model.transform(X_candidates), umap_mixture.fit_transform)

    def features_of(rows):
        if rows is X_candidates:
            return candidate_features
        return features_from(both_model.transform(rows), umap_mixture.transform)

    return features_of


def reusable_records(path, methods, counts, n_seeds, split):
    """Rows of an earlier records.csv for the methods whose inputs do not depend on the GMVAE.

    A method's rows are reused only when they come from the same protocol split and cover exactly the
    requested counts and draws, so the reused and the new rows share one protocol.
    """
    if not path.is_file():
        return []
    independent = {name for name, (_, features) in methods.items() if features in FEATURES_INDEPENDENT_OF_THE_GMVAE}
    with open(path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle)
                if row["method"] in independent and row.get("protocol_split") == split]
    if not rows:
        return []
    wanted = {(n, s) for n in counts for s in range(n_seeds)}
    reused = []
    for name in independent:
        # Their rows repeat for every training seed; one seed's rows are the run.
        mine = [row for row in rows if row["method"] == name and row["train_seed"] == rows[0]["train_seed"]]
        if {(int(row["n_labels"]), int(row["seed"])) for row in mine} == wanted:
            reused += [{"method": name, "n_labels": int(row["n_labels"]), "seed": int(row["seed"]),
                        "split": row["split"], "accuracy": float(row["accuracy"])} for row in mine]
    return reused


def model_params(args):
    """GMVAETransformer parameters other than the defaults that the command line sets (smoke runs)."""
    params = {}
    if args.max_epochs is not None:
        params["max_epochs"] = args.max_epochs
    if args.pretrain_epochs is not None:
        params["pretrain_epochs"] = args.pretrain_epochs
    return params


def fit(args, X, train_seed):
    """The GMVAE of one training seed: fitted and cached, or taken from the cache with --reuse-model.

    Returns the model, its fit time in seconds (None when unknown) and whether it came from the cache.
    """
    params = model_params(args)
    gmvae, fit_seconds = load_or_fit_gmvae(args.dataset, X, args.k, random_state=train_seed, device=args.device,
                                           refit=not args.reuse_model, **params)
    if fit_seconds is None:
        return gmvae, recorded_fit_seconds(cache_path(args.dataset, args.k, train_seed, **params)), True
    return gmvae, fit_seconds, False


def route_matrix(features):
    """The route search's precomputed features from the benchmark's, and the columns of each block.

    Parameters
    ----------
    features : dict of str to ndarray
        With ``'posterior'``, ``'latent'`` (unit-length codes) and ``'umap-posterior'``.

    Returns
    -------
    matrix : ndarray of shape (n_rows, n_columns)
    blocks : dict of str to slice
        ``RouteSearchCV(feature_blocks=...)``: the columns of ``'posterior'``, ``'latent'`` and ``'umap'``.
    """
    parts = [np.asarray(features[ROUTE_FEATURES[name]], dtype=np.float64) for name in ROUTE_FEATURES]
    edges = np.cumsum([0] + [part.shape[1] for part in parts])
    blocks = {name: slice(int(start), int(stop)) for name, start, stop in zip(ROUTE_FEATURES, edges[:-1], edges[1:])}
    return np.hstack(parts), blocks


def cross_validated_route_records(features, y, counts, n_seeds, *, test_features=None, y_test=None,
                                  random_state=0, cv=5, n_jobs=None, routes="auto"):
    """The ``cross-validated route`` row: on each draw, the route the search picks on the labeled rows alone.

    Each draw runs ``RouteSearchCV('precomputed', routes, random_state=<draw seed>)`` on the features the
    model's candidates were encoded to once. It differs from a ``RouteSearchCV.fit`` on the images in one
    way: the UMAP mixture is the model's one (``UMAPMixture(k, random_state=0)`` fitted once on the
    candidates' codes), not one seeded by each draw, so the 'umap-soft' route is there whatever the number
    of rows.

    Parameters
    ----------
    features : dict of str to ndarray
        The benchmark's features on the label candidates (see :func:`route_matrix`).
    y : ndarray of shape (n_rows,)
        The candidates' labels.
    counts : sequence of int
    n_seeds : int
        Draws per count; draw ``s`` is ``draw_labeled_rows(n_rows, n_labels, random_state + s)``, as in
        :func:`skgmvae.evaluation.label_efficiency`, and its search is seeded ``random_state + s``.
    test_features : dict of str to ndarray, optional
        The same features on held-out rows.
    y_test : ndarray, optional
    random_state : int, default=0
    cv : int, default=5
    n_jobs : int or None, default=None
        Parallel fits of each search.
    routes : 'auto' or list of str, default='auto'
        The routes searched, as ``RouteSearchCV(routes=...)``.

    Returns
    -------
    list of dict
        Records as :func:`skgmvae.evaluation.label_efficiency` writes them (``split`` 'rest' or 'test'),
        with ``method`` :data:`CV_ROUTE`, ``chosen_route``, ``cv_score``, ``cv_score_std`` (NaN after a
        fallback) and ``fallback`` (whether the search fell back to one route for lack of labels).
    """
    y = np.asarray(y)
    matrix, blocks = route_matrix(features)
    test_matrix = None if test_features is None else route_matrix(test_features)[0]
    records = []
    for n_labels in counts:
        for seed in range(n_seeds):
            labeled = draw_labeled_rows(len(y), n_labels, random_state + seed)
            rest = np.setdiff1d(np.arange(len(y)), labeled)
            y_semi = np.full(len(y), -1, dtype=semi_supervised_dtype(y.dtype))
            y_semi[labeled] = y[labeled]
            search = RouteSearchCV("precomputed", routes, feature_blocks=blocks, cv=cv,
                                   random_state=random_state + seed, n_jobs=n_jobs)
            with warnings.catch_warnings():
                # The fallback's warning (recorded below) and the splitter's note on classes never scored.
                warnings.simplefilter("ignore", UserWarning)
                search.fit(matrix, y_semi)
            info = {"chosen_route": search.best_route_, "cv_score": search.best_score_,
                    "cv_score_std": search.best_score_std_, "fallback": search.fallback_reason_ is not None}
            base = {"method": CV_ROUTE, "n_labels": n_labels, "seed": seed}
            with np.errstate(invalid="ignore", divide="ignore"):
                records.append({**base, "split": "rest",
                                "accuracy": float(np.mean(search.predict(matrix[rest]) == y[rest])), **info})
                if test_matrix is not None:
                    records.append({**base, "split": "test",
                                    "accuracy": float(np.mean(search.predict(test_matrix) == y_test)), **info})
    return records


def with_run(records, train_seed, split, held_out):
    """Records of one model, tagged with its training seed and protocol split; held-out rows named."""
    return [{"method": row["method"], "n_labels": row["n_labels"], "train_seed": train_seed, "seed": row["seed"],
             "protocol_split": split, "split": held_out if row["split"] == "test" else row["split"],
             "accuracy": row["accuracy"], "chosen_route": row.get("chosen_route", ""),
             "cv_score": row.get("cv_score", ""), "fallback": row.get("fallback", "")} for row in records]


def evaluate(args, data, part, models, out):
    """Every method and the cross-validated route, at every count and draw, for each training seed's model."""
    X = data["X_pool"]
    X_candidates, y_candidates = X[part.candidates], data["y_pool"][part.candidates]
    counts = args.labels or SETTINGS[args.dataset]["counts"]
    methods = build_methods(args.k, 0, args.n_jobs)
    independent = {name: method for name, method in methods.items()
                   if method[1] in FEATURES_INDEPENDENT_OF_THE_GMVAE}
    if args.skip_baselines:
        methods = {name: method for name, method in methods.items() if name not in independent}
        independent = {}
    order = list(methods) + [CV_ROUTE]
    reused = (reusable_records(out / "records.csv", methods, counts, args.seeds, args.split)
              if args.reuse_baselines else [])
    reused_methods = sorted({row["method"] for row in reused})
    if reused_methods:
        print(f"reusing the records of {', '.join(reused_methods)} from {out / 'records.csv'}")
    independent_of = independent_feature_maker(X, X_candidates, args.k)
    independent_candidates = independent_of(X_candidates)
    independent_test = None if part.X_test is None else independent_of(part.X_test)
    common = dict(n_seeds=args.seeds, y_test=part.y_test, random_state=part.draw_seed, verbose=True)
    # The methods that do not read the GMVAE give the same accuracy on every training seed's model: they
    # are run once and their rows repeated for each seed, so that every pair of methods is paired.
    baseline = reused + label_efficiency(
        independent_candidates, y_candidates,
        {name: method for name, method in independent.items() if name not in reused_methods}, counts,
        test_features=independent_test, **common)
    records, purity = [], []
    y_scored = y_candidates if part.y_test is None else np.concatenate([y_candidates, part.y_test])
    for train_seed, gmvae in models.items():
        gmvae_of = gmvae_feature_maker(gmvae, X_candidates)
        candidate_features = gmvae_of(X_candidates)
        test_features = None if part.X_test is None else gmvae_of(part.X_test)
        for clustering, feature_name in (("GMVAE q(c|x)", "posterior"), ("UMAPMixture", "umap-posterior")):
            Q = candidate_features[feature_name]
            Q = Q if test_features is None else np.vstack([Q, test_features[feature_name]])
            purity.append({"protocol_split": args.split, "train_seed": train_seed, "clustering": clustering,
                           "n_clusters": Q.shape[1], "n_images": len(y_scored),
                           "purity": cluster_purity(Q, y_scored)})
        own = {name: method for name, method in methods.items() if name not in independent}
        runs = label_efficiency(candidate_features, y_candidates, own, counts, test_features=test_features,
                                **common)
        runs += cross_validated_route_records(candidate_features, y_candidates, counts, args.seeds,
                                              test_features=test_features, y_test=part.y_test,
                                              random_state=part.draw_seed, cv=args.cv, n_jobs=args.n_jobs,
                                              routes=args.cv_routes or "auto")
        records += with_run(baseline + runs, train_seed, args.split, part.held_out)
    records.sort(key=lambda row: (order.index(row["method"]), row["train_seed"]))  # stable: counts, draws
    return records, reused_methods, purity


def report(args, argv, data, part, models, fit_info, records, reused_methods, purity, out):
    """The CSV files, the figures and results.md."""
    summary = summarize_over_seeds(records)
    paired = paired_rows(records)
    draws = f"{part.draw_seed}-{part.draw_seed + args.seeds - 1}"
    run = provenance(command_line(NAME, argv), protocol_split=args.split,
                     seeds=f"training seeds {' '.join(map(str, models))}; label draw seeds {draws}")
    for name, rows in (("records", records), ("purity", purity), ("summary", summary), ("paired", paired),
                       ("ties", ties_with_best(summary, paired)), ("routes", route_counts(records, CV_ROUTE))):
        write_csv(out / f"{name}.csv", rows, run)
    main_split = part.held_out or "rest"
    save_label_efficiency_figure(summary, out / "accuracy.png",
                                 f"{args.dataset} ({args.split} split): accuracy vs random labels "
                                 f"(K={args.k}, {args.seeds} draws x {len(models)} training seeds)",
                                 split=main_split)
    first_seed, first_model = next(iter(models.items()))
    save_training_figure(first_model, out / "training.png",
                         f"{args.dataset}: GMVAE training (K={args.k}, training seed {first_seed})")
    rows_text = {"rest": f"the unlabeled rest of the {len(part.candidates)} label candidates",
                 "validation": f"the {len(part.y_test) if part.y_test is not None else 0} validation images",
                 "test": "the held-out test set"}
    lines = [
        f"# Label efficiency on {args.dataset}, {args.split} split", "",
        f"Command: `{run['command']}`  ",
        *([f"The rows of {', '.join(reused_methods)} (which do not read the GMVAE) were reused from "
           "the previous run's records.csv, same split, counts and draws.  "] if reused_methods else []),
        f"Commit, machine and date: the provenance columns of the CSVs; device {first_model.device_}.", "",
        f"Labels are drawn from {len(part.candidates)} label candidates (`benchmarks/_protocol.py`, "
        f"{args.split} split; draw s is seeded {part.draw_seed} + s).", "",
    ]
    for train_seed, gmvae in models.items():
        usage = np.sort(gmvae.component_usage_)[::-1]
        fit_seconds, from_cache = fit_info[train_seed]
        n_epochs_total = gmvae.n_epochs_ + len(gmvae.pretrain_history_)
        fit_text = ("taken from the cache (fit time not recorded)" if fit_seconds is None else
                    f"fit in {fit_seconds:.0f} s ({fit_seconds / max(1, n_epochs_total):.1f} s per epoch)"
                    + (" in the run that cached it" if from_cache else ""))
        lines += [f"- Training seed {train_seed}: GMVAE (k={args.k}) on {len(data['X_pool'])} unlabeled images, "
                  f"{fit_text}; {gmvae.n_epochs_} epochs + {len(gmvae.pretrain_history_)} pretraining epochs; "
                  f"{gmvae.n_components_used_:.1f} of {args.k} components in effective use (largest component "
                  f"{100 * usage[0]:.1f}% of the mass, smallest {100 * usage[-1]:.2f}%)."]
    lines += ["", "The latent rows feed the latent means scaled to unit length (`GMVAETransformer(output='latent')`, "
              "then `Normalizer()`) to the estimator named; the UMAPMixture row soft-decodes the posterior of "
              f"`UMAPMixture(k={args.k}, random_state=0)` fitted on the candidates' codes. "
              f"`{CV_ROUTE}` picks a route per draw by {args.cv}-fold cross-validation on the labeled rows of "
              "that draw (`routes.csv`: how often each route was picked). Two methods whose paired difference "
              "(`paired.csv`) has a 95% interval holding 0 are tied (`ties.csv`).", ""]
    lines += [f"Cluster purity (`purity.csv`: share of the {purity[0]['n_images']} images of the split whose "
              "most probable cluster's majority label is their own; labels used only to score), by training seed: "
              + "; ".join(f"{row['clustering']} {100 * row['purity']:.1f}% (seed {row['train_seed']})"
                          for row in purity) + ".", ""]
    for name in ["rest"] + ([part.held_out] if part.held_out else []):
        lines += [f"## Accuracy (%) on {rows_text[name]}, mean ± 95% CI over {args.seeds} draws x "
                  f"{len(models)} training seeds", "", format_table(summary, split=name), ""]
        if len(models) > 1:
            seed_table = [{**row, "ci": row["seed_sd"]} for row in summary]
            lines += ["Mean ± standard deviation over the training seeds' means:", "",
                      format_table(seed_table, split=name), ""]
    picks = route_counts(records, CV_ROUTE)
    if picks:
        lines += ["## Routes picked by the cross-validated route (times out of all draws and training seeds)", "",
                  "| labels | route | times |", "|---|---|---|"]
        lines += [f"| {row['n_labels']} | {row['chosen_route']} | {row['times']} of {row['runs']} |" for row in picks]
        lines += [""]
    (out / "results.md").write_text("\n".join(lines))
    print("\n".join(lines))


def smallest(out):
    """The smallest configuration: digits, a small model, one count, one draw."""
    return ["--dataset", "digits", "--k", "6", "--max-epochs", "1", "--pretrain-epochs", "1", "--seeds", "1",
            "--labels", "60", "--cv", "3", "--out", str(out)]


def main(argv=None):
    parser = suite_parser(NAME, __doc__)
    parser.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    parser.add_argument("--data-dir", default=None)
    add_split_argument(parser, "report")
    parser.add_argument("--seeds", type=int, default=5, help="random label draws per count")
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0],
                        help="training seeds of the GMVAE (random_state), each fitted and cached (default: 0)")
    parser.add_argument("--labels", type=int, nargs="+", default=None)
    parser.add_argument("--k", type=int, default=GMVAETransformer().k)
    parser.add_argument("--cv", type=int, default=5, help="folds of the cross-validated route (default: 5)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="threads of the neighbour searches of LabelSpreading and parallel fits of the "
                             "cross-validated route's search (results do not depend on it)")
    parser.add_argument("--max-epochs", type=int, default=None, help="GMVAE epochs (smoke runs; default: package's)")
    parser.add_argument("--pretrain-epochs", type=int, default=None, help="pretraining epochs (smoke runs)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None,
                        help="output folder (default benchmarks/results/<dataset>, plus development/ for that split)")
    parser.add_argument("--reuse-model", action="store_true", help="take the GMVAEs from the model cache when there")
    parser.add_argument("--cv-routes", nargs="+", default=None, choices=list(builtin_routes()),
                        help="routes of the cross-validated route, in order of preference (default: 'auto')")
    parser.add_argument("--skip-baselines", action="store_true",
                        help="run only the routes from the GMVAE (e.g. to compare them on the development split)")
    parser.add_argument("--reuse-baselines", action="store_true",
                        help="take the records of the methods that do not read the GMVAE (pixels, PCA, KMeans) "
                             "from the output folder's records.csv of an earlier run with the same split, counts "
                             "and draws")
    args = parser.parse_args(argv)
    out = results_dir(args.dataset, args.out, args.split)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    part = protocol_split(data, args.split)
    print(f"{args.dataset}, {args.split} split: pool {data['X_pool'].shape}, label candidates "
          f"{len(part.candidates)}, held-out rows {None if part.X_test is None else part.X_test.shape}")
    models, fit_info = {}, {}
    for train_seed in args.train_seeds:
        gmvae, fit_seconds, from_cache = fit(args, data["X_pool"], train_seed)
        models[train_seed], fit_info[train_seed] = gmvae, (fit_seconds, from_cache)
    records, reused_methods, purity = evaluate(args, data, part, models, out)
    report(args, argv, data, part, models, fit_info, records, reused_methods, purity, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
