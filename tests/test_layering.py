"""The architecture, enforced: who may import whom (read from the source, imports at any depth).

Layers, bottom up: the foundation (errors, options, provenance, io) → physics as pure functions
(selections, observables, detector modules, statistics, normalisation) → processors, samples,
fitting, nn, generation, plotting → run machinery → the command line (``hzx.scripts``), the only
place that chooses a matplotlib backend.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: top-level folders of the checkout → the package they are installed as
PACKAGES = {"hzx": "hzx", "processors": "hzx.processors", "samples": "hzx.samples",
            "fitting": "hzx.fitting", "nn": "hzx.nn", "generation": "hzx.generation",
            "scripts": "hzx.scripts"}

FOUNDATION = ("hzx.errors", "hzx.options", "hzx.provenance", "hzx.io", "hzx.histograms")
#: physics as pure functions on arrays: no run machinery, plotting, CLI or cluster code
PHYSICS = ("hzx.processors.fourlep_selection", "hzx.processors.atlas_objects",
           "hzx.processors.track_observables", "hzx.processors.track_kernels",
           "hzx.processors.ghost", "hzx.processors.kinematics",
           "hzx.generation.delphes_modules", "hzx.fitting.statistics",
           "hzx.samples.normalisation", "hzx.samples.identity")
RUN_MACHINERY = ("hzx.runner", "distributed", "dask_jobqueue", "dask_lxplus")
PRESENTATION = ("hzx.plotting", "matplotlib", "mplhep", "hzx.scripts", "tqdm")


def _modules() -> dict[str, Path]:
    out = {}
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _violations(module: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in _imports(MODULES[module])
                  if any(name == f or name.startswith(f + ".") for f in forbidden))


def test_the_tree_is_seen():
    assert len(MODULES) > 80
    assert {"hzx.processors.base", "hzx.scripts.cli", "hzx.fitting.statistics"} <= set(MODULES)


@pytest.mark.parametrize("module", [m for m in MODULES if not m.startswith("hzx.scripts")])
def test_only_the_command_line_imports_the_command_line(module):
    assert _violations(module, ("hzx.scripts",)) == []


@pytest.mark.parametrize("module", FOUNDATION)
def test_foundation_imports_only_foundation(module):
    hzx_imports = {n for n in _imports(MODULES[module])
                   if n.startswith("hzx.") and n != "hzx.__version__"}
    assert all(n in FOUNDATION or n.rsplit(".", 1)[0] in FOUNDATION for n in hzx_imports), \
        hzx_imports


@pytest.mark.parametrize("module", PHYSICS)
def test_physics_is_free_of_io_runners_and_plots(module):
    assert _violations(module, RUN_MACHINERY + PRESENTATION) == []


#: everything the run machinery serves: it imports none of them back
BELOW_THE_RUNNER = sorted(m for m in MODULES if m in FOUNDATION or m.startswith(
    ("hzx.processors", "hzx.samples", "hzx.fitting", "hzx.plotting")))


@pytest.mark.parametrize("module", BELOW_THE_RUNNER)
def test_processors_samples_fitting_plotting_never_import_the_run_machinery(module):
    assert _violations(module, RUN_MACHINERY) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("hzx.runner")))
def test_run_machinery_imports_no_plotting_and_no_command_line(module):
    assert _violations(module, ("hzx.plotting", "matplotlib", "mplhep", "hzx.scripts")) == []


def test_no_backend_switch_outside_the_command_line():
    offenders = []
    for module, path in MODULES.items():
        if module.startswith("hzx.scripts"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("use", "switch_backend")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("matplotlib", "plt", "mpl")):
                offenders.append(f"{module}:{node.lineno}")
    assert offenders == []
