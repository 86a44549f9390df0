"""nde_grader/probe.py: how a check reaches the student's code (the probe in this process here)."""
from __future__ import annotations

import sys

import pytest

from nde_grader import probe as probes
from nde_grader.probe import KERNEL_PACKAGE, KernelRaised, LocalProbe, bootstrap_code, check_exists, run_check


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def namespace(torch, loss):
    ns = {"torch": torch, "z": torch.tensor([9.0])}
    exec(f"def L(w):\n    return {loss}\n", ns)
    return ns


def test_a_right_answer_passes_its_check_and_a_wrong_one_fails_with_a_message(torch):
    run_check("gradient_descent.loss_values", LocalProbe(namespace(torch, "torch.exp(w * z)")))
    with pytest.raises(AssertionError, match=r"with z = -1.0: L\(w\) = .* but e\^\(w z\) ="):
        run_check("gradient_descent.loss_values", LocalProbe(namespace(torch, "torch.exp(-w * z)")))
    with pytest.raises(AssertionError, match="L must return a torch tensor, got float"):
        run_check("gradient_descent.loss_values", LocalProbe(namespace(torch, "1.0")))


def test_the_check_puts_the_students_globals_back(torch):
    ns = namespace(torch, "torch.exp(w * z)")
    z = ns["z"]
    run_check("gradient_descent.loss_values", LocalProbe(ns))
    assert ns["z"] is z


def test_what_the_students_code_raises_is_reported_as_the_students(torch):
    ns = namespace(torch, "undefined_name")
    with pytest.raises(AssertionError, match="your code raised NameError: name 'undefined_name' is not defined while "
                                             "the hidden tests ran it"):
        run_check("gradient_descent.loss_values", LocalProbe(ns))
    with pytest.raises(KernelRaised) as raised:
        LocalProbe(ns).run("gradient_descent.loss", z=1.0, w=[1.0], grad=False)
    assert (raised.value.ename, str(raised.value)) == ("NameError", "NameError: name 'undefined_name' is not defined")


def test_local_results_pass_through_the_wire_format(torch):
    import numpy as np

    got = LocalProbe(namespace(torch, "torch.exp(w * z)")).run("gradient_descent.loss", z=0.0, w=[1.0, 2.0], grad=True)
    assert isinstance(got["value"], np.ndarray) and not got["value"].flags.writeable  # decoded, not the tensor
    assert got["value"].tolist() == [1.0, 1.0] and got["grad"].tolist() == [0.0, 0.0] and got["shape"] == [2]


def test_check_exists_reads_the_check_modules():
    check_exists("gradient_descent.loss_values")
    with pytest.raises(ValueError, match="no check module nde_grader/checks/nowhere.py"):
        check_exists("nowhere.loss_values")
    with pytest.raises(ValueError, match="defines no function 'no_such_check'"):
        check_exists("gradient_descent.no_such_check")
    assert probes.check_function("gradient_descent.loss_values").__name__ == "loss_values"


def test_the_bootstrap_defines_the_harness_from_its_source():
    """The code sent to a kernel makes ``_nde_harness`` and its module from source alone."""
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.startswith(KERNEL_PACKAGE)}
    try:
        ns = {}
        exec(bootstrap_code(["problem"]), ns)
        package = sys.modules[KERNEL_PACKAGE]
        assert package.problem is sys.modules[f"{KERNEL_PACKAGE}.problem"] and callable(package.serve)
        assert set(ns) == {"__builtins__"}  # nothing left in the notebook's namespace
        exec(bootstrap_code(["gradient_descent"], package=False), {})
        assert sys.modules[KERNEL_PACKAGE] is package and package.gradient_descent.loss.__module__ == f"{KERNEL_PACKAGE}.gradient_descent"
    finally:
        for k in [k for k in sys.modules if k.startswith(KERNEL_PACKAGE)]:
            del sys.modules[k]
        sys.modules.update(saved)
    assert "nde_grader" not in bootstrap_code(["problem"]).split("sources):", 1)[0]
