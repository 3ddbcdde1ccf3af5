"""Training: recipes, the loop with its checkpoints, and the learning curves."""
from .recipes import BEST, RECIPES, SEED, Recipe, learning_rate
from .step import train_step
from .trainer import Trainer, loss_and_accuracy

__all__ = ["Recipe", "RECIPES", "SEED", "BEST", "learning_rate", "Trainer", "loss_and_accuracy", "train_step"]
