"""Read views of one framework for the CASE read API: a CFDocument, CFItem, CFAssociation, CFRubric or
CFItemType as ``/ims/case/v1p1`` serves it."""

from __future__ import annotations

import uuid
from typing import Any

from service.frameworks.case.export import _Exporter
from service.frameworks.tree import (
    AttributeNode,
    CompetencyNode,
    FrameworkTree,
)


def find_item(tree: FrameworkTree, item_id: uuid.UUID) -> AttributeNode | CompetencyNode | None:
    for attr in tree.attributes:
        if attr.id == item_id:
            return attr
    for comp in tree.competencies:
        if comp.id == item_id:
            return comp
    return None


def document_json(tree: FrameworkTree, base_url: str) -> dict[str, Any]:
    """The CFDocument (with its CFPackageURI) as the read API serves it."""
    return _Exporter(tree, base_url).document(standalone=True)


def item_json(tree: FrameworkTree, item_id: uuid.UUID, base_url: str) -> dict[str, Any] | None:
    """The CFItem ``item_id`` (with its CFDocumentURI), or None when the framework has no such item."""
    node = find_item(tree, item_id)
    return _Exporter(tree, base_url).item(node, standalone=True) if node is not None else None


def find_association(tree: FrameworkTree, association_id: uuid.UUID, base_url: str) -> dict[str, Any] | None:
    wanted = str(association_id)
    for assoc in _Exporter(tree, base_url).associations(standalone=True):
        if assoc["identifier"] == wanted:
            return assoc
    return None


def association_json(tree: FrameworkTree, association_id: uuid.UUID, base_url: str) -> dict[str, Any] | None:
    """The CFAssociation ``association_id`` (tree links and kept associations alike), or None."""
    return find_association(tree, association_id, base_url)


def item_associations_json(tree: FrameworkTree, item_id: uuid.UUID, base_url: str) -> dict[str, Any] | None:
    """A CFAssociationSet: the CFItem and every association that starts or ends at it."""
    node = find_item(tree, item_id)
    if node is None:
        return None
    exporter = _Exporter(tree, base_url)
    wanted = str(item_id)
    associations = [
        a
        for a in exporter.associations()
        if a["originNodeURI"]["identifier"] == wanted or a["destinationNodeURI"]["identifier"] == wanted
    ]
    return {"CFItem": exporter.item(node, standalone=True), "CFAssociations": associations}


def rubric_json(tree: FrameworkTree, base_url: str) -> dict[str, Any] | None:
    """The framework's CFRubric, or None when it has none."""
    exporter = _Exporter(tree, base_url)
    return exporter.rubric() if exporter.has_rubric() else None


def item_types_json(tree: FrameworkTree, type_id: uuid.UUID, base_url: str) -> dict[str, Any] | None:
    """A CFItemTypeSet holding the CFItemType ``type_id`` of this framework, or None."""
    for entry in _Exporter(tree, base_url).item_types():
        if entry["identifier"] == str(type_id):
            return {"CFItemTypes": [entry]}
    return None
