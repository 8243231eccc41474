"""Helpers shared by the CI parser tests (GitLab, CircleCI, Bitbucket, Azure)."""

from __future__ import annotations

import textwrap

from auditor.model import Document
from auditor.parsers import kind_of
from auditor.parsers import parse as parse_document
from auditor.parsers.ci_model import CIDocument, Job, Pipeline


def parse_ci(text: str, path: str) -> Document:
    """Parse dedented ``text`` as the file at ``path`` (its name picks the CI system)."""
    doc = Document(path, kind_of(path))
    parse_document(doc, textwrap.dedent(text))
    return doc


def pipeline(doc: Document) -> Pipeline:
    assert isinstance(doc.data, CIDocument)
    (only,) = doc.data.pipelines
    return only


def job(doc: Document, job_id: str) -> Job:
    return next(j for j in pipeline(doc).jobs if j.id == job_id)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line of dedented ``text`` containing ``needle``."""
    lines = [i for i, line in enumerate(textwrap.dedent(text).splitlines(), 1) if needle in line]
    return lines[nth - 1]
