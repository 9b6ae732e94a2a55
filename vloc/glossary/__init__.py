"""Glossaries mined from earlier translations and checked in finished ones."""
