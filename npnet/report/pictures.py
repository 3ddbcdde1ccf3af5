"""The report's pictures, as PNG data URIs (``data:image/png;base64,...``): the page fetches nothing.

Small on purpose, so that a page of a hundred mistakes, each with every method's heatmaps, stays a few
megabytes:
- an input image is its own 32x32 pixels; the page enlarges it with nearest-neighbour pixels (CSS
  ``image-rendering: pixelated``), as the figures draw it;
- a heatmap is an 8-bit palette PNG: pixel value = round(255 * map / scale), clipped to 0..255, the
  palette the figures' heatmap colours (``plots.HEATMAP``, 'inferno': its lightness rises from black
  to pale yellow, so the map keeps its order printed in grey); the page lays it over the image;
- a signed map (a mistake's contrastive Grad-CAM) is an 8-bit palette PNG too: pixel value =
  round(127.5 + 127.5 * map / scale), clipped to 0..255, in the figures' diverging colours
  (``plots.DIVERGING``, 'RdBu_r': white at 0, red above, blue below), scale = max |map|;
- a layer's feature maps are one mosaic (``plots.tile``) in a grey palette, one scale for the layer.
"""
import base64
import io

import numpy as np
from matplotlib import colormaps
from PIL import Image

from ..explain.plots import DIVERGING, HEATMAP, tile
from ..io.files import render_png

GAP_COLOUR = (48, 96, 160)        # between the feature maps of a mosaic (as ``plots.feature_grid``)


def data_uri(png_bytes):
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def encode(picture):
    """A PIL image -> PNG data URI (zlib at its best compression: the pictures are tiny)."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return data_uri(buffer.getvalue())


def palette(name):
    """The 256 colours of a matplotlib colour map as a flat [r, g, b, r, g, b, ...] list of ints."""
    colours = colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3]
    return [int(v) for v in np.round(colours * 255).astype(np.uint8).ravel()]


_PALETTES = {}


def _palette(name):
    if name not in _PALETTES:
        _PALETTES[name] = palette(name)
    return _PALETTES[name]


def image_uri(image):
    """An RGB uint8 image (H, W, 3) -> its PNG, pixel for pixel."""
    return encode(Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), "RGB"))


def levels(values, scale):
    """values (any shape) -> uint8 levels round(255 * values / scale), clipped to 0..255; a scale of
    0 (an all-zero map) gives level 0 everywhere."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if not scale > 0:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip(np.round(255.0 * values / scale), 0, 255).astype(np.uint8)


def indexed_uri(indices, colours):
    """uint8 indices (H, W) and a flat palette -> an 8-bit palette PNG."""
    picture = Image.fromarray(np.ascontiguousarray(indices, dtype=np.uint8), "P")
    picture.putpalette(colours)
    return encode(picture)


def heatmap_uri(heatmap, scale):
    """A map (H, W) on the colour scale 0..``scale`` -> palette PNG ('inferno')."""
    return indexed_uri(levels(heatmap, scale), _palette(HEATMAP))


def colorbar_uri(height=128):
    """The heatmap colour scale as one column of ``height`` pixels: the top value at the top, 0 at
    the bottom."""
    return indexed_uri(np.round(np.linspace(255, 0, height))[:, None].astype(np.uint8), _palette(HEATMAP))


def signed_levels(values, scale):
    """values (any shape) -> uint8 levels round(127.5 + 127.5 * values / scale), clipped to 0..255:
    -scale is 0, 0 the middle (128), +scale 255; a scale of 0 gives the middle everywhere."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if not scale > 0:
        return np.full(values.shape, 128, dtype=np.uint8)
    return np.clip(np.round(127.5 + 127.5 * values / scale), 0, 255).astype(np.uint8)


def signed_uri(values, scale):
    """A signed map (H, W) on the colour scale -``scale``..``scale`` -> palette PNG ('RdBu_r')."""
    return indexed_uri(signed_levels(values, scale), _palette(DIVERGING))


def signed_colorbar_uri(height=128):
    """The diverging colour scale as one column: +scale (red) at the top, -scale (blue) at the bottom."""
    return indexed_uri(np.round(np.linspace(255, 0, height))[:, None].astype(np.uint8), _palette(DIVERGING))


def pixels_uri(pixels):
    """Float pixels (H, W, 3) in 0..255 (an attacked image) -> the PNG of the nearest uint8 image."""
    return image_uri(np.clip(np.round(pixels), 0, 255).astype(np.uint8))


def mosaic_uri(maps, columns=None):
    """One layer's feature maps (h, w, C) as a grey mosaic, ``columns`` maps a row (default: about
    twice as wide as tall), one scale 0..the layer's largest activation; the gaps in blue.
    Returns (uri, columns, scale)."""
    h, w, C = maps.shape
    columns = columns or int(np.ceil(np.sqrt(2 * C)))
    mosaic = tile(np.asarray(maps, dtype=np.float32), columns)
    gaps = np.isnan(mosaic)
    scale = float(np.max(maps)) if np.max(maps) > 0 else 1.0
    indices = levels(np.where(gaps, 0.0, mosaic), scale).astype(np.int32) * 254 // 255   # 0..254
    indices[gaps] = 255
    grey = [v for level in range(255) for v in (level * 255 // 254,) * 3] + list(GAP_COLOUR)
    return indexed_uri(indices.astype(np.uint8), grey), columns, scale


def figure_uri(figure, dpi=100):
    """A matplotlib Figure -> PNG data URI."""
    buffer = io.BytesIO()
    render_png(figure, buffer, dpi)
    return data_uri(buffer.getvalue())
