"""Models defined outside fmtui: ``model = "path/to/file.py:Name"`` or ``model = "package.module:name"``.

``Name`` is an ``nn.Module`` class or a function returning a module. It is called with keyword
arguments only: each of its parameters named like a setting (``dropout``, ``widths``, ``seed``...) gets
that setting's value from the run's config; any other parameter must have a default. So a preset's
``dropout = 0.2`` reaches ``Net(dropout=...)``, and a sweep over dropout varies it.

Building checks what the trainer relies on, and every failure names the user's file and line: the file
imports, ``Name`` exists, it builds an ``nn.Module``, and that module maps N x 1 x 28 x 28 images to N x 10
scores. The file is read afresh at each build, so an edited file is picked up by the next run, and the
hash of the bytes that built the model is what a checkpoint records (``model_source``).

Nothing here imports torch until a model is built: checking a preset's ``model =`` stays instant.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import sys
import traceback
from dataclasses import dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any

from fmtui.core.errors import ConfigError

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_MODULE = re.compile(rf"{_IDENTIFIER}(\.{_IDENTIFIER})*")
_ATTRIBUTE = re.compile(_IDENTIFIER)
_FMTUI = str(Path(__file__).resolve().parents[1])  # fmtui's core: frames there are not the user's
FORMS = "'path/to/file.py:ClassName' or 'package.module:factory'"


@dataclass(frozen=True)
class Reference:
    """A parsed ``model =`` naming code outside fmtui: a file (``path``) or an importable ``module``."""

    text: str
    path: Path | None
    module: str | None
    attribute: str

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else self.module or ""


def is_reference(text: str) -> bool:
    """Whether ``model =`` names user code rather than a built-in model (built-in names have no ':')."""
    return ":" in text


def parse(text: str) -> Reference:
    """The reference ``text`` spells; ConfigError (without a label: the caller adds it) when malformed."""
    location, _, attribute = text.rpartition(":")
    if not _ATTRIBUTE.fullmatch(attribute):
        raise ConfigError(f"after the ':' must come the name of a class or function (expected {FORMS})")
    if location.endswith(".py"):
        return Reference(text, Path(location).expanduser(), None, attribute)
    if _MODULE.fullmatch(location):
        return Reference(text, None, location, attribute)
    raise ConfigError(f"before the ':' must come a .py file or a dotted module name (expected {FORMS})")


def resolved(text: str, base: Path) -> str:
    """``text`` with a relative file made absolute against ``base``: records and resumes must rebuild the
    model from wherever they are run."""
    if not is_reference(text):
        return text
    reference = parse(text)
    if reference.path is None or reference.path.is_absolute():
        return text
    return f"{(base / reference.path).absolute()}:{reference.attribute}"


def file_problem(text: str) -> str | None:
    """Why the file a reference names cannot be used now (it is missing), or None."""
    reference = parse(text)
    if reference.path is not None and not reference.path.is_file():
        return f"the model file {reference.path} does not exist"
    return None


# --- where a model came from ---------------------------------------------------------------------------

# The sha256 of the bytes each file was built from in this process, by path: a checkpoint records the code
# that built its weights even if the file is edited while the run trains.
_BUILT_FROM: dict[str, str] = {}


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_source(text: str) -> dict[str, str] | None:
    """``{"path", "sha256"}`` of the file that defines a user model (None for a built-in one)."""
    if not is_reference(text):
        return None
    reference = parse(text)
    path = reference.path
    if path is None:
        module = sys.modules.get(reference.module or "")
        path = Path(module.__file__) if module is not None and getattr(module, "__file__", None) else None
    if path is None:
        return None
    path = path.absolute()
    digest = _BUILT_FROM.get(str(path))
    if digest is None:
        try:
            digest = file_hash(path)
        except OSError:
            return None
    return {"path": str(path), "sha256": digest}


# --- building ----------------------------------------------------------------------------------------


def summary(text: str) -> str:
    """One line for the status bar and `fmtui presets`: where the model comes from."""
    reference = parse(text)
    name = reference.path.name if reference.path is not None else reference.module
    return f"{reference.attribute} from {name} (your model)"


def build(config: Any) -> Any:
    """A freshly initialised model for ``config.model`` (a reference), checked as the module docstring says."""
    reference = parse(config.model)
    module = _load(reference)
    factory = getattr(module, reference.attribute, None)
    if factory is None or not callable(factory):
        found = ", ".join(f"{name} (line {line})" for name, line in _defined(module)) or "no class or function"
        what = "has no" if factory is None else "has no class or function called"
        raise ConfigError(f"{_file_of(module, reference)}: {what} '{reference.attribute}' (from model = "
                          f"{config.model!r}); it defines {found}.")
    kwargs = _arguments(factory, config, reference, module)
    try:
        model = factory(**kwargs)
    except Exception as exc:
        raise ConfigError(f"{_blame(exc, module, reference)}: building {reference.attribute}"
                          f"({', '.join(kwargs)}) raised {type(exc).__name__}: {exc}") from None
    from torch import nn

    if not isinstance(model, nn.Module):
        raise ConfigError(f"{_at(factory, module, reference)}: {reference.attribute}(...) returned a value of "
                          f"type {type(model).__name__}, not a torch.nn.Module; expected an nn.Module subclass, or "
                          f"a function returning an nn.Module instance.")
    _check_output(model, reference, module)
    return model


def _load(reference: Reference) -> ModuleType:
    if reference.module is not None:
        try:
            return importlib.import_module(reference.module)
        except ModuleNotFoundError as exc:
            if exc.name and reference.module.startswith(exc.name):
                raise ConfigError(f"model = {reference.text!r}: no module named '{exc.name}' (install it, or put "
                                  f"its folder on PYTHONPATH).") from None
            raise ConfigError(f"{_blame(exc, None, reference)}: importing {reference.module} failed: {exc}") from None
        except Exception as exc:
            raise ConfigError(f"{_blame(exc, None, reference)}: importing {reference.module} raised "
                              f"{type(exc).__name__}: {exc}") from None
    path = reference.path.absolute()
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"model file {path} cannot be read: {exc.strerror or exc}.") from None
    name = "fmtui_user_model_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    module = ModuleType(name)
    module.__file__ = str(path)
    # Like `python file.py`: the file's folder is importable while it loads, so it may import its neighbours.
    sys.path.insert(0, str(path.parent))
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise ConfigError(f"{path}, line {exc.lineno}: cannot be imported: {exc.msg}.") from None
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ConfigError(f"{_blame(exc, module, reference)}: importing it raised {type(exc).__name__}: "
                          f"{exc}") from None
    finally:
        if sys.path and sys.path[0] == str(path.parent):
            del sys.path[0]
    _BUILT_FROM[str(path)] = hashlib.sha256(source).hexdigest()
    return module


def _arguments(factory: Any, config: Any, reference: Reference, module: ModuleType) -> dict[str, Any]:
    """The settings ``factory`` names as parameters, by name; a parameter that names none needs a default."""
    settings = {f.name for f in fields(config)}
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return {}
    kwargs = {}
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in settings and p.kind is not p.POSITIONAL_ONLY:
            kwargs[p.name] = getattr(config, p.name)
        elif p.default is p.empty:
            raise ConfigError(f"{_at(factory, module, reference)}: {reference.attribute} takes '{p.name}', which "
                              f"is not a setting fmtui can pass; give it a default, or name a setting "
                              f"(`fmtui presets --settings` lists them, such as dropout and widths).")
    return kwargs


def _check_output(model: Any, reference: Reference, module: ModuleType) -> None:
    """Two zero images through the model, in eval mode (no batch statistics or dropout, no random numbers
    drawn), so a misfit shows now and not after the data has loaded. Lazy layers take their shapes here."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(2, 1, 28, 28))
    except Exception as exc:
        raise ConfigError(f"{_blame(exc, module, reference)}: {reference.attribute}'s forward raised "
                          f"{type(exc).__name__} on a batch of 2 x 1 x 28 x 28 images: {exc}. Expected it to "
                          f"take N x 1 x 28 x 28 images and give N x 10 scores.") from None
    finally:
        model.train(was_training)
    shape = " x ".join(map(str, out.shape)) if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 10):
        forward = getattr(type(model), "forward", None)
        raise ConfigError(f"{_at(forward, module, reference)}: {reference.attribute} gives {shape} for a "
                          f"2 x 1 x 28 x 28 batch; expected 2 x 10 (one score per class for each image).")


# --- saying where ------------------------------------------------------------------------------------


def _file_of(module: ModuleType | None, reference: Reference) -> str:
    path = getattr(module, "__file__", None) if module is not None else None
    return str(path or reference.where)


def _at(obj: Any, module: ModuleType, reference: Reference) -> str:
    """'file, line N' where ``obj`` is defined, or the file alone."""
    try:
        line = inspect.getsourcelines(obj)[1]
        return f"{inspect.getsourcefile(obj)}, line {line}"
    except (TypeError, OSError):
        return _file_of(module, reference)


def _blame(exc: BaseException, module: ModuleType | None, reference: Reference) -> str:
    """'file, line N' of the deepest frame of ``exc`` in the user's file (else outside fmtui and the
    libraries it runs on), so the message points at the user's line rather than at torch's."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = _file_of(module, reference)
    mine = [f for f in frames if f.filename == own]
    if not mine:
        mine = [f for f in frames if "site-packages" not in f.filename and not f.filename.startswith(_FMTUI)
                and not f.filename.startswith("<frozen")]
    if not mine:
        return own
    return f"{mine[-1].filename}, line {mine[-1].lineno}"


def _defined(module: ModuleType) -> list[tuple[str, int]]:
    """The classes and functions ``module`` defines itself, with their lines: what the person may have meant."""
    found = []
    for name, value in vars(module).items():
        if name.startswith("_") or not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if getattr(value, "__module__", None) != module.__name__:
            continue
        try:
            found.append((name, inspect.getsourcelines(value)[1]))
        except (OSError, TypeError):
            found.append((name, 0))
    return sorted(found, key=lambda item: item[1])
