"""``resnet18``: torchvision's ResNet-18, from ImageNet weights (``pretrained = true``) or from scratch.

Adapting a network trained on 224x224 colour photos to 28x28 grey images:
- the first convolution keeps its pretrained 7x7 kernels, summed over the three colour channels (a
  grey image is R = G = B, so the summed kernel gives the response the colour one would);
- it keeps its stride of 2 but the max-pool after it goes, so the four stages see 14, 7, 4 and 2
  pixels a side instead of collapsing to 1x1 by the third stage;
- a new 10-class head replaces the 1000-class one.

The pretrained layers learn at ``backbone_lr`` times the head's rate and may stay frozen for the first
``freeze_epochs``, so the new head settles before it pulls the pretrained features around.

The ImageNet weights come through torchvision's weights API into the torch hub cache
(``$TORCH_HOME/hub/checkpoints``); without a network and without that file, building the model is a
``WeightsError`` that says which file to put where.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from fmtui.core.errors import WeightsError
from fmtui.core.models import NUM_CLASSES, ModelSpec


class TransferResNet18(nn.Module):
    def __init__(self, pretrained: bool, dropout: float = 0.0) -> None:
        super().__init__()
        from torchvision.models import ResNet18_Weights, resnet18

        net = resnet18(weights=None)
        if pretrained:
            load_imagenet_weights(net, ResNet18_Weights.IMAGENET1K_V1)
        stem = nn.Conv2d(1, 64, 7, stride=2, padding=3, bias=False)
        with torch.no_grad():
            stem.weight.copy_(net.conv1.weight.sum(dim=1, keepdim=True))
        self.backbone = nn.Sequential(stem, net.bn1, net.relu, net.layer1, net.layer2, net.layer3, net.layer4)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(512, NUM_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def parameter_groups(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(pretrained layers, new head): the optimiser gives them different learning rates."""
        return list(self.backbone.parameters()), list(self.head.parameters())

    def freeze_backbone(self, frozen: bool) -> None:
        for p in self.backbone.parameters():
            p.requires_grad_(not frozen)


def load_imagenet_weights(net: nn.Module, weights) -> None:
    """Load ``weights`` from the torch hub cache into ``net``, downloading them there first if need be."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        net.load_state_dict(_state_dict(path, weights))
    except RuntimeError as exc:  # the file loads but holds another network's weights
        raise WeightsError(f"{path} does not hold ResNet-18's ImageNet weights ({str(exc).splitlines()[0]}). "
                           f"Delete it so fmtui downloads it again, or copy the right file from {weights.url}.") \
            from exc


def _state_dict(path: Path, weights) -> dict[str, torch.Tensor]:
    if not path.is_file():
        try:
            return weights.get_state_dict(progress=False, check_hash=True)
        except Exception as exc:  # URLError, OSError, RuntimeError (a bad hash): all mean "not here"
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise WeightsError(
                f"the ImageNet weights of ResNet-18 are not in {path} and cannot be downloaded ({reason}).\n"
                f"Download {weights.url} (about {weights.meta['_file_size']:.1f} MB) where there is a network "
                f"and copy it to {path}; set TORCH_HOME to use another cache directory. Or train from "
                f"scratch with pretrained = false.") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file: torch raises many kinds
        raise WeightsError(f"{path} is not a readable ResNet-18 weights file ({type(exc).__name__}). Delete it so "
                           f"fmtui downloads it again, or copy a good one from {weights.url}.") from exc


def _summary(config) -> str:
    start = "ImageNet weights" if config.pretrained else "from scratch"
    return f"torchvision ResNet-18 ({start}), grey 7x7 stem stride 2, no max-pool -> Linear(512, 10)"


SPEC = ModelSpec(build=lambda config: TransferResNet18(config.pretrained, config.dropout), summary=_summary,
                 channels_last=True)
