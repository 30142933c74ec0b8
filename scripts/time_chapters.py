"""Execute every chapter notebook and print its wall time and peak memory.

Usage (from the repository root, after `make test` or `make book` has set up .venv)::

    .venv/bin/python scripts/time_chapters.py            # every chapter in _toc.yml order
    .venv/bin/python scripts/time_chapters.py book/vgg16-example.ipynb

Each notebook runs twice, in a fresh kernel each time:

* **cold**: with an empty cache folder of its own, as on a fresh machine where a student opens
  only this chapter (the chapter trains its source model or computes its features itself);
* **warm**: again, with the cache the cold run filled.

Peak memory is the kernel's maximum resident set size. The table is Markdown, ready for the
README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def chapters_in_toc() -> list[Path]:
    """The notebooks named in _toc.yml, in order."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [chapter["file"] for part in toc.get("parts", []) for chapter in part["chapters"]]
    return [ROOT / f"{name}.ipynb" for name in files if (ROOT / f"{name}.ipynb").exists()]


def run_one(notebook: Path) -> dict:
    """Execute one notebook in this process' child kernel and measure it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    # The kernel was this process' child; once it has exited its peak RSS is counted here (KiB).
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "peak_mib": peak_kib / 1024}


def measure(notebook: Path, cache: Path) -> dict:
    env = {**os.environ, "TUTORIAL_LIB_CACHE": str(cache)}
    out = subprocess.run([sys.executable, __file__, "--one", str(notebook)], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{notebook.name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one.resolve())))
        return

    notebooks = [n.resolve() for n in args.notebooks] or chapters_in_toc()
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.machine()}\n")
    print("| chapter | cold run (s) | warm run (s) | peak memory (MiB) |")
    print("|---|---:|---:|---:|")
    for notebook in notebooks:
        with tempfile.TemporaryDirectory() as cache:
            cold = measure(notebook, Path(cache))
            warm = measure(notebook, Path(cache))
        peak = max(cold["peak_mib"], warm["peak_mib"])
        print(f"| {notebook.stem} | {cold['seconds']:.0f} | {warm['seconds']:.0f} | {peak:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
