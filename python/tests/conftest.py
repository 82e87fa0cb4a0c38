"""Helpers of the wildsort tests: plugins compiled from the repository's
hostile fixture, and Python run in a child process with its own plugin
directories, so that each registry starts fresh and a crash would end the
child, not the test run."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The tests in this process see the built-in backends only: no plugin of
# the user's, whatever the environment says. wildsort reads the search
# path at its first sort, after this.
_ISOLATED = Path(tempfile.mkdtemp(prefix="wildsort-tests-"))
os.environ["XDG_DATA_HOME"] = str(_ISOLATED / "data")
os.environ["XDG_CACHE_HOME"] = str(_ISOLATED / "cache")
os.environ.pop("WILDHOST_PLUGIN_PATH", None)


def compile_plugin(directory, module, case=None, source=None):
    """``tests/fixtures/hostile.c`` compiled as ``lib<module>.so`` in
    ``directory``: with ``case`` (``"INIT_SEGFAULTS"``, ...) one that
    breaks that rule, without a correct plugin whose backend ``hostile``
    sorts u64 keys. ``source``: another C file to compile instead."""
    compiler = os.environ.get("CC") or shutil.which("cc")
    if compiler is None:
        pytest.fail("no C compiler (cc) to build the test plugins: install gcc or set CC")
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"lib{module}.so"
    command = [
        compiler,
        "-shared",
        "-fPIC",
        "-O1",
        "-I",
        str(REPO / "abi" / "include"),
        f"-DMODULE={module}",
        str(source or REPO / "tests" / "fixtures" / "hostile.c"),
        "-o",
        str(out),
    ]
    if case is not None:
        command.insert(1, f"-DCASE_{case}")
    subprocess.run(command, check=True)
    out.chmod(0o755)
    return out


class Sandbox:
    """A home, data and cache directory of its own; ``plugins`` is the
    user plugin directory there."""

    def __init__(self, root):
        self.root = root
        self.plugins = root / "data" / "wildhost" / "plugins"
        self.canary = root / "canary"
        for d in (root / "data", root / "cache"):
            d.mkdir(parents=True, exist_ok=True)
        root.chmod(0o700)

    def env(self, **extra):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("WILDHOST_PLUGIN_PATH", "XDG_DATA_HOME", "XDG_CACHE_HOME")
        }
        env.update(
            HOME=str(self.root),
            XDG_DATA_HOME=str(self.root / "data"),
            XDG_CACHE_HOME=str(self.root / "cache"),
            WILDHOST_TEST_CANARY=str(self.canary),
        )
        env.update(extra)
        return env

    def run(self, code, **env):
        """Runs ``code`` in a new interpreter; what it prints last, as JSON."""
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (
            f"the child exited with {done.returncode}\n"
            f"stdout: {done.stdout}\nstderr: {done.stderr}"
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def opened(self):
        """The modules whose files some process opened (their constructor ran)."""
        if not self.canary.exists():
            return []
        return self.canary.read_text().split()


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox(tmp_path / "sandbox")
