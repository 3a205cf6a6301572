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
# Left: the image. Middle: its posterior over its five most probable components. Right: the soft rule's
# score of each class, <q(x), m(l)> = sum_c q(c|x) m(l)_c, split into the part each of those five
# components contributes (the rest of the components are pooled in grey). Hard decoding reads only the top
# component's majority label; soft decoding adds up the evidence of all of them, and here the evidence
# spread over the other components outweighs the top one.
import matplotlib.pyplot as plt

profiles = soft.class_profiles_  # (n_classes, k): m(l)
contributions = resp[index] * profiles  # (n_classes, k): q(c|x) m(l)_c
scores = contributions.sum(axis=1)
shown_classes = np.argsort(scores)[::-1][:4]

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1.4, 2]})
axes[0].imshow(X[index].reshape(8, 8), cmap="gray_r")
axes[0].set_title(f"true label {y[index]}")
axes[0].axis("off")
component_colors = plt.cm.tab10(np.arange(len(top)))
axes[1].bar([f"c{c}" for c in top], resp[index, top], color=component_colors)
axes[1].set_title("q(c|x), top 5 components")
axes[1].set_xlabel("component")
axes[1].set_ylabel("posterior probability")
class_names = [str(soft.classes_[i]) for i in shown_classes]
bottom = np.zeros(len(shown_classes))
for color, component in zip(component_colors, top):
    part = contributions[shown_classes, component]
    axes[2].bar(class_names, part, bottom=bottom, color=color, label=f"c{component}")
    bottom += part
axes[2].bar(class_names, scores[shown_classes] - bottom, bottom=bottom, color="lightgrey", label="other components")
axes[2].set_title("soft score of each class, by component")
axes[2].set_xlabel("class l (the four best scores)")
axes[2].set_ylabel("sum over c of q(c|x) m(l)_c")
axes[2].legend(fontsize=8, bbox_to_anchor=(1.0, 1.0), loc="upper left")
fig.suptitle(f"hard predicts {hard.predict(resp[[index]])[0]}, soft predicts {soft.predict(resp[[index]])[0]}")
fig.tight_layout()
plt.show()
