"""CASE 1.1 CFPackages to and from :class:`~service.frameworks.tree.FrameworkTree`. Pure: no I/O.

Import (:func:`parse_package`) is lenient where real exports are sloppy (CASE 1.0-style members such as
``CFPackageURI``/``CFDocumentURI``, a ``uri`` without ``identifier``, missing timestamps, unknown members,
empty rubrics) and says so in the :class:`ImportReport`; it is strict where the package cannot make a
framework (not an object, no CFDocument, identifiers that are not UUIDs or are used twice, isChildOf
cycles, associations pointing nowhere, wrong JSON types, too many objects) and then raises
:class:`CaseImportError` listing every problem it found.

Export (:func:`build_package`) writes a CFPackage that validates against the official CASE 1.1 JSON Schema.
Identifiers are kept, so ``parse(build(parse(p)))`` gives the tree ``parse(p)`` gave.

What CASE has no field for travels in ``extensions`` members (objects with ``additionalProperties``):

- ``CFDocument.extensions.portraitKind``: graduate, learner, educator, leader, system or self;
- ``CFItem.extensions.portraitCategory`` (core/technical/transferable), ``portraitGradeBands``
  (``[{"band": "K-2", "descriptor": "..."}]``), ``portraitLookFors`` (``["..."]``),
  ``portraitLaunchSchoolYear`` (ending year: 2026 means 2025-26; this is the launch schedule) and
  ``portraitFoundational`` (attributes);
- ``CFRubric.extensions.portraitLevels``: the rubric scale (identifier, position, title, description, score,
  proficient), and ``CFRubricCriterionLevel.extensions[].portraitLevelId``: which level a cell belongs to.

Packages from other tools may instead carry grade bands and look-fors as child CFItems typed
"Grade Band Descriptor" or "Look-for"; import folds those into their competency.

The package is split along its seams: ``common`` (constants and helpers), ``importer``
(:func:`parse_package`), ``export`` (:func:`build_package`) and ``views`` (the single objects the read API
serves). Everything public is importable from ``service.frameworks.case`` as before.
"""

from __future__ import annotations

from service.frameworks.case.common import (
    ATTRIBUTE_TYPE,
    CASE_API_PATH,
    CASE_VERSION,
    COMPETENCY_TYPE,
    EXT_CATEGORY,
    EXT_FOUNDATIONAL,
    EXT_GRADE_BANDS,
    EXT_KIND,
    EXT_LAUNCH,
    EXT_LEVEL_ID,
    EXT_LEVELS,
    EXT_LOOK_FORS,
    MAX_ERRORS,
    TITLE_LENGTH,
    CaseImportError,
    default_rubric_id,
    derive_title,
    item_type_id,
)
from service.frameworks.case.export import build_package
from service.frameworks.case.importer import parse_package
from service.frameworks.case.views import (
    association_json,
    document_json,
    find_association,
    find_item,
    item_associations_json,
    item_json,
    item_types_json,
    rubric_json,
)

__all__ = [
    "ATTRIBUTE_TYPE",
    "CASE_API_PATH",
    "CASE_VERSION",
    "COMPETENCY_TYPE",
    "EXT_CATEGORY",
    "EXT_FOUNDATIONAL",
    "EXT_GRADE_BANDS",
    "EXT_KIND",
    "EXT_LAUNCH",
    "EXT_LEVELS",
    "EXT_LEVEL_ID",
    "EXT_LOOK_FORS",
    "MAX_ERRORS",
    "TITLE_LENGTH",
    "CaseImportError",
    "association_json",
    "build_package",
    "default_rubric_id",
    "derive_title",
    "document_json",
    "find_association",
    "find_item",
    "item_associations_json",
    "item_json",
    "item_type_id",
    "item_types_json",
    "parse_package",
    "rubric_json",
]
