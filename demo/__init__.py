"""The first five minutes: `make run` and `make demo` (see README "Try it").

- `devenv.py`: what `make run` adds in development — a webhook signing secret
  created once under `var/`, and a banner saying where everything is.
- `events.py`: one Stripe event of each handled type, shaped like Stripe's.
- `__main__.py` (`make demo`): signs and posts them to the running web process,
  waits for the worker and prints what happened.

Development tooling only: the service never imports this package, and nothing
here runs in production.
"""
