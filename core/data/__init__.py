"""The data: FashionMNIST from checked IDX files, its splits, and augmentation."""
