"""Explaining a trained network: predictions with names, feature maps, Grad-CAM, and its mistakes.

    predict(model, images, top=5)           top-k (class_id, name, prob) per image
    feature_maps(model, images)             {layer name: activations (N, H, W, C)}
    grad_cam(model, images, classes=None)   where in each image the evidence for a class lies (N, H, W)
    cam(model, images, method)              any class activation map method (METHODS) -> (N, H, W)
    attribution(model, images, method)      any input-space attribution method -> (N, H, W, C)
    classify(model, images, labels)         accuracy, confusion matrix, probabilities
    influence(checkpoints, train_images, train_labels, images, labels)
                                            TracIn: the training images that taught each image's label
                                            (proponents) and argued against it (opponents)
    self_influence(checkpoints, images, labels)   how hard each training image pulled on the weights

Images given to these are the model's input (``npnet.data.preprocessing.preprocess`` of uint8 images);
pass ``preprocessing=spec`` to hand them uint8 images instead. ``plots`` draws the figures.
"""
from .mistakes import classify, confusion_matrix, most_confused, per_class, ranked_mistakes
from .features import feature_map_layers, feature_maps
from .gradcam import bilinear_upsample, grad_cam, grad_cam_weights, last_conv_layer
from .methods import METHODS, attribution, cam
from .predict import Prediction, model_class_names, predict, resolve_class, top_k
from .training_data.tracin import Checkpoint, influence, self_influence

__all__ = [
    "cam", "attribution", "METHODS",
    "grad_cam", "grad_cam_weights", "bilinear_upsample", "last_conv_layer",
    "feature_maps", "feature_map_layers",
    "predict", "top_k", "Prediction", "model_class_names", "resolve_class",
    "classify", "confusion_matrix", "per_class", "most_confused", "ranked_mistakes",
    "influence", "self_influence", "Checkpoint",
]
