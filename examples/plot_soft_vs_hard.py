"""
===========================
Why soft decoding helps
===========================

Hard decoding reads only the most probable component of an image; soft decoding compares the whole
posterior q(c|x) with each class's profile m(l). Here is a real digit that hard decoding gets wrong and
soft decoding gets right, with its posterior over components and the labels seen in those components.
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
print(f"30 labels: hard {np.mean(hard_pred == y[rest]):.1%}, soft {np.mean(soft_pred == y[rest]):.1%}")

# %%
# An image where the two disagree
# -------------------------------
# Among the images that soft gets right and hard gets wrong, take the one whose posterior is most spread
# out (highest entropy): that is where using the whole posterior matters.
candidates = rest[(soft_pred == y[rest]) & (hard_pred != y[rest])]
entropy = -(resp[candidates] * np.log(resp[candidates] + 1e-12)).sum(axis=1)
index = candidates[np.argmax(entropy)]
top = np.argsort(resp[index])[::-1][:5]
print(f"image {index}: true {y[index]}, hard says {hard.predict(resp[[index]])[0]}, "
      f"soft says {soft.predict(resp[[index]])[0]}")

# %%
# The picture
# -----------
# Left: the image. Middle: its posterior over its five most probable components. Right: for each of those
# components, the share of each class in the class profiles m(l) (how much posterior mass the labeled
# images of each class put on it). Hard decoding follows the top component only; soft decoding adds the
# evidence of all of them.
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1, 1.4, 2]})
axes[0].imshow(X[index].reshape(8, 8), cmap="gray_r")
axes[0].set_title(f"true label {y[index]}")
axes[0].axis("off")
axes[1].bar([f"c{c}" for c in top], resp[index, top], color="tab:blue")
axes[1].set_title("q(c|x), top 5 components")
profiles = soft.class_profiles_[:, top]  # (n_classes, 5)
shares = profiles / np.maximum(profiles.sum(axis=0, keepdims=True), 1e-12)
bottom = np.zeros(len(top))
colors = plt.cm.tab10(np.arange(10))
for class_index, label in enumerate(soft.classes_):
    if shares[class_index].max() > 0.05:
        axes[2].bar([f"c{c}" for c in top], shares[class_index], bottom=bottom, color=colors[label],
                    label=str(label))
    bottom += shares[class_index]
axes[2].set_title("label mix of those components (m(l) shares)")
axes[2].legend(title="class", fontsize=8, bbox_to_anchor=(1.0, 1.0))
fig.suptitle(f"hard predicts {hard.predict(resp[[index]])[0]}, soft predicts {soft.predict(resp[[index]])[0]}")
fig.tight_layout()
plt.show()
