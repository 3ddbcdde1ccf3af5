"""Training recipes: every choice a run makes, in one dataclass, and the learning-rate schedule."""
import math
from dataclasses import asdict, dataclass, fields, replace

from ..data.preprocessing import PREPROCESSING_METHODS
from .adversarial import ADVERSARIAL_KINDS
from .holdout import fold_count

SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Recipe:
    epochs: int = 50
    batch_size: int = 1024
    lr: float = 0.001
    seed: int = 0
    dropout: float = 0.5
    preprocessing: str = "seed"      # see npnet/data/preprocessing.py
    augment: bool = False            # see npnet/data/augment.py
    augment_strength: float = 1.0    # scales every augmentation range (AugmentConfig.scaled)
    low_resolution: float = 0.0      # fraction of images seen at a lower resolution (augment.lower_resolution)
    perspective: float = 0.0         # largest corner shift in pixels of a random perspective warp; 0 = off
    noise: float = 0.0               # largest sensor-noise sigma, pixel units (degrade.add_noise); 0 = off
    jpeg: float = 0.0                # fraction of images JPEG-compressed at quality 15-90 (degrade.jpeg)
    mixup: float = 0.0               # alpha of mixup's Beta(alpha, alpha) (training/mixing.py); 0 = off
    cutmix: float = 0.0              # alpha of CutMix's Beta(alpha, alpha); 0 = off
    label_smoothing: float = 0.0     # targets (1 - s) onehot + s / K (npnet/engine/losses.py)
    class_weight_power: float = 0.0  # loss weight n_c^-B of each image's class (training/class_weights.py)
    schedule: str = "constant"       # constant, or cosine decay from lr to 0 over the epochs
    warmup_epochs: int = 0           # linear warm-up from lr / (warmup + 1) before the schedule
    weight_decay: float = 0.0        # decoupled, on kernels: p -= lr * weight_decay * p (Adam's docstring)
    ema: float = 0.0                 # momentum of the weights' moving average, used to validate; 0 = off
    swa_epochs: int = 0              # average the weights of the last N epochs into swa.h5 (0 = off)
    teachers: tuple = ()             # checkpoints to distill from (training/teachers.py); () = none
    distill_weight: float = 0.0      # a in (1 - a) CE + a T^2 KL(teachers || student) (losses.py)
    temperature: float = 4.0         # T, softening both the teachers' and the student's probabilities
    holdout_tracks: float = 0.0      # fraction of the training tracks held out and measured (holdout.py)
    holdout_fold: int = -1           # which of round(1 / holdout_tracks) folds is held out; -1: the fixed split
    final: bool = False              # train on train + valid, no validation, no held-out tracks: final.h5
    checkpoint_every: int = 0        # keep checkpoints/epoch_NNN.h5 every N epochs and the last (0 = none)
    adversarial: str = "none"        # train on attacked batches: fgsm or pgd (training/adversarial.py)
    adv_eps: float = 0.0             # their radius, linf, grey levels

    def __post_init__(self):
        object.__setattr__(self, "teachers", tuple(str(path) for path in self.teachers))
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            problems.append(f"batch size must be at least 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append(f"learning rate must be a positive number, got {self.lr}")
        if not 0 <= self.seed < 2 ** 32:
            problems.append(f"seed must be in [0, 2^32), got {self.seed}")
        if self.warmup_epochs < 0:
            problems.append(f"warm-up epochs must be at least 0, got {self.warmup_epochs}")
        if not 0 <= self.augment_strength <= 3:
            problems.append(f"augment strength must be in [0, 3], got {self.augment_strength}")
        if not 0 <= self.low_resolution <= 1:
            problems.append(f"low-resolution fraction must be in [0, 1], got {self.low_resolution}")
        if not 0 <= self.perspective <= 8:
            problems.append(f"perspective corner shift must be in [0, 8] pixels, got {self.perspective}")
        if not 0 <= self.noise <= 64:
            problems.append(f"noise sigma must be in [0, 64], got {self.noise}")
        if self.adversarial not in ADVERSARIAL_KINDS:
            problems.append(f"adversarial must be one of {', '.join(ADVERSARIAL_KINDS)}, got {self.adversarial!r}")
        elif self.adversarial != "none" and not 0 < self.adv_eps <= 64:
            problems.append(f"adversarial training needs an eps in (0, 64] grey levels, got {self.adv_eps}")
        elif self.adversarial == "none" and self.adv_eps:
            problems.append("an adversarial eps needs --adversarial fgsm or pgd")
        elif self.adversarial != "none" and (self.mixup or self.cutmix or self.teachers):
            problems.append("adversarial training cannot be combined with mixup, CutMix or distillation")
        if self.checkpoint_every < 0:
            problems.append(f"checkpoint interval must be at least 0 epochs, got {self.checkpoint_every}")
        if not 0 <= self.holdout_tracks <= 0.5:
            problems.append(f"held-out track fraction must be in [0, 0.5], got {self.holdout_tracks}")
        elif self.holdout_fold != -1 and not self.holdout_tracks:
            problems.append(f"a held-out fold ({self.holdout_fold}) needs held-out tracks (--holdout-tracks)")
        elif not -1 <= self.holdout_fold < fold_count(self.holdout_tracks or 1):
            problems.append(f"held-out fold must be in [0, {fold_count(self.holdout_tracks) - 1}] (holding out "
                            f"{self.holdout_tracks:g} cuts {fold_count(self.holdout_tracks)} folds), "
                            f"got {self.holdout_fold}")
        if self.final and self.holdout_tracks:
            problems.append("a final run trains on every labelled image: it cannot hold tracks out")
        if not 0 <= self.jpeg <= 1:
            problems.append(f"JPEG fraction must be in [0, 1], got {self.jpeg}")
        for name in ("mixup", "cutmix"):
            alpha = getattr(self, name)
            if not (0 <= alpha <= 10):
                problems.append(f"{name} alpha must be in [0, 10], got {alpha}")
        if self.mixup > 0 and self.cutmix > 0:
            problems.append("mixup and CutMix cannot both be on (choose one)")
        if not 0 <= self.swa_epochs <= self.epochs:
            problems.append(f"SWA epochs must be in [0, epochs = {self.epochs}], got {self.swa_epochs}")
        if not 0 <= self.class_weight_power <= 1:
            problems.append(f"class weight power must be in [0, 1], got {self.class_weight_power}")
        elif self.class_weight_power and self.teachers:
            problems.append("class weights cannot be combined with distillation")
        if not 0 <= self.label_smoothing < 1:
            problems.append(f"label smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.weight_decay < 1:
            problems.append(f"weight decay must be in [0, 1), got {self.weight_decay}")
        if not 0 <= self.ema < 1:
            problems.append(f"EMA momentum must be in [0, 1), got {self.ema}")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 <= self.distill_weight <= 1:
            problems.append(f"distillation weight must be in [0, 1], got {self.distill_weight}")
        elif bool(self.teachers) != (self.distill_weight > 0):
            problems.append("distillation needs both teachers and a weight above 0"
                            f" (got {len(self.teachers)} teachers, weight {self.distill_weight})")
        if not 0.1 <= self.temperature <= 100:       # logits / T and T^2 stay well inside float32
            problems.append(f"temperature must be in [0.1, 100], got {self.temperature}")
        if self.preprocessing not in PREPROCESSING_METHODS:
            problems.append(f"preprocessing must be one of {', '.join(PREPROCESSING_METHODS)}, got {self.preprocessing!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def with_options(self, **options):
        """This recipe with the given options changed (None means: keep the recipe's value)."""
        return replace(self, **{key: value for key, value in options.items() if value is not None})


#: The seed's run, as reported: Adam, lr 0.001, batch 1024, 50 epochs, dropout 0.5, [-0.5, 0.5] input.
SEED = Recipe()

#: The best recipe found for the same 422,187-parameter net (docs/experiments.md lists every run tried).
BEST = Recipe(epochs=60, batch_size=256, lr=0.002, preprocessing="center_standardize", augment=True,
              augment_strength=1.25, label_smoothing=0.1, schedule="cosine", warmup_epochs=2,
              weight_decay=0.05, ema=0.999, low_resolution=0.5)

RECIPES = {"seed": SEED, "best": BEST}


def learning_rate(recipe, epoch):
    """The learning rate for epoch 0, 1, ...: optional linear warm-up, then constant or cosine."""
    if epoch < recipe.warmup_epochs:
        return recipe.lr * (epoch + 1) / (recipe.warmup_epochs + 1)
    if recipe.schedule == "cosine":
        progress = (epoch - recipe.warmup_epochs) / max(1, recipe.epochs - recipe.warmup_epochs)
        return recipe.lr * 0.5 * (1 + math.cos(math.pi * progress))
    return recipe.lr
