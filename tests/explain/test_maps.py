"""The maps where the answer is known: on the patch data each class is a bright patch at its own place,
so a map that explains a trained model's decision must put its weight there."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fmtui.core.data.fashion_mnist import load_fashion_mnist
from fmtui.core.explain.attributions import attribute, share_inside
from fmtui.core.explain.learned import feature_maps, first_filters, templates
from fmtui.core.explain.loading import LoadedModel, load_model
from fmtui.core.explain.one_image import explain_image
from fmtui.core.explain.pairs import explain_pair
from tests.explain.conftest import PATCH, patch_mask


@pytest.fixture(scope="module")
def test_images(patch_data):
    data = load_fashion_mnist(patch_data, download=False)
    return data.test_images.numpy(), data.test_labels.numpy()


@pytest.mark.parametrize("model", ["linear", "tinyvgg"])
def test_integrated_gradients_put_most_of_their_weight_on_the_patch(model, patch_runs, test_images):
    """For every test image, most of the map toward its class lies on that class's patch, for both models."""
    images, labels = test_images
    maps = attribute(load_model(patch_runs[model]), images, labels, "ig")
    shares = [share_inside(m, patch_mask(int(label))) for m, label in zip(maps, labels)]
    assert min(shares) > 0.6, (model, sorted(shares)[:5])  # the patch is 36 of the 784 pixels (4.6%)


@pytest.mark.parametrize("model", ["linear", "tinyvgg"])
def test_occlusion_hurts_most_where_the_patch_is(model, patch_runs, test_images):
    """Blacking out the patch costs the class the most: the occlusion map peaks on it for nearly every image."""
    images, labels = test_images[0][:40], test_images[1][:40]  # 169 passes an image: 40 images are plenty
    maps = attribute(load_model(patch_runs[model]), images, labels, "occlusion")
    on_patch = [patch_mask(int(label)).flat[int(np.argmax(m))] for m, label in zip(maps, labels)]
    assert np.mean(on_patch) >= 0.9, model


def test_the_linear_templates_are_the_weight_rows_and_light_up_each_class_patch(patch_runs):
    """Each template is its class's row of the linear layer, and its strongest weights are on its patch."""
    loaded = load_model(patch_runs["linear"])
    found = templates(loaded)
    weights = loaded.model.fc.weight.detach().numpy()
    np.testing.assert_array_equal(found, weights.reshape(10, 28, 28))
    for c in range(10):
        strongest = np.argsort(-found[c].ravel())[:PATCH * PATCH]
        assert patch_mask(c).ravel()[strongest].mean() >= 0.8, c


def test_the_filters_are_the_first_convolution_and_the_feature_maps_follow_the_layers(patch_runs, test_images):
    """Filters are the first layer's weights; each convolution gives maps at its own size, strongest first."""
    loaded = load_model(patch_runs["tinyvgg"])
    first = loaded.model.features[0][0].weight.detach()
    np.testing.assert_allclose(first_filters(loaded), first.mean(dim=1).numpy())
    layers = feature_maps(loaded, test_images[0][0], per_layer=3)
    assert [f.side for f in layers] == [28, 28, 14, 14, 7, 7]
    assert [f.channels for f in layers] == [16, 16, 32, 32, 64, 64]
    first_layer = layers[0]
    strengths = first_layer.maps.clip(min=0).mean(axis=(1, 2))
    assert list(strengths) == sorted(strengths, reverse=True) and first_layer.maps.min() >= 0  # after the ReLU


def test_gradcam_finds_the_patch_where_its_answer_is_known():
    """With one identity filter, a ReLU and global pooling, Grad-CAM for a class its head weighs up is the
    image's bright part: it lies on the patch, whatever the patch's place."""
    model = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(1, 10))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[4].weight.copy_(torch.linspace(0.1, 1.0, 10)[:, None])
    loaded = LoadedModel(checkpoint=None, model=model.eval())
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    for c in range(10):
        images[c][patch_mask(c)] = 255
    maps = attribute(loaded, images, np.arange(10), "gradcam")
    for c in range(10):
        assert share_inside(maps[c], patch_mask(c)) > 0.95, c


def test_one_image_gets_a_map_toward_the_predicted_and_the_true_class(patch_runs, test_images):
    """A CNN's image explanation has Grad-CAM and integrated gradients, each toward both classes."""
    images, labels = test_images
    e = explain_image(load_model(patch_runs["tinyvgg"]), images, labels, 3)
    assert set(e.maps) == {"gradcam", "ig"}
    assert e.true == labels[3] and e.predicted == int(np.argmax(e.probabilities))
    assert all(a.shape == b.shape == (28, 28) for a, b in e.maps.values())


def test_a_pair_shows_the_two_class_means_and_their_difference(patch_runs, test_images):
    """The difference of two classes' means is bright on the first's patch and dark on the second's."""
    images, labels = test_images
    p = explain_pair(load_model(patch_runs["linear"]), images, labels, 1, 2, "ig")
    np.testing.assert_allclose(p.mean_true, images[labels == 1].mean(axis=0), rtol=1e-5)
    assert p.difference[patch_mask(1)].mean() > 150 and p.difference[patch_mask(2)].mean() < -150
    assert len(p.mistakes) == 0 and p.average_map is None  # the trained model confuses nothing here
