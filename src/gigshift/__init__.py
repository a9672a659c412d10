"""gigshift: measure, simulate and act on the impact of AI on gig work.

Engines (each a subpackage with a small public interface):

- :mod:`gigshift.taxonomy` -- the AI-exposure atlas: O*NET tasks and occupations with published
  exposure labels, gig categories, skills, and free-text lookup.

Faces: the ``gigshift`` command line (:mod:`gigshift.cli`) and self-contained HTML reports
(:mod:`gigshift.report`).
"""

from importlib.metadata import PackageNotFoundError, version

from gigshift._errors import GigshiftError, InputError, NotFoundError

try:
    __version__ = version("gigshift")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["GigshiftError", "InputError", "NotFoundError", "__version__"]
