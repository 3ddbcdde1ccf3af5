"""The training loop: repeatable, resumable bit for bit, and it refuses to train on NaN."""
import json

import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.runtime import process as runtime
from npnet.data import Dataset
from npnet.io.errors import NonFiniteError, NpnetError
from npnet.training import Recipe, Trainer, loss_and_accuracy, learning_rate

CLASSES = [f"class {i}" for i in range(43)]


def tiny_dataset(n, seed):
    """Images whose class (0..3) is written into their brightness, so a net can learn it fast."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    images = rng.integers(0, 60, (n, 32, 32, 3)) + (labels * 60)[:, None, None, None]
    return Dataset(images=images.astype(np.uint8), labels=labels.astype(np.int64),
                   boxes=np.zeros((n, 4), np.float32), tracks=np.full(n, -1, np.int64), source="tiny")


@pytest.fixture
def data():
    return tiny_dataset(80, seed=0), tiny_dataset(40, seed=1)


RECIPE = Recipe(epochs=3, batch_size=32, lr=0.003, augment=True, schedule="cosine", warmup_epochs=1)


def train(tmp_path, name, data, recipe=RECIPE, stop_after=None):
    train_split, valid_split = data
    trainer = Trainer(recipe, train_split, valid_split, tmp_path / name, CLASSES, progress=False, log=None)
    if stop_after is not None:
        step = trainer._step

        def step_then_stop(epoch, batch, index):
            step(epoch, batch, index)
            if (epoch, batch) == stop_after:
                trainer.request_stop()
        trainer._step = step_then_stop
    return trainer, trainer.run()


def stop_and_resume(tmp_path, data, recipe, stop_after):
    """(uninterrupted, resumed): the recipe trained whole in ``whole/``, and in ``stopped/`` trained until
    ``stop_after`` = (epoch, batch), stopped there and resumed from its last.h5 to the end."""
    uninterrupted, _ = train(tmp_path, "whole", data, recipe)
    _, outcome = train(tmp_path, "stopped", data, recipe, stop_after=stop_after)
    assert outcome == "interrupted"
    resumed = Trainer.resume(tmp_path / "stopped", *data, CLASSES, progress=False, log=None)
    assert resumed.run() == "finished"
    return uninterrupted, resumed


def assert_same_params(model, other):
    """Every parameter of ``other`` equals ``model``'s bit for bit."""
    for key, value in model.params().items():
        np.testing.assert_array_equal(other.params()[key], value, err_msg=key)


def test_training_learns_the_tiny_task(tmp_path):
    data = tiny_dataset(160, seed=0), tiny_dataset(40, seed=1)
    trainer, outcome = train(tmp_path, "run", data, Recipe(epochs=7, batch_size=16, lr=0.003))
    assert outcome == "finished"
    assert trainer.best_val_accuracy > 0.9


def test_training_writes_best_last_history_and_curves(tmp_path, data):
    train(tmp_path, "run", data)
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"best.h5", "last.h5", "history.json", "curves.png"}
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert set(history[0]) >= {"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr"}


def test_best_checkpoint_holds_the_best_validation_epoch(tmp_path, data):
    trainer, _ = train(tmp_path, "run", data)
    _, metadata = checkpoint.load(tmp_path / "run" / "best.h5")
    assert metadata["val_accuracy"] == max(row["val_accuracy"] for row in trainer.history)
    assert metadata["preprocessing"] == trainer.spec and metadata["class_names"] == CLASSES


def test_same_seed_same_weights_bit_for_bit(tmp_path, data):
    first, _ = train(tmp_path, "a", data)
    second, _ = train(tmp_path, "b", data)
    for key, value in first.model.params().items():
        np.testing.assert_array_equal(value, second.model.params()[key])


def test_another_seed_gives_other_weights(tmp_path, data):
    first, _ = train(tmp_path, "a", data)
    other, _ = train(tmp_path, "b", data, RECIPE.with_options(seed=1))
    assert not np.array_equal(first.model.params()["dense_1/kernel"], other.model.params()["dense_1/kernel"])


@pytest.mark.parametrize("stop_after", [(0, 1), (1, 2)])   # mid-epoch, and on an epoch's last batch
def test_a_stopped_run_resumes_to_the_same_final_weights(tmp_path, data, stop_after):
    uninterrupted, resumed = stop_and_resume(tmp_path, data, RECIPE, stop_after)
    assert_same_params(uninterrupted.model, resumed.model)
    assert [row["val_accuracy"] for row in resumed.history] == [row["val_accuracy"] for row in uninterrupted.history]


def test_a_stopped_run_with_weight_averaging_resumes_to_the_same_averages(tmp_path, data):
    recipe = RECIPE.with_options(ema=0.9, weight_decay=0.01)
    uninterrupted, resumed = stop_and_resume(tmp_path, data, recipe, (1, 0))
    for key, value in uninterrupted.optimizer.averaged_params().items():
        np.testing.assert_array_equal(resumed.optimizer.averaged_params()[key], value)


def test_low_resolution_trains_on_other_images_and_resumes_to_the_same_weights(tmp_path, data):
    recipe = RECIPE.with_options(epochs=2, low_resolution=0.5)
    uninterrupted, resumed = stop_and_resume(tmp_path, data, recipe, (1, 0))
    plain, _ = train(tmp_path, "plain", data, RECIPE.with_options(epochs=2))
    assert not np.array_equal(uninterrupted.model.params()["dense_1/kernel"], plain.model.params()["dense_1/kernel"])
    assert resumed.recipe.low_resolution == 0.5
    assert_same_params(uninterrupted.model, resumed.model)


def test_distillation_trains_from_teachers_and_resumes_to_the_same_weights(tmp_path, data):
    plain, _ = train(tmp_path, "teacher", data, RECIPE.with_options(epochs=2))
    recipe = RECIPE.with_options(epochs=2, teachers=[str(tmp_path / "teacher" / "best.h5")] * 2,
                                 distill_weight=0.5, temperature=2.0)
    uninterrupted, resumed = stop_and_resume(tmp_path, data, recipe, (1, 0))
    assert not np.array_equal(uninterrupted.model.params()["dense_1/kernel"], plain.model.params()["dense_1/kernel"])
    assert resumed.recipe.teachers == recipe.teachers
    assert_same_params(uninterrupted.model, resumed.model)


@pytest.mark.parametrize("options", [{"perspective": 3.0}, {"noise": 8.0}, {"jpeg": 0.5}, {"mixup": 0.4},
                                     {"cutmix": 1.0}, {"adversarial": "fgsm", "adv_eps": 8.0}],
                         ids=lambda options: next(iter(options)))
def test_each_augmentation_option_changes_training_and_resumes_to_the_same_weights(tmp_path, data, options):
    recipe = RECIPE.with_options(epochs=2, **options)
    uninterrupted, resumed = stop_and_resume(tmp_path, data, recipe, (1, 0))
    plain, _ = train(tmp_path, "plain", data, RECIPE.with_options(epochs=2))
    assert not np.array_equal(uninterrupted.model.params()["dense_1/kernel"], plain.model.params()["dense_1/kernel"])
    assert_same_params(uninterrupted.model, resumed.model)


@pytest.fixture
def tracked():
    """tiny_dataset has no tracks: blocks of 30 images of a class stand in for them (splits.track_split),
    and 240 images give each of the 4 classes about two blocks, one of which can be held out."""
    return tiny_dataset(240, seed=0), tiny_dataset(40, seed=1)


def test_held_out_tracks_leave_training_and_are_measured_every_epoch(tmp_path, tracked):
    data = tracked
    trainer, _ = train(tmp_path, "run", data, RECIPE.with_options(epochs=2, holdout_tracks=0.4))
    assert len(trainer.train) + len(trainer.holdout) == len(data[0]) and len(trainer.holdout) > 0
    assert not set(map(bytes, trainer.holdout.images)) & set(map(bytes, trainer.train.images))
    loss, accuracy = loss_and_accuracy(trainer.model, trainer.holdout, trainer.spec)    # the last epoch's weights
    assert trainer.history[-1]["holdout_accuracy"] == accuracy and trainer.history[-1]["holdout_loss"] == loss
    assert all("holdout_accuracy" in row for row in trainer.history)


def test_held_out_tracks_are_the_same_whatever_the_run_seed(tmp_path, tracked):
    first, _ = train(tmp_path, "a", tracked, RECIPE.with_options(epochs=1, holdout_tracks=0.4))
    other, _ = train(tmp_path, "b", tracked, RECIPE.with_options(epochs=1, holdout_tracks=0.4, seed=3))
    np.testing.assert_array_equal(first.holdout.images, other.holdout.images)


def test_a_stopped_run_with_held_out_tracks_resumes_to_the_same_weights(tmp_path, tracked):
    recipe = RECIPE.with_options(epochs=2, holdout_tracks=0.4)
    uninterrupted, resumed = stop_and_resume(tmp_path, tracked, recipe, (1, 0))
    assert len(resumed.train) == len(uninterrupted.train)
    assert_same_params(uninterrupted.model, resumed.model)
    assert [row["holdout_accuracy"] for row in resumed.history] == \
        [row["holdout_accuracy"] for row in uninterrupted.history]


def test_holding_out_tracks_from_data_with_too_few_is_one_clear_error(tmp_path, data):
    with pytest.raises(NpnetError, match="leaves 80 images to train on and 0 held out"):
        train(tmp_path, "run", data, RECIPE.with_options(holdout_tracks=0.25))   # one block per class


def test_holding_out_too_many_tracks_is_refused():
    with pytest.raises(ValueError, match="held-out track fraction"):
        Recipe(holdout_tracks=0.6)


def test_swa_checkpoint_holds_the_mean_of_the_last_epochs_weights(tmp_path, data):
    train_split, valid_split = data
    recipe = RECIPE.with_options(swa_epochs=2)
    trainer = Trainer(recipe, train_split, valid_split, tmp_path / "run", CLASSES, progress=False)
    after_each_epoch = []
    trainer.log = lambda line: after_each_epoch.append({k: v.copy() for k, v in trainer.model.params().items()})
    assert trainer.run() == "finished"
    swa, metadata = checkpoint.load(tmp_path / "run" / "swa.h5")
    assert metadata["swa_epochs_averaged"] == 2 and metadata["epoch"] == 3
    for key, value in swa.params().items():
        expected = (after_each_epoch[1][key].astype(np.float64) + after_each_epoch[2][key]) / 2
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-7)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert "swa_val_accuracy" not in history[0] and 0 <= history[2]["swa_val_accuracy"] <= 1


def test_a_stopped_run_with_swa_resumes_to_the_same_average(tmp_path, data):
    stop_and_resume(tmp_path, data, RECIPE.with_options(swa_epochs=2), (2, 0))       # inside the window
    whole, _ = checkpoint.load(tmp_path / "whole" / "swa.h5")
    again, _ = checkpoint.load(tmp_path / "stopped" / "swa.h5")
    assert_same_params(whole, again)


def test_resume_refuses_an_swa_checkpoint_from_another_epoch(tmp_path, data):
    recipe = RECIPE.with_options(swa_epochs=2)
    train(tmp_path, "stopped", data, recipe, stop_after=(2, 0))
    (tmp_path / "stopped" / "swa.h5").unlink()
    with pytest.raises(NpnetError, match="swa.h5: missing"):
        Trainer.resume(tmp_path / "stopped", *data, CLASSES, progress=False, log=None)


def test_the_teachers_probabilities_are_the_mean_of_their_softened_outputs(tmp_path, data):
    from npnet.engine.losses import softmax
    from npnet.data.preprocessing import preprocess
    from npnet.training.teachers import Teachers
    train(tmp_path, "a", data, RECIPE.with_options(epochs=1))
    train(tmp_path, "b", data, RECIPE.with_options(epochs=1, seed=1))
    teachers = Teachers.load([tmp_path / "a" / "best.h5", tmp_path / "b" / "best.h5"], len(CLASSES))
    images = data[1].images[:6].astype(np.float32)
    expected = np.mean([softmax(model.forward(preprocess(images, spec)).astype(np.float64) / 3.0)
                        for model, spec in zip(teachers.models, teachers.specs)], axis=0)
    # two paths to the logits (slices vs whole batch): float32 sums of up to 1,153 terms, which differ by
    # about 8 sqrt(1153) eps ~ 3e-5 of their magnitude; 1e-4 leaves room for exp and the mean
    np.testing.assert_allclose(teachers.probabilities(images, 3.0), expected, rtol=1e-4, atol=1e-6)


def test_a_teacher_that_is_not_a_checkpoint_is_one_error_naming_it(tmp_path, data):
    (tmp_path / "notes.h5").write_text("not a checkpoint")
    with pytest.raises(NpnetError, match="notes.h5"):
        train(tmp_path, "run", data, RECIPE.with_options(teachers=[str(tmp_path / "notes.h5")], distill_weight=0.5))


@pytest.mark.parametrize("options", [{"teachers": ["t.h5"]}, {"distill_weight": 0.5},
                                     {"teachers": ["t.h5"], "distill_weight": 1.5},
                                     {"teachers": ["t.h5"], "distill_weight": 0.5, "temperature": 0.0}])
def test_distillation_settings_that_do_not_fit_together_are_refused(options):
    with pytest.raises(ValueError, match="distillation|temperature"):
        RECIPE.with_options(**options)


def test_with_weight_averaging_validation_and_best_checkpoint_use_the_averages(tmp_path, data):
    trainer, _ = train(tmp_path, "run", data, RECIPE.with_options(ema=0.9, epochs=1))
    best, metadata = checkpoint.load(tmp_path / "run" / "best.h5")
    averages = trainer.optimizer.averaged_params()
    for key, value in best.params().items():
        np.testing.assert_array_equal(value, averages[key])
        assert not np.array_equal(trainer.model.params()[key], value)     # training keeps its own weights
    assert metadata["averaged_weights"] is True
    row = trainer.history[0]
    assert set(row) >= {"raw_val_loss", "raw_val_accuracy"} and row["raw_val_loss"] != row["val_loss"]


def test_resume_can_extend_the_number_of_epochs(tmp_path, data):
    train(tmp_path, "run", data)
    resumed = Trainer.resume(tmp_path / "run", *data, CLASSES, epochs=4, progress=False, log=None)
    assert resumed.run() == "finished" and len(resumed.history) == 4


def test_resume_refuses_different_training_data(tmp_path, data):
    train(tmp_path, "run", data)
    with pytest.raises(NpnetError, match="was trained on 80 images, but the data given leaves 40 to train on"):
        Trainer.resume(tmp_path / "run", data[1], data[1], CLASSES, progress=False, log=None)


def test_resume_from_a_checkpoint_without_training_state_is_one_clear_error(tmp_path, data):
    train(tmp_path, "run", data)
    model, _ = checkpoint.load(tmp_path / "run" / "best.h5")
    checkpoint.save(model, tmp_path / "run" / "last.h5")            # weights only
    with pytest.raises(NpnetError, match=r"last.h5: holds no valid training state"):
        Trainer.resume(tmp_path / "run", *data, CLASSES, progress=False, log=None)


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, data):
    trainer, _ = train(tmp_path, "run", data, RECIPE.with_options(epochs=1))
    good = (tmp_path / "run" / "last.h5").read_bytes()
    trainer.recipe = RECIPE.with_options(epochs=2)
    trainer.model.layer("dense_4").params["bias"][0] = np.nan
    with pytest.raises(NonFiniteError, match=r"epoch 2, batch 1: the loss is nan.*last good checkpoint"):
        trainer.run()
    assert (tmp_path / "run" / "last.h5").read_bytes() == good


def test_cosine_schedule_warms_up_then_decays_to_zero():
    recipe = Recipe(epochs=5, lr=1.0, schedule="cosine", warmup_epochs=1)
    rates = [learning_rate(recipe, epoch) for epoch in range(5)]
    assert rates[0] == 0.5 and rates[1] == 1.0
    assert rates[1] > rates[2] > rates[3] > rates[4] > 0


@pytest.mark.parametrize("options, message", [({"epochs": 0}, "epochs"), ({"lr": -1.0}, "learning rate"),
                                              ({"preprocessing": "magic"}, "preprocessing"),
                                              ({"dropout": 1.0}, "dropout"), ({"ema": 1.0}, "EMA"),
                                              ({"weight_decay": -0.1}, "weight decay"),
                                              ({"perspective": 9.0}, "perspective"), ({"noise": -1.0}, "noise"),
                                              ({"jpeg": 1.5}, "JPEG"), ({"mixup": -0.2}, "mixup"),
                                              ({"mixup": 0.2, "cutmix": 1.0}, "both"),
                                              ({"epochs": 5, "swa_epochs": 6}, "SWA"),
                                              ({"adversarial": "free"}, "adversarial must be"),
                                              ({"adversarial": "fgsm"}, "needs an eps"),
                                              ({"adv_eps": 4.0}, "needs --adversarial"),
                                              ({"adversarial": "pgd", "adv_eps": 4.0, "mixup": 0.2}, "combined")])
def test_a_bad_recipe_is_refused_with_the_reason(options, message):
    with pytest.raises(ValueError, match=message):
        Recipe().with_options(**options)


def test_a_trainer_starting_warns_if_openblas_threads_will_spin(monkeypatch, tmp_path, data):
    monkeypatch.setattr(runtime, "blas_loaded_too_early", True)
    with pytest.warns(RuntimeWarning, match="imported after numpy"):
        Trainer(RECIPE, *data, tmp_path / "run", CLASSES, progress=False, log=None)


def test_curves_show_the_swa_window_and_name_blended_training_images():
    from npnet.training.curves import curves_figure
    history = [{"epoch": e, "loss": 1.0 / e, "accuracy": 0.5, "val_loss": 1.0 / e, "val_accuracy": 0.9}
               for e in (1, 2, 3)]
    history[2]["swa_val_accuracy"] = 0.95
    accuracy_axes = curves_figure(history, "train (blended images)").axes[1]
    labels = [line.get_label() for line in accuracy_axes.get_lines()]
    assert labels == ["train (blended images)", "valid", "valid, SWA mean of the epochs so far"]
    assert list(accuracy_axes.get_lines()[2].get_xdata()) == [3]


def test_curves_draw_the_held_out_tracks_in_both_panels():
    from npnet.training.curves import curves_figure
    history = [{"epoch": e, "loss": 1.0 / e, "accuracy": 0.5, "val_loss": 1.0 / e, "val_accuracy": 0.9,
                "holdout_loss": 2.0 / e, "holdout_accuracy": 0.8} for e in (1, 2)]
    for axes, expected in zip(curves_figure(history).axes, ([2.0, 1.0], [20.0, 20.0])):
        held_out = [line for line in axes.get_lines() if line.get_label() == "held-out training tracks"]
        assert len(held_out) == 1
        np.testing.assert_allclose(held_out[0].get_ydata(), expected)


def test_checkpoint_every_keeps_every_kth_epoch_and_the_last_with_its_learning_rate(tmp_path, data):
    recipe = Recipe(epochs=5, batch_size=32, lr=0.003, schedule="cosine", warmup_epochs=1, ema=0.9,
                    checkpoint_every=2)
    trainer, _ = train(tmp_path, "run", data, recipe)
    folder = tmp_path / "run" / "checkpoints"
    assert sorted(path.name for path in folder.iterdir()) == ["epoch_002.h5", "epoch_004.h5", "epoch_005.h5"]
    for epoch in (2, 4, 5):
        model, metadata = checkpoint.load(folder / f"epoch_{epoch:03d}.h5")
        assert metadata["epoch"] == epoch
        assert metadata["learning_rate"] == pytest.approx(learning_rate(recipe, epoch - 1))
        assert metadata["learning_rate"] == pytest.approx(trainer.history[epoch - 1]["lr"])
        assert metadata["train_size"] == len(data[0])
    # the last one holds the raw weights, not the moving average validation uses
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, trainer.model.params()[key])


def test_no_checkpoints_are_kept_by_default(tmp_path, data):
    train(tmp_path, "run", data)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_resumed_run_keeps_its_checkpoints_and_adds_the_rest(tmp_path, data):
    recipe = Recipe(epochs=4, batch_size=32, lr=0.003, checkpoint_every=1)
    train(tmp_path, "run", data, recipe, stop_after=(2, 0))
    folder = tmp_path / "run" / "checkpoints"
    kept = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert sorted(kept) == ["epoch_001.h5", "epoch_002.h5"]
    resumed = Trainer.resume(tmp_path / "run", *data, CLASSES, progress=False, log=None)
    assert resumed.run() == "finished"
    assert sorted(path.name for path in folder.iterdir()) == [f"epoch_{e:03d}.h5" for e in (1, 2, 3, 4)]
    assert all((folder / name).read_bytes() == content for name, content in kept.items())


@pytest.mark.parametrize("kind", ["fgsm", "pgd"])
def test_an_adversarial_batch_stays_within_eps_and_raises_the_loss(data, kind):
    from npnet.data.preprocessing import preprocess
    from npnet.engine.losses import softmax_cross_entropy
    from npnet.engine.seed_net import seed_net
    from npnet.training.adversarial import adversarial_batch
    model, spec = seed_net(seed=1), {"name": "seed"}
    images, labels = data[0].images[:16], data[0].labels[:16]
    attacked = adversarial_batch(model, images, labels, kind, 6.0, spec, np.random.default_rng(0))
    assert np.abs(attacked - images.astype(np.float32)).max() <= 6 and 0 <= attacked.min() and attacked.max() <= 255
    loss = [softmax_cross_entropy(model.forward(preprocess(x, spec)), labels)[0] for x in (images, attacked)]
    assert loss[1] > loss[0]
