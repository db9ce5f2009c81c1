"""Symbols of a source file with tree-sitter: names, signature hashes, body hashes.

Grammars come from the optional ``code`` extra (``pip install 'outcomes[code]'``): the
``tree-sitter`` bindings plus one wheel per language with the compiled grammar inside.
Nothing is downloaded at run time. Without the extra, :func:`structure_available` is
false and callers fall back to text fingerprints only.
"""

from __future__ import annotations

import functools
import importlib
import textwrap
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from outcomes.inference.code._fingerprint import token_hash

LANGUAGES: dict[str, tuple[str, str]] = {
    # language -> (module, function returning the grammar pointer)
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "rust": ("tree_sitter_rust", "language"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
}

_EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
}

# node type -> symbol kind. The name is the node's "name" field unless noted below.
_SYMBOL_NODES: dict[str, str] = {
    "function_definition": "function",
    "class_definition": "class",
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "method_definition": "method",
    "interface_declaration": "interface",
    "enum_declaration": "enum",
    "type_alias_declaration": "type",
    "function_item": "function",
    "function_signature_item": "function",
    "struct_item": "struct",
    "enum_item": "enum",
    "trait_item": "trait",
    "impl_item": "impl",
    "mod_item": "module",
    "method_declaration": "method",
    "type_spec": "type",
    "constructor_declaration": "constructor",
    "record_declaration": "class",
}
# Nodes that never contain a definition worth reporting: not descended into (speed).
_LEAFY = frozenset(
    {
        "comment",
        "line_comment",
        "block_comment",
        "string",
        "string_literal",
        "raw_string_literal",
        "interpreted_string_literal",
        "template_string",
        "expression_statement",
        "return_statement",
        "call",
        "call_expression",
        "method_invocation",
        "argument_list",
        "arguments",
        "binary_operator",
        "binary_expression",
        "boolean_operator",
        "comparison_operator",
        "attribute",
        "member_expression",
        "field_access",
        "subscript",
        "parameters",
        "formal_parameters",
        "parameter_list",
        "import_statement",
        "import_from_statement",
        "import_declaration",
        "use_declaration",
        "identifier",
        "integer",
    }
)
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)

FALLBACK_MESSAGE = (
    "tree-sitter grammars are not installed: code adoption uses text fingerprints only "
    "(no signature/body/symbol verdicts). Install them with: pip install 'outcomes[code]'"
)


def language_of(path: str) -> str | None:
    """The tree-sitter language for ``path`` by extension, or ``None`` (text only)."""
    return _EXTENSIONS.get(PurePosixPath(path).suffix.lower())


@functools.cache
def _parser(language: str) -> Any | None:
    try:
        ts = importlib.import_module("tree_sitter")
        module_name, fn = LANGUAGES[language]
        grammar = importlib.import_module(module_name)
        return ts.Parser(ts.Language(getattr(grammar, fn)()))
    except (ImportError, AttributeError, ValueError, TypeError, KeyError):
        return None


def structure_available(language: str | None = "python") -> bool:
    """Whether symbols can be extracted for ``language`` (the grammar wheel is installed)."""
    return language is not None and language in LANGUAGES and _parser(language) is not None


@dataclass(frozen=True, slots=True)
class Symbol:
    """One definition: qualified name, kind, and hashes of its signature and its body.

    ``signature`` hashes the tokens from the start of the definition to its body (name,
    parameters, return type); ``body`` hashes the body's tokens ("" when there is none).
    """

    name: str
    kind: str
    signature: str
    body: str

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "kind": self.kind,
            "signature": self.signature,
            "body": self.body,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Symbol:
        return cls(str(data["name"]), str(data["kind"]), str(data["signature"]), str(data["body"]))


def _name_of(node: Any) -> str | None:
    if node.type == "impl_item":
        target = node.child_by_field_name("type")
        trait = node.child_by_field_name("trait")
        if target is None:
            return None
        label = target.text.decode("utf-8", "replace")
        if trait is not None:
            label = f"{trait.text.decode('utf-8', 'replace')} for {label}"
        return f"impl {label}"
    name = node.child_by_field_name("name")
    if name is None:
        return None
    text: str = name.text.decode("utf-8", "replace")
    if node.type == "method_declaration":
        receiver = node.child_by_field_name("receiver")
        if receiver is not None:  # Go: qualify by receiver type
            rtoks = [t for t in receiver.text.decode("utf-8", "replace").strip("()").split() if t]
            if rtoks:
                text = f"{rtoks[-1].lstrip('*')}.{text}"
    return text


def _symbol(node: Any, kind: str, name: str, source: bytes) -> Symbol:
    body = node.child_by_field_name("body")
    if body is None and node.type == "type_spec":
        body = node.child_by_field_name("type")
    if body is None and node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        body = value.child_by_field_name("body") if value is not None else None
    start = node.start_byte
    if body is None:
        sig_text = source[start : node.end_byte]
        body_hash = ""
    else:
        sig_text = source[start : body.start_byte]
        body_hash = token_hash(source[body.start_byte : body.end_byte].decode("utf-8", "replace"))
    return Symbol(name, kind, token_hash(sig_text.decode("utf-8", "replace")), body_hash)


def symbols(text: str, language: str) -> list[Symbol] | None:
    """Every definition in ``text`` (nested ones qualified ``Outer.inner``).

    Returns ``None`` when the grammar is not installed. Syntax errors are tolerated
    (tree-sitter recovers), so a partial snippet still yields the symbols it defines.
    """
    parser = _parser(language)
    if parser is None:
        return None
    if language == "python":
        text = textwrap.dedent(text)
    source = text.encode("utf-8", "surrogatepass")
    tree = parser.parse(source)
    out: list[Symbol] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(tree.root_node, ())]
    while stack:
        node, scope = stack.pop()
        kind = _SYMBOL_NODES.get(node.type)
        inner = scope
        if kind is None and node.type == "variable_declarator":
            value = node.child_by_field_name("value")
            if value is not None and value.type in _FUNCTION_VALUES:
                kind = "function"
        if kind is not None:
            name = _name_of(node)
            if name:
                qualified = ".".join((*scope, name))
                out.append(_symbol(node, kind, qualified, source))
                inner = (*scope, name)
        stack.extend(
            (child, inner) for child in reversed(node.children) if child.type not in _LEAFY
        )
    return out
