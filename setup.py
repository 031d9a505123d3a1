"""ament_python package: installs the libraries, console_scripts for every node and the
``grasp`` CLI, and launch/ config/ into share/grasp_bringup (``colcon build`` or pip)."""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "grasp_bringup"
HERE = Path(__file__).parent


def tree(folder: str) -> list[tuple[str, list[str]]]:
    """data_files entries reproducing ``folder`` under share/<package>/."""
    out: dict[str, list[str]] = {}
    for path in sorted((HERE / folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(HERE)
            out.setdefault(str(Path("share", PACKAGE, rel.parent)), []).append(str(rel))
    return sorted(out.items())


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(
        include=[
            "grasp_core*",
            "grasp_perception*",
            "grasp_models*",
            "grasp_planning*",
            "grasp_sim*",
            "grasp_bringup*",
        ]
    ),
    package_data={"": ["py.typed", "weights/*.pt", "weights/*.json"]},
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        *tree("launch"),
        *tree("config"),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="grasp_bringup maintainers",
    maintainer_email="maintainers@grasp-bringup.dev",
    description="ROS 2 grasping stack: perception, learned grasp models, planning, MuJoCo sim",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "grasp = grasp_bringup.cli:main",
            "sim_driver = grasp_sim.node:main",
            "perception = grasp_perception.node:main",
            "grasp_detector = grasp_models.node:main",
            "executor = grasp_planning.node:main",
        ],
    },
)
