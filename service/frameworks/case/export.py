"""CASE CFPackage export: :func:`build_package` and the exporter the read views share."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from service.frameworks.case.common import (
    _ADOPTION_FROM_STATUS,
    _ASSOCIATION_KEPT,
    _DOC_KEPT,
    _ITEM_KEPT,
    _STATUS_FROM_ADOPTION,
    _UUID_RE,
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
    _norm_type,
    _stamp,
    default_rubric_id,
    derive_title,
    item_type_id,
)
from service.frameworks.tree import (
    AttributeNode,
    CompetencyNode,
    FrameworkTree,
)


class _Exporter:
    def __init__(self, tree: FrameworkTree, base_url: str, now: datetime | None = None) -> None:
        self.tree = tree
        self.root = base_url.rstrip("/") + CASE_API_PATH
        self.stamp = _stamp(tree.last_change or now or datetime.now(UTC))
        self.attributes = {a.id: a for a in tree.attributes}
        self.competencies = {c.id: c for c in tree.competencies}
        self.levels = sorted(tree.levels, key=lambda lv: lv.position)
        self.level_by_id = {lv.id: lv for lv in tree.levels}
        names: list[str] = []
        nodes: list[AttributeNode | CompetencyNode] = [*tree.attributes, *tree.competencies]
        for node in nodes:
            name = self.type_name(node)
            if name not in names:
                names.append(name)
        self.type_names = names
        self.type_ids = {name: item_type_id(tree.id, name) for name in names}

    def uri(self, collection: str, ident: uuid.UUID | str) -> str:
        return f"{self.root}/{collection}/{ident}"

    def type_name(self, node: AttributeNode | CompetencyNode) -> str:
        name = node.extra.get("CFItemType")
        if isinstance(name, str) and name:
            return name
        return ATTRIBUTE_TYPE if isinstance(node, AttributeNode) else COMPETENCY_TYPE

    def document_link(self) -> dict[str, Any]:
        return {
            "title": self.tree.title,
            "identifier": str(self.tree.id),
            "uri": self.uri("CFDocuments", self.tree.id),
        }

    def item_link(self, node: AttributeNode | CompetencyNode) -> dict[str, Any]:
        return {"title": node.title, "identifier": str(node.id), "uri": self.uri("CFItems", node.id)}

    def node_ref(self, ident: uuid.UUID) -> dict[str, Any] | None:
        if ident == self.tree.id:
            return self.document_link()
        node = self.attributes.get(ident) or self.competencies.get(ident)
        return self.item_link(node) if node is not None else None

    # -- objects

    def document(self, *, standalone: bool) -> dict[str, Any]:
        tree = self.tree
        stored = tree.extra.get("document")
        kept = dict(stored) if isinstance(stored, dict) else {}
        adoption = kept.pop("adoptionStatus", None)
        if not (isinstance(adoption, str) and _STATUS_FROM_ADOPTION.get(_norm_type(adoption)) == tree.status):
            adoption = _ADOPTION_FROM_STATUS.get(tree.status, "Draft")
        doc: dict[str, Any] = {
            "identifier": str(tree.id),
            "uri": self.uri("CFDocuments", tree.id),
            "title": tree.title,
            "creator": tree.creator or "",
            "lastChangeDateTime": self.stamp,
            "caseVersion": CASE_VERSION,
            "version": tree.version,
            "adoptionStatus": adoption,
        }
        if standalone:
            doc["CFPackageURI"] = {
                "title": tree.title,
                "identifier": str(tree.id),
                "uri": self.uri("CFPackages", tree.id),
            }
        if tree.adoption_date is not None:
            doc["statusStartDate"] = tree.adoption_date.isoformat()
        for key, value in (
            ("publisher", tree.publisher),
            ("description", tree.description),
            ("language", tree.language),
        ):
            if value:
                doc[key] = value
        if tree.subjects:
            doc["subject"] = list(tree.subjects)
        given = kept.pop("extensions", None)
        extensions = dict(given) if isinstance(given, dict) else {}
        for key in _DOC_KEPT:
            if key in kept:
                doc[key] = kept[key]
        doc["extensions"] = {**extensions, EXT_KIND: tree.kind}
        return doc

    def item(self, node: AttributeNode | CompetencyNode, *, standalone: bool) -> dict[str, Any]:
        full = (node.description or node.title) if isinstance(node, AttributeNode) else node.statement
        item: dict[str, Any] = {"identifier": str(node.id), "uri": self.uri("CFItems", node.id)}
        if standalone:
            item["CFDocumentURI"] = self.document_link()
        item["fullStatement"] = full
        if node.title != derive_title(full):
            item["abbreviatedStatement"] = node.title
        if node.code:
            item["humanCodingScheme"] = node.code
        name = self.type_name(node)
        type_id = self.type_ids.get(name) or item_type_id(self.tree.id, name)
        item["CFItemType"] = name
        item["CFItemTypeURI"] = {
            "title": name,
            "identifier": str(type_id),
            "uri": self.uri("CFItemTypes", type_id),
        }
        for key in _ITEM_KEPT:
            if key in node.extra:
                item[key] = node.extra[key]
        item["lastChangeDateTime"] = self.stamp
        given = node.extra.get("extensions")
        extensions: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        if isinstance(node, AttributeNode):
            if node.foundational:
                extensions[EXT_FOUNDATIONAL] = True
        else:
            if node.category:
                extensions[EXT_CATEGORY] = node.category
            if node.grade_bands:
                extensions[EXT_GRADE_BANDS] = [
                    {"band": g.band, "descriptor": g.descriptor} for g in node.grade_bands
                ]
            if node.look_fors:
                extensions[EXT_LOOK_FORS] = list(node.look_fors)
            if node.launch_school_year is not None:
                extensions[EXT_LAUNCH] = node.launch_school_year
        if extensions:
            item["extensions"] = extensions
        return item

    def tree_association(self, node: AttributeNode | CompetencyNode, *, standalone: bool) -> dict[str, Any]:
        parent: dict[str, Any] | None = None
        if isinstance(node, CompetencyNode):
            if node.parent_id is not None:
                parent = self.node_ref(node.parent_id)
            if parent is None and node.attribute_id is not None:
                parent = self.node_ref(node.attribute_id)
        assoc: dict[str, Any] = {
            "identifier": str(node.association_id),
            "uri": self.uri("CFAssociations", node.association_id),
            "associationType": "isChildOf",
            "sequenceNumber": node.position,
            "originNodeURI": self.item_link(node),
            "destinationNodeURI": parent or self.document_link(),
            "lastChangeDateTime": self.stamp,
        }
        if standalone:
            assoc["CFDocumentURI"] = self.document_link()
        return assoc

    def other_association(self, record: dict[str, Any], *, standalone: bool) -> dict[str, Any] | None:
        ends: dict[str, dict[str, Any]] = {}
        for member in ("originNodeURI", "destinationNodeURI"):
            end = record.get(member)
            if not isinstance(end, dict) or not isinstance(end.get("identifier"), str):
                return None
            if len(end) == 1:  # a node of this framework: the link is rebuilt
                if not _UUID_RE.match(end["identifier"]):
                    return None
                ref = self.node_ref(uuid.UUID(end["identifier"]))
                if ref is None:
                    return None
                ends[member] = ref
            else:
                ends[member] = dict(end)
        assoc: dict[str, Any] = {
            "identifier": record["identifier"],
            "uri": self.uri("CFAssociations", record["identifier"]),
            "associationType": record["associationType"],
        }
        if "sequenceNumber" in record:
            assoc["sequenceNumber"] = record["sequenceNumber"]
        assoc.update(ends)
        for key in _ASSOCIATION_KEPT:
            if key in record:
                assoc[key] = record[key]
        assoc["lastChangeDateTime"] = self.stamp
        if standalone:
            assoc["CFDocumentURI"] = self.document_link()
        return assoc

    def associations(self, *, standalone: bool = False) -> list[dict[str, Any]]:
        out = [self.tree_association(n, standalone=standalone) for n in self.tree.attributes]
        out += [self.tree_association(n, standalone=standalone) for n in self.tree.competencies]
        records = self.tree.extra.get("associations")
        for record in records if isinstance(records, list) else []:
            if (
                isinstance(record, dict)
                and isinstance(record.get("identifier"), str)
                and isinstance(record.get("associationType"), str)
            ):
                assoc = self.other_association(record, standalone=standalone)
                if assoc is not None:
                    out.append(assoc)
        return out

    def item_types(self) -> list[dict[str, Any]]:
        out = []
        for index, name in enumerate(self.type_names):
            ident = self.type_ids[name]
            description = {
                ATTRIBUTE_TYPE: "A Portrait attribute: a grouping of competencies.",
                COMPETENCY_TYPE: "A Portrait competency, stated at the proficient level.",
            }.get(name, f"Items of type {name}.")
            out.append(
                {
                    "identifier": str(ident),
                    "uri": self.uri("CFItemTypes", ident),
                    "title": name,
                    "description": description,
                    "hierarchyCode": str(index + 1),
                    "typeCode": _norm_type(name) or "type",
                    "lastChangeDateTime": self.stamp,
                }
            )
        return out

    def has_rubric(self) -> bool:
        return bool(self.tree.levels) or self.tree.rubric_id != default_rubric_id(self.tree.id)

    def rubric(self) -> dict[str, Any]:
        tree = self.tree
        stored = tree.extra.get("rubric")
        info: dict[str, Any] = stored if isinstance(stored, dict) else {}
        rubric: dict[str, Any] = {
            "identifier": str(tree.rubric_id),
            "uri": self.uri("CFRubrics", tree.rubric_id),
        }
        for key in ("title", "description"):
            if isinstance(info.get(key), str):
                rubric[key] = info[key]
        rubric["lastChangeDateTime"] = self.stamp
        criteria = []
        for comp in tree.competencies:
            cells = [d for d in comp.descriptors if d.level_id in self.level_by_id]
            if not cells:
                continue
            crit_uri = f"{self.uri('CFRubrics', tree.rubric_id)}/CFRubricCriteria/{comp.criterion_id}"
            criterion: dict[str, Any] = {
                "identifier": str(comp.criterion_id),
                "uri": crit_uri,
                "CFItemURI": self.item_link(comp),
                "position": comp.position,
                "rubricId": str(tree.rubric_id),
                "lastChangeDateTime": self.stamp,
                "CFRubricCriterionLevels": [],
            }
            for cell in cells:
                level = self.level_by_id[cell.level_id]
                out: dict[str, Any] = {
                    "identifier": str(cell.id),
                    "uri": f"{crit_uri}/CFRubricCriterionLevels/{cell.id}",
                    "description": cell.description,
                    "quality": level.title,
                    "position": level.position,
                    "rubricCriterionId": str(comp.criterion_id),
                    "lastChangeDateTime": self.stamp,
                    "extensions": [{EXT_LEVEL_ID: str(level.id)}],
                }
                if level.score is not None:
                    out["score"] = level.score
                criterion["CFRubricCriterionLevels"].append(out)
            criteria.append(criterion)
        rubric["CFRubricCriteria"] = criteria
        levels = []
        for lv in self.levels:
            entry: dict[str, Any] = {"identifier": str(lv.id), "position": lv.position, "title": lv.title}
            if lv.description:
                entry["description"] = lv.description
            if lv.score is not None:
                entry["score"] = lv.score
            entry["proficient"] = lv.proficient
            levels.append(entry)
        given = info.get("extensions")
        rubric["extensions"] = {**(given if isinstance(given, dict) else {}), EXT_LEVELS: levels}
        return rubric

    def package(self) -> dict[str, Any]:
        items = [self.item(n, standalone=False) for n in self.tree.attributes]
        items += [self.item(n, standalone=False) for n in self.tree.competencies]
        package: dict[str, Any] = {
            "CFDocument": self.document(standalone=False),
            "CFItems": items,
            "CFAssociations": self.associations(),
            "CFDefinitions": {"CFItemTypes": self.item_types()},
        }
        if self.has_rubric():
            package["CFRubrics"] = [self.rubric()]
        extensions = (self.tree.extra.get("package") or {}).get("extensions")
        if isinstance(extensions, dict) and extensions:
            package["extensions"] = dict(extensions)
        return package


def build_package(tree: FrameworkTree, base_url: str, *, now: datetime | None = None) -> dict[str, Any]:
    """A CASE 1.1 CFPackage for ``tree``; object uris live under ``{base_url}/ims/case/v1p1``.

    ``lastChangeDateTime`` is the tree's ``last_change`` (``now`` or the current time when it has none).
    """
    return _Exporter(tree, base_url, now).package()
