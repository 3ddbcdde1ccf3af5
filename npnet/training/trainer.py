"""The training loop: shuffle, augment, forward, loss, backward, Adam; then validate and checkpoint.

One step on a batch of images (uint8) and labels:

    x            = preprocess(augment(images))          (B, 32, 32, 3) float32
    logits       = model.forward(x, training=True)      (B, 43)
    loss, dlogits = softmax_cross_entropy(logits, labels)
    model.backward(dlogits, input_grad=False)           fills every layer's grads
    optimizer.step(model.params(), model.grads())

Repeatable and resumable. Every random draw comes from a generator seeded by (seed, stream, epoch,
batch): the epoch's shuffle, each batch's augmentation and each batch's dropout masks. So the same
seed and data give the same weights bit for bit, and a run stopped after any batch and resumed from
``last.h5`` (weights, Adam's moments, and the position) ends exactly where an uninterrupted run ends.

Files in the output folder: ``last.h5`` (every epoch, and when stopped), ``best.h5`` (best validation
accuracy), ``history.json`` (per-epoch metrics) and ``curves.png``.

With ``recipe.swa_epochs`` = N, the raw weights of the last N epochs are averaged (SWA) into ``swa.h5``,
validated every epoch of the window (history: ``swa_val_loss``, ``swa_val_accuracy``); best.h5 is
chosen as without it. With mixup or CutMix the training accuracy counts the first image's label.

With ``recipe.ema`` on, validation and ``best.h5`` use the optimizer's moving average of the
weights (training continues from the weights themselves); history also records the raw weights'
``raw_val_loss`` and ``raw_val_accuracy``.

With ``recipe.holdout_tracks`` = f, that fraction of the training split's tracks is held out of training
(``holdout.split_holdout``, the same tracks on every run) and measured each epoch with the weights
validation uses (history: ``holdout_loss``, ``holdout_accuracy``); best.h5 is still chosen on valid.

With ``recipe.checkpoint_every`` = K, the raw weights (never the moving average) after every K-th epoch
and after the last are kept as ``checkpoints/epoch_NNN.h5``, their metadata holding the epoch and the
``learning_rate`` that epoch trained with: the checkpoints influence (TracIn) sums over.
Every checkpoint's metadata names the training data (``train_data``, the path given to train.py;
``train_source``, its training split's file), the number of images trained on after any held-out
tracks (``train_size``) and the splits they came from (``trained_on``: [{"split", "source"}]), so that
a tool can find the images a run trained on and say when a split it is given was one of them.

With ``recipe.final``, the run trains on the training and validation splits together (``dataset.join``),
validates nothing and chooses nothing: no best.h5. After the last epoch it writes ``final.h5``, the
weights the recipe averages (the SWA mean with ``swa_epochs``, else the moving average with ``ema``,
else the weights themselves). History rows then hold no ``val_*`` keys.
"""
import contextlib
import json
import math
import os
import time

import numpy as np
from tqdm import tqdm

from ..io import checkpoint
from ..runtime import process as runtime
from ..data.dataset import join
from ..data.augment import AugmentConfig, augment, lower_resolution, random_perspective
from ..data.degrade import add_noise, jpeg
from ..io.errors import NonFiniteError, NpnetError
from ..io.files import finite_json, write_text_atomic
from ..engine.layers import Dropout
from ..engine.losses import softmax_cross_entropy
from ..runtime.memory import check_batch_fits
from ..engine.seed_net import seed_net
from ..engine.optimizers import Adam
from ..data.preprocessing import fit_preprocessing, preprocess
from .class_weights import class_weights
from .curves import plot_curves
from .holdout import split_holdout
from .adversarial import adversarial_batch
from .mixing import mix_batch
from .recipes import Recipe, learning_rate
from .step import train_step
from .teachers import Teachers

SHUFFLE, AUGMENT, DROPOUT, ADVERSARIAL = 0, 1, 2, 3     # the random streams, kept apart


def generator(seed, stream, epoch, batch=0):
    """The generator for one stream at one (epoch, batch): a pure function of its arguments."""
    return np.random.default_rng([seed, stream, epoch, batch])


def loss_and_accuracy(model, dataset, spec, batch_size=1024):
    """Mean loss and accuracy of ``model`` (inference mode) on a Dataset. Returns (loss, accuracy).

    The logits come from the cache-free inference path (``Sequential.predict_logits``): equal to
    ``forward(x, training=False)`` to float32 rounding, and it leaves no caches behind."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(dataset), batch_size):
        labels = dataset.labels[start:start + batch_size]
        logits = model.predict_logits(preprocess(dataset.images[start:start + batch_size], spec))
        total_loss += softmax_cross_entropy(logits, labels)[0] * len(labels)
        correct += int((logits.argmax(axis=1) == labels).sum())
    return total_loss / max(len(dataset), 1), correct / max(len(dataset), 1)


def check_state(recipe, epoch, batch, partial, history, best, train_size):
    """Raise ValueError unless a resumed run's state is one a run could have saved."""
    batches = math.ceil(train_size / recipe.batch_size)
    if not (0 <= epoch <= recipe.epochs and 0 <= batch <= batches):
        raise ValueError(f"position (epoch {epoch}, batch {batch}) is outside {recipe.epochs} epochs "
                         f"of {batches} batches")
    if not all(math.isfinite(value) and value >= 0 for value in partial.values()):
        raise ValueError("the running sums are not finite non-negative numbers")
    if len(history) != epoch or not all("accuracy" in row for row in history):
        raise ValueError(f"the history holds {len(history)} epochs, the position says {epoch}")
    if not (best == -1.0 or 0.0 <= best <= 1.0):
        raise ValueError(f"best validation accuracy {best} is not in [0, 1]")


class Trainer:
    def __init__(self, recipe, train, valid, out_dir, class_names, progress=True, log=tqdm.write, data_path=None):
        if len(train) == 0:
            raise NpnetError("the training split is empty")
        if len(valid) == 0 and not recipe.final:
            raise NpnetError("the validation split is empty: best.h5 is chosen on it")
        runtime.tune()
        runtime.warn_if_blas_spins()
        self.recipe = recipe
        self.trained_on = [{"split": "train", "source": os.path.abspath(train.source)}]
        if recipe.final:        # every labelled image trains; nothing is left to validate on
            self.trained_on.append({"split": "valid", "source": os.path.abspath(valid.source)})
            train, valid = join([train, valid], f"{train.source} + {valid.source}"), valid.subset([])
        self.train_source = self.trained_on[0]["source"]
        self.train, self.holdout = split_holdout(train, recipe.holdout_tracks, recipe.holdout_fold)
        self.valid = valid
        if len(self.train) == 0 or (self.holdout is not None and len(self.holdout) == 0):
            raise NpnetError(f"holding out {recipe.holdout_tracks:g} of the training tracks leaves "
                             f"{len(self.train)} images to train on and "
                             f"{0 if self.holdout is None else len(self.holdout)} held out")
        self.out_dir = os.fspath(out_dir)
        self.data_path = None if data_path is None else os.path.abspath(data_path)   # train.py's --data
        self.class_names = list(class_names)
        self.progress = progress
        self.log = log or (lambda line: None)
        self.model = seed_net(num_classes=len(self.class_names), seed=recipe.seed, dropout=recipe.dropout)
        check_batch_fits(self.model, min(recipe.batch_size, len(self.train)))
        self.optimizer = Adam(lr=recipe.lr, weight_decay=recipe.weight_decay, ema_momentum=recipe.ema or None)
        self.spec = fit_preprocessing(recipe.preprocessing, self.train.images)
        self.teachers = Teachers.load(recipe.teachers, len(self.class_names)) if recipe.teachers else None
        self.class_weights = (class_weights(self.train.labels, len(self.class_names), recipe.class_weight_power)
                              if recipe.class_weight_power else None)
        self.swa_params, self.swa_count = None, 0     # the running mean of the SWA window's weights
        self.history = []
        self.best_val_accuracy = -1.0
        self.position = [0, 0]                  # the (epoch, batch) to run next
        self.partial = self._fresh_sums()
        self.stop_requested = False
        os.makedirs(self.out_dir, exist_ok=True)

    @classmethod
    def resume(cls, out_dir, train, valid, class_names, epochs=None, progress=True, log=tqdm.write, data_path=None):
        """Continue the run saved in ``out_dir/last.h5`` (optionally for more ``epochs``)."""
        path = os.path.join(out_dir, "last.h5")
        model, metadata = checkpoint.load(path)
        try:
            state = {key: metadata[key] for key in ("recipe", "position", "partial", "history",
                                                    "best_val_accuracy", "train_size", "preprocessing")}
            recipe = Recipe.from_dict(dict(state["recipe"])).with_options(epochs=epochs)
            epoch, batch = (int(value) for value in state["position"])
            partial = {key: float(state["partial"][key]) for key in cls._fresh_sums()}
            history = [dict(row) for row in state["history"]]
            best = float(state["best_val_accuracy"])
            check_state(recipe, epoch, batch, partial, history, best, len(train))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise NpnetError(f"{path}: holds no valid training state to resume from ({error})") from None
        expected = seed_net(num_classes=len(list(class_names)), dropout=recipe.dropout)
        if {k: v.shape for k, v in model.params().items()} != {k: v.shape for k, v in expected.params().items()}:
            raise NpnetError(f"{path}: is not the seed net for {len(list(class_names))} classes; "
                             "train.py trains and resumes only that architecture")
        trainer = cls(recipe, train, valid, out_dir, class_names, progress, log, data_path)
        if state["train_size"] != len(trainer.train):       # after any held-out tracks are taken out
            raise NpnetError(f"{path}: was trained on {state['train_size']} images, "
                             f"but the data given leaves {len(trainer.train)} to train on")
        trainer.model = model
        trainer.optimizer = checkpoint.load_optimizer(path, model)
        most = recipe.epochs * math.ceil(len(trainer.train) / recipe.batch_size)
        if trainer.optimizer is None or trainer.optimizer.iterations > most:
            raise NpnetError(f"{path}: holds no valid training state to resume from (" + (
                "no optimizer state" if trainer.optimizer is None else
                f"the optimizer took {trainer.optimizer.iterations:,} steps, more than the run's {most:,}") + ")")
        trainer.spec = state["preprocessing"]
        trainer.history = history
        trainer.best_val_accuracy = best
        trainer.position = [epoch, batch]
        trainer.partial = {**partial, "correct": int(partial["correct"]), "seen": int(partial["seen"])}
        trainer._resume_swa(epoch)
        return trainer

    def _resume_swa(self, epoch):
        """Reload the SWA mean from swa.h5 when the window had begun by ``epoch`` (epochs done)."""
        expected = max(0, epoch - (self.recipe.epochs - self.recipe.swa_epochs)) if self.recipe.swa_epochs else 0
        if expected == 0:
            return
        path = os.path.join(self.out_dir, "swa.h5")
        if not os.path.exists(path):
            raise NpnetError(f"{path}: missing; the run averaged {expected} epochs into it before it stopped")
        model, metadata = checkpoint.load(path)
        if metadata.get("epoch") != epoch or metadata.get("swa_epochs_averaged") != expected:
            raise NpnetError(f"{path}: holds the average up to epoch {metadata.get('epoch')}, but last.h5 "
                             f"stopped after epoch {epoch}: the two cannot continue one average")
        self.swa_params = {key: value.copy() for key, value in model.params().items()}
        self.swa_count = expected

    def request_stop(self):
        """Stop after the current batch, saving last.h5 (the signal handlers call this)."""
        self.stop_requested = True

    # -- the loop ---------------------------------------------------------------------------------
    def run(self):
        """Train to the recipe's last epoch. Returns 'finished', or 'interrupted' after a stop request."""
        n, batch_size = len(self.train), self.recipe.batch_size
        batches = math.ceil(n / batch_size)
        start_epoch, start_batch = self.position
        for epoch in range(start_epoch, self.recipe.epochs):
            self.optimizer.lr = learning_rate(self.recipe, epoch)
            order = generator(self.recipe.seed, SHUFFLE, epoch).permutation(n)
            first = start_batch if epoch == start_epoch else 0
            if first == 0:
                self.partial = self._fresh_sums()
            bar = tqdm(total=batches, initial=first, desc=f"epoch {epoch + 1}/{self.recipe.epochs}",
                       unit="batch", leave=False, disable=not self.progress, dynamic_ncols=True)
            started = time.perf_counter()
            for batch in range(first, batches):
                index = order[batch * batch_size:(batch + 1) * batch_size]
                self._step(epoch, batch, index)
                elapsed = self.partial["seconds"] + time.perf_counter() - started
                bar.update(1)
                bar.set_postfix(loss=f"{self.partial['loss_sum'] / self.partial['seen']:.4f}",
                                acc=f"{self.partial['correct'] / self.partial['seen']:.4f}",
                                img_s=f"{self.partial['seen'] / max(elapsed, 1e-9):.0f}")
                if self.stop_requested:
                    self.partial["seconds"] = elapsed
                    self.position = [epoch, batch + 1]
                    bar.close()
                    self._save_last()
                    return "interrupted"
            bar.close()
            self.partial["seconds"] += time.perf_counter() - started
            self._end_epoch(epoch)
        self.position = [self.recipe.epochs, 0]
        return "finished"

    def _step(self, epoch, batch, index):
        images, labels = self.train.images[index], self.train.labels[index]
        rng = generator(self.recipe.seed, AUGMENT, epoch, batch)
        if self.recipe.augment:
            images = augment(images, rng, AugmentConfig().scaled(self.recipe.augment_strength))
        if self.recipe.perspective:
            images = random_perspective(images, rng, self.recipe.perspective)
        if self.recipe.low_resolution:
            images = lower_resolution(images, rng, self.recipe.low_resolution)
        if self.recipe.noise:
            images = add_noise(images, rng, self.recipe.noise)
        if self.recipe.jpeg:
            images = jpeg(images, rng, self.recipe.jpeg)
        if self.recipe.adversarial != "none":
            images = adversarial_batch(self.model, images, labels, self.recipe.adversarial, self.recipe.adv_eps,
                                       self.spec, generator(self.recipe.seed, ADVERSARIAL, epoch, batch))
        mixed_with = None
        if self.recipe.mixup or self.recipe.cutmix:
            mode, alpha = ("mixup", self.recipe.mixup) if self.recipe.mixup else ("cutmix", self.recipe.cutmix)
            images, partner, lam = mix_batch(images, rng, mode, alpha)
            mixed_with = (labels[partner], lam)
        for layer in self.model.layers:
            if isinstance(layer, Dropout):
                layer.rng = generator(self.recipe.seed, DROPOUT, epoch, batch)
        teacher_probs = None
        if self.teachers is not None:
            teacher_probs = self.teachers.probabilities(images, self.recipe.temperature)
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # the loss check below reports a blow-up
                loss, logits = train_step(self.model, self.optimizer, preprocess(images, self.spec), labels,
                                          self.recipe.label_smoothing, teacher_probs,
                                          self.recipe.distill_weight, self.recipe.temperature, mixed_with,
                                          self.class_weights)
        except NonFiniteError as error:
            last = os.path.join(self.out_dir, "last.h5")
            saved = f"the last good checkpoint is {last}" if os.path.exists(last) else "no checkpoint was saved yet"
            raise NonFiniteError(f"epoch {epoch + 1}, batch {batch + 1}: {error}; training stopped, "
                                 f"{saved} (try a lower --lr)") from None
        self.partial["loss_sum"] += loss * len(labels)
        self.partial["correct"] += int((logits.argmax(axis=1) == labels).sum())
        self.partial["seen"] += len(labels)

    def _validate(self):
        if not len(self.valid):
            return float("nan"), float("nan")
        return loss_and_accuracy(self.model, self.valid, self.spec)

    def validation_weights(self):
        """Inside, the model holds the weights validation uses: the optimizer's moving averages when
        the recipe keeps them, else its own; after, its own weights again."""
        return self._holding(self.optimizer.averaged_params())

    @contextlib.contextmanager
    def _holding(self, averages):
        """Inside, the model holds the weights ``averages`` ({name: array}; None: its own)."""
        if averages is None:
            yield False
            return
        params = self.model.params()
        current = {key: value.copy() for key, value in params.items()}
        for key, value in params.items():
            np.copyto(value, averages[key])
        try:
            yield True
        finally:
            for key, value in params.items():
                np.copyto(value, current[key])

    def _end_epoch(self, epoch):
        seconds = self.partial["seconds"]
        row = {"epoch": epoch + 1, "lr": self.optimizer.lr,
               "loss": self.partial["loss_sum"] / self.partial["seen"],
               "accuracy": self.partial["correct"] / self.partial["seen"]}
        row.update(seconds=seconds, images_per_s=self.partial["seen"] / max(seconds, 1e-9))
        if self.recipe.final:
            self._end_final_epoch(epoch, row)
            return
        if self.optimizer.averaged_params() is not None:
            row["raw_val_loss"], row["raw_val_accuracy"] = self._validate()
        with self.validation_weights():
            val_loss, val_accuracy = self._validate()
            row.update(val_loss=val_loss, val_accuracy=val_accuracy)
            if self.holdout is not None:
                row["holdout_loss"], row["holdout_accuracy"] = loss_and_accuracy(self.model, self.holdout, self.spec)
            improved = val_accuracy > self.best_val_accuracy
            if improved:
                self.best_val_accuracy = val_accuracy
                checkpoint.save(self.model, os.path.join(self.out_dir, "best.h5"), self.class_names,
                                self.spec, recipe=self.recipe.to_dict(), epoch=epoch + 1,
                                val_accuracy=val_accuracy, averaged_weights=self.recipe.ema > 0,
                                **self._data_record())
        if self._keeps_checkpoint(epoch):
            self._save_epoch_checkpoint(epoch)
        swa = ""
        if self._in_swa_window(epoch):
            row["swa_val_loss"], row["swa_val_accuracy"] = self._average_into_swa(epoch, validate=True)
            swa = f"  swa {100 * row['swa_val_accuracy']:6.2f}% ({self.swa_count} epochs)"
        self._close_epoch(epoch, row)
        raw = f"  (raw weights {100 * row['raw_val_accuracy']:6.2f}%)" if "raw_val_accuracy" in row else ""
        held_out = f"  held-out tracks {100 * row['holdout_accuracy']:6.2f}%" if "holdout_accuracy" in row else ""
        self.log(f"epoch {epoch + 1:3d}/{self.recipe.epochs}  loss {row['loss']:.4f}  "
                   f"acc {100 * row['accuracy']:6.2f}%  val_loss {val_loss:.4f}  "
                   f"val_acc {100 * val_accuracy:6.2f}%{' *' if improved else '  '}{raw}{held_out}{swa}  lr {row['lr']:.2e}  "
                   f"{seconds:5.1f}s ({row['images_per_s']:.0f} img/s)")

    def _end_final_epoch(self, epoch, row):
        """A final run's epoch end: no validation; the SWA window folded in; final.h5 after the last."""
        if self._in_swa_window(epoch):
            self._average_into_swa(epoch)
        if epoch + 1 == self.recipe.epochs:
            self._save_final(epoch)
        if self._keeps_checkpoint(epoch):
            self._save_epoch_checkpoint(epoch)
        self._close_epoch(epoch, row)
        self.log(f"epoch {epoch + 1:3d}/{self.recipe.epochs}  loss {row['loss']:.4f}  acc {100 * row['accuracy']:6.2f}%"
                 f"{f'  swa ({self.swa_count} epochs)' if self.swa_count else ''}  lr {row['lr']:.2e}  "
                 f"{row['seconds']:5.1f}s ({row['images_per_s']:.0f} img/s)")

    def final_weights(self):
        """The weights final.h5 holds: the SWA mean when the recipe averages epochs, else the moving
        average when it keeps one, else None (the model's own). {name: array} or None."""
        if self.recipe.swa_epochs:
            return self.swa_params
        return self.optimizer.averaged_params()

    def _save_final(self, epoch):
        averaged = "swa" if self.recipe.swa_epochs else "ema" if self.recipe.ema else "none"
        with self._holding(self.final_weights()):
            checkpoint.save(self.model, os.path.join(self.out_dir, "final.h5"), self.class_names, self.spec,
                            recipe=self.recipe.to_dict(), epoch=epoch + 1, weights_averaged=averaged,
                            **self._data_record())

    def _close_epoch(self, epoch, row):
        self.history.append(row)
        self.position = [epoch + 1, 0]
        self.partial = self._fresh_sums()
        self._save_last()
        self._write_history()

    def _in_swa_window(self, epoch):
        return self.recipe.swa_epochs and epoch >= self.recipe.epochs - self.recipe.swa_epochs

    def _average_into_swa(self, epoch, validate=False):
        """Stochastic weight averaging (Izmailov et al. 2018): fold this epoch's weights (the raw
        weights, not the EMA) into the running mean w_swa += (w - w_swa) / (count + 1) and write it
        to swa.h5. The net has no batch norm, so the mean needs no statistics recomputed. With
        ``validate``, returns the mean's (val_loss, val_accuracy), also kept in swa.h5."""
        params = self.model.params()
        if self.swa_params is None:
            self.swa_params = {key: value.copy() for key, value in params.items()}
        else:
            for key, value in params.items():
                self.swa_params[key] += (value - self.swa_params[key]) / np.float32(self.swa_count + 1)
        self.swa_count += 1
        with self._holding(self.swa_params):
            scores = self._validate() if validate else None
            validated = {} if scores is None else {"val_accuracy": scores[1]}
            checkpoint.save(self.model, os.path.join(self.out_dir, "swa.h5"), self.class_names, self.spec,
                            recipe=self.recipe.to_dict(), epoch=epoch + 1, swa_epochs_averaged=self.swa_count,
                            **validated, **self._data_record())
        return scores

    # -- files ------------------------------------------------------------------------------------
    def _keeps_checkpoint(self, epoch):
        """Whether epoch (0, 1, ...) is kept in checkpoints/: every K-th and the last."""
        every = self.recipe.checkpoint_every
        return every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == self.recipe.epochs)

    def _save_epoch_checkpoint(self, epoch):
        """checkpoints/epoch_NNN.h5: this epoch's raw weights and the learning rate it trained with."""
        folder = os.path.join(self.out_dir, "checkpoints")
        os.makedirs(folder, exist_ok=True)
        checkpoint.save(self.model, os.path.join(folder, f"epoch_{epoch + 1:03d}.h5"), self.class_names,
                        self.spec, recipe=self.recipe.to_dict(), epoch=epoch + 1,
                        learning_rate=float(self.optimizer.lr), **self._data_record())

    def _data_record(self):
        """Where the training images came from: the data path given (``train_data``, when known),
        the training split's file, the number trained on (after any held-out tracks) and every split
        they came from (``trained_on``)."""
        record = {"train_source": self.train_source, "train_size": len(self.train), "trained_on": self.trained_on}
        return record if self.data_path is None else {"train_data": self.data_path, **record}

    def _save_last(self):
        checkpoint.save(self.model, os.path.join(self.out_dir, "last.h5"), self.class_names, self.spec,
                        optimizer=self.optimizer, recipe=self.recipe.to_dict(), position=self.position,
                        partial=self.partial, history=self.history,
                        best_val_accuracy=self.best_val_accuracy, **self._data_record())

    def _write_history(self):
        path = os.path.join(self.out_dir, "history.json")
        write_text_atomic(path, json.dumps(finite_json(self.history), indent=1, allow_nan=False))
        mixing = self.recipe.mixup or self.recipe.cutmix
        plot_curves(self.history, os.path.join(self.out_dir, "curves.png"),
                    "train (blended images)" if mixing else "train")

    @staticmethod
    def _fresh_sums():
        return {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
