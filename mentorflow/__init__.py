"""mentorflow: guided mentoring programs declared in YAML, run as Prefect flows."""

__version__ = "0.1.0"
