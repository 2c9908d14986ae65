"""The shipped letter, e-mail and SMS templates, importable as package data (relance.templates)."""
