"""Put the app's vendored libraries (../lib) first on sys.path, before
anything Splunk's own Python ships. Every entry point imports this first."""
import os
import sys

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
if os.path.isdir(LIB) and LIB not in sys.path:
    sys.path.insert(0, LIB)
