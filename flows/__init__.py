"""Prefect flows and tasks: thin wrappers that order the stages and persist their outputs."""
