"""Gunicorn settings for the /healthz baseline: bench/apps/gunicorn_bare.py plus
Gunicorn's own access log (its default text line on stderr).

The service's gunicorn.conf.py sets `accesslog = "-"`; "the same Gunicorn
settings" for a bare Flask app therefore include an access log, in the
format Gunicorn writes when nobody configures one. What the service's JSON
line costs beyond that is what row 4 measures; a second reference without
any access log shows the whole cost of logging.
"""

import runpy
from pathlib import Path

_bare = runpy.run_path(str(Path(__file__).with_name("gunicorn_bare.py")))
globals().update({name: value for name, value in _bare.items() if not name.startswith("_")})
accesslog = "-"
proc_name = "bench-bare-logged"
