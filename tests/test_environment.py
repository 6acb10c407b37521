"""Are the conda environment and the pip path the same pins, and is that what is installed?"""
import re
from importlib.metadata import PackageNotFoundError, version

import yaml

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-]+)$")


def pip_pins(course_root):
    lines = (course_root / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def conda_pip_pins(course_root):
    environment = yaml.safe_load((course_root / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml should have exactly one pip: section"
    return pip_sections[0], environment


def test_every_requirement_is_an_exact_pin(course_root):
    for line in pip_pins(course_root):
        assert PIN.match(line), f"requirements.txt: {line!r} is not an exact pin (name==version)"


def test_environment_yml_pins_exactly_the_same_versions(course_root):
    conda_pins, environment = conda_pip_pins(course_root)
    assert sorted(conda_pins) == sorted(pip_pins(course_root))
    assert "python=3.11" in environment["dependencies"]


def test_installed_packages_are_the_pinned_versions(course_root):
    for line in pip_pins(course_root):
        name, pinned = PIN.match(line).groups()
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        assert installed == pinned, f"{name}: pinned {pinned}, installed {installed}"
