"""`fmtui predict`: photos made into FashionMNIST inputs and classified by a run."""
