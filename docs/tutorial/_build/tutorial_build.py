"""A minimal PEP 517 build backend: a wheel of ``backupbridge_nimbus`` with its entry point (see pyproject)."""

from __future__ import annotations

import base64
import hashlib
import pathlib
import tomllib
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "backupbridge_nimbus"


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]  # type: ignore[no-any-return]


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(wheel_directory: str, config_settings: object = None, metadata_directory: object = None) -> str:
    project = _project()
    name, version = str(project["name"]), str(project["version"])
    dist = f"{name.replace('-', '_')}-{version}"
    info = f"{dist}.dist-info"
    entry_points = "".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items())
        for group, points in project["entry-points"].items()  # type: ignore[attr-defined]
    )
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: {project['requires-python']}\n"
    metadata += "".join(f"Requires-Dist: {dep}\n" for dep in project["dependencies"])  # type: ignore[attr-defined]
    files = {f"{PACKAGE}/{p.name}": p.read_bytes() for p in sorted((ROOT / PACKAGE).iterdir()) if p.is_file()}
    files[f"{info}/METADATA"] = metadata.encode()
    files[f"{info}/entry_points.txt"] = entry_points.encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tutorial_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    wheel = f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file_name, data in files.items():
            archive.writestr(file_name, data)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def build_sdist(sdist_directory: str, config_settings: object = None) -> str:
    raise OSError("the tutorial ships as a wheel only (pip install ./docs/tutorial builds one)")
