"""How a hidden check reaches the student's code: a probe.

A check is a function of a ``Probe``. ``probe.run("<key>.<routine>", **params)`` runs a
routine of ``nde_grader/harness/<key>.py`` where the student's answers are and returns
what it sent back (numbers, arrays, strings, lists and dicts of them). Expected values
are computed by the check itself, in the grader's process.

- ``KernelProbe`` (grading): the routine runs inside the student's kernel, which can
  see neither this package nor the course's files. The harness is sent into the
  kernel as source code the first time a check needs it; each call is one execution
  whose result comes back as a display message, JSON with arrays in base64 (never a
  pickle). Each call carries a fresh random token that the reply must echo, and exactly
  one reply is accepted: what the student's code prints or displays while the routine
  runs, even a message shaped like the harness's, is never taken for its reply. (Code in
  the kernel can still change what the harness returns, as it can change the answer
  itself: the check decides from values that only a right answer gives, and reads
  nothing that is missing, of the wrong kind or shape as a pass.)
- ``LocalProbe`` (an instructor running a source notebook, scripts): the same routine
  runs in this process on the notebook's namespace, and its parameters and result go
  through the same encoding, so that both probes behave alike.

When the student's code raises inside a routine, or the kernel's reply is missing,
doubled, forged or unreadable, ``run`` raises ``KernelRaised``.
"""
from __future__ import annotations

import binascii
import importlib
import json
import secrets
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
    """Runs harness routines in a grading kernel through ``execute(code) -> (outputs, reply)``,
    ``reply`` being the content of the kernel's execute reply."""

    def __init__(self, execute, loaded: set[str]):
        self.execute = execute
        self.loaded = loaded  # harness modules already sent to this kernel

    def _send(self, code: str) -> list:
        outputs, reply = self.execute(code)
        error = next((o for o in outputs if o.get("output_type") == "error"), None)
        if error is not None:
            raise KernelRaised(error.get("ename", "Error"), str(error.get("evalue", "")))
        if (reply or {}).get("status") != "ok":
            raise KernelRaised((reply or {}).get("ename") or "NoReply", str((reply or {}).get("evalue") or
                               "the kernel did not finish the hidden test's request"))
        return outputs

    def run(self, routine: str, **params):
        module = routine.partition(".")[0]
        if module not in self.loaded:
            self._send(bootstrap_code([module], package="__init__" not in self.loaded))
            self.loaded.update({"__init__", module})
        payload = json.dumps(encode(params))
        token = secrets.token_hex(16)
        outputs = self._send(f"__import__({KERNEL_PACKAGE!r}).serve({routine!r}, {payload!r}, {token!r})")
        replies = [o for o in outputs if MIME in (o.get("data") or {})]
        if len(replies) != 1:
            raise KernelRaised("BadReply", f"the kernel sent {len(replies)} replies to one request of the hidden tests, "
                               "where the grader's harness sends exactly one (was the display machinery changed?)")
        raw = replies[0]["data"][MIME]
        try:
            reply = json.loads(raw) if isinstance(raw, str) else raw
            if (replies[0].get("output_type") != "display_data" or not isinstance(reply, dict)
                    or set(reply) != {"token", "result"} or reply["token"] != token):
                raise ValueError("not the harness's reply")
            return decode(reply["result"])
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            raise KernelRaised("BadReply", f"the reply to the hidden tests did not come from the grader's harness, or "
                               f"cannot be read ({exc})") from None


def check_exists(name: str) -> None:
    """Raise ValueError unless ``nde_grader/checks/<key>.py`` defines ``<function>``
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
    """The check ``"<key>.<function>"`` of ``nde_grader/checks``."""
    module_name, _, function = name.partition(".")
    module = importlib.import_module(f"nde_grader.checks.{module_name}")
    return getattr(module, function)


def run_check(name: str, probe: Probe) -> None:
    """Run one hidden check; AssertionError (with a message for the student) when it fails."""
    try:
        check_function(name)(probe)
    except KernelRaised as exc:
        raise AssertionError(f"your code raised {exc} while the hidden tests ran it") from None
