//! The Python package (`python/`): installed with pip into a virtual
//! environment under the target directory, with pytest and numpy, and its
//! pytest suite (`python/tests`) run there. This is how `cargo test
//! --workspace` runs the Python tests.
//!
//! The extension is built in the dev profile (`MATURIN_PEP517_ARGS=--profile
//! dev`) into `python-build/` under this target directory, not into the
//! target directory itself: cargo puts a cdylib beside the `wildhost` it
//! builds, and `wildhost` reads every `lib*.so` beside it as a plugin, so
//! the extension there would be listed as a refused plugin by the other
//! tests. The venv is made once and reused.
//! Needs Python 3.9 or later with `venv` and `pip` (`WILDHOST_PYTHON`
//! names another interpreter than `python3`), a C compiler for the test
//! plugins, and the package registry for maturin, pytest and numpy: a
//! missing one fails the test with what to install.

use std::path::Path;
use std::process::{Command, Output};
use wildhost_suite::{target_dir, workspace_root};

fn run(command: &mut Command, what: &str, help: &str) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {command:?}: {e}\n  help: {help}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {command:?}\n--- stdout\n{}\n--- stderr\n{}\n  help: {help}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    out
}

fn works(python: &Path, code: &str) -> bool {
    Command::new(python)
        .args(["-c", code])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn the_python_package_passes_its_pytest_suite() {
    let python = std::env::var_os("WILDHOST_PYTHON").unwrap_or_else(|| "python3".into());
    let python = Path::new(&python);
    run(
        Command::new(python).args([
            "-c",
            "import sys, venv, ensurepip; assert sys.version_info >= (3, 9), sys.version",
        ]),
        "checking for Python 3.9+ with venv and pip",
        "install Python 3.9 or later with its venv module (Debian: apt-get install \
         python3-venv), or set WILDHOST_PYTHON to such an interpreter",
    );
    let venv = target_dir().join("python-venv");
    let venv_python = venv.join("bin/python");
    if !works(&venv_python, "import sys") {
        run(
            Command::new(python)
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
            "making the virtual environment",
            "check that the target directory is writable",
        );
    }
    let network = "pip fetches from the package registry (PyPI): check the network";
    if !works(&venv_python, "import pytest, numpy") {
        run(
            Command::new(&venv_python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "pytest",
                "numpy",
            ]),
            "installing pytest and numpy",
            network,
        );
    }
    run(
        Command::new(&venv_python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--force-reinstall",
                "--no-deps",
            ])
            .arg(workspace_root().join("python"))
            .env("CARGO_TARGET_DIR", target_dir().join("python-build"))
            .env("MATURIN_PEP517_ARGS", "--profile dev"),
        "pip install ./python (maturin builds the extension)",
        network,
    );
    let home = tempfile::tempdir().expect("a temporary home");
    let out = run(
        Command::new(&venv_python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(workspace_root().join("python/tests"))
            .current_dir(home.path())
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("WILDHOST_PLUGIN_PATH"),
        "the pytest suite of python/tests",
        "run it by hand for the details: target/python-venv/bin/python -m pytest python/tests",
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    let last = summary.lines().last().unwrap_or_default();
    assert!(
        last.contains(" passed") && !last.contains("failed") && !last.contains("error"),
        "pytest's summary: {last}"
    );
}
