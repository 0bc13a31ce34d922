"""Prefect flows: one thin module per stage; all logic lives in the `mentorflow` core."""
