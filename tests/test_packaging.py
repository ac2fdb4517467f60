"""The install is the same everywhere: the lock files pin every package with hashes, and the
Dockerfile sets up the image with the Makefile's own targets, so it cannot drift from `make run`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def locked(name: str) -> dict[str, Version]:
    """{package: version} of a lock file, checking each entry is pinned with a hash."""
    text = (ROOT / "requirements" / name).read_text()
    out = {}
    for entry in re.split(r"\n(?=\S)", text):
        if entry.startswith("#") or not entry.strip():
            continue
        m = re.match(r"([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}", entry)
        assert m, f"{name}: not pinned with a hash: {entry.splitlines()[0]}"
        out[canonicalize_name(m.group(1))] = Version(m.group(2))
    return out


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def make_vars() -> dict[str, str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^(\w+)\s*:?=\s*(.*)$", text, re.M)}


def dockerfile_runs() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [m.group(1) for m in re.finditer(r"^RUN (.*)$", text, re.M)]


def test_the_locks_satisfy_pyproject_and_agree():
    run, test = locked("run.lock"), locked("test.lock")
    extras = project()["optional-dependencies"]
    served = project()["dependencies"] + extras["torch"] + extras["milvus"] + extras["ocr"]
    for kind, lock, reqs in (("run", run, served), ("test", test, served + extras["test"])):
        for r in map(Requirement, reqs):
            name = canonicalize_name(r.name)
            assert name in lock, f"{kind}.lock lacks {name}"
            assert r.specifier.contains(lock[name], prereleases=True), (name, lock[name])
    assert {k: v for k, v in test.items() if k in run} == run   # one version of everything
    assert str(run["torch"]).endswith("+cpu")                   # never the CUDA build
    assert "setuptools" in run                                  # the project's own build
    # OpenCV without its GUI build, which needs the system's libGL (requirements/strip.py)
    assert "opencv-python" not in run and "opencv-python" not in test


def test_opencv_is_the_headless_build():
    """What the locks install imports without the system's libGL (a clean Debian has none)."""
    import cv2
    from importlib.metadata import PackageNotFoundError, version

    assert cv2.imdecode is not None
    try:
        version("opencv-python")
    except PackageNotFoundError:
        pass
    else:
        raise AssertionError("opencv-python (the GUI build) is installed beside the headless one")


def test_make_installs_only_from_the_locks():
    text = (ROOT / "Makefile").read_text()
    installs = [l.strip() for l in text.splitlines() if "$(PIP)" in l and "pip-tools" not in l
                and "PIP_TOOLS" not in l]
    assert installs, "no install lines found"
    for line in installs:
        # --no-deps: the locks hold every dependency, and leave opencv-python out on purpose
        assert "--require-hashes --no-deps -r $<" in line or \
            "--no-deps --no-build-isolation -e ." in line, line


def test_the_dockerfile_sets_up_with_the_makefile_s_targets():
    runs = dockerfile_runs()
    assert not [r for r in runs if re.search(r"\bpip\b|\bpython\b", r)], \
        "the Dockerfile must not install Python packages itself; use a Makefile target"
    targets = [t for r in runs for t in re.findall(r"\bmake ((?:[a-z-]+ ?)+)", r)]
    called = {w for t in targets for w in t.split()}
    makefile = (ROOT / "Makefile").read_text()
    for target in called:
        assert re.search(rf"^{target}:", makefile, re.M), f"make {target}: no such target"
    # what `make run` runs before serving
    run_deps = re.search(r"^run: (.*)$", makefile, re.M).group(1).split()
    assert set(run_deps) <= called and "deps" in called


def test_the_dockerfile_installs_the_same_debian_packages():
    """make, which runs the setup, directly; the serving front (APT_SERVE) through
    `make serve-deps`, the very target `make test` and `make reliability` run before the tests
    that start it; the test-only ones (APT_TEST) stay out of the image."""
    packages = {p for r in dockerfile_runs() if "apt-get install" in r
                for p in r.split("apt-get install", 1)[1].split("&&")[0].split()
                if not p.startswith("-")}
    assert packages == {"make"}
    assert any(re.search(r"\bmake serve-deps\b", r) for r in dockerfile_runs())
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    recipe = re.search(r"^serve-deps:\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "apt-get install" in recipe and "$(APT_SERVE)" in recipe
    for target in ("test", "reliability"):
        assert "serve-deps" in re.search(rf"^{target}: (.*)$", makefile, re.M).group(1).split()
    serve = set(make_vars()["APT_SERVE"].split())
    assert serve == {"nginx"} and not serve & set(make_vars()["APT_TEST"].split())


def test_the_image_serves_through_the_front():
    """The image's command is the entry point that runs nginx (deploy/nginx.conf) in front of
    `qa serve` on loopback, which is what the reliability tests start."""
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r'^CMD \["deploy/entrypoint.sh"\]', text, re.M)
    assert re.search(r"QA_HOST=127\.0\.0\.1", text) and "COPY deploy" in text
    entry = (ROOT / "deploy" / "entrypoint.sh").read_text()
    assert "nginx.conf" in entry and "qa serve" in entry and 'exec "$nginx"' in entry
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "exec deploy/entrypoint.sh" in compose



def test_every_data_file_of_the_package_is_installed():
    """A non-editable install (a wheel, the image) carries only the package data pyproject
    names: every file under qa/ that is not Python must match one of its patterns."""
    import subprocess
    from fnmatch import fnmatch

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]
    tracked = subprocess.run(["git", "ls-files", "qa"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    missing = []
    for name in tracked:
        if name.endswith(".py"):
            continue
        path = Path(name)
        owners = [p for p in data if path.is_relative_to(Path(*p.split(".")))]
        if not any(fnmatch(str(path.relative_to(Path(*p.split(".")))), pat)
                   for p in owners for pat in data[p]):
            missing.append(name)
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
