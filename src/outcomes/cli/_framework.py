"""A small command-line layer on :mod:`argparse`, declared the way typer declares commands.

Why not typer: it imports click, rich and (since 0.26) pydantic before the first command
runs, about 180 ms, which made ``outcomes models --json`` on a small store cost 18x
``python -c pass`` (issue 13). This module supports the part of typer's declaration style
the command modules use and nothing more:

- ``app = App(help=...)``, ``@app.command("name")``, and ``@app.callback()`` for a group
  that does something itself (``App(invoke_without_command=True)``, with
  ``ctx: Context`` telling it whether a subcommand follows);
- parameters declared by their default value, ``x: int = Option(1, "--x", min=0,
  help=...)`` or ``name: str = Argument(..., help=...)`` (``...``: required), of type
  ``str``, ``int``, ``float``, ``bool`` (a flag; ``"--x/--no-x"`` for a pair), ``Path``,
  an ``Enum`` (its values are the choices), ``X | None`` and ``list[X]`` (a repeatable
  option);
- ``raise Exit(code)`` to end with a code.

Parsing is argparse's; a bad value or an unknown option ends with the usage, a last line
``error: ...`` that names the option, and exit 2 (docs/cli.md).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USAGE = 2


class Exit(Exception):
    """End the command with ``code`` (0 unless told), printing nothing more."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(code)
        self.exit_code = code


class UsageError(Exception):
    """The command line itself is wrong: printed with the command's usage, exit 2."""

    def __init__(self, message: str, usage: str = "", prog: str = "outcomes") -> None:
        super().__init__(message)
        self.usage = usage
        self.prog = prog

    def show(self) -> None:
        if self.usage:
            sys.stderr.write(self.usage.rstrip("\n") + "\n")
        sys.stderr.write(f"Try '{self.prog} --help' for help.\nerror: {self}\n")


class Context:
    """What a group's callback learns about the command line: the subcommand that follows
    (``None`` when the group itself was asked for)."""

    __slots__ = ("invoked_subcommand",)

    def __init__(self, invoked_subcommand: str | None = None) -> None:
        self.invoked_subcommand = invoked_subcommand


# Named tuples and plain classes rather than dataclasses here: this module loads on every
# command, and a dataclass costs far more to define than to use.
class _Declared(NamedTuple):
    """What ``Option(...)`` or ``Argument(...)`` declared, before the annotation is known."""

    kind: str
    default: Any
    decls: tuple[str, ...]
    help: str
    min: float | None
    max: float | None
    callback: Callable[[Any], Any] | None


def Option(
    default: Any,
    *decls: str,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    callback: Callable[[Any], Any] | None = None,
    is_eager: bool = False,
) -> Any:
    """An option; ``...`` as ``default`` makes it required. ``callback`` runs with the
    parsed value before the command (or subcommand) does (``is_eager`` is accepted for
    typer's spelling: every callback runs first)."""
    del is_eager
    return _Declared("option", default, decls, help, min, max, callback)


def Argument(
    default: Any,
    *,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
) -> Any:
    """A positional argument; ``...`` as ``default`` makes it required."""
    return _Declared("argument", default, (), help, min, max, None)


class Param(NamedTuple):
    """One parameter of a command as parsed: its name, how it is spelt, its type, its
    default (a list for a repeated option), and what its ``Option``/``Argument`` declared
    (kind, help, bounds, callback)."""

    name: str
    opts: tuple[str, ...]
    type: Any
    default: Any
    many: bool
    declared: _Declared

    @property
    def kind(self) -> str:
        """``"option"`` or ``"argument"``."""
        return self.declared.kind

    @property
    def required(self) -> bool:
        return self.default is ...

    @property
    def is_flag(self) -> bool:
        return bool(self.type is bool)


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """(the type of one value, whether the parameter is a list) of an annotation."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], True
    return hint, False


def _params(func: Callable[..., Any]) -> tuple[list[Param], str | None]:
    """The parameters ``func`` declares, and the name of its ``Context`` parameter."""
    hints = typing.get_type_hints(func)
    params: list[Param] = []
    context: str | None = None
    for name, p in inspect.signature(func).parameters.items():
        if hints.get(name) is Context:
            context = name
            continue
        declared = p.default
        if not isinstance(declared, _Declared):
            default = None if declared is inspect.Parameter.empty else declared
            declared = _Declared("option", default, (), "", None, None, None)
        value_type, many = _unwrap(hints.get(name, str))
        if declared.kind == "argument":
            opts: tuple[str, ...] = (name,)
        else:
            flag = "--" + name.replace("_", "-")
            opts = declared.decls or (
                (f"{flag}/--no-{flag[2:]}",) if value_type is bool else (flag,)
            )
        default = declared.default
        if many and default is not ...:
            default = list(default or ())
        params.append(
            Param(
                name=name, opts=opts, type=value_type, default=default, many=many, declared=declared
            )
        )
    return params, context


def _converter(param: Param) -> Callable[[str], Any]:
    """Turn one command-line string into the parameter's type, or say what is wrong."""
    kind = param.type

    def convert(text: str) -> Any:
        if isinstance(kind, type) and issubclass(kind, Enum):
            for member in kind:
                if text == member.value:
                    return member
            choices = ", ".join(repr(m.value) for m in kind)
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {choices}")
        if kind is int or kind is float:
            try:
                value: float = int(text) if kind is int else float(text)
            except ValueError:
                noun = "an integer" if kind is int else "a number"
                raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
            lo, hi = param.declared.min, param.declared.max
            if (lo is not None and not value >= lo) or (hi is not None and not value <= hi):
                bounds = " and ".join(
                    f"{op} {b:g}" for op, b in ((">=", lo), ("<=", hi)) if b is not None
                )
                raise argparse.ArgumentTypeError(f"{text} is not {bounds}")
            return value
        if kind is Path:
            return Path(text)
        return text

    return convert


def _metavar(param: Param) -> str:
    kind = param.type
    if isinstance(kind, type) and issubclass(kind, Enum):
        return "{" + ",".join(str(m.value) for m in kind) + "}"
    if param.kind == "argument":
        return param.name.upper()
    names = {int: "INTEGER", float: "NUMBER", Path: "PATH"}
    return names.get(kind, "TEXT")


def _help_of(param: Param) -> str:
    text = param.declared.help.replace("%", "%%")
    if param.required:
        return f"{text} [required]".strip()
    shown = param.default
    if shown not in (None, False, [], ...) and not param.is_flag:
        shown = shown.value if isinstance(shown, Enum) else shown
        text = f"{text} [default: {shown}]".strip()
    return text


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so that tests and the root decide."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        # ``--min-lift -1e3`` and ``--x -inf`` pass a value, as in other tools: argparse
        # alone takes only ``-1`` and ``-1.5`` for numbers, anything else for an option.
        self._negative_number_matcher = re.compile(
            r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE
        )

    def error(self, message: str) -> typing.NoReturn:
        raise UsageError(message, self.format_usage(), self.prog)

    def exit(self, status: int = 0, message: str | None = None) -> typing.NoReturn:
        if message:
            sys.stderr.write(message)
        raise Exit(status)


def _parser(prog: str, description: str, params: Sequence[Param], epilog: str = "") -> _Parser:
    parser = _Parser(
        prog=prog,
        description=description,
        epilog=epilog or None,
        add_help=False,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--help", action="help", help="Show this message and exit.")
    for p in params:
        _add(parser, p)
    return parser


def _add(parser: _Parser, p: Param) -> None:
    if p.kind == "argument":
        parser.add_argument(
            p.name,
            type=_converter(p),
            metavar=_metavar(p),
            help=_help_of(p),
            nargs=("*" if p.many else None) if p.required else ("*" if p.many else "?"),
            default=None if p.required else p.default,
        )
        return
    if p.is_flag:
        pairs = [o.split("/", 1) for o in p.opts]
        on = [a for a, *_ in pairs]
        off = [b for _, *rest in pairs for b in rest]
        parser.add_argument(*on, dest=p.name, action="store_true", help=_help_of(p))
        if off:
            parser.add_argument(*off, dest=p.name, action="store_false", help=f"Not {on[0]}.")
        parser.set_defaults(**{p.name: bool(p.default)})
        return
    parser.add_argument(
        *p.opts,
        dest=p.name,
        type=_converter(p),
        metavar=_metavar(p),
        help=_help_of(p),
        action="append" if p.many else "store",
        required=p.required,
        default=None if p.many else (None if p.required else p.default),
    )


def _first_line(text: str | None) -> str:
    return inspect.cleandoc(text or "").split("\n\n", 1)[0].replace("\n", " ")


class Command:
    """One command: a function and the parameters its signature declares."""

    __slots__ = ("_spec", "func", "help", "name")

    def __init__(self, name: str, func: Callable[..., Any], help: str = "") -> None:
        self.name = name
        self.func = func
        self.help = help
        self._spec: tuple[list[Param], str | None] | None = None

    def __repr__(self) -> str:
        return f"Command({self.name!r})"

    @property
    def params(self) -> list[Param]:
        return self._signature()[0]

    def _signature(self) -> tuple[list[Param], str | None]:
        if self._spec is None:
            self._spec = _params(self.func)
        return self._spec

    @property
    def summary(self) -> str:
        return _first_line(self.help or self.func.__doc__)

    def parser(self, prog: str, epilog: str = "") -> _Parser:
        description = inspect.cleandoc(self.help or self.func.__doc__ or "")
        return _parser(prog, description, self.params, epilog)

    def invoke(self, argv: Sequence[str], prog: str, ctx: Context | None = None) -> Any:
        """Parse ``argv`` and call the function with what it declared."""
        params, context = self._signature()
        namespace = vars(self.parser(prog).parse_args(list(argv)))
        kwargs = {p.name: _value(p, namespace[p.name]) for p in params}
        for p in params:
            if p.declared.callback is not None:
                p.declared.callback(kwargs[p.name])
        if context is not None:
            kwargs[context] = ctx or Context()
        return self.func(**kwargs)


def _value(param: Param, parsed: Any) -> Any:
    if param.many and parsed is None:
        return list(param.default) if isinstance(param.default, list) else []
    return parsed


Target = typing.Union["App", Command]


class App:
    """A group of commands (the root, or one module's ``app``).

    ``lazy`` names commands whose ``App`` is made only when the command is used, by
    ``load(name)``, in the order ``--help`` lists them. ``on_error`` turns an exception no
    command handled into the ``Exit`` to end with (the root prints one line and picks a
    documented code); without it the exception propagates.
    """

    def __init__(
        self,
        *,
        help: str = "",
        invoke_without_command: bool = False,
        no_args_is_help: bool = False,
        lazy: Sequence[str] = (),
        load: Callable[[str], App] | None = None,
        on_error: Callable[[Exception], Exit] | None = None,
    ) -> None:
        self.help = help
        self.invoke_without_command = invoke_without_command
        self.no_args_is_help = no_args_is_help
        self.commands: dict[str, Command] = {}
        self.registered_callback: Command | None = None
        self._lazy = tuple(lazy)
        self._load = load
        self._loaded: dict[str, Target] = {}
        self.on_error = on_error

    def command(self, name: str, *, help: str = "") -> Callable[[F], F]:
        """Register the decorated function as subcommand ``name``."""

        def register(func: F) -> F:
            self.commands[name] = Command(name, func, help)
            return func

        return register

    def callback(self, *, help: str = "") -> Callable[[F], F]:
        """Register the decorated function to run for the group itself (before any
        subcommand, which its ``Context`` names)."""

        def register(func: F) -> F:
            self.registered_callback = Command("", func, help)
            return func

        return register

    @property
    def summary(self) -> str:
        callback = self.registered_callback
        return _first_line(self.help or (callback.func.__doc__ if callback else ""))

    def names(self) -> list[str]:
        """Every command, in the order ``--help`` lists them."""
        return [*self._lazy, *(n for n in self.commands if n not in self._lazy)]

    def get(self, name: str) -> Target | None:
        """The command or group ``name``, loading its module on first use."""
        if name in self.commands:
            return self.commands[name]
        if name not in self._lazy or self._load is None:
            return None
        if name not in self._loaded:
            self._loaded[name] = self._load(name).as_command(name)
        return self._loaded[name]

    def as_command(self, name: str) -> Target:
        """A module whose one command bears the module's own name is that command; any
        other is a group (even of one subcommand, like ``bench router``)."""
        only = list(self.commands.values())
        if len(only) == 1 and only[0].name == name and self.registered_callback is None:
            return only[0]
        return self

    def walk(self, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
        """Every runnable (path, command): each leaf, and a group's own callback when the
        group runs without a subcommand."""
        for name in self.names():
            target = self.get(name)
            if isinstance(target, App):
                yield from target.walk((*path, name))
            elif target is not None:
                yield (*path, name), target
        if self.invoke_without_command:
            yield path, self.registered_callback or Command("", lambda: None)

    def __call__(self, args: Sequence[str] | None = None, prog: str = "outcomes") -> None:
        """Run with ``sys.argv`` (or ``args``) and exit with the command's code."""
        sys.exit(self.main(sys.argv[1:] if args is None else args, prog))

    def main(self, args: Sequence[str], prog: str = "outcomes") -> int:
        """Run the command line ``args`` and return the exit code."""
        try:
            self._dispatch(list(args), prog)
        except Exit as done:
            return done.exit_code
        except UsageError as wrong:
            wrong.show()
            return EXIT_USAGE
        except KeyboardInterrupt:
            sys.stderr.write("Aborted!\n")
            return 1
        except BrokenPipeError:
            _quiet_stdout()
            return 1
        except Exception as exc:
            if self.on_error is None:
                raise
            return self.on_error(exc).exit_code
        return 0

    def _help(self, prog: str) -> str:
        import shutil
        import textwrap

        rows = [(n, t.summary) for n in self.names() if (t := self.get(n)) is not None]
        width = max((len(n) for n, _ in rows), default=0)
        room = max(shutil.get_terminal_size().columns - width - 4, 30)
        listing = "\n".join(
            f"  {n.ljust(width)}  "
            + "\n".join(textwrap.wrap(s, room)).replace("\n", "\n" + " " * (width + 4))
            for n, s in rows
        )
        callback = self.registered_callback or Command("", lambda: None)
        parser = callback.parser(prog, f"commands:\n{listing}")
        parser.usage = f"{prog} [OPTIONS] COMMAND [ARGS]..."
        parser.description = inspect.cleandoc(self.help or callback.func.__doc__ or "")
        return parser.format_help()

    def _dispatch(self, argv: list[str], prog: str) -> None:
        if not argv and self.no_args_is_help:
            sys.stderr.write(self._help(prog))
            raise Exit(EXIT_USAGE)
        callback = self.registered_callback
        own, name, rest = _split(argv, callback.params if callback else [])
        if "--help" in own:
            sys.stdout.write(self._help(prog))
            raise Exit(0)
        usage = f"usage: {prog} [OPTIONS] COMMAND [ARGS]...\n"
        target = None if name is None else self.get(name)
        if name is not None and target is None:
            raise UsageError(f"no such command {name!r}", usage, prog)
        if name is None and not self.invoke_without_command:
            if callback is not None:
                callback.invoke(own, prog, Context(None))  # eager options such as --version
            raise UsageError("missing command", usage, prog)
        if callback is not None:
            callback.invoke(own, prog, Context(name))
        elif own:
            raise UsageError(f"unrecognized arguments: {' '.join(own)}", usage, prog)
        if isinstance(target, App):
            target._dispatch(rest, f"{prog} {name}")
        elif target is not None:
            target.invoke(rest, f"{prog} {name}")


def _split(argv: list[str], params: Sequence[Param]) -> tuple[list[str], str | None, list[str]]:
    """(the group's own options, the subcommand's name or None, what follows it): the
    first word that is neither an option nor an option's value names the subcommand."""
    takes_value = {o for p in params if p.kind == "option" and not p.is_flag for o in p.opts}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--" or not word.startswith("-") or word == "-":
            j = i + 1 if word == "--" else i
            if j >= len(argv):
                return argv[:i], None, []
            return argv[:i], argv[j], argv[j + 1 :]
        i += 2 if word in takes_value else 1
    return argv, None, []


def _quiet_stdout() -> None:
    """After the reader of our output went away (``outcomes ... | head``): point stdout at
    /dev/null so that the interpreter's final flush does not complain again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
