import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus"))
# corpus folder → platform name
FOLDERS = {"splunk": "splunk_es", "sentinel": "sentinel", "elastic": "elastic", "chronicle": "secops",
           "qradar": "qradar", "crowdstrike": "crowdstrike"}


def corpus_files():
    if not os.path.isdir(CORPUS):
        return []
    out = []
    for folder, platform in sorted(FOLDERS.items()):
        path = os.path.join(CORPUS, folder)
        for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
            out.append((platform, os.path.join(path, name)))
    return out


def corpus_path(*parts):
    path = os.path.join(CORPUS, *parts)
    if not os.path.exists(path):
        pytest.skip("corpus not found at %s (expected ../shared/corpus next to the project)" % path)
    return path
