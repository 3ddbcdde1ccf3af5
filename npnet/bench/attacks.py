"""Attack timings (python -m npnet.bench --attacks MODEL --data SPLIT): PGD-20 in npnet, and the same
work in Captum's PGD and torchattacks' PGD on the PyTorch twin of the same weights.

The work: ``--images`` images of SPLIT (its first ones, the split repeated when it holds fewer: the
official test split has 12,630), PGD-20, linf, eps 4 grey levels, step 1, untargeted away from the
label, no random start, the model's preprocessing inside. The rivals take images in [0, 1]
(eps 4/255, step 1/255) through the preprocessing written in torch, then the twin; Captum with
CrossEntropyLoss(reduction='none') and no gradient threshold, as its comparison test sets it. Each
attack runs once, timed whole; torch on as many threads as npnet's numba. The rivals' result is
compared with npnet's: the largest difference in grey levels and the share of equal values.
"""
import time

import numpy as np

from ..data import load_split
from ..engine import inference
from ..explain.attacks import pgd
from ..io.load import load_model

EPS, STEP, STEPS = 4.0, 1.0, 20


def torch_preprocessing(spec):
    """The spec's preprocessing as a torch function of images in [0, 1] (N, H, W, C)."""
    import torch
    name = spec["name"]
    if name == "seed":
        return lambda u: u - 0.5
    if name == "center_standardize":
        def center_standardize(u):
            x = u * 255
            H, W = x.shape[1:3]
            center = x[:, H // 4:H - H // 4, W // 4:W - W // 4, :]
            mean = center.mean(dim=(1, 2, 3), keepdim=True)
            std = center.std(dim=(1, 2, 3), keepdim=True, unbiased=False)
            floor = 1 / np.sqrt(center[0].numel())
            return torch.clamp((x - mean) / torch.clamp(std, min=floor), -4, 4)
        return center_standardize
    raise ValueError(f"the attack benchmark knows the seed and center_standardize preprocessing, not {name!r}")


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def agreement(ours, theirs_unit):
    difference = np.abs(ours - theirs_unit * 255)
    return {"max_abs_diff_grey_levels": float(difference.max()), "share_within_0.01": float((difference < 0.01).mean())}


def bench_attacks(model_path, data, count=12630):
    model, metadata = load_model(model_path)
    spec = metadata["preprocessing"]
    split = load_split(data, progress=False)
    take = np.resize(np.arange(len(split)), count)
    images, labels = split.images[take], split.labels[take].astype(np.int64)
    result = {"model": str(model_path), "data": str(data), "images": count, "split_images": len(split),
              "eps": EPS, "step": STEP, "steps": STEPS, "preprocessing": spec["name"],
              "threads": inference.default_threads()}
    pgd(model, images[:64], labels[:64], EPS, STEP, 2, preprocessing=spec)          # compile, warm
    ours, result["npnet_s"] = timed(pgd, model, images, labels, EPS, STEP, STEPS, preprocessing=spec)
    try:
        import torch
    except ImportError:
        result["note"] = "torch is not installed: pip install -e '.[attacks]' for the rivals"
        return result
    from .torch_twin import from_npnet
    torch.set_num_threads(result["threads"])
    twin, prepare = from_npnet(model).eval(), torch_preprocessing(spec)

    class OnUnitImages(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.twin = twin

        def forward(self, u):
            return self.twin(prepare(u))
    net = OnUnitImages().eval()
    unit, target = torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels)
    try:
        import torchattacks
    except ImportError:
        result["torchattacks_note"] = "torchattacks is not installed: pip install -e '.[attacks]'"
    else:
        attack = torchattacks.PGD(net, eps=EPS / 255, alpha=STEP / 255, steps=STEPS, random_start=False)
        torchattacks_result, result["torchattacks_s"] = timed(lambda: attack(unit, target).numpy())
        result["torchattacks_agreement"] = agreement(ours, torchattacks_result)
    try:
        from captum.robust import PGD
    except ImportError:
        result["captum_note"] = "captum is not installed: pip install -e '.[attacks]'"
    else:
        attack = PGD(net, loss_func=torch.nn.CrossEntropyLoss(reduction="none"), lower_bound=0, upper_bound=1)
        attack.fgsm.zero_thresh = 0.0
        theirs, result["captum_s"] = timed(lambda: attack.perturb(unit, radius=EPS / 255, step_size=STEP / 255,
                                                                  step_num=STEPS, target=target).detach().numpy())
        result["captum_agreement"] = agreement(ours, theirs)
        if "torchattacks_s" in result:
            result["captum_vs_torchattacks_max_diff"] = float(np.abs(theirs - torchattacks_result).max() * 255)
    return result


def format_attacks(result):
    lines = [f"PGD-{result['steps']} linf eps {result['eps']:g}, step {result['step']:g} (grey levels), no random "
             f"start, {result['images']:,} images of {result['data']} ({result['split_images']:,} in the split), "
             f"preprocessing {result['preprocessing']}, {result['threads']} threads",
             f"  npnet         {result['npnet_s']:8.1f} s  ({result['images'] * result['steps'] / result['npnet_s']:,.0f} "
             f"image-steps/s)"]
    for name in ("torchattacks", "captum"):
        if f"{name}_s" in result:
            agree = result[f"{name}_agreement"]
            lines.append(f"  {name:13s} {result[f'{name}_s']:8.1f} s  (npnet {result[f'{name}_s'] / result['npnet_s']:.2f}x "
                         f"faster; max diff {agree['max_abs_diff_grey_levels']:.2g} grey levels, "
                         f"{agree['share_within_0.01']:.4%} of values within 0.01)")
        elif f"{name}_note" in result:
            lines.append(f"  {result[f'{name}_note']}")
    if "captum_vs_torchattacks_max_diff" in result:
        lines.append(f"  Captum against torchattacks: max diff {result['captum_vs_torchattacks_max_diff']:.2g} grey levels")
    return "\n".join(lines)
