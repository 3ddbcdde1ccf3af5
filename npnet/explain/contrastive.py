"""Why the predicted class p and not the true class t: each method's map of the target y^p - y^t.

    contrastive_map(model, x, method, predicted, true, layer=None, **options) -> (maps (N, H, W), signed)

    gradcam        sum_k alpha_k A^k, alpha from d(y^p - y^t)/dA, WITHOUT the final ReLU
                   (``grad_cam(..., classes=p, contrast=t, relu=False)``): signed, > 0 where the
                   evidence is for p over t, < 0 where it is for t over p           signed = True
    other CAMs     ``cam(..., classes=p, contrast=t)``: after the method's own ReLU, >= 0, so only
                   the evidence for p over t                                       signed = False
    attributions   ``attribution(..., classes=p, contrast=t)`` summed over the channels, sum_c a,
                   signed (not sum_c |a|: the sign says which class a pixel argues for)  signed = True
    eigencam       reads no class, so it has no contrastive map: maps = None

Figures draw every contrastive map on the diverging colour map (``plots.DIVERGING``: white 0, red
for p, blue for t), limits symmetric around 0 (-m .. m), each map on its own scale: a one-sided map
(``signed`` False) then shows only the red half, and its title says it is after the ReLU.
"""
import numpy as np

from .gradcam import grad_cam
from .methods import ATTRIBUTION_METHODS, CAM_METHODS, attribution, cam, check_options, lookup, option_names

CLASSLESS = ("eigencam",)


def contrastive_map(model, x, method, predicted, true, layer=None, **options):
    """(maps float32 (N, H, W), signed) of the module docstring. x: the model's input (N, H, W, C);
    predicted, true: a class id each, or one per image; layer: read by CAMs (and by attributions
    that take one, e.g. guided_gradcam). maps is None for a method that reads no class (``CLASSLESS``)."""
    if method in CLASSLESS:
        check_options(method, CAM_METHODS[method].function, options)
        return None, False
    if method == "gradcam":
        check_options(method, CAM_METHODS[method].function, options)       # Grad-CAM has none
        return grad_cam(model, x, classes=predicted, layer=layer, contrast=true, relu=False), True
    if method in CAM_METHODS:
        return cam(model, x, method, classes=predicted, layer=layer, contrast=true, **options), False
    entry = lookup(method, ATTRIBUTION_METHODS, "attribution")
    if layer is not None and "layer" in option_names(entry.function):
        options = {"layer": layer, **options}
    values = attribution(model, x, method, classes=predicted, contrast=true, **options)
    return values.sum(axis=-1).astype(np.float32), True


def title_note(signed):
    """What a contrastive map's colours mean, for a title."""
    return "red: for predicted, blue: for true" if signed else "after the ReLU: only the evidence for predicted"
