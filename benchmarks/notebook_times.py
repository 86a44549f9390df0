"""[notebooks]: the wall time of every notebook of source/divergence/ executed headless, each in
a fresh kernel, on copies (nothing a notebook writes lands in the tree)."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from trainers import ROOT


def headless_env():
    os.environ["NDE_HEADLESS"] = "1"
    os.environ.setdefault("MPLBACKEND", "agg")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")


def section_notebooks(args, results):
    import nbformat
    from nbclient import NotebookClient

    headless_env()
    paths = sorted((ROOT / "source" / "divergence").glob("*.ipynb"))
    out = {"per_notebook": {}, "problems": {}}
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        for path in paths:  # run copies, so that nothing a notebook writes lands in the tree
            work = Path(tmp) / "source" / "divergence"
            work.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, work)
            nb = nbformat.read(work / path.name, as_version=4)
            client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                                    resources={"metadata": {"path": str(work)}})
            start = time.perf_counter()
            client.execute()
            seconds = time.perf_counter() - start
            problems = []
            for cell in nb.cells:
                for o in cell.get("outputs", []):
                    if o.output_type == "error":
                        problems.append(f"error {o.ename}: {o.evalue}"[:120])
                    elif o.output_type == "stream" and o.name == "stderr":
                        problems.append("stderr: " + o.text.strip().splitlines()[0][:110] if o.text.strip() else "stderr")
            out["per_notebook"][path.stem] = seconds
            if args.keep_notebooks:  # the executed notebooks, outputs and all, to read afterwards
                Path(args.keep_notebooks).mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, Path(args.keep_notebooks) / path.name)
            if problems:
                out["problems"][path.stem] = problems
            print(f"  {path.stem:34} {seconds:6.1f} s" + (f"   {len(problems)} problem(s): {problems[0]}" if problems else ""))
    out["total"] = sum(out["per_notebook"].values())
    print(f"  {'total':34} {out['total']:6.1f} s  ({len(paths)} notebooks, each in a fresh kernel)")
    results["notebooks"] = out
