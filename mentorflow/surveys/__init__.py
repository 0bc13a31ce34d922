"""Surveys (issue 10): definitions, tokens, responses, effects and results; no Prefect."""
