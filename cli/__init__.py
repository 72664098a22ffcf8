"""The `a2a-memory` command line (cli/app.py)."""

import os

# pydantic reads every installed distribution's entry points, looking for plugins, when it
# builds its first model: tens of milliseconds of every command's start. The CLI uses no
# pydantic plugin; a setting of the user's own wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
