"""
===========================
Why soft decoding helps
===========================

Hard decoding reads only the most probable component of an image; soft decoding compares the whole
posterior q(c|x) with each class's profile m(l). Here is a real digit that hard decoding gets wrong and
soft decoding gets right, with its posterior over components and what each component adds to each
class's soft score.
This is the article's Figure 2, on digits.
"""

# %%
# A GMVAE and a few labels
# ------------------------
import numpy as np

from skgmvae import ClusterLabelDecoder, GMVAETransformer
from skgmvae.datasets import load_digits_dataset

digits = load_digits_dataset()
X, y = digits.X_train, digits.y_train
gmvae = GMVAETransformer(k=100, random_state=0).fit(X)
resp = gmvae.transform(X)

labeled = np.random.RandomState(0).choice(len(X), 30, replace=False)
rest = np.setdiff1d(np.arange(len(X)), labeled)
hard = ClusterLabelDecoder(mode="hard").fit(resp[labeled], y[labeled])
soft = ClusterLabelDecoder(mode="soft").fit(resp[labeled], y[labeled])
hard_pred, soft_pred = hard.predict(resp[rest]), soft.predict(resp[rest])
hard_accuracy, soft_accuracy = (
    np.mean(hard_pred == y[rest]),
    np.mean(soft_pred == y[rest]),
)
print(f"30 labels: hard {hard_accuracy:.1%}, soft {soft_accuracy:.1%}")

# %%
# An image where the two disagree
# -------------------------------
# Among the images that soft gets right and hard gets wrong, take the one whose posterior is most spread
# out (highest entropy): that is where using the whole posterior matters.
candidates = rest[(soft_pred == y[rest]) & (hard_pred != y[rest])]
entropy = -(resp[candidates] * np.log(resp[candidates] + 1e-12)).sum(axis=1)
index = candidates[np.argmax(entropy)]
top = np.argsort(resp[index])[::-1][:5]
hard_label = hard.predict(resp[[index]])[0]
soft_label = soft.predict(resp[[index]])[0]
print(f"image {index}: true {y[index]}, hard {hard_label}, soft {soft_label}")
labeled_in_top = np.sum(resp[labeled].argmax(axis=1) == top[0])
print(f"labeled images whose top component is c{top[0]}: {labeled_in_top}")

# %%
# The picture
# -----------
# Left: the image. Middle: its posterior over its five most probable components. Right: the soft rule's
# score of each class, <q(x), m(l)> = sum_c q(c|x) m(l)_c, split into the part each of those five
# components contributes (the other components pooled in grey), with each total written above its bar.
# With 30 labels and 100 components most components hold no labeled image: hard decoding then names the
# top component after the class that puts the most (here tiny) posterior mass on it, and follows that
# guess. Soft decoding weighs every component by how strongly each class's labeled images use it, so a
# component of lower probability where labeled images of the true class sit outweighs the top one.
import matplotlib.pyplot as plt

profiles = soft.class_profiles_  # m(l), shape (n_classes, k)
contributions = resp[index] * profiles  # q(c|x) m(l)_c
scores = contributions.sum(axis=1)
shown = np.argsort(scores)[::-1][:4]  # the four best classes
names = [str(soft.classes_[i]) for i in shown]
colors = plt.cm.tab10(np.arange(len(top)))

fig, axes = plt.subplots(
    1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1.4, 2]}
)
axes[0].imshow(X[index].reshape(8, 8), cmap="gray_r")
axes[0].set_title(f"true label {y[index]}")
axes[0].axis("off")

axes[1].bar([f"c{c}" for c in top], resp[index, top], color=colors)
axes[1].set_title("q(c|x), top 5 components")
axes[1].set_xlabel("component")
axes[1].set_ylabel("posterior probability")

bottom = np.zeros(len(shown))
for color, component in zip(colors, top):
    part = contributions[shown, component]
    axes[2].bar(names, part, bottom=bottom, color=color, label=f"c{component}")
    bottom += part
axes[2].bar(
    names,
    scores[shown] - bottom,
    bottom=bottom,
    color="lightgrey",
    label="other components",
)
for position, score in enumerate(scores[shown]):
    axes[2].text(
        position, score, f"{score:.1e}", ha="center", va="bottom", fontsize=8
    )
axes[2].set_ylim(0, 1.15 * scores[shown].max())  # room for the totals
axes[2].set_title("soft score of each class, by component")
axes[2].set_xlabel("class l (the four best scores)")
axes[2].set_ylabel("sum over c of q(c|x) m(l)_c")
axes[2].legend(fontsize=8, bbox_to_anchor=(1.0, 1.0), loc="upper left")
fig.suptitle(f"hard predicts {hard_label}, soft predicts {soft_label}")
fig.tight_layout()
plt.show()
