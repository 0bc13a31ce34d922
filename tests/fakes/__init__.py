"""Fakes of outside services for tests: Google Sheets endpoints, intake form builders."""
