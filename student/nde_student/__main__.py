"""``python -m nde_student validate NOTEBOOK.ipynb [...]``: the students' self-check."""
import sys

from .selfcheck import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "validate":
        print(__doc__)
        sys.exit(2)
    sys.exit(main(args[1:]))
