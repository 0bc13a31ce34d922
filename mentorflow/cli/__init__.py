"""The `mentorflow` command line."""
