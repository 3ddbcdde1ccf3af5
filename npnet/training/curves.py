"""curves.png: loss and error rate per epoch, training against validation."""
from matplotlib.figure import Figure

from ..io.files import write_png


def plot_curves(history, path, train_label="train"):
    """``curves_figure(history, train_label)`` written to ``path``."""
    figure = curves_figure(history, train_label)
    write_png(path, figure, dpi=100)


def curves_figure(history, train_label="train"):
    """history: the list of per-epoch dicts the trainer keeps (epoch, loss, accuracy, val_...,
    swa_val_accuracy in the SWA window, holdout_loss and holdout_accuracy with held-out tracks).
    train_label names the training curves (mixup trains on blended images, whose loss and accuracy
    are not comparable with validation's). A final run (``train.py --final``) validates nothing: its
    figure holds the training curves alone."""
    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(11, 4))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, [row["loss"] for row in history], label=train_label)
    validated = "val_accuracy" in history[-1]
    if validated:
        loss_axes.plot(epochs, [row["val_loss"] for row in history], label="valid")
    loss_axes.set(title="loss (cross-entropy)", xlabel="epoch", yscale="log")
    # error = 100% - accuracy, on a log axis: 50% and 1% are both readable
    accuracy_axes.plot(epochs, [100 * (1 - row["accuracy"]) for row in history], label=train_label)
    averaged = "raw_val_accuracy" in history[-1]      # --ema: validation used the averaged weights
    if validated:
        accuracy_axes.plot(epochs, [100 * (1 - row["val_accuracy"]) for row in history],
                           label="valid, averaged weights" if averaged else "valid")
    if averaged:
        accuracy_axes.plot(epochs, [100 * (1 - row["raw_val_accuracy"]) for row in history],
                           label="valid, raw weights", alpha=0.6, linestyle="--")
    if "holdout_accuracy" in history[-1]:
        for axes, values in ((accuracy_axes, [100 * (1 - row["holdout_accuracy"]) for row in history]),
                             (loss_axes, [row["holdout_loss"] for row in history])):
            axes.plot(epochs, values, label="held-out training tracks", color="C3")   # one colour in both
    window = [row for row in history if "swa_val_accuracy" in row]
    if window:
        accuracy_axes.plot([row["epoch"] for row in window], [100 * (1 - row["swa_val_accuracy"]) for row in window],
                           label="valid, SWA mean of the epochs so far", linestyle=":", linewidth=2)
    if validated:
        best = max(history, key=lambda row: row["val_accuracy"])
        title = f"error (best valid accuracy {100 * best['val_accuracy']:.2f}% at epoch {best['epoch']})"
    else:
        title = "training error (a final run: every labelled image trains, none validates)"
    accuracy_axes.set(title=title, xlabel="epoch", ylabel="error, % (100 - accuracy)", yscale="log")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    return figure
