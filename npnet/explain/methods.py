"""Every explanation method behind two verbs, and the list of them.

    cam(model, images, method, classes=None, layer=None, upsample=True, preprocessing=None, contrast=None,
        **options)
        -> float32 (N, H, W), or (N, h, w) at the layer's resolution with upsample=False:
           raw maps after the final ReLU, never normalized
    attribution(model, images, method, classes=None, preprocessing=None, contrast=None, **options)
        -> float32 (N, H, W, C): one value per input value of the model's input (the preprocessed image)

``contrast``: a class b (or one per image): every method then explains why c and not b, its target
y^c - y^b (p^c - p^b for Score-CAM and RISE; the drop of y^c - y^b for occlusion and Ablation-CAM); each
family's file says how. Eigen-CAM reads no class and ignores it.

``METHODS`` maps each name to (family, one-line description). Each family lives in its own file and
its functions take the method's options as keyword arguments; an unknown method, option or layer is
an ``NpnetError`` that lists the valid ones.
"""
import inspect
from collections import namedtuple

import numpy as np

from ..io.errors import NpnetError
from ..data.preprocessing import preprocess
from . import cams, gradients, perturbation, rise
from . import deeplift, relevance
from .gradcam import bilinear_upsample, target_layer
from .inputs import check_images

Method = namedtuple("Method", "family description function")

CAM_METHODS = {
    "gradcam": Method("cam", "channel weights = mean gradient (Selvaraju 2017)", cams.gradcam),
    "gradcam++": Method("cam", "weights from second- and third-order gradient terms (Chattopadhay 2018)",
                        cams.gradcam_plus_plus),
    "xgradcam": Method("cam", "gradients averaged with the activations as weights (Fu 2020)", cams.xgradcam),
    "hirescam": Method("cam", "gradient times activation at every position, then the channel sum (Draelos 2020)",
                       cams.hirescam),
    "layercam": Method("cam", "positive gradient times activation at every position (Jiang 2021)", cams.layercam),
    "scorecam": Method("cam", "weights = class probability of the image masked by each channel (Wang 2020)",
                       perturbation.scorecam),
    "ablationcam": Method("cam", "weights = relative drop of the logit when a channel is zeroed (Desai 2020)",
                          perturbation.ablationcam),
    "eigencam": Method("cam", "projection on the first principal component of the activations (Muhammad 2020)",
                       cams.eigencam),
}
ATTRIBUTION_METHODS = {
    "saliency": Method("gradient", "dy^c/dx, signed (Simonyan 2014)", gradients.saliency),
    "input_x_gradient": Method("gradient", "x * dy^c/dx (Shrikumar 2016)", gradients.input_x_gradient),
    "guided_backprop": Method("gradient", "ReLUs pass back only positive gradients of active units "
                              "(Springenberg 2015)", gradients.guided_backprop),
    "deconvnet": Method("gradient", "ReLUs pass back only positive gradients (Zeiler 2014)", gradients.deconvnet),
    "guided_gradcam": Method("gradient", "guided backprop times the upsampled Grad-CAM map (Selvaraju 2017)",
                             gradients.guided_gradcam),
    "lrp_epsilon": Method("gradient", "layer-wise relevance propagation, Epsilon rule on every layer with weights "
                          "(Bach 2015; zennit)", relevance.lrp_epsilon),
    "lrp_epsilon_plus_flat": Method("gradient", "LRP: Flat on the first layer, ZPlus on the convs, Epsilon on the "
                                    "dense layers (zennit EpsilonPlusFlat)", relevance.lrp_epsilon_plus_flat),
    "lrp_epsilon_alpha2_beta1_flat": Method("gradient", "LRP: Flat on the first layer, Alpha2-Beta1 on the convs, "
                                            "Epsilon on the dense layers (zennit EpsilonAlpha2Beta1Flat)",
                                            relevance.lrp_epsilon_alpha2_beta1_flat),
    "lrp_epsilon_gamma_box": Method("gradient", "LRP: ZBox on the first conv, Gamma on the others, Epsilon on the "
                                    "dense layers (Montavon 2019; zennit EpsilonGammaBox)",
                                    relevance.lrp_epsilon_gamma_box),
    "deeplift": Method("gradient", "(x - x') times multipliers of differences from the baseline, rescale rule "
                       "(Shrikumar 2017; Captum DeepLift)", deeplift.deeplift),
    "integrated_gradients": Method("path", "(x - x') times the mean gradient on the straight path from x' "
                                   "(Sundararajan 2017)", gradients.integrated_gradients),
    "smoothgrad": Method("noise", "saliency averaged over noisy copies (Smilkov 2017)", gradients.smoothgrad),
    "smoothgrad_squared": Method("noise", "squared saliency averaged over noisy copies (Hooker 2019)",
                                 gradients.smoothgrad_squared),
    "occlusion": Method("perturbation", "logit drop when a sliding window is set to a baseline (Zeiler 2014)",
                        perturbation.occlusion),
    "rise": Method("perturbation", "sum of random masks weighted by p^c of the masked image (Petsiuk 2018)",
                   rise.rise),
}
METHODS = {name: (m.family, m.description) for name, m in {**CAM_METHODS, **ATTRIBUTION_METHODS}.items()}


def lookup(method, table, verb):
    """The Method named ``method`` in ``table``, or an NpnetError listing the valid names."""
    if method not in table:
        other = "attribution" if verb == "cam" else "cam"
        hint = f" ({method!r} is an {other} method)" if method in METHODS and verb == "cam" else \
            f" ({method!r} is a {other} method)" if method in METHODS else ""
        raise NpnetError(f"unknown {verb} method {method!r}{hint}; choose one of: {', '.join(table)}")
    return table[method]


def option_names(function):
    """The keyword-only options a method's function takes (its tunable settings)."""
    return [name for name, p in inspect.signature(function).parameters.items() if p.kind == p.KEYWORD_ONLY]


def check_options(method, function, options):
    valid = option_names(function)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        choice = ", ".join(valid) if valid else "none"
        raise NpnetError(f"method {method!r} has no option {unknown[0]!r}; its options: {choice}")


def run_method(method, function, *args, **options):
    """function(*args, **options) as float32; its errors (a bad option value, a bad class) name the method."""
    try:
        return function(*args, **options).astype(np.float32)
    except NpnetError as error:
        raise NpnetError(f"{method}: {error}") from None


def model_input(model, images, preprocessing):
    """The model's input: ``images`` preprocessed when a spec is given, then checked (``inputs``)."""
    return check_images(model, preprocess(images, preprocessing) if preprocessing is not None else images)


def cam(model, images, method="gradcam", classes=None, layer=None, upsample=True, preprocessing=None, contrast=None,
        **options):
    """Class activation maps: float32 (N, H, W) at the input size, or (N, h, w) with upsample=False.

    images        : model input (N, H, W, C), or uint8 images with ``preprocessing`` (a checkpoint's spec)
    method        : a name in ``CAM_METHODS``
    classes       : None = each image's predicted class; an int for all; or one id per image
    layer         : the layer to read (default: the last Conv2D)
    contrast      : None, or a class b (an int, or one per image): explain y^c - y^b
    options       : the method's own settings (``option_names``), e.g. batch_size for scorecam
    """
    entry = lookup(method, CAM_METHODS, "cam")
    check_options(method, entry.function, options)
    images = model_input(model, images, preprocessing)
    target = target_layer(model, layer)
    maps = run_method(method, entry.function, model, images, classes, target, contrast, **options)
    return bilinear_upsample(maps, images.shape[1:3]) if upsample else maps


def attribution(model, images, method, classes=None, preprocessing=None, contrast=None, **options):
    """Input-space attributions: float32 (N, H, W, C), one value per value of the model's input.

    images, classes, preprocessing, contrast: as for ``cam``; method: a name in ``ATTRIBUTION_METHODS``;
    options: the method's own settings (``option_names``), e.g. steps for integrated_gradients.
    """
    entry = lookup(method, ATTRIBUTION_METHODS, "attribution")
    check_options(method, entry.function, options)
    images = model_input(model, images, preprocessing)
    return run_method(method, entry.function, model, images, classes, contrast, **options)
