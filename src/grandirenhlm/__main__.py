"""`python -m grandirenhlm` runs the CLI."""

from grandirenhlm.cli import run

if __name__ == "__main__":  # a worker process (`ingest`) imports this module without running it
    run()
