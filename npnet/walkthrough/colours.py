"""The walkthrough's two colour scales, as 256 RGB colours each, both readable without colour vision.

- forward (activations): grey, black = 0 (or the most negative value) to white = the layer's largest;
- backward (gradients): diverging around 0, and its lightness rises from one end to the other: dark blue
  = the most negative, mid grey = 0, light orange = the most positive. Printed in grey, or seen without
  colour vision, a darker pixel is still a more negative gradient (a red-white-blue scale would show
  both signs as the same dark). Built in CIELAB: lightness L* linear in the value, the hue only on top.
"""
import numpy as np

# the backward scale in CIELAB: L* from DARK to LIGHT; chroma growing away from 0, blue below, orange above
DARK, LIGHT = 14.0, 94.0
CHROMA = 48.0
BLUE_HUE, ORANGE_HUE = 265.0, 70.0           # degrees in the a*b* plane


def lab_to_srgb(L, a, b):
    """CIELAB (D65) -> sRGB in 0..1, clipped to the gamut. Arrays of any shape."""
    fy = (L + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200

    def inverse(f):
        return np.where(f ** 3 > 216 / 24389, f ** 3, (116 * f - 16) / (24389 / 27))

    xyz = np.stack([0.95047 * inverse(fx), 1.0 * inverse(fy), 1.08883 * inverse(fz)], axis=-1)
    to_rgb = np.array([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
                       [0.0556434, -0.2040259, 1.0572252]])
    linear = np.clip(xyz @ to_rgb.T, 0, 1)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def luminance(rgb):
    """Relative luminance (WCAG) of sRGB colours in 0..255, shape (..., 3) -> (...)."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def forward_palette():
    """256 greys, black to white: [[r, g, b], ...]."""
    return [[v, v, v] for v in range(256)]


def backward_palette():
    """256 colours for -m .. 0 .. +m (entry 128 ~ 0): lightness linear from dark blue to light orange."""
    t = np.linspace(0.0, 1.0, 256)
    s = 2 * t - 1                                                   # -1 .. 1
    L = DARK + (LIGHT - DARK) * t
    chroma = CHROMA * np.abs(s) ** 0.8
    hue = np.radians(np.where(s < 0, BLUE_HUE, ORANGE_HUE))
    rgb = lab_to_srgb(L, chroma * np.cos(hue), chroma * np.sin(hue))
    return np.round(rgb * 255).astype(int).tolist()
