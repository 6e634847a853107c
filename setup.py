"""Build hook: connectors/*/mapping.yaml and playbooks/*.yaml live once, at
the top of the repository (admins read and tune them there); wheels carry a
copy under idgate/data/ so an installed idgate finds them too."""
import glob
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        data = os.path.join(self.build_lib, "idgate", "data")
        for src in glob.glob(os.path.join(HERE, "connectors", "*", "mapping.yaml")):
            platform = os.path.basename(os.path.dirname(src))
            os.makedirs(os.path.join(data, "connectors", platform), exist_ok=True)
            shutil.copyfile(src, os.path.join(data, "connectors", platform, "mapping.yaml"))
        for src in glob.glob(os.path.join(HERE, "playbooks", "*.yaml")):
            os.makedirs(os.path.join(data, "playbooks"), exist_ok=True)
            shutil.copyfile(src, os.path.join(data, "playbooks", os.path.basename(src)))


setup(cmdclass={"build_py": BuildWithData})
