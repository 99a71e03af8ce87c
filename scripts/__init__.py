"""The ``hzx`` command line: one verb per module, each thin over the Python API."""
