"""Why a model decides as it does: what it learned (a linear model's class templates, a CNN's first-layer
filters and feature maps), where it looked for one image (Captum attributions), and what separates two
classes it confuses. Plain numpy results, drawn by the terminal views and written as PNG files elsewhere.

Nothing here imports Textual; torch and Captum are imported by the modules that need them.
"""
