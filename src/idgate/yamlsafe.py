"""Safe YAML loading that remembers where each key was written.

Config errors must name the file, the line and the key, so the loader keeps
a map from data path to line. Duplicate keys are an error: with a plain safe
loader the last one silently wins, which would hide a rule.
"""
from typing import Any, Dict, Tuple

import yaml

from .errors import ConfigError

Path = Tuple[Any, ...]


class LocatedYAML:
    def __init__(self, data: Any, lines: Dict[Path, int], file: str):
        self.data, self.lines, self.file = data, lines, file

    def line_of(self, path: Path) -> int:
        """The line of ``path``, or of its nearest written ancestor."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def error(self, path: Path, message: str) -> ConfigError:
        from .validation import format_loc
        return ConfigError(message, self.file, self.line_of(path), format_loc(path))


def load_yaml(text: str, file: str) -> LocatedYAML:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError("the file is empty", file, 1)
        lines: Dict[Path, int] = {(): node.start_mark.line + 1}
        _walk(node, (), lines, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or exc.context or "cannot be parsed"
        raise ConfigError("YAML syntax error: %s" % problem, file, line) from None
    except yaml.YAMLError as exc:
        raise ConfigError("YAML error: %s" % str(exc).splitlines()[0], file, 0) from None
    finally:
        loader.dispose()
    return LocatedYAML(data, lines, file)


def _walk(node: yaml.Node, path: Path, lines: Dict[Path, int], file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: Dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                from .validation import format_loc
                raise ConfigError("duplicate key (first written on line %d)" % seen[key],
                                  file, line, format_loc(path + (key,)))
            seen[key] = line
            lines[path + (key,)] = line
            _walk(value_node, path + (key,), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _walk(item, path + (i,), lines, file)


def read_config_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ConfigError("no such file", path) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a file", path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text (%s)" % exc.reason, path) from None
    except OSError as exc:
        raise ConfigError("cannot read: %s" % exc.strerror, path) from None
