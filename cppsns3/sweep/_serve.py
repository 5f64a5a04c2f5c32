"""Entry point of a run server process: ``python -m cppsns3.sweep._serve [--warm]``."""

from cppsns3.sweep.worker import serve

if __name__ == "__main__":
    serve()
