"""Tools for whoever maintains the tutorial (not for learners): `python -m maintainer.publish OWNER/NAME`."""
