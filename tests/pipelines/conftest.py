"""Makes this folder's helpers (`multi30k_files`) importable."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
