"""Using a trained run on images from outside the data set: a person's photos made into FashionMNIST
inputs (convert), and a run's best weights ready to classify them (model)."""
