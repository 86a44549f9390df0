"""Reply fuzzing: a hidden check passes only when every value it reads from the kernel is there and right.

The harness runs inside the student's kernel, so whatever comes back may have been changed
on the way (a harness function replaced, the reply intercepted or forged). For every check
of the source notebooks:

1. the course's answers (the answer and export cells of the source notebook, without their
   demonstrations) run the check through a recording probe, which keeps each reply;
2. the check runs again on those replies through ``ReplayProbe``, with the replies wrapped so
   that every value the check reads is noted (its path in the reply: call, keys, indices);
   it must pass;
3. for every value read, and for every reply as a whole, the check runs on replies changed
   in one place (``mutations``): the value dropped, None, NaN, infinite, an empty or a
   wrong-shaped array, a string, a list in place of an array, a flipped flag; a list
   emptied, cut short or made longer. Every one must make the check fail with an
   AssertionError, whose message is what the student reads (the grader counts another
   exception as a failure too, but the student then reads no reason: the test fails on it).

Values read at many places of one kind (the rows of every batch, the entries of every
call) are mutated at their first and last place read, which keeps the test to seconds.
``ALLOWED`` lists the few mutations that leave a correct answer, each with its reason.
"""
from __future__ import annotations

import functools
import json
import math
import time
import warnings

import nbformat
import numpy as np
import pytest
from nbgrader.utils import is_solution

from course import ASSIGNMENT, ROOT
from nde_grader.harness import encode, roundtrip
from nde_grader.hidden import checks_in
from nde_grader.probe import LocalProbe, Probe, run_check
from nde_grader.reference_build import answer_code, earlier_exports
from nde_student import earlier
from nde_student.earlier import EXPORT_TAG, definitions_only

SOURCE = ROOT / "source" / ASSIGNMENT


def _checks() -> dict[str, str]:
    """check name -> notebook stem, for every hidden check of the source notebooks."""
    out = {}
    for path in sorted(SOURCE.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                out.update(dict.fromkeys(checks_in(cell.source) or (), path.stem))
    return out


NOTEBOOK_OF = _checks()

ARRAY_REPLIES = {"on": lambda path: path[1] % 2 == 1}  # t_star_tensors: the replies for arrays are the odd ones

ALLOWED: dict[tuple[str, str], tuple] = {
    **{(name, "[*].[*].type"): (frozenset({"string"}), "DV may return a Python float (dv_gradient asks for a "
                                "tensor): a number with another type name is a correct reply")
       for name in ("dv_bound.dv_value", "dv_bound.dv_stability", "dv_bound.dv_constant")},
    ("trainer.trainer_steps", "[*].lr"): (frozenset({"extra"}), "an optimiser may hold several parameter groups, each "
                                          "with the lr asked"),
    ("trainer.trainer_logging", "[*].steps"): (frozenset({"empty", "truncated", "extra"}), "the logged losses are "
                                               "compared with those of the optimiser's steps only when it stepped once "
                                               "per iteration (trainer_steps asks for that)"),
    ("trainer.trainer_logging", "[*].steps.[*]"): (frozenset({"drop"}), "the same"),
    ("problem.t_star_tensors", "[*].[*]"): (frozenset({"empty"}), "t_star's values on an array only spare a wrong "
                                            "formula a second loss: without them the tensor's values are compared "
                                            "with the closed form, and the course's are right", ARRAY_REPLIES),
    ("problem.t_star_tensors", "[*].[*].value"): (frozenset({"drop", "None", "nan", "inf", "-inf", "one nan",
                                                             "empty array", "wrong shape"}), "the same", ARRAY_REPLIES),
    **{("network.initialisation", f"[*].[*].{layer}.bias"): (frozenset({"None"}), "a layer without biases has no "
                                                               "bias that is not 0; structure asks for the biases")
       for layer in ("fc1", "fc2", "fc3")},
}
"""(check, path pattern) -> (the mutations there that leave a correct answer, why[, {"on": which paths of the
pattern}])."""


def allowed(name: str, path: tuple, what: str) -> bool:
    whats, _, *where = ALLOWED.get((name, pattern(path)), ((), ""))
    return what in whats and (not where or where[0]["on"](path))


# --- the course's answers, and what they send back ------------------------------------------

def namespace(stem: str) -> dict:
    """The globals of the source notebook ``stem`` after its import cell, its cells tagged export
    and its answer cells, each without its demonstration (definitions only): the course's answers.
    ``from_notebook`` is given the course's answers of the earlier notebooks, as while grading."""
    nb = nbformat.read(SOURCE / f"{stem}.ipynb", as_version=4)
    earlier.provide(earlier_exports(SOURCE, stem))
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    ns = {"__name__": f"strict_replies_{stem}"}
    for cell in code_cells:
        if cell is code_cells[0] or is_solution(cell) or EXPORT_TAG in cell.metadata.get("tags", []):
            exec(compile(definitions_only(answer_code(cell.source)), f"<{stem}, cell {cell.id}>", "exec"), ns)
    return ns


class Recorder(Probe):
    """A LocalProbe that keeps (routine, params, reply) of every call."""

    def __init__(self, namespace: dict):
        self.local = LocalProbe(namespace)
        self.calls: list[tuple[str, dict, object]] = []

    def run(self, routine: str, **params):
        reply = self.local.run(routine, **params)
        self.calls.append((routine, roundtrip(params), roundtrip(reply)))
        return reply


@functools.cache
def recordings(stem: str) -> dict[str, list]:
    """check -> its recorded calls, for every check of notebook ``stem`` (each must pass)."""
    import torch

    saved, threads = dict(earlier._PROVIDED), torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ns = namespace(stem)
        out = {}
        for name in [n for n, s in NOTEBOOK_OF.items() if s == stem]:
            probe = Recorder(ns)
            run_check(name, probe)  # the course's answers pass, through the real probe
            out[name] = probe.calls
        return out
    finally:
        earlier.provide(saved)
        torch.set_num_threads(threads)


# --- replaying, and noting what is read ---------------------------------------------------------

class Reads:
    """The paths read in a reply, in the order first read."""

    def __init__(self):
        self.paths: dict[tuple, None] = {}

    def add(self, path: tuple) -> None:
        self.paths.setdefault(path, None)


def _track(value, path: tuple, reads: Reads):
    if isinstance(value, dict):
        return TrackedDict(value, path, reads)
    if isinstance(value, list):
        return TrackedList(value, path, reads)
    return value


class TrackedDict(dict):
    """A dict of a reply that notes each key read (membership tests are not reads)."""

    def __init__(self, data: dict, path: tuple, reads: Reads):
        super().__init__({k: _track(v, path + (k,), reads) for k, v in data.items()})
        self._path, self._reads = path, reads

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self._reads.add(self._path + (key,))
        return value

    def get(self, key, default=None):
        return self[key] if super().__contains__(key) else default

    def __iter__(self):
        for key in list(super().__iter__()):
            self._reads.add(self._path + (key,))
            yield key

    def keys(self):
        return list(self)

    def values(self):
        return [self[k] for k in list(super().keys())]

    def items(self):
        return [(k, self[k]) for k in list(super().keys())]


class TrackedList(list):
    """A list of a reply that notes each index read (a slice reads every index in it)."""

    def __init__(self, data: list, path: tuple, reads: Reads):
        super().__init__(_track(v, path + (i,), reads) for i, v in enumerate(data))
        self._path, self._reads = path, reads

    def __getitem__(self, index):
        value = super().__getitem__(index)
        n = super().__len__()
        for i in range(*index.indices(n)) if isinstance(index, slice) else [index % n]:
            self._reads.add(self._path + (i,))
        return value

    def __iter__(self):
        for i in range(super().__len__()):
            self._reads.add(self._path + (i,))
            yield super().__getitem__(i)


class Unrecorded(Exception):
    """The check asked for something that the recording did not: the replay cannot answer."""


class ReplayProbe(Probe):
    """Answers each call with the recorded reply of the same routine and parameters (in order),
    as given in ``replies``; with ``reads``, the replies note what the check reads."""

    def __init__(self, calls: list, replies: list, reads: Reads | None = None):
        self.queue = {}
        for k, ((routine, params, _), reply) in enumerate(zip(calls, replies, strict=True)):
            self.queue.setdefault(_key(routine, params), []).append((k, reply))
        self.reads = reads

    def run(self, routine: str, **params):
        pending = self.queue.get(_key(routine, roundtrip(params)))
        if not pending:
            raise Unrecorded(f"{routine} was not called with these parameters while recording")
        k, reply = pending.pop(0)
        if self.reads is None:
            return reply
        self.reads.add((k,))
        return _track(reply, (k,), self.reads)


def _key(routine: str, params: dict) -> str:
    return routine + json.dumps(encode(params), sort_keys=True)


def outcome(name: str, calls: list, replies: list) -> str:
    """What the check made of the replies: "passed", "assert", the name of another exception,
    or "unrecorded"."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # NaN and infinities on purpose
            run_check(name, ReplayProbe(calls, replies))
    except AssertionError:
        return "assert"
    except Unrecorded:
        return "unrecorded"
    except Exception as exc:  # noqa: BLE001 (a reply the check could not read: the test names it)
        return type(exc).__name__
    return "passed"


def read_paths(name: str, calls: list) -> list[tuple]:
    """The paths the check reads from the course's replies; the replay must pass."""
    reads = Reads()
    run_check(name, ReplayProbe(calls, [reply for *_, reply in calls], reads))
    return list(reads.paths)


# --- mutations ------------------------------------------------------------------------------------

FORGED = "forged"
_DROP = object()


def mutations(value, root: bool) -> dict[str, object]:
    """name -> what replaces ``value`` (a whole reply when ``root``); "drop" removes it. A change
    that leaves the value as it was (an empty list emptied) is left out."""
    out: dict[str, object] = {} if root else {"drop": _DROP}
    out["None"] = None
    out["string"] = FORGED
    if isinstance(value, bool):
        out.update({"flipped": not value, "nan": math.nan})
    elif isinstance(value, (int, float)):
        out.update({"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "empty array": np.empty(0),
                    "wrong shape": np.full(2, float(value))})
    elif isinstance(value, np.ndarray):
        a = value.astype(np.float64)
        one_nan = a.copy()
        if a.size:
            one_nan.reshape(-1)[a.size // 2] = math.nan
        out.update({"nan": np.full(a.shape, math.nan), "inf": np.full(a.shape, math.inf),
                    "-inf": np.full(a.shape, -math.inf), "one nan": one_nan,
                    "empty array": np.empty((0, *value.shape[1:])),
                    "wrong shape": np.concatenate([value, value[:1]]) if value.ndim and value.size else np.full(2, a)})
        if value.ndim:
            out["list"] = value.tolist()
    elif isinstance(value, list):
        out["empty"] = []
        if len(value) > 1:
            out["truncated"] = value[:-1]
        if value:
            out["extra"] = value + value[-1:]
        if root:
            out["{}"] = {}
    elif isinstance(value, dict):
        out["empty"] = {}
        if root:
            out["[]"] = []
    elif value is None:
        out.update({"zero": 0.0, "nan": math.nan, "array": np.zeros(1)})
        del out["None"]
    elif isinstance(value, str):
        out["nan"] = math.nan
        if value == FORGED:
            out["string"] = "other"
    return {k: v for k, v in out.items() if not (isinstance(v, (list, dict)) and type(v) is type(value) and v == value)}


def replaced(replies: list, path: tuple, new) -> list:
    """The replies with the value at ``path`` (call, keys and indices) replaced by ``new``
    (removed for _DROP); only the containers on the way are copied."""
    replies = list(replies)
    k, *rest = path
    if not rest:
        replies[k] = new
        return replies

    def put(node, keys):
        node = dict(node) if isinstance(node, dict) else list(node)
        head, *tail = keys
        if tail:
            node[head] = put(node[head], tail)
        elif new is _DROP:
            del node[head]
        else:
            node[head] = new
        return node

    replies[k] = put(replies[k], rest)
    return replies


def _at(replies: list, path: tuple):
    node = replies
    for key in path:
        node = node[key]
    return node


def pattern(path: tuple) -> str:
    """A path with its call and list indices as [*]: "[*].parts.[*].array"."""
    return ".".join("[*]" if isinstance(p, int) else p for p in path)


def sampled(paths: list[tuple]) -> list[tuple]:
    """The first and the last path read of each pattern."""
    by_pattern: dict[str, list[tuple]] = {}
    for path in paths:
        by_pattern.setdefault(pattern(path), []).append(path)
    return [p for group in by_pattern.values() for p in dict.fromkeys([group[0], group[-1]])]


@functools.cache
def fuzz(name: str) -> dict:
    """Every mutation of the check's replies and what the check made of it."""
    calls = recordings(NOTEBOOK_OF[name])[name]
    replies = [reply for *_, reply in calls]
    start = time.perf_counter()
    paths = read_paths(name, calls)
    results = []
    for path in sampled(paths):
        for what, new in mutations(_at(replies, path), root=len(path) == 1).items():
            results.append((pattern(path), path, what, outcome(name, calls, replaced(replies, path, new))))
    return {"calls": len(calls), "paths": paths, "results": results, "seconds": time.perf_counter() - start}


def test_the_replay_sees_the_replies():
    """The machinery itself: reads are noted through indexing, get, iteration and slices, and a
    mutation changes one place only."""
    reads = Reads()
    reply = _track({"a": [1, 2, 3], "b": {"c": np.zeros(2)}, "d": "x"}, (0,), reads)
    assert "d" in reply and reply.get("zz") is None and not reads.paths
    _ = reply["a"][-1], [x for x in reply["a"][:2]], reply.get("b")["c"]
    assert list(reads.paths) == [(0, "a"), (0, "a", 2), (0, "a", 0), (0, "a", 1), (0, "b"), (0, "b", "c")]
    original = [{"a": [1, 2], "b": 3}]
    assert replaced(original, (0, "a", 1), _DROP) == [{"a": [1], "b": 3}] and original == [{"a": [1, 2], "b": 3}]
    assert sampled([(0, "a", 0), (0, "a", 1), (0, "a", 2), (1,)]) == [(0, "a", 0), (0, "a", 2), (1,)]


@pytest.mark.parametrize("name", sorted(NOTEBOOK_OF), ids=str)
def test_every_changed_value_fails_the_check(name):
    """The course's replies pass; each mutation of a value the check reads makes it fail."""
    found = fuzz(name)
    assert found["paths"], f"{name} read nothing from its replies"
    passes = [(p, path, what) for p, path, what, got in found["results"] if got == "passed"]
    passed = [(p, what) for p, path, what in passes if not allowed(name, path, what)]
    used = {(p, what) for p, path, what in passes if allowed(name, path, what)}
    stale = [(key, what) for key, (whats, *_) in ALLOWED.items() if key[0] == name
             for what in whats if (key[1], what) not in used]
    others = sorted({(p, what, got) for p, _, what, got in found["results"] if got not in ("passed", "assert")})
    print(f"\n{name}: {len(found['results'])} mutations of {len(found['paths'])} values read in "
          f"{found['calls']} replies, {found['seconds']:.1f} s; passed {len(passed)}, other exceptions {len(others)}")
    for p, what, got in others:
        print(f"    {got}: {what} at {p}")
    assert not passed, f"{name} passed with these replies changed (path: mutation): " + ", ".join(
        f"{p}: {what}" for p, what in passed)
    assert not stale, f"ALLOWED names mutations of {name} that now fail (remove them): {stale}"
    assert not others, (f"{name} failed on these replies with another exception than an AssertionError: the grader "
                        "counts it as a failure, but the student reads no reason (word it with an assert): "
                        + ", ".join(f"{p}: {what} ({got})" for p, what, got in others))
