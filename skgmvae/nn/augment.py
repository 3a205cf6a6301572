"""Random distortions of image batches: small affine maps (rotation, shift, scale), optionally a left-right
mirror."""

import math

import torch
from torch.nn import functional as F


class RandomAffine:
    """Distorts flattened square images with a random affine map per image.

    Parameters
    ----------
    image_shape : tuple of int
        (height, width) of one image; ``n_features == height * width``.
    max_rotation : float
        Largest rotation, in degrees, either way.
    max_shift : float
        Largest shift, as a fraction of the image size, either way.
    scale_range : tuple of float
        Smallest and largest zoom factor.
    mirror : bool, default=False
        Also mirror half of the images left to right, for images whose class
        survives it (clothes, most photographs; not letters or digits).
    """

    def __init__(self, image_shape, max_rotation=12.0, max_shift=0.08, scale_range=(0.9, 1.1), mirror=False):
        self.image_shape = tuple(image_shape)
        self.max_rotation = max_rotation
        self.max_shift = max_shift
        self.scale_range = scale_range
        self.mirror = mirror

    def _uniform(self, n, low, high, generator, device):
        return low + (high - low) * torch.rand(n, generator=generator, device=device)

    def __call__(self, x, generator=None):
        """Distort a batch.

        Parameters
        ----------
        x : Tensor of shape (batch, height * width)
        generator : torch.Generator, optional

        Returns
        -------
        Tensor of shape (batch, height * width), values still in [0, 1].
        """
        n, device = x.shape[0], x.device
        angle = self._uniform(n, -1.0, 1.0, generator, device) * math.radians(self.max_rotation)
        scale = self._uniform(n, *self.scale_range, generator, device)
        shift = self._uniform(2 * n, -1.0, 1.0, generator, device).view(n, 2) * 2 * self.max_shift
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack(
            [torch.stack([cos, -sin, shift[:, 0]], -1), torch.stack([sin, cos, shift[:, 1]], -1)], 1
        )
        if self.mirror:
            # Negating the column that multiplies the output's x coordinate mirrors the image left to right.
            side = torch.where(torch.rand(n, generator=generator, device=device) < 0.5, -1.0, 1.0)
            theta = torch.cat([theta[:, :, :1] * side.view(n, 1, 1), theta[:, :, 1:]], dim=2)
        images = x.view(n, 1, *self.image_shape)
        grid = F.affine_grid(theta, images.shape, align_corners=False)
        warped = F.grid_sample(images, grid, align_corners=False, padding_mode="zeros")
        return warped.reshape(n, -1).clamp(0.0, 1.0)
