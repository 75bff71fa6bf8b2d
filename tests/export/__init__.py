"""`fmtui export`: a run's best weights as ONNX."""
