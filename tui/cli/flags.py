"""The settings flags that `fmtui train` and the monitor share (--model, --epochs, --lr, --batch-size,
--seed, --set), and how they are laid over a preset's config: named flags first, then each --set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Optional

import typer

from fmtui.core.config.settings import TrainConfig, with_assignments, with_overrides

Model = Annotated[Optional[str], typer.Option(
    "--model", metavar="MODEL", show_default=False,
    help="Override the preset's model: a built-in name, or your own as file.py:Class or package.module:factory.")]
Epochs = Annotated[Optional[int], typer.Option(help="Override the preset's epochs.", show_default=False)]
Lr = Annotated[Optional[float], typer.Option(help="Override the peak learning rate.", show_default=False)]
BatchSize = Annotated[Optional[int], typer.Option(help="Override the batch size.", show_default=False)]
Seed = Annotated[Optional[int], typer.Option(help="Override the seed.", show_default=False)]
Assignments = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="KEY=VALUE", help="Override any preset setting, e.g. --set dropout=0.2.", show_default=False)]


@dataclass(frozen=True)
class Flags:
    """The settings given on the command line, for every preset they are applied to."""

    overrides: dict[str, Any] = field(default_factory=dict)  # flag name (as a setting) to value; None: not given
    assignments: tuple[str, ...] = ()  # each --set KEY=VALUE, in order

    @property
    def given(self) -> list[str]:
        """The flags given, as a person typed them."""
        named = [f"--{k.replace('_', '-')}" for k, v in self.overrides.items() if v is not None]
        return named + ["--set"] * bool(self.assignments)

    def apply(self, config: TrainConfig) -> TrainConfig:
        """``config`` with these flags laid over it; ConfigError names the flag at fault."""
        return with_assignments(with_overrides(config, self.overrides), self.assignments)


NO_FLAGS = Flags()
