"""Loading menu files: valid files become models; every problem names file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from menus_helpers import WriteFile

from fastagi.menus import MenuError, MenuSet, load_menu_file, load_menus
from fastagi.menus._yaml import MAX_ALIASES, MAX_FILE_BYTES
from fastagi.menus.nodes import MenuNode, SayNode
from fastagi.menus.target import Target

GOOD = """
menu: main
start: welcome
nodes:
  welcome:
    type: menu
    greeting: ivr/main-greeting
    options:
      "1": sales
      2: bye
  sales: {type: play, prompts: [ivr/sales-info], next: welcome}
  bye: {type: hangup, prompt: ivr/goodbye}
"""


def problems_of(exc: pytest.ExceptionInfo[MenuError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_good_file_loads_into_models(write: WriteFile) -> None:
    menu = load_menu_file(write("main.yaml", GOOD))
    assert menu.name == "main"
    welcome = menu.nodes["welcome"]
    assert isinstance(welcome, MenuNode)
    assert dict(welcome.options) == {"1": Target(node="sales"), "2": Target(node="bye")}
    assert welcome.settings(menu.defaults).timeout == 5.0


def test_menu_set_keeps_the_settings_of_menu_nodes(write: WriteFile) -> None:
    menu = load_menu_file(write("main.yaml", GOOD))
    menus = MenuSet([menu])
    welcome = menu.nodes["welcome"]
    assert isinstance(welcome, MenuNode)
    settings = menus.menu_settings("main", "welcome")
    assert settings == welcome.settings(menu.defaults)
    assert menus.menu_settings("main", "welcome") is settings  # computed once
    with pytest.raises(TypeError):
        menus.menu_settings("main", "bye")  # a hangup node has no menu settings
    with pytest.raises(KeyError):
        menus.menu_settings("main", "nowhere")


def test_menu_name_defaults_to_file_stem(write: WriteFile) -> None:
    path = write("sales_line.yaml", GOOD.replace("menu: main\n", ""))
    assert load_menu_file(path).name == "sales_line"


def test_bad_file_stem_is_explained(write: WriteFile) -> None:
    path = write("Sales Line.yaml", GOOD.replace("menu: main\n", ""))
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert problem.key_path == "menu"
    assert "set 'menu:' explicitly" in problem.hint


def test_yaml_syntax_error_has_its_line(write: WriteFile) -> None:
    path = write(
        "main.yaml",
        """
        menu: main
        start: welcome
        nodes:
          welcome: {type: hangup, prompt: ivr/bye
          other: {type: hangup}
        """,
    )
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert problem.line == 5
    assert str(problem).startswith(f"{path}:5:")
    assert problem.code == "yaml-syntax"


def test_unknown_key_typo_gets_did_you_mean(write: WriteFile) -> None:
    path = write("main.yaml", GOOD.replace("    greeting:", "    gretting:"))
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert problems_of(exc) == [
        f"{path}:4:3: nodes.welcome: missing required key 'greeting'",
        f"{path}:6:5: nodes.welcome: unknown key 'gretting' (did you mean 'greeting'?)",
    ]


def test_bad_target_with_did_you_mean(write: WriteFile) -> None:
    path = write("main.yaml", GOOD.replace('"1": sales', '"1": sles'))
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert problems_of(exc) == [
        f"{path}:8:12: nodes.welcome.options.1: unknown node 'sles' (did you mean 'sales'?)"
    ]


def test_bad_target_syntax(write: WriteFile) -> None:
    path = write("main.yaml", GOOD.replace('"1": sales', '"1": "menu:Main Menu"'))
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert (problem.line, problem.key_path) == (8, "nodes.welcome.options.1")
    assert "menu name 'Main Menu'" in problem.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be greater than 0, got '0'"),
        ("61", "must be less than or equal to 60, got '61'"),
        ("soon", "must be a valid number"),
    ],
)
def test_bad_timeout_value(write: WriteFile, value: str, message: str) -> None:
    text = GOOD.replace("start: welcome\n", f"start: welcome\ndefaults:\n  timeout: {value}\n")
    path = write("main.yaml", text)
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert (problem.line, problem.column) == (4, 12)
    assert problem.key_path == "defaults.timeout"
    assert message in problem.message


def test_node_timeout_override_is_bounded(write: WriteFile) -> None:
    path = write(
        "main.yaml", GOOD.replace("    options:", "    inter_digit_timeout: -1\n    options:")
    )
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert problems_of(exc) == [
        f"{path}:7:26: nodes.welcome.inter_digit_timeout: must be greater than 0, got '-1'"
    ]


def test_missing_start_node(write: WriteFile) -> None:
    path = write("main.yaml", GOOD.replace("start: welcome", "start: welcom"))
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert problems_of(exc) == [
        f"{path}:2:8: start: start node 'welcom' does not exist (did you mean 'welcome'?)"
    ]


def test_unknown_node_type(write: WriteFile) -> None:
    path = write("main.yaml", GOOD.replace("{type: play,", "{type: plya,"))
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert problems_of(exc) == [
        f"{path}:10:17: nodes.sales.type: unknown node type 'plya' (did you mean 'play'?)"
    ]


def test_duplicate_option_given_as_int_and_text(write: WriteFile) -> None:
    path = write("main.yaml", GOOD.replace("      2: bye", "      2: bye\n      1: bye"))
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert (problem.line, problem.column, problem.code) == (10, 7, "duplicate-key")
    assert problem.message == "duplicate key '1'"
    assert "first given on line 8" in problem.hint


def test_duplicate_node_id(write: WriteFile) -> None:
    path = write("main.yaml", GOOD + "  sales: {type: hangup}\n")
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert [(p.line, p.key_path) for p in exc.value.problems] == [(12, "nodes.sales")]


def test_alias_bomb_is_refused(write: WriteFile) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = write("main.yaml", "\n".join(lines) + "\n")
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert problem.code == "yaml-limit"
    assert "alias bomb" in problem.message
    assert problem.line is not None


def test_too_many_aliases_is_refused(write: WriteFile) -> None:
    body = "\n".join(f"k{i}: *x" for i in range(MAX_ALIASES + 1))
    path = write("main.yaml", f"x: &x 1\n{body}\n")
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert problem.line == MAX_ALIASES + 2
    assert "aliases" in problem.message


def test_recursive_alias_is_refused(write: WriteFile) -> None:
    path = write("main.yaml", "a: &a [1, *a]\n")
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert exc.value.problems[0].code == "yaml-limit"


def test_deep_nesting_is_refused(write: WriteFile) -> None:
    path = write("main.yaml", "a: " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert "nested deeper" in exc.value.problems[0].message


def test_oversize_file_is_refused_unread(write: WriteFile) -> None:
    path = write("main.yaml", GOOD + "#" * MAX_FILE_BYTES + "\n")
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert problem.code == "too-big"
    assert str(problem).startswith(f"{path}: file is ")


def test_python_tags_are_not_constructed(write: WriteFile) -> None:
    path = write("main.yaml", "menu: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    (problem,) = exc.value.problems
    assert problem.line == 1
    assert "python/object" in problem.message


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("- a\n- b\n", "a menu file must be a mapping")],
)
def test_file_that_is_not_a_menu(write: WriteFile, text: str, message: str) -> None:
    with pytest.raises(MenuError) as exc:
        load_menu_file(write("main.yaml", text))
    assert message in exc.value.problems[0].message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "main.yaml"
    path.write_bytes(b"menu: main\nstart: \xff\n")
    with pytest.raises(MenuError) as exc:
        load_menu_file(path)
    assert (exc.value.problems[0].line, exc.value.problems[0].message) == (
        2,
        "file is not UTF-8 text",
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MenuError) as exc:
        load_menu_file(tmp_path / "nope.yaml")
    assert "cannot read the file" in str(exc.value)


def test_plain_scalars_stay_as_written(write: WriteFile) -> None:
    text = GOOD + "  digits: {type: say, digits: 0123, next: welcome}\n"
    text = text.replace("      2: bye", "      2: bye\n      010: digits")
    menu = load_menu_file(write("main.yaml", text))
    say = menu.nodes["digits"]
    assert isinstance(say, SayNode) and say.digits == "0123"
    welcome = menu.nodes["welcome"]
    assert isinstance(welcome, MenuNode) and "010" in welcome.options


def test_values_are_checked(write: WriteFile) -> None:
    text = GOOD + (
        "  a: {type: set, variables: {'bad name': x, 'CHANNEL(language)': ru}, next: bye}\n"
        "  b: {type: return, result: hangup}\n"
        "  c: {type: play, prompts: [ivr/x.wav], next: bye}\n"
    )
    with pytest.raises(MenuError) as exc:
        load_menu_file(write("main.yaml", text))
    assert [(p.line, p.key_path) for p in exc.value.problems] == [
        (12, "nodes.a.variables.bad name"),
        (13, "nodes.b.result"),
        (14, "nodes.c.prompts[0]"),
    ]
    assert "leave out the file extension" in exc.value.problems[2].message


def test_load_menus_collects_problems_of_all_files(write: WriteFile) -> None:
    one = write("a.yaml", GOOD.replace("menu: main", "menu: a").replace("type: play", "type: x"))
    two = write("b.yaml", GOOD.replace("menu: main", "menu: b").replace("gree", "grea"))
    with pytest.raises(MenuError) as exc:
        load_menus(one.parent)
    assert {p.file for p in exc.value.problems} == {str(one), str(two)}


def test_duplicate_menu_names_across_files(write: WriteFile) -> None:
    first = write("a.yaml", GOOD)
    second = write("b.yaml", GOOD)
    with pytest.raises(MenuError) as exc:
        load_menus(first.parent)
    assert problems_of(exc) == [
        f"{second}:1:1: menu: menu 'main' is already defined in {first}"
        " (menu names must be unique across files)"
    ]


def test_gotos_between_menus_are_checked(write: WriteFile) -> None:
    write(
        "main.yaml",
        GOOD.replace("2: bye", "2: menu:main_rus/welcome\n      3: menu:main_ru/wellcome"),
    )
    write("main_ru.yaml", GOOD.replace("menu: main", "menu: main_ru"))
    other = write(
        "x.yaml", GOOD.replace("menu: main", "menu: x").replace('"1": sales', '"1": main_ru')
    )
    with pytest.raises(MenuError) as exc:
        load_menus(other.parent)
    assert [(Path(p.file).name, p.line, p.message, p.hint) for p in exc.value.problems] == [
        ("main.yaml", 9, "unknown menu 'main_rus'", "did you mean 'main_ru'?"),
        ("main.yaml", 10, "menu 'main_ru' has no node 'wellcome'", "did you mean 'welcome'?"),
        ("x.yaml", 8, "unknown node 'main_ru'", "to go to menu 'main_ru' write 'menu:main_ru'"),
    ]


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(MenuError, match="no menu files"):
        load_menus(tmp_path)


def test_demo_menus_load(demo_dir: Path) -> None:
    menus = load_menus(demo_dir)
    assert set(menus) == {"main", "main_ru", "vip", "blocked", "personal_ivanov", "appointment"}
    assert menus.source("main").file == str(demo_dir / "main.yaml")
    assert len(menus.version) == 12
    assert load_menus(demo_dir).version == menus.version
    welcome = menus["main"].nodes["welcome"]
    assert isinstance(welcome, MenuNode)
    assert welcome.options["2"] == Target(node="support")
    assert isinstance(menus["main"].nodes["support"], MenuNode)
