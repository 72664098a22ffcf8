"""`python -m evals SUITE`: run an eval suite or benchmark (see evals/cli.py)."""

from evals.cli import app

if __name__ == "__main__":
    app()
