"""``python -m control``: the same command as ``control``."""

from control.cli import main

if __name__ == "__main__":
    main()
