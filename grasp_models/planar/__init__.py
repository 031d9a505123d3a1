"""Planar (image-space) grasp detection: GG-CNN, GG-CNN2 and the semi-supervised VQ-VAE
GG-CNN, with one pre-/post-processing path shared by training, evaluation and the node."""
