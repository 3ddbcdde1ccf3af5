"""One training step: the four lines every trainer and benchmark runs."""
from ..losses import distillation_loss, softmax_cross_entropy


def train_step(model, optimizer, x, labels, label_smoothing=0.0, teacher_probs=None, distill_weight=0.0,
               temperature=1.0):
    """Forward, loss, backward, update, on one batch. Returns (loss, logits).

        logits        = model.forward(x, training=True)         (B, K)
        loss, dlogits = softmax_cross_entropy(logits, labels)
        model.backward(dlogits, input_grad=False,               fills every layer's grads; conv -> pool
                       keep_output_grads=False,                 in one step (Conv2D.backward_through_pool)
                       fuse_conv_pool=True)
        optimizer.step(model.params(), model.grads())           updates the weights in place

    The first layer's input gradient and the per-layer output gradients are not kept: a step never
    reads them. A NaN or infinite loss raises NonFiniteError before any weight changes. With
    ``teacher_probs`` (B, K) the loss is ``distillation_loss`` (weight, temperature) instead.
    """
    logits = model.forward(x, training=True)
    if teacher_probs is None:
        loss, dlogits = softmax_cross_entropy(logits, labels, label_smoothing)
    else:
        loss, dlogits = distillation_loss(logits, labels, teacher_probs, distill_weight, temperature,
                                          label_smoothing)
    model.backward(dlogits, input_grad=False, keep_output_grads=False, fuse_conv_pool=True)
    optimizer.step(model.params(), model.grads())
    return loss, logits
