"""Rich-only pieces both faces use: number formats, pictures in half blocks, the confusion table."""
