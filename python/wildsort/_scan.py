"""The plugin scanner's child process.

Before a plugin file is loaded into the interpreter, wildsort runs
``python -E -s _scan.py NONCE PATH...``: this script loads each file in a
process of its own and reports on standard output, as ``wildhost __scan``
does for the command, so that a plugin that crashes or hangs while it loads
ends this child, not the user's interpreter. Run by its path, this script's
directory is ``sys.path[0]``, so the extension module beside it is imported
without importing the package.
"""

import sys

if __name__ == "__main__":
    import _native  # type: ignore[import-not-found]

    _native._scan_serve(sys.argv[1], sys.argv[2:])
