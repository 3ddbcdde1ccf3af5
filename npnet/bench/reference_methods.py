"""The explanation methods as pytorch-grad-cam and Captum run them: the references of ``--explain``.

Imported by ``explain_bench`` (PyTorch in npnet's process) and loaded by file path by
``explain_as_shipped.py`` (PyTorch in a fresh process), so it imports nothing of npnet and nothing
but the standard library at import time; torch, pytorch_grad_cam and captum are imported when used.

    REFERENCES[method] = (pytorch-grad-cam class or None, Captum recipe or None)
    run = grad_cam_runner(package, "GradCAM", net, layer, x_nchw, classes)  # then time run()
    run = captum_runner("Saliency", net, layer, x_nchw, classes)
"""
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
}

#: How the Captum recipes are called (printed under the bench's table).
CAPTUM_SETTINGS = ("Captum Saliency abs=False; IntegratedGradients n_steps=50; NoiseTunnel smoothgrad / "
                   "smoothgrad_sq 50 samples; Occlusion window (3,4,4) strides (3,2,2) NCHW")


def torchvision_stub():
    """pytorch-grad-cam imports torchvision at import time only for detection targets and image
    helpers this bench never calls; the PyPI torchvision does not load beside torch 2.13.0+cpu, so
    the explain-bench extra leaves it out and this stands in for it (in this process only)."""
    def unavailable(*args, **kwargs):
        raise RuntimeError("torchvision is not installed (npnet's explain bench uses a stand-in)")
    tv = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    ops = types.ModuleType("torchvision.ops")
    transforms.Compose = transforms.Normalize = transforms.ToTensor = unavailable
    functional.resize = unavailable
    ops.box_iou = unavailable
    transforms.functional = functional
    tv.transforms, tv.ops = transforms, ops
    return {"torchvision": tv, "torchvision.transforms": transforms,
            "torchvision.transforms.functional": functional, "torchvision.ops": ops}


def import_grad_cam():
    """The pytorch_grad_cam module, or None with a note when it is not installed."""
    try:
        import pytorch_grad_cam
        return pytorch_grad_cam, None
    except ImportError as error:
        if "torchvision" not in str(error):
            return None, f"pytorch-grad-cam not installed ({error})"
    for key in [k for k in sys.modules if k.startswith(("torchvision", "pytorch_grad_cam"))]:
        del sys.modules[key]
    sys.modules.update(torchvision_stub())
    try:
        import pytorch_grad_cam
    except ImportError as error:
        return None, f"pytorch-grad-cam not importable ({error})"
    return pytorch_grad_cam, "pytorch-grad-cam imported with a torchvision stand-in (no torchvision)"


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
    method = getattr(ca, recipe)(net)
    return lambda: method.attribute(x, target=target)
