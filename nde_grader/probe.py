"""How a hidden check reaches the student's code: a probe.

A check is a function of a ``Probe``. ``probe.run("<module>.<routine>", **params)`` runs a
routine of ``nde_grader/harness/<module>.py`` where the student's answers are and returns
what it sent back (numbers, arrays, strings, lists and dicts of them). Expected values
are computed by the check itself, in the grader's process.

- ``KernelProbe`` (grading): the routine runs inside the student's kernel, which can
  see neither this package nor the course's files. The harness is sent into the
  kernel as source code the first time a check needs it; each call is one silent
  execution whose result comes back as a display message, JSON with arrays in base64
  (never a pickle).
- ``LocalProbe`` (an instructor running a source notebook, scripts): the same routine
  runs in this process on the notebook's namespace, and its parameters and result go
  through the same encoding, so that both probes behave alike.

When the student's code raises inside a routine, ``run`` raises ``KernelRaised``.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

from .harness import MIME, call_routine, decode, encode, roundtrip
from .syntax import parse

HARNESS = Path(__file__).parent / "harness"
KERNEL_PACKAGE = "_nde_harness"


class KernelRaised(Exception):
    """The student's code raised while a check ran it (or the kernel could not answer)."""

    def __init__(self, ename: str, evalue: str):
        super().__init__(f"{ename}: {evalue}" if evalue else ename)
        self.ename, self.evalue = ename, evalue


class Probe:
    def run(self, routine: str, **params):
        raise NotImplementedError


class LocalProbe(Probe):
    """Runs harness routines in this process, on ``namespace`` (a notebook's globals)."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def run(self, routine: str, **params):
        try:
            result = call_routine(self.namespace, routine, roundtrip(params), "nde_grader.harness")
        except Exception as exc:  # noqa: BLE001 (the student's code may raise anything)
            raise KernelRaised(type(exc).__name__, str(exc)) from exc
        return roundtrip(result)


def bootstrap_code(modules: list[str], package: bool = True) -> str:
    """Code that defines in a kernel, from their source, the harness package (unless it is
    there already: ``package`` false) and its ``modules``."""
    sources = {"__init__": (HARNESS / "__init__.py").read_text(encoding="utf-8")} if package else {}
    for name in modules:
        sources[name] = (HARNESS / f"{name}.py").read_text(encoding="utf-8")
    return (
        "def __nde_load(sources):\n"
        "    import sys, types\n"
        f"    package = sys.modules.get({KERNEL_PACKAGE!r})\n"
        "    for name, source in sources.items():\n"
        f"        full = {KERNEL_PACKAGE!r} if name == '__init__' else {KERNEL_PACKAGE!r} + '.' + name\n"
        "        module = types.ModuleType(full)\n"
        f"        module.__package__ = {KERNEL_PACKAGE!r}\n"
        "        if name == '__init__':\n"
        "            module.__path__ = []\n"
        "            package = module\n"
        "        sys.modules[full] = module\n"
        "        exec(compile(source, '<grading harness ' + name + '>', 'exec'), module.__dict__)\n"
        "        if name != '__init__':\n"
        "            setattr(package, name, module)\n"
        f"__nde_load({sources!r})\n"
        "del __nde_load\n"
    )


class KernelProbe(Probe):
    """Runs harness routines in a grading kernel through ``execute(code) -> outputs``."""

    def __init__(self, execute, loaded: set[str]):
        self.execute = execute
        self.loaded = loaded  # harness modules already sent to this kernel

    def _send(self, code: str) -> list:
        outputs = self.execute(code)
        for out in outputs:
            if out.get("output_type") == "error":
                raise KernelRaised(out.get("ename", "Error"), str(out.get("evalue", "")))
        return outputs

    def run(self, routine: str, **params):
        module = routine.partition(".")[0]
        if module not in self.loaded:
            self._send(bootstrap_code([module], package="__init__" not in self.loaded))
            self.loaded.update({"__init__", module})
        payload = json.dumps(encode(params))
        outputs = self._send(f"__import__({KERNEL_PACKAGE!r}).serve({routine!r}, {payload!r})")
        for out in outputs:
            data = out.get("data", {})
            if MIME in data:
                raw = data[MIME]
                return decode(json.loads(raw) if isinstance(raw, str) else raw)
        raise KernelRaised("NoResult", "the kernel sent no result back (was the display machinery changed?)")


def check_exists(name: str) -> None:
    """Raise ValueError unless ``nde_grader/checks/<module>.py`` defines ``<function>``
    (read, not imported: the course's build calls this before the reference exists)."""
    import ast

    module_name, _, function = name.partition(".")
    path = Path(__file__).parent / "checks" / f"{module_name}.py"
    if not path.exists():
        raise ValueError(f"no check module nde_grader/checks/{module_name}.py for check({name!r})")
    defined = {n.name for n in parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
    if function not in defined:
        raise ValueError(f"nde_grader/checks/{module_name}.py defines no function {function!r} for check({name!r})")


def check_function(name: str):
    """The check ``"<module>.<function>"`` of ``nde_grader/checks``."""
    module_name, _, function = name.partition(".")
    module = importlib.import_module(f"nde_grader.checks.{module_name}")
    return getattr(module, function)


def run_check(name: str, probe: Probe) -> None:
    """Run one hidden check; AssertionError (with a message for the student) when it fails."""
    try:
        check_function(name)(probe)
    except KernelRaised as exc:
        raise AssertionError(f"your code raised {exc} while the hidden tests ran it") from None
