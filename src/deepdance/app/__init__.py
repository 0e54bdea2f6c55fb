"""The local web app (`deepdance app`): the top layer beside the CLI, thin over the same commands.

`deepdance.app.server.serve(runs, host=, port=)` serves it; see server.py for the routes.
"""
