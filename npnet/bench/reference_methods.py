"""The explanation methods as pytorch-grad-cam and Captum run them: the references of ``--explain``.

Imported by ``explain_bench`` (PyTorch in npnet's process) and loaded by file path by
``explain_as_shipped.py`` (PyTorch in a fresh process), so it imports nothing of npnet and nothing
but the standard library at import time; torch, pytorch_grad_cam and captum are imported when used.

    REFERENCES[method] = (pytorch-grad-cam class or None, Captum recipe or None)
    ZENNIT[method] = zennit composite (the LRP methods)
    run = grad_cam_runner(package, "GradCAM", net, layer, x_nchw, classes)  # then time run()
    run = captum_runner("Saliency", net, layer, x_nchw, classes)
    run = zennit_runner(package, "EpsilonPlusFlat", net, x_nchw, classes)
"""
import importlib
import sys
import types

REFERENCES = {
    "gradcam": ("GradCAM", None),
    "gradcam++": ("GradCAMPlusPlus", None),
    "xgradcam": ("XGradCAM", None),
    "hirescam": ("HiResCAM", None),
    "layercam": ("LayerCAM", None),
    "scorecam": ("ScoreCAM", None),
    "ablationcam": ("AblationCAM", None),
    "eigencam": ("EigenCAM", None),
    "saliency": (None, "Saliency"),
    "input_x_gradient": (None, "InputXGradient"),
    "guided_backprop": (None, "GuidedBackprop"),
    "deconvnet": (None, "Deconvolution"),
    "guided_gradcam": (None, "GuidedGradCam"),
    "integrated_gradients": (None, "IntegratedGradients"),
    "smoothgrad": (None, "NoiseTunnel(Saliency)"),
    "smoothgrad_squared": (None, "NoiseTunnel(Saliency, sq)"),
    "occlusion": (None, "Occlusion"),
    "lrp_epsilon": (None, None),
    "lrp_epsilon_plus_flat": (None, None),
    "lrp_epsilon_alpha2_beta1_flat": (None, None),
    "lrp_epsilon_gamma_box": (None, None),
    "deeplift": (None, "DeepLift"),
}
# npnet's LRP methods -> the zennit composite computing the same (zennit.attribution.Gradient, output
# relevance one_hot on the class)
ZENNIT = {
    "lrp_epsilon": "Epsilon",       # no built-in composite: Epsilon on every Conv2d and Linear, zennit's base map
    "lrp_epsilon_plus_flat": "EpsilonPlusFlat",
    "lrp_epsilon_alpha2_beta1_flat": "EpsilonAlpha2Beta1Flat",
    "lrp_epsilon_gamma_box": "EpsilonGammaBox",
}

#: How the Captum recipes are called (printed under the bench's table).
CAPTUM_SETTINGS = ("Captum Saliency abs=False; IntegratedGradients n_steps=50; NoiseTunnel smoothgrad / "
                   "smoothgrad_sq 50 samples; Occlusion window (3,4,4) strides (3,2,2) NCHW; DeepLift baseline 0")
ZENNIT_SETTINGS = ("zennit Gradient with the composite, output relevance y * one-hot, epsilon = stabilizer = 1e-6; "
                   "EpsilonGammaBox gamma 0.25, box = the images' range")


def torchvision_stub():
    """pytorch-grad-cam and zennit import torchvision at import time only for detection targets, image
    helpers and ResNet canonizers this bench never calls; the PyPI torchvision does not load beside
    torch 2.13.0+cpu, so the explain-bench extra leaves it out and this stands in for it (in this
    process only)."""
    def unavailable(*args, **kwargs):
        raise RuntimeError("torchvision is not installed (npnet's explain bench uses a stand-in)")
    tv = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    ops = types.ModuleType("torchvision.ops")
    models = types.ModuleType("torchvision.models")
    resnet = types.ModuleType("torchvision.models.resnet")
    transforms.Compose = transforms.Normalize = transforms.ToTensor = unavailable
    functional.resize = unavailable
    ops.box_iou = unavailable
    resnet.Bottleneck = type("Bottleneck", (), {})     # zennit's canonizers only test isinstance
    resnet.BasicBlock = type("BasicBlock", (), {})
    transforms.functional = functional
    tv.transforms, tv.ops, tv.models, models.resnet = transforms, ops, models, resnet
    return {"torchvision": tv, "torchvision.transforms": transforms,
            "torchvision.transforms.functional": functional, "torchvision.ops": ops,
            "torchvision.models": models, "torchvision.models.resnet": resnet}


def import_beside_torchvision(package, label):
    """(module, note): ``package`` imported, or None with a note when it is not installed. Where its
    import fails on torchvision (absent, or a PyPI build that does not load beside torch 2.13.0+cpu:
    a RuntimeError), it is imported again with ``torchvision_stub`` standing in."""
    try:
        return importlib.import_module(package), None
    except (ImportError, RuntimeError) as error:
        if "torchvision" not in str(error):
            return None, f"{label} not installed ({error})"
    for key in [k for k in sys.modules if k.startswith(("torchvision", package))]:
        del sys.modules[key]
    sys.modules.update(torchvision_stub())
    try:
        module = importlib.import_module(package)
    except (ImportError, RuntimeError) as error:
        return None, f"{label} not importable ({error})"
    return module, f"{label} imported with a torchvision stand-in (no working torchvision)"


def import_grad_cam():
    """The pytorch_grad_cam module, or None with a note when it is not installed."""
    return import_beside_torchvision("pytorch_grad_cam", "pytorch-grad-cam")


def import_zennit():
    """The zennit module, or None with a note when it is not installed."""
    return import_beside_torchvision("zennit", "zennit")


def grad_cam_runner(package, class_name, net, layer, x, classes):
    """(cam, run): ``cam`` holds hooks on ``net`` (release them with cam.activations_and_grads.release())."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    cam = getattr(package, class_name)(model=net, target_layers=[layer])
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    return cam, (lambda: cam(input_tensor=x, targets=targets))


def captum_runner(recipe, net, layer, x, classes):
    import captum.attr as ca
    import torch
    target = torch.as_tensor([int(c) for c in classes], dtype=torch.int64)
    if recipe == "Saliency":
        method = ca.Saliency(net)
        return lambda: method.attribute(x, target=target, abs=False)
    if recipe == "GuidedGradCam":
        method = ca.GuidedGradCam(net, layer)
        return lambda: method.attribute(x, target=target)
    if recipe == "IntegratedGradients":
        method = ca.IntegratedGradients(net)
        return lambda: method.attribute(x, target=target, n_steps=50)
    if recipe == "NoiseTunnel(Saliency)":
        method = ca.NoiseTunnel(ca.Saliency(net))
        return lambda: method.attribute(x, target=target, nt_type="smoothgrad", nt_samples=50, abs=False)
    if recipe == "NoiseTunnel(Saliency, sq)":
        method = ca.NoiseTunnel(ca.Saliency(net))
        return lambda: method.attribute(x, target=target, nt_type="smoothgrad_sq", nt_samples=50, abs=False)
    if recipe == "Occlusion":
        method = ca.Occlusion(net)
        return lambda: method.attribute(x, target=target, sliding_window_shapes=(3, 4, 4), strides=(3, 2, 2))
    if recipe == "DeepLift":
        method = ca.DeepLift(net)
        return lambda: method.attribute(x, target=target, baselines=0.0)
    method = getattr(ca, recipe)(net)
    return lambda: method.attribute(x, target=target)


def zennit_composite(package, name, low=None, high=None):
    """The zennit composite ``name`` (``ZENNIT``'s values), zennit's defaults: epsilon = stabilizer = 1e-6,
    gamma 0.25; 'Epsilon' is the Epsilon rule on every Conv2d and Linear beside zennit's base layer map
    (ReLU: Pass); ``low`` and ``high`` are EpsilonGammaBox's box (numbers or tensors broadcastable to x)."""
    import torch
    composites, rules = package.composites, package.rules
    if name == "Epsilon":
        return composites.LayerMapComposite(composites.layer_map_base() + [
            (package.types.Convolution, rules.Epsilon()), (torch.nn.Linear, rules.Epsilon())])
    if name == "EpsilonGammaBox":
        return composites.EpsilonGammaBox(low=low, high=high)
    return getattr(composites, name)()


def zennit_runner(package, name, net, x, classes, low=None, high=None):
    """run() -> the relevance (N, ...) of x under the composite, from the output relevance one_hot:
    1 at each image's class in ``classes``, 0 elsewhere (the output gradient one-hot)."""
    import torch
    from zennit.attribution import Gradient
    composite = zennit_composite(package, name, low, high)
    onehot = torch.zeros(len(classes), net(x[:1]).shape[1], dtype=x.dtype)
    onehot[torch.arange(len(classes)), torch.as_tensor([int(c) for c in classes])] = 1

    def run():
        with Gradient(model=net, composite=composite) as attributor:
            return attributor(x, onehot)[1]
    return run
