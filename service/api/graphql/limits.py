"""What one GraphQL request may cost, checked before strawberry parses, validates or resolves it.

Order, cheapest first, so that a hostile document is refused in milliseconds:

1. the raw size of ``query`` (anonymous callers get a smaller limit: they can only introspect);
2. the nesting of braces, scanned over the raw text (graphql-core's parser recurses per level);
3. tokens, counted by graphql-core's own parser (``max_tokens``) while parsing;
4. over the parsed document, iteratively and with each fragment costed once: fragment definitions,
   aliases, root fields, depth and a cost estimate.

The cost of a field is 1 plus its children's cost times how many items it may return: its ``limit``
argument (literal, variable or declared default) when it has one, else for lists an estimate (the
schema's own sizes for introspection lists, ``LIST_ESTIMATE`` for other lists). Introspection is
allowed and costed like everything else: the standard introspection query fits, 500 aliased copies
or ``types { fields { type { fields ... } } }`` do not. Every refusal names the limit (the setting
under ``limits.``) and is an HTTP 4xx problem document: :class:`GraphQLLimitExceeded`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    parse,
)
from graphql.language import DocumentNode

from service.config import LimitSettings
from service.errors import FieldError, ServiceError

#: Items assumed for a list field that has no ``limit`` argument (tags, a competency's children...).
LIST_ESTIMATE = 10
#: Introspection fields that return lists, with how their size is estimated from the schema.
_INTROSPECTION_LISTS = ("types", "fields", "args", "inputFields", "enumValues", "interfaces", "possibleTypes")
_STRINGS = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*')


class GraphQLLimitExceeded(ServiceError):
    """A GraphQL request over one of the ``limits.max_graphql_*`` budgets."""

    status = 400
    code = "graphql_limit_exceeded"
    title = "GraphQL request over budget"
    graphql_code = "GRAPHQL_LIMIT_EXCEEDED"


class GraphQLTooLarge(GraphQLLimitExceeded):
    status = 413


class GraphQLRateLimited(GraphQLLimitExceeded):
    status = 429
    code = "too_many_requests"
    #: Seconds for the ``Retry-After`` header.
    retry_after: int | None = None


def _refuse(limit: str, message: str, cls: type[GraphQLLimitExceeded] = GraphQLLimitExceeded) -> NoReturn:
    raise cls(
        f"{message} (limits.{limit})",
        [FieldError("body.query", message, limit)],
    )


@dataclass(frozen=True)
class Budget:
    query_bytes: int
    tokens: int
    depth: int
    aliases: int
    root_fields: int
    fragments: int
    fields: int
    repeated: int
    cost: int

    @classmethod
    def of(cls, limits: LimitSettings, *, anonymous: bool) -> Budget:
        return cls(
            query_bytes=limits.max_graphql_query_bytes_anonymous
            if anonymous
            else limits.max_graphql_query_bytes,
            tokens=limits.max_graphql_tokens_anonymous if anonymous else limits.max_graphql_tokens,
            depth=limits.max_graphql_depth,
            aliases=limits.max_graphql_aliases,
            root_fields=limits.max_graphql_root_fields,
            fragments=limits.max_graphql_fragments,
            fields=limits.max_graphql_fields,
            repeated=limits.max_graphql_repeated_fields,
            cost=limits.max_graphql_cost,
        )


@dataclass(frozen=True)
class Measure:
    """What a document asks for; ``depth`` counts field levels like strawberry's depth limiter."""

    aliases: int
    root_fields: int
    depth: int
    fields: int
    repeated: int
    cost: int
    #: Only ``__schema``, ``__type`` and ``__typename`` at the root: no resolver of ours runs.
    introspection_only: bool = False


def brace_depth(query: str) -> int:
    """The deepest nesting of ``{``/``(``/``[`` outside strings and comments, without parsing."""
    depth = deepest = 0
    for char in re.sub(_STRINGS, "", query):
        if char in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "})]":
            depth -= 1
    return deepest


@lru_cache(maxsize=8)
def _introspection_sizes(schema: GraphQLSchema) -> dict[str, int]:
    """List sizes of this schema per type (averaged over every type, as ``types { fields }`` walks
    them all), for the cost of introspection lists."""
    types = list(schema.type_map.values())
    with_fields = [t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]
    fields = [f for t in with_fields for f in t.fields.values()]

    def per_type(total: int) -> int:
        return max(1, math.ceil(total / len(types)))

    return {
        "types": max(1, len(types)),
        "fields": per_type(len(fields)),
        "args": max(1, math.ceil(sum(len(f.args) for f in fields) / max(1, len(fields)))),
        "inputFields": per_type(sum(len(t.fields) for t in types if isinstance(t, GraphQLInputObjectType))),
        "enumValues": per_type(sum(len(t.values) for t in types if isinstance(t, GraphQLEnumType))),
        "interfaces": per_type(sum(len(getattr(t, "interfaces", ())) for t in with_fields)),
        "possibleTypes": per_type(sum(len(t.types) for t in types if isinstance(t, GraphQLUnionType))),
    }


class _Analyzer:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        max_page: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_page = max_page
        self.sizes = _introspection_sizes(schema)
        # (fragment name, limited) -> (cost, aliases, depth); a fragment is costed once however often spread.
        self.memo: dict[tuple[str, bool], tuple[int, int, int]] = {}
        self.active: set[str] = set()
        #: Selections visited (each fragment once): bounds the validation rules' work, which grows with
        #: the square of the fields of one selection set (OverlappingFieldsCanBeMerged).
        self.fields = 0
        #: The most fields under one response key in one selection set: validation compares them
        #: pairwise (500 copies of ``learners { total }`` took 5 s to validate).
        self.repeated = 0

    def _response_keys(self, selection_set: SelectionSetNode, keys: dict[str, int], seen: set[str]) -> None:
        """Count the fields of a selection set by response key, as validation merges them (through
        inline fragments and fragment spreads, each fragment once)."""
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                key = (node.alias or node.name).value
                keys[key] = keys.get(key, 0) + 1
            elif isinstance(node, InlineFragmentNode):
                self._response_keys(node.selection_set, keys, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    self._response_keys(fragment.selection_set, keys, seen)

    def _type(self, name: str) -> GraphQLNamedType | None:
        return self.schema.type_map.get(name)

    def _limit(self, node: FieldNode, definition: Any) -> int | None:
        arg = definition.args.get("limit") if definition is not None else None
        if arg is None:
            return None
        value: Any = None
        for given in node.arguments or ():
            if given.name.value != "limit":
                continue
            if isinstance(given.value, IntValueNode):
                value = int(given.value.value)
            elif isinstance(given.value, VariableNode):
                value = self.variables.get(given.value.name.value)
        if value is None:
            value = arg.default_value if isinstance(arg.default_value, int) else self.max_page
        size = value if isinstance(value, int) and not isinstance(value, bool) else self.max_page
        return max(1, min(size, self.max_page))

    def selection(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, limited: bool
    ) -> tuple[int, int, int]:
        """(cost, aliases, depth) of a selection set under ``parent``."""
        if selection_set is None:
            return 0, 0, 0
        cost = aliases = depth = 0
        self.fields += len(selection_set.selections)
        keys: dict[str, int] = {}
        self._response_keys(selection_set, keys, set())
        self.repeated = max(self.repeated, max(keys.values(), default=0))
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                c, a, d = self.field(node, parent, limited)
            elif isinstance(node, InlineFragmentNode):
                target = self._type(node.type_condition.name.value) if node.type_condition else parent
                c, a, d = self.selection(node.selection_set, target, limited)
            elif isinstance(node, FragmentSpreadNode):
                c, a, d = self.fragment(node.name.value, limited)
            else:  # pragma: no cover - the three selection kinds are all there is
                continue
            cost += c
            aliases += a
            depth = max(depth, d)
        return cost, aliases, depth

    def fragment(self, name: str, limited: bool) -> tuple[int, int, int]:
        key = (name, limited)
        if key in self.memo:
            return self.memo[key]
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return 0, 0, 0  # unknown or cyclic: validation reports it (NoFragmentCycles, KnownFragmentNames)
        self.active.add(name)
        try:
            result = self.selection(
                definition.selection_set, self._type(definition.type_condition.name.value), limited
            )
        finally:
            self.active.discard(name)
        self.memo[key] = result
        return result

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, limited: bool) -> tuple[int, int, int]:
        name = node.name.value
        aliases = 1 if node.alias is not None else 0
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        child_type: GraphQLNamedType | None = None
        is_list = False
        if definition is not None:
            wrapped = definition.type
            if isinstance(wrapped, GraphQLNonNull):
                wrapped = wrapped.of_type
            is_list = isinstance(wrapped, GraphQLList)
            child_type = get_named_type(definition.type)
        elif name in ("__schema", "__type"):
            child_type = self._type("__Schema" if name == "__schema" else "__Type")
        limit = self._limit(node, definition)
        child_limited = False
        if limit is not None:
            multiplier = limit
            child_limited = not is_list  # a page object: its ``items`` list is already counted
        elif is_list and parent is not None and parent.name.startswith("__") and name in _INTROSPECTION_LISTS:
            multiplier = self.sizes.get(name, LIST_ESTIMATE)
        elif is_list:
            multiplier = 1 if limited else LIST_ESTIMATE
        else:
            multiplier = 1
        cost, child_aliases, depth = self.selection(node.selection_set, child_type, child_limited)
        # Introspection is bounded by its cost, not its depth (the standard query nests ``ofType``
        # eight levels), as strawberry's depth limiter ignores it too.
        level = 1 if node.selection_set and not name.startswith("__") else 0
        return 1 + multiplier * cost, aliases + child_aliases, 0 if name.startswith("__") else depth + level


def measure(
    document: DocumentNode,
    schema: GraphQLSchema,
    *,
    variables: Mapping[str, Any] | None = None,
    max_page: int = 200,
) -> Measure:
    """Aliases, root fields, depth and cost of every operation of ``document`` together."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    analyzer = _Analyzer(schema, fragments, variables or {}, max_page)
    cost = aliases = depth = 0
    roots: list[str] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        root = schema.get_root_type(definition.operation)
        c, a, d = analyzer.selection(definition.selection_set, root, False)
        cost, aliases, depth = cost + c, aliases + a, max(depth, d)
        roots += _root_fields(definition.selection_set, fragments, set())
    return Measure(
        aliases=aliases,
        root_fields=len(roots),
        depth=depth,
        fields=analyzer.fields,
        repeated=analyzer.repeated,
        cost=cost,
        introspection_only=all(name.startswith("__") for name in roots),
    )


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: set[str]
) -> list[str]:
    names: list[str] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            names.append(node.name.value)
        elif isinstance(node, InlineFragmentNode):
            names += _root_fields(node.selection_set, fragments, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            # Each fragment once (a fragment spread twice merges): linear, however the spreads branch.
            seen.add(node.name.value)
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                names += _root_fields(fragment.selection_set, fragments, seen)
    return names


def check_request(
    query: str,
    schema: GraphQLSchema,
    limits: LimitSettings,
    *,
    anonymous: bool,
    variables: Mapping[str, Any] | None = None,
) -> Measure | None:
    """Raise :class:`GraphQLLimitExceeded` naming the first budget ``query`` exceeds; else what the
    document asks for (None when it does not parse: strawberry then answers GRAPHQL_PARSE_FAILED)."""
    budget = Budget.of(limits, anonymous=anonymous)
    size = len(query.encode("utf-8"))
    who = "an anonymous request" if anonymous else "a request"
    if size > budget.query_bytes:
        limit = "max_graphql_query_bytes" + ("_anonymous" if anonymous else "")
        _refuse(limit, f"the query of {who} may have at most {budget.query_bytes} bytes", GraphQLTooLarge)
    nesting = brace_depth(query)
    # Every field level opens one selection set; arguments and lists may add a few more.
    if nesting > 2 * budget.depth + 4:
        _refuse("max_graphql_depth", f"the query nests {nesting} levels; at most {budget.depth} field levels")
    try:
        document = parse(query, max_tokens=budget.tokens, no_location=True)
    except GraphQLSyntaxError as exc:
        if "tokens" in exc.message:
            limit = "max_graphql_tokens" + ("_anonymous" if anonymous else "")
            _refuse(limit, f"the query of {who} may have at most {budget.tokens} tokens")
        return None  # strawberry parses it again and answers GRAPHQL_PARSE_FAILED with the position
    except RecursionError:
        _refuse("max_graphql_depth", "the query nests too deeply")
        return None
    fragments = sum(isinstance(d, FragmentDefinitionNode) for d in document.definitions)
    if fragments > budget.fragments:
        _refuse("max_graphql_fragments", f"{fragments} fragment definitions; at most {budget.fragments}")
    try:
        found = measure(document, schema, variables=variables, max_page=limits.max_page_size)
    except RecursionError:
        _refuse("max_graphql_depth", "the query nests too deeply")
        return None
    if found.aliases > budget.aliases:
        _refuse("max_graphql_aliases", f"{found.aliases} aliases; at most {budget.aliases}")
    if found.root_fields > budget.root_fields:
        _refuse("max_graphql_root_fields", f"{found.root_fields} root fields; at most {budget.root_fields}")
    if found.fields > budget.fields:
        _refuse("max_graphql_fields", f"{found.fields} field selections; at most {budget.fields}")
    if found.repeated > budget.repeated:
        _refuse(
            "max_graphql_repeated_fields",
            f"{found.repeated} fields under one name in one selection set; at most {budget.repeated}",
        )
    if found.depth > budget.depth:
        _refuse("max_graphql_depth", f"the query is {found.depth} levels deep; at most {budget.depth}")
    if found.cost > budget.cost:
        _refuse("max_graphql_cost", f"the query's estimated cost is {found.cost}; at most {budget.cost}")
    return found


#: Distinct documents whose check (:func:`check_request`) is remembered per process.
CHECK_CACHE_SIZE = 512


class CheckCache:
    """The outcome of :func:`check_request` per (query text, variables, budget), least recently used
    forgotten first: a client repeating a document (GraphiQL, an attacker) is not parsed and costed
    again. Refusals are remembered too, and raised again as new exceptions."""

    def __init__(self, size: int = CHECK_CACHE_SIZE) -> None:
        self.size = size
        self._outcomes: OrderedDict[
            tuple[int, bytes, Budget, int, str], Measure | GraphQLLimitExceeded | None
        ]
        self._outcomes = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._outcomes)

    def check(
        self,
        query: str,
        schema: GraphQLSchema,
        limits: LimitSettings,
        *,
        anonymous: bool,
        variables: Mapping[str, Any] | None = None,
    ) -> Measure | None:
        """:func:`check_request`, remembered."""
        try:
            variables_key = json.dumps(variables or {}, sort_keys=True)
        except (TypeError, ValueError):
            return check_request(query, schema, limits, anonymous=anonymous, variables=variables)
        digest = hashlib.sha256(query.encode("utf-8", "surrogatepass")).digest()
        key = (
            id(schema),
            digest,
            Budget.of(limits, anonymous=anonymous),
            limits.max_page_size,
            variables_key,
        )
        with self._lock:
            found = self._outcomes.get(key, _MISSING)
            if found is not _MISSING:
                self._outcomes.move_to_end(key)
                self.hits += 1
        if found is _MISSING:
            try:
                found = check_request(query, schema, limits, anonymous=anonymous, variables=variables)
            except GraphQLLimitExceeded as exc:
                found = exc
            with self._lock:
                self._outcomes[key] = found
                while len(self._outcomes) > self.size:
                    self._outcomes.popitem(last=False)
        if isinstance(found, GraphQLLimitExceeded):
            raise type(found)(found.detail, list(found.errors))
        outcome: Measure | None = found
        return outcome


_MISSING: Any = object()
