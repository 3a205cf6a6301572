"""
=================================
Choosing which images to label
=================================

Random labels waste effort: several may land in the same cluster while others get none. With a fitted
GMVAE, :func:`skgmvae.suggest_labels` proposes images whose codes cover the others: each pick is the
image that most raises how close every image lies to some chosen one, so a few labels spread over the
clusters of the codes, one typical image each, and more labels fill them. Here on digits with K=30.
"""

# %%
# The images to label first
# -------------------------
import matplotlib.pyplot as plt
import numpy as np

from skgmvae import ClusterLabelDecoder, GMVAETransformer, suggest_labels
from skgmvae.datasets import load_digits_dataset
from skgmvae.plotting import plot_image_grid

digits = load_digits_dataset()
X, y = digits.X_train, digits.y_train
gmvae = GMVAETransformer(k=30, random_state=0).fit(X)
chosen = suggest_labels(gmvae, X, 30)

fig, ax = plt.subplots(figsize=(6, 2.2))
plot_image_grid(
    X[chosen],
    (8, 8),
    ax=ax,
    n_columns=10,
    title="the first 30 images to label",
)
fig.tight_layout(pad=0.3)
plt.show()
# How many of the 30 suggested images are of each digit 0..9: typical images spread over the clusters cover every
# class, where 30 random images often miss one.
print("suggested images per digit 0..9:", np.bincount(y[chosen], minlength=10))

# %%
# Suggested against random labels
# -------------------------------
# Soft-decoding accuracy on the images not labeled, for growing budgets; random labels are averaged
# over ten draws.
Q = gmvae.transform(X)


def accuracy(labeled):
    rest = np.setdiff1d(np.arange(len(X)), labeled)
    return (
        ClusterLabelDecoder()
        .fit(Q[labeled], y[labeled])
        .score(Q[rest], y[rest])
    )


budgets = [10, 15, 30, 60, 90]
suggested = [accuracy(suggest_labels(gmvae, X, n)) for n in budgets]
random = [
    [
        accuracy(np.random.RandomState(s).choice(len(X), n, replace=False))
        for s in range(10)
    ]
    for n in budgets
]

fig, ax = plt.subplots(figsize=(6, 4))
ax.errorbar(
    budgets,
    100 * np.mean(random, axis=1),
    yerr=100 * np.std(random, axis=1),
    marker="o",
    capsize=3,
    label="random labels (mean ± sd)",
)
ax.plot(budgets, 100 * np.array(suggested), marker="s", label="suggest_labels")
ax.set_xlabel("number of labels")
ax.set_ylabel("accuracy on the other images (%)")
ax.set_title("Digits, K=30")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Rounds that build on the labels in hand
# ---------------------------------------
# Give the labels collected so far as ``y`` (-1: unlabeled): the next round never asks for a labeled image
# again and goes where those labels leave images uncovered.
y_in_hand = np.full(len(X), -1)
y_in_hand[chosen] = y[chosen]  # the first round, labeled
second = suggest_labels(gmvae, X, 30, y=y_in_hand)
print("second round asks again for", np.isin(second, chosen).sum(), "labeled images")
y_in_hand[second] = y[second]
print(f"accuracy after two rounds of 30: {100 * accuracy(np.flatnonzero(y_in_hand != -1)):.1f}%")
