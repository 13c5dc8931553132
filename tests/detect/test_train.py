"""The optax trainer: learning, early stopping, frozen variables, checkpoints, resume, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sjax.detect.train import evaluate, fit, load_weights, predict_logits, save_weights


class Tiny(nnx.Module):
    """A small classifier with batch-norm (so batch statistics are exercised): (b, 8) -> 2."""

    def __init__(self, rngs):
        self.body = nnx.Linear(8, 16, rngs=rngs)
        self.norm = nnx.BatchNorm(16, rngs=rngs)
        self.head = nnx.Linear(16, 2, rngs=rngs)

    def __call__(self, x):
        return self.head(jax.nn.relu(self.norm(self.body(x))))


def blobs(key, n):
    """Two Gaussian classes in 8-D, means ±0.8 on every axis (Bayes accuracy ≈ 0.99)."""
    k_label, k_x = jax.random.split(key)
    labels = jax.random.bernoulli(k_label, 0.5, (n,)).astype(jnp.int32)
    x = jax.random.normal(k_x, (n, 8), jnp.float32) + 0.8 * (2.0 * labels[:, None] - 1.0)
    return np.asarray(x), np.asarray(labels)


@pytest.fixture(scope="module")
def data():
    return blobs(jax.random.key(0), 512), blobs(jax.random.key(1), 256)


def test_fit_learns_and_leaves_the_input_model_untouched(data):
    train, validation = data
    model = Tiny(nnx.Rngs(0))
    before = jax.tree.map(np.array, nnx.state(model, nnx.Param))
    trained, history = fit(model, train, validation, key=jax.random.key(2), epochs=6,
                           batch_size=64, learning_rate=1e-2)  # fmt: skip
    assert history.val_accuracy[history.best_epoch] >= 0.95
    assert history.train_loss[-1] < history.train_loss[0]
    assert evaluate(trained, validation)[1] == pytest.approx(
        history.val_accuracy[history.best_epoch])
    after = jax.tree.map(np.array, nnx.state(model, nnx.Param))
    jax.tree.map(np.testing.assert_array_equal, before, after)
    assert len(history.learning_rate) == 6 and history.learning_rate[-1] < 1e-3  # cosine decay


def test_early_stopping_returns_the_best_epoch(data):
    train, validation = data
    # an absurd learning rate makes the validation loss wander: stopping must happen
    trained, history = fit(Tiny(nnx.Rngs(0)), train, validation, key=jax.random.key(3),
                           epochs=30, batch_size=64, learning_rate=3.0, patience=2)  # fmt: skip
    assert len(history.val_loss) < 30
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert evaluate(trained, validation)[0] == pytest.approx(min(history.val_loss), rel=1e-5)


def test_frozen_variables_do_not_move(data):
    train, _ = data
    model = Tiny(nnx.Rngs(0))
    head_only = nnx.All(nnx.Param, nnx.PathContains("head"))
    trained, _ = fit(model, train, key=jax.random.key(4), epochs=2, batch_size=64,
                     learning_rate=1e-2, wrt=head_only)  # fmt: skip
    np.testing.assert_array_equal(trained.body.kernel[...], model.body.kernel[...])
    assert not np.allclose(trained.head.kernel[...], model.head.kernel[...])


def test_weights_round_trip_exactly_and_check_the_architecture(data, tmp_path):
    train, validation = data
    trained, _ = fit(Tiny(nnx.Rngs(0)), train, key=jax.random.key(5), epochs=1, batch_size=64)
    path = save_weights(tmp_path / "tiny.msgpack", trained)
    restored = load_weights(path, Tiny(nnx.Rngs(9)))
    jax.tree.map(np.testing.assert_array_equal, nnx.state(trained), nnx.state(restored))
    np.testing.assert_array_equal(predict_logits(trained, validation[0]),
                                  predict_logits(restored, validation[0]))  # fmt: skip

    class Wider(Tiny):
        def __init__(self, rngs):
            super().__init__(rngs)
            self.head = nnx.Linear(16, 3, rngs=rngs)

    with pytest.raises(ValueError, match="head.*shape"):
        load_weights(path, Wider(nnx.Rngs(0)))
    with pytest.raises(ValueError, match="not found"):
        load_weights(tmp_path / "missing.msgpack", Tiny(nnx.Rngs(0)))


def test_resume_from_checkpoint_equals_an_uninterrupted_run(data, tmp_path, monkeypatch):
    import sjax.detect.train as train_module

    train, validation = data
    kwargs = dict(epochs=3, key=jax.random.key(6), batch_size=64, learning_rate=1e-2)
    full, full_history = fit(Tiny(nnx.Rngs(0)), train, validation, **kwargs)

    save = train_module._save_checkpoint
    saved = []

    def crash_after_two_epochs(*args):
        save(*args)
        saved.append(1)
        if len(saved) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "_save_checkpoint", crash_after_two_epochs)
    with pytest.raises(KeyboardInterrupt):
        fit(Tiny(nnx.Rngs(0)), train, validation, checkpoint_dir=tmp_path, **kwargs)
    monkeypatch.setattr(train_module, "_save_checkpoint", save)
    resumed, history = fit(Tiny(nnx.Rngs(0)), train, validation, checkpoint_dir=tmp_path,
                           **kwargs)  # fmt: skip
    assert history == full_history
    jax.tree.map(np.testing.assert_array_equal, nnx.state(full), nnx.state(resumed))


def test_augment_and_tuple_inputs_and_class_weights(data):
    (x, y), _ = data
    calls = []

    def augment(key, inputs):
        calls.append(1)  # traced once: jitted
        features, scale = inputs
        noise = 0.01 * jax.random.normal(key, features.shape, features.dtype)
        return features * scale[:, None] + noise, scale

    class Scaled(Tiny):
        def __call__(self, features, scale):
            return super().__call__(features)

    scale = np.ones(len(y), np.float32)
    _, history = fit(Scaled(nnx.Rngs(0)), ((x, scale), y), key=jax.random.key(7), epochs=2,
                     batch_size=64, augment=augment, class_weights=[1.0, 2.0])  # fmt: skip
    assert len(calls) == 1 and np.isfinite(history.train_loss).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(epochs=0), "epochs"),
        (dict(batch_size=10_000), "batch_size"),
        (dict(patience=0), "patience"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(class_weights=[1.0]), "class_weights"),
    ],
)
def test_bad_arguments_are_named(data, kwargs, match):
    train, _ = data
    with pytest.raises(ValueError, match=match):
        fit(Tiny(nnx.Rngs(0)), train, key=jax.random.key(0), **kwargs)


def test_bad_data_is_named(data):
    (x, y), _ = data
    with pytest.raises(ValueError, match="labels"):
        fit(Tiny(nnx.Rngs(0)), (x, y.astype(np.float32)), key=jax.random.key(0))
    with pytest.raises(ValueError, match="leading axis"):
        fit(Tiny(nnx.Rngs(0)), (x[:-1], y), key=jax.random.key(0))
    with pytest.raises(TypeError, match="pair"):
        fit(Tiny(nnx.Rngs(0)), x, key=jax.random.key(0))


def test_one_hot_soft_labels_train_exactly_like_integer_labels(data):
    (x, y), (vx, vy) = data
    one_hot = lambda labels: np.eye(2, dtype=np.float32)[labels]  # noqa: E731
    runs = [fit(Tiny(nnx.Rngs(0)), (x, labels), (vx, val), key=jax.random.key(8), epochs=2,
                batch_size=64, class_weights=[1.0, 3.0])  # fmt: skip
            for labels, val in ((y, vy), (one_hot(y), one_hot(vy)))]
    (hard_model, hard), (soft_model, soft) = runs
    np.testing.assert_allclose(soft.train_loss, hard.train_loss, rtol=1e-5)
    np.testing.assert_allclose(soft.val_loss, hard.val_loss, rtol=1e-5)
    assert soft.val_accuracy == hard.val_accuracy
    np.testing.assert_allclose(predict_logits(soft_model, vx), predict_logits(hard_model, vx),
                               rtol=1e-4, atol=1e-5)  # fmt: skip


def test_soft_label_loss_reaches_the_label_entropy():
    # every example carries the label (0.7, 0.3): its cross-entropy is bounded below by the
    # label's entropy H = 0.6109 nats, reached when softmax(logits) = (0.7, 0.3)
    x = np.asarray(jax.random.normal(jax.random.key(9), (512, 8)), np.float32)
    labels = np.tile(np.array([[0.7, 0.3]], np.float32), (512, 1))
    _, history = fit(Tiny(nnx.Rngs(1)), (x, labels), key=jax.random.key(10), epochs=8,
                     batch_size=64, learning_rate=1e-2)  # fmt: skip
    entropy = -(0.7 * np.log(0.7) + 0.3 * np.log(0.3))
    assert history.train_loss[0] > entropy + 0.01  # it starts away from the optimum
    assert entropy - 1e-6 <= history.train_loss[-1] <= entropy + 0.01


def test_bad_soft_labels_are_named(data):
    (x, _), _ = data
    bad = np.full((len(x), 2), 0.6, np.float32)  # rows sum to 1.2
    with pytest.raises(ValueError, match="sum to 1"):
        fit(Tiny(nnx.Rngs(0)), (x, bad), key=jax.random.key(0))
