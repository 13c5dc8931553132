"""Execute every notebook in this folder (set SJAX_NOTEBOOK_SMALL=1 for the small CI sizes).

Usage: python notebooks/run_all.py [NOTEBOOK ...]
"""

import sys
import time
from pathlib import Path

import nbclient
import nbformat


def main(paths: list[str]) -> int:
    folder = Path(__file__).parent
    notebooks = [Path(p) for p in paths] or sorted(folder.glob("*.ipynb"))
    if not notebooks:
        print("no notebooks found", file=sys.stderr)
        return 1
    for path in notebooks:
        start = time.perf_counter()
        notebook = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                                         resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        print(f"{path.name}: executed in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
