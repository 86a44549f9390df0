"""nde_grader/syntax.py: ``ast.parse`` one thread at a time."""
from __future__ import annotations

import ast
import threading

import pytest

from nde_grader import syntax


def test_parse_is_ast_parse():
    tree = syntax.parse("def f(x):\n    return x + 1\n", "cell.py")
    assert ast.dump(tree) == ast.dump(ast.parse("def f(x):\n    return x + 1\n"))
    with pytest.raises(SyntaxError) as raised:
        syntax.parse("def f(:\n", "answer cell")
    assert raised.value.filename == "answer cell"


def test_parse_waits_for_another_thread_that_parses(monkeypatch):
    """While one thread holds the lock, a second one's parse waits for it."""
    done = threading.Event()
    syntax._LOCK.acquire()
    try:
        worker = threading.Thread(target=lambda: (syntax.parse("x = 1"), done.set()))
        worker.start()
        assert not done.wait(0.05), "a second parse ran while the first held the lock"
    finally:
        syntax._LOCK.release()
    worker.join(5)
    assert done.is_set()


def test_parses_in_many_threads_all_succeed():
    source = "(" * 50 + "1" + ")" * 50 + "\n" + "\n".join(f"def f{i}(a, b):\n    return [a + b for _ in range(3)]"
                                                    for i in range(50))
    errors = []

    def work():
        try:
            for _ in range(20):
                syntax.parse(source)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
