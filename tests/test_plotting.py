import matplotlib
import numpy as np
import pytest

from skgmvae.plotting import plot_image_grid, plot_label_efficiency, plot_training_history

matplotlib.use("Agg")


def test_training_history_draws_elbo_and_components_in_use(fitted_gmvae):
    ax, ax_components = plot_training_history(fitted_gmvae)
    elbo_line = ax.get_lines()[0]
    np.testing.assert_allclose(elbo_line.get_ydata(), [entry["elbo"] for entry in fitted_gmvae.history_])
    used_line = ax_components.get_lines()[0]
    np.testing.assert_allclose(used_line.get_ydata(), [entry["components_used"] for entry in fitted_gmvae.history_])
    n_marked = len(ax_components.collections[0].get_offsets())
    assert n_marked == sum(entry["components_moved"] > 0 for entry in fitted_gmvae.history_)


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_training_history_of_an_unfitted_history_is_a_clear_error(digits, small_gmvae):
    X, _ = digits
    gmvae = small_gmvae(max_epochs=0, pretrain_epochs=1).fit(X[:100])
    with pytest.raises(ValueError, match="max_epochs >= 1"):
        plot_training_history(gmvae)


def test_label_efficiency_draws_one_line_per_method():
    summary = [{"method": method, "n_labels": n, "split": "rest", "mean": 0.5, "ci": 0.1}
               for method in ("soft", "hard") for n in (10, 100)]
    ax = plot_label_efficiency(summary)
    assert [line.get_label() for line in ax.get_lines()] == ["soft", "hard"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [50.0, 50.0])


def test_image_grid_tiles_images_dark_on_light():
    images = np.zeros((4, 9))
    images[0] = 1.0
    ax = plot_image_grid(images, (3, 3), n_columns=2)
    canvas = ax.get_images()[0].get_array()
    assert canvas.shape == (2 * 4 + 1, 2 * 4 + 1)
    assert canvas[1:4, 1:4].max() == 0.0 and canvas[1:4, 5:8].min() == 1.0
