"""Training of sjax's detectors with optax: jitted steps, sharded batches, schedules, early
stopping, checkpoints without pickle, and partial fine-tuning by NNX filters.

Every detector is an NNX module returning logits ``(batch, n_classes)``; data are ``(inputs,
labels)`` pairs where ``inputs`` is an array or a tuple of arrays passed positionally to the model
(``model(*inputs)``) and ``labels`` are integer classes ``(n,)`` or soft labels ``(n, n_classes)``
(class probabilities per example, e.g. Gaussian phase labels). The loss is softmax
cross-entropy, optionally class-weighted; accuracy compares the arg-max of logits and labels.

- `fit`: epochs of shuffled mini-batches (the last incomplete batch is dropped, so one compiled
  step serves the whole run) with AdamW under a warm-up + cosine learning-rate schedule,
  validation after every epoch, early stopping on the validation loss (the best epoch's weights
  are returned), a progress bar, and resumable checkpoints. ``mesh=`` shards every batch over the
  devices of a `sjax.shard.batch_mesh` (the weights are replicated); the step is the same
  computation, so results equal one device's to float round-off.
- Transfer learning: ``wrt=`` selects the trainable variables with an NNX filter, e.g.
  ``nnx.All(nnx.Param, nnx.PathContains("head"))`` fine-tunes only the head; everything else is
  left exactly as it was (batch-norm statistics of the frozen part still adapt in training mode,
  which helps on a shifted domain).
- `save_weights` / `load_weights`: a module's variables as a msgpack map from variable path to
  array (`flax.serialization`), checked against the receiving module's structure on load.

Example:
    >>> model, history = fit(GPD(rngs=nnx.Rngs(0)), (windows, labels), (val_windows, val_labels),
    ...                      key=jax.random.key(1), epochs=5, patience=2)
    >>> save_weights("gpd.msgpack", model)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx, serialization
from jax.sharding import NamedSharding, PartitionSpec

from sjax.shard import AXIS

__all__ = [
    "History",
    "make_optimizer",
    "train_step",
    "fit",
    "evaluate",
    "predict_logits",
    "save_weights",
    "load_weights",
]


class History(NamedTuple):
    """Per-epoch metrics of `fit` (lists of floats, one entry per epoch run)."""

    train_loss: list  # mean cross-entropy over the epoch's batches
    train_accuracy: list
    val_loss: list  # empty without validation data
    val_accuracy: list
    learning_rate: list  # at the end of each epoch
    best_epoch: int  # 0-based epoch whose weights were returned


def make_optimizer(
    model: nnx.Module,
    *,
    total_steps: int,
    learning_rate: float = 1e-3,
    warmup_fraction: float = 0.05,
    weight_decay: float = 1e-4,
    wrt=nnx.Param,
) -> nnx.Optimizer:
    """AdamW on the variables selected by ``wrt``, learning rate warmed up linearly from 0 over
    ``warmup_fraction`` of ``total_steps`` then cosine-decayed to 1 % of ``learning_rate``."""
    if not (learning_rate > 0 and math.isfinite(learning_rate)):
        raise ValueError(f"learning_rate={learning_rate} must be a positive number")
    if not 0 <= warmup_fraction < 1:
        raise ValueError(f"warmup_fraction={warmup_fraction} must lie in [0, 1)")
    if weight_decay < 0:
        raise ValueError(f"weight_decay={weight_decay} must be >= 0")
    schedule = _schedule(learning_rate, total_steps, warmup_fraction)
    return nnx.Optimizer(model, optax.adamw(schedule, weight_decay=weight_decay), wrt=wrt)


def _schedule(learning_rate, total_steps, warmup_fraction):
    total_steps = max(int(total_steps), 1)
    warmup = int(warmup_fraction * total_steps)
    return optax.warmup_cosine_decay_schedule(
        0.0, learning_rate, warmup, total_steps, end_value=0.01 * learning_rate
    )


def _as_tuple(inputs) -> tuple:
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _cross_entropy(logits, labels):
    """Per-example cross-entropy and hard classes, for integer ``(n,)`` or soft ``(n, c)``
    labels (the branch is on the static rank)."""
    if labels.ndim == 2:
        return optax.softmax_cross_entropy(logits, labels), jnp.argmax(labels, axis=-1)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels), labels


def _loss(model, inputs, labels, weights):
    logits = model(*inputs)
    losses, classes = _cross_entropy(logits, labels)
    loss = jnp.sum(weights * losses) / jnp.sum(weights)
    accuracy = jnp.mean(jnp.argmax(logits, axis=-1) == classes)
    return loss, accuracy


@nnx.jit(static_argnames="wrt")
def train_step(model, optimizer, inputs, labels, weights, *, wrt=nnx.Param):
    """One optimiser step on a batch (updates ``model`` and ``optimizer`` in place, NNX style).

    Args:
        model: the module (training mode).
        optimizer: `make_optimizer` output for ``model`` with the same ``wrt``.
        inputs: tuple of arrays with leading axis ``batch``.
        labels: ``(batch,)`` int classes or ``(batch, n_classes)`` soft labels.
        weights: ``(batch,)`` per-example loss weights.
        wrt: the NNX filter of trainable variables (static).

    Returns:
        ``(loss, accuracy)`` of the batch before the update.
    """
    grad_fn = nnx.value_and_grad(_loss, argnums=nnx.DiffState(0, wrt), has_aux=True)
    (loss, accuracy), grads = grad_fn(model, inputs, labels, weights)
    optimizer.update(model, grads)
    return loss, accuracy


@nnx.jit
def _eval_batch(model, inputs, labels, valid):
    logits = model(*inputs)
    losses, classes = _cross_entropy(logits, labels)
    correct = jnp.argmax(logits, axis=-1) == classes
    return jnp.sum(jnp.where(valid, losses, 0.0)), jnp.sum(valid & correct)


@nnx.jit
def _logits_batch(model, inputs):
    return model(*inputs)


def _check_data(data, name: str):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be an (inputs, labels) pair")
    inputs, labels = _as_tuple(data[0]), np.asarray(data[1])
    hard = labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer)
    soft = labels.ndim == 2 and np.issubdtype(labels.dtype, np.floating)
    if not (hard or soft):
        raise ValueError(f"{name} labels must be a 1-D integer array or a 2-D float array of "
                         f"class probabilities, got {labels.dtype} {labels.shape}")  # fmt: skip
    if soft and not (np.all(labels >= 0) and np.allclose(labels.sum(axis=1), 1.0, atol=1e-4)):
        raise ValueError(f"{name} soft labels must be non-negative and sum to 1 per row")
    n = labels.shape[0]
    for i, x in enumerate(inputs):
        if np.shape(x)[:1] != (n,):
            raise ValueError(f"{name} inputs[{i}] has leading axis {np.shape(x)[:1]}, but there "
                             f"are {n} labels")  # fmt: skip
    if n == 0:
        raise ValueError(f"{name} is empty")
    return inputs, labels


def _padded_batches(inputs, labels, batch_size):
    """Fixed-size batches (the last one zero-padded) with a validity mask."""
    n = labels.shape[0]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        pad = batch_size - (stop - start)

        def cut(x, pad=pad, start=start, stop=stop):
            x = np.asarray(x[start:stop])
            return np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)]) if pad else x

        valid = np.arange(batch_size) < stop - start
        yield tuple(cut(x) for x in inputs), cut(labels), valid, stop - start


def evaluate(model: nnx.Module, data, *, batch_size: int = 256) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (inference mode) on ``(inputs, labels)``.

    The model is not modified: a copy is switched to ``eval()`` mode.
    """
    inputs, labels = _check_data(data, "data")
    model = nnx.clone(model)
    model.eval()
    total_loss = total_correct = 0.0
    for batch, batch_labels, valid, _ in _padded_batches(inputs, labels, batch_size):
        loss, correct = _eval_batch(model, batch, batch_labels, valid)
        total_loss += float(loss)
        total_correct += float(correct)
    return total_loss / labels.shape[0], total_correct / labels.shape[0]


def predict_logits(model: nnx.Module, inputs, *, batch_size: int = 256) -> np.ndarray:
    """Logits ``(n, n_classes)`` of ``model`` in inference mode (the model is not modified).

    Args:
        model: an NNX classifier.
        inputs: an array or a tuple of arrays with leading axis ``n``.
        batch_size: examples per jitted call (the last batch is zero-padded).
    """
    inputs = _as_tuple(inputs)
    n = np.shape(inputs[0])[0]
    model = nnx.clone(model)
    model.eval()
    out = []
    for batch, _, _, k in _padded_batches(inputs, np.zeros(n, np.int32), batch_size):
        out.append(np.asarray(_logits_batch(model, batch))[:k])
    return np.concatenate(out)


def _example_weights(weights_per_class, labels):
    """Loss weight per example: its class's weight, or the label-weighted mean for soft labels."""
    if labels.ndim == 2:
        return (labels @ weights_per_class).astype(np.float32)
    return weights_per_class[labels]


def _replicate(tree, mesh):
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def fit(
    model: nnx.Module,
    train,
    validation=None,
    *,
    key: jax.Array,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    warmup_fraction: float = 0.05,
    patience: int | None = None,
    wrt=nnx.Param,
    augment: Callable | None = None,
    class_weights=None,
    mesh: jax.sharding.Mesh | None = None,
    progress: bool = False,
    checkpoint_dir: str | Path | None = None,
) -> tuple[nnx.Module, History]:
    """Train a copy of ``model`` with AdamW + warm-up/cosine schedule; the input is untouched.

    Args:
        model: NNX module mapping ``*inputs`` to logits ``(batch, n_classes)``.
        train: ``(inputs, labels)``; inputs an array or tuple of arrays with leading axis ``n``
            (host numpy is fine: batches are transferred as they are used), labels ``(n,)`` int
            or ``(n, n_classes)`` soft labels (rows sum to 1).
        validation: optional ``(inputs, labels)`` evaluated (inference mode) after every epoch.
        key: ``jax.random`` key for shuffling and ``augment``.
        epochs: maximum number of passes over ``train``.
        batch_size: examples per step (a multiple of the device count when ``mesh`` is given);
            the last incomplete batch of an epoch is dropped.
        learning_rate, weight_decay, warmup_fraction: see `make_optimizer`.
        patience: stop after this many epochs without a lower validation loss (``None``: never);
            the weights of the best epoch are returned whenever there is validation data.
        wrt: NNX filter of the trainable variables (transfer learning), e.g.
            ``nnx.All(nnx.Param, nnx.PathContains("head"))``.
        augment: optional jittable ``augment(key, inputs_tuple) -> inputs_tuple`` applied to each
            training batch.
        class_weights: optional ``(n_classes,)`` loss weights.
        mesh: optional 1-D device mesh (`sjax.shard.batch_mesh`); batches are split over it.
        progress: show a tqdm bar over the run's batches with the latest epoch's metrics.
        checkpoint_dir: if given, the state after each epoch is written to
            ``checkpoint_dir/checkpoint.msgpack`` and a later call with the same arguments resumes
            from it (same batches and results as an uninterrupted run).

    Returns:
        ``(trained_model, History)``.

    Raises:
        ValueError / TypeError: malformed data, sizes or hyper-parameters.
    """
    inputs, labels = _check_data(train, "train")
    if validation is not None:
        validation = _check_data(validation, "validation")
    n = labels.shape[0]
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs={epochs} must be a positive integer")
    if int(batch_size) != batch_size or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size={batch_size} must be an integer in [1, {n}] (train size)")
    if patience is not None and (int(patience) != patience or patience < 1):
        raise ValueError(f"patience={patience} must be a positive integer or None")
    n_devices = 1 if mesh is None else mesh.devices.size
    if batch_size % n_devices:
        raise ValueError(f"batch_size={batch_size} must be divisible by the {n_devices} devices "
                         "of mesh")  # fmt: skip
    steps_per_epoch = n // batch_size
    model = nnx.clone(model)
    model.train()
    optimizer = make_optimizer(model, total_steps=epochs * steps_per_epoch,
                               learning_rate=learning_rate, warmup_fraction=warmup_fraction,
                               weight_decay=weight_decay, wrt=wrt)  # fmt: skip
    schedule = _schedule(learning_rate, epochs * steps_per_epoch, warmup_fraction)
    weights_per_class = None
    if class_weights is not None:
        weights_per_class = np.asarray(class_weights, np.float32)
        n_classes = labels.shape[1] if labels.ndim == 2 else labels.max() + 1
        if (weights_per_class.ndim != 1 or np.any(weights_per_class < 0)
                or n_classes > len(weights_per_class)):  # fmt: skip
            raise ValueError("class_weights must be non-negative, one per class")
    history = History([], [], [], [], [], 0)
    best_state, best_loss, start_epoch = None, math.inf, 0
    checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / "checkpoint.msgpack"
    if checkpoint is not None and checkpoint.exists():
        start_epoch, history, best_loss, best_state = _resume(checkpoint, model, optimizer)
    if mesh is not None:
        nnx.update(model, _replicate(nnx.state(model), mesh))
        nnx.update(optimizer, _replicate(nnx.state(optimizer), mesh))
    batch_sharding = None if mesh is None else NamedSharding(mesh, PartitionSpec(AXIS))
    augment_fn = None if augment is None else jax.jit(augment)

    bar = None
    if progress:  # one bar over all batches of the run: long epochs show their progress
        from tqdm.auto import tqdm

        bar = tqdm(desc="training", unit="batch", initial=start_epoch * steps_per_epoch,
                   total=int(epochs) * steps_per_epoch)  # fmt: skip
    waited = len(history.val_loss) - 1 - history.best_epoch if history.val_loss else 0
    for epoch in range(start_epoch, int(epochs)):
        if bar is not None:
            bar.set_description(f"epoch {epoch + 1}/{int(epochs)}")
        epoch_key = jax.random.fold_in(key, epoch)
        order = np.asarray(jax.random.permutation(jax.random.fold_in(epoch_key, 0), n))
        losses, accuracies = [], []
        for step in range(steps_per_epoch):
            index = np.sort(order[step * batch_size : (step + 1) * batch_size])
            batch = tuple(jnp.asarray(np.asarray(x)[index]) for x in inputs)
            if augment_fn is not None:
                batch = tuple(augment_fn(jax.random.fold_in(epoch_key, step + 1), batch))
            batch_labels = jnp.asarray(labels[index])
            w = (jnp.ones(batch_size, jnp.float32) if weights_per_class is None
                 else jnp.asarray(_example_weights(weights_per_class, labels[index])))  # fmt: skip
            if batch_sharding is not None:
                batch, batch_labels, w = jax.device_put((batch, batch_labels, w), batch_sharding)
            loss, accuracy = train_step(model, optimizer, batch, batch_labels, w, wrt=wrt)
            losses.append(loss)
            accuracies.append(accuracy)
            if bar is not None:
                bar.update(1)
        history.train_loss.append(float(np.mean(jax.device_get(losses))))
        history.train_accuracy.append(float(np.mean(jax.device_get(accuracies))))
        history.learning_rate.append(float(schedule((epoch + 1) * steps_per_epoch)))
        stop = False
        if validation is not None:
            val_loss, val_accuracy = evaluate(model, validation)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_accuracy)
            if val_loss < best_loss:
                best_loss, best_state, waited = val_loss, _host_state(model), 0
                history = history._replace(best_epoch=epoch)
            else:
                waited += 1
                stop = patience is not None and waited >= patience
        else:
            history = history._replace(best_epoch=epoch)
        if bar is not None:
            shown = {"loss": history.train_loss[-1], "acc": history.train_accuracy[-1]}
            if history.val_loss:
                shown.update(val_loss=history.val_loss[-1], val_acc=history.val_accuracy[-1])
            bar.set_postfix({k: f"{v:.3g}" for k, v in shown.items()})
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, optimizer, epoch + 1, history, best_loss,
                             best_state)  # fmt: skip
        if stop:
            break
    if bar is not None:
        bar.close()
    if best_state is not None:
        nnx.update(model, _unflatten_like(nnx.state(model), best_state, "best state"))
    if mesh is not None:  # back to ordinary single-device arrays
        nnx.update(model, jax.tree.map(jnp.asarray, jax.device_get(nnx.state(model))))
    return model, history


# --- serialisation (no pickle): {variable path: array} maps in msgpack ---------------------------


def _is_key(x) -> bool:
    return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _flatten(state) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {
        jax.tree_util.keystr(path): np.asarray(jax.random.key_data(x) if _is_key(x) else x)
        for path, x in leaves
    }


def _unflatten_like(template, flat: dict, what: str):
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    missing = [jax.tree_util.keystr(p) for p, _ in leaves if jax.tree_util.keystr(p) not in flat]
    if missing:
        raise ValueError(f"{what} lacks variables {missing[:5]} (of {len(missing)}): it was "
                         "saved from a different architecture")  # fmt: skip
    out = []
    for path, x in leaves:
        value = np.asarray(flat[jax.tree_util.keystr(path)])
        expected = jax.random.key_data(x).shape if _is_key(x) else np.shape(x)
        if value.shape != tuple(expected):
            raise ValueError(f"{what}: variable {jax.tree_util.keystr(path)} has shape "
                             f"{value.shape}, the model expects {tuple(expected)}")  # fmt: skip
        if _is_key(x):
            out.append(jax.random.wrap_key_data(value, impl=jax.random.key_impl(x)))
        else:
            out.append(jnp.asarray(value, dtype=x.dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


def _host_state(model) -> dict[str, np.ndarray]:
    return _flatten(nnx.state(model))


def save_weights(path: str | Path, model: nnx.Module) -> Path:
    """Write every variable of ``model`` (parameters and batch statistics) to a msgpack file.

    Returns:
        The path written. Load with `load_weights` into a module of the same architecture.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(serialization.msgpack_serialize(_flatten(nnx.state(model))))
    return path


def load_weights(path: str | Path, model: nnx.Module) -> nnx.Module:
    """A copy of ``model`` with its variables read from a `save_weights` file (bit-exact).

    Raises:
        ValueError: if the file is missing or does not match ``model``'s variables and shapes.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"weights file not found: {str(path)!r}")
    flat = serialization.msgpack_restore(path.read_bytes())
    model = nnx.clone(model)
    nnx.update(model, _unflatten_like(nnx.state(model), flat, f"weights file {path.name}"))
    return model


def _save_checkpoint(path, model, optimizer, epochs_done, history, best_loss, best_state):
    payload = {
        "model": _flatten(nnx.state(model)),
        "optimizer": _flatten(nnx.state(optimizer)),
        "epochs_done": epochs_done,
        "history": {k: np.asarray(v, np.float64) for k, v in history._asdict().items()},
        "best_loss": best_loss,
        "best_state": best_state if best_state is not None else {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(serialization.msgpack_serialize(payload))
    tmp.replace(path)  # atomic: a crash never leaves a half-written checkpoint


def _resume(path, model, optimizer):
    payload = serialization.msgpack_restore(path.read_bytes())
    nnx.update(model, _unflatten_like(nnx.state(model), payload["model"], "checkpoint model"))
    saved_optimizer = payload["optimizer"]
    nnx.update(optimizer,
               _unflatten_like(nnx.state(optimizer), saved_optimizer, "checkpoint optimizer"))
    saved = payload["history"]
    history = History(*(list(map(float, saved[k])) for k in History._fields[:-1]),
                      int(saved["best_epoch"]))  # fmt: skip
    best_state = payload["best_state"] or None
    return int(payload["epochs_done"]), history, float(payload["best_loss"]), best_state

