"""One training step: the four lines every trainer and benchmark runs."""
import numpy as np

from ..engine.losses import distillation_loss, softmax_cross_entropy


def train_step(model, optimizer, x, labels, label_smoothing=0.0, teacher_probs=None, distill_weight=0.0,
               temperature=1.0, mixed_with=None, class_weights=None):
    """Forward, loss, backward, update, on one batch. Returns (loss, logits).

        logits        = model.forward(x, training=True)         (B, K)
        loss, dlogits = softmax_cross_entropy(logits, labels)
        model.backward(dlogits, input_grad=False,               fills every layer's grads; conv -> pool
                       keep_output_grads=False)                 in one step (Conv2D.backward_through_pool)
        optimizer.step(model.params(), model.grads())           updates the weights in place

    The first layer's input gradient and the per-layer output gradients are not kept: a step never
    reads them. A NaN or infinite loss raises NonFiniteError before any weight changes. With
    ``teacher_probs`` (B, K) the loss is ``distillation_loss`` (weight, temperature) instead. With
    ``mixed_with = (partner_labels, lam)`` (mixup / CutMix batches, training/mixing.py) the loss and its
    gradient are lam * (those for labels) + (1 - lam) * (those for partner_labels). With
    ``class_weights`` (K,), each image's cross-entropy is weighted by its label's weight
    (``softmax_cross_entropy``'s ``sample_weights``; not with teachers).
    """
    logits = model.forward(x, training=True)

    def loss_and_gradient(targets):
        if teacher_probs is None:
            weights = None if class_weights is None else class_weights[targets]
            return softmax_cross_entropy(logits, targets, label_smoothing, weights)
        return distillation_loss(logits, targets, teacher_probs, distill_weight, temperature, label_smoothing)

    loss, dlogits = loss_and_gradient(labels)
    if mixed_with is not None:
        partner_labels, lam = mixed_with
        partner_loss, partner_dlogits = loss_and_gradient(partner_labels)
        loss = lam * loss + (1 - lam) * partner_loss
        dlogits = np.float32(lam) * dlogits + np.float32(1 - lam) * partner_dlogits
    model.backward(dlogits, input_grad=False, keep_output_grads=False)
    optimizer.step(model.params(), model.grads())
    return loss, logits
