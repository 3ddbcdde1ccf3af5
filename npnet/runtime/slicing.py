"""How much of a batch the engine works on at once: speed only, never a number it computes.

Two kinds of slice keep the working set in cache (measured in docs/perf.md):
- ``image_slices``: a Conv2D gathers, multiplies and activates its patches a few MB at a time
  (``SLICE_BYTES``), so they are still in L2/L3 when the matrix product reads them.
- ``SLICE_IMAGES``: the cache-free inference forward (``npnet.engine.inference``) runs each slice of
  this many images through every layer before the next slice starts.
"""

#: Patches gathered per slice of the batch: a few MB, so that they are still in the 32 MB L3 cache
#: (mostly in L2) when the matrix product reads them.
SLICE_BYTES = 4 * 2**20

#: images per slice of the inference forward: the seed net's largest slice array (conv2d_1's
#: patches, 97 KB per image) then stays in L2/L3.
SLICE_IMAGES = 32

#: at most this many bytes of one slice's largest arrays: a net far wider than the seed's runs in
#: slices of fewer images (down to one), so that its memory grows with the image, not the batch
SLICE_MEMORY = 64 * 2**20


def images_per_slice(bytes_per_image):
    """``SLICE_IMAGES``, or fewer when a slice of that many would take more than ``SLICE_MEMORY``."""
    return max(1, min(SLICE_IMAGES, SLICE_MEMORY // max(1, bytes_per_image)))


def image_slices(count, bytes_per_image):
    """Slices of ``count`` images whose patches take about ``SLICE_BYTES``: gathered, multiplied and
    activated one slice at a time, the patches are still in cache when the product reads them."""
    step = max(1, SLICE_BYTES // bytes_per_image)
    return [slice(start, min(start + step, count)) for start in range(0, count, step)]
