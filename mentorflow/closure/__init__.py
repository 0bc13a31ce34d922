"""Closure of a cycle (issue 11): closure mails, mentor certificates, alumni, data protection."""
