"""read_conf: sections and entries with file:line, comments, #include, templates, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from asterisk_helpers import WriteFile

from fastagi.asterisk.conffile import ConfError, Source, read_conf


def test_sections_keep_repeated_keys_in_order_with_their_lines(write: WriteFile) -> None:
    path = write(
        "ext.conf",
        """
        ; a comment line
        [ctx]
        exten => s,1,Answer()
         same => n,Playback(hello)   ; trailing comment
        exten = 100,1,Hangup()
        """,
    )
    [section] = read_conf(path)
    assert section.name == "ctx"
    assert section.source == Source(str(path), 2)
    assert [(e.key, e.value, e.source.line) for e in section.entries] == [
        ("exten", "s,1,Answer()", 3),
        ("same", "n,Playback(hello)", 4),
        ("exten", "100,1,Hangup()", 5),
    ]
    assert section.get("exten") == "100,1,Hangup()"  # the last one wins for get()
    assert len(section.get_all("exten")) == 2


def test_escaped_semicolon_is_kept_and_block_comments_are_dropped(write: WriteFile) -> None:
    path = write(
        "x.conf",
        r"""
        [a]
        one = b\;c ; real comment
        ;-- a block comment
        hidden = yes
        --;
        two = 2 ;-- inline block --; three
        """,
    )
    [section] = read_conf(path)
    assert [(e.key, e.value, e.source.line) for e in section.entries] == [
        ("one", "b;c", 2),
        ("two", "2  three", 6),  # text after an inline block comment still counts
    ]


def test_unclosed_block_comment_is_an_error(write: WriteFile) -> None:
    path = write("x.conf", "[a]\n;-- never closed\nb=1\n")
    with pytest.raises(ConfError, match="never closed"):
        read_conf(path)


def test_include_resolves_against_the_config_dir_not_the_including_file(
    write: WriteFile, tmp_path: Path
) -> None:
    conf = tmp_path / "conf"
    write("conf/extensions.conf", '[globals]\nA=1\n#include "dialplan/first.conf"\n')
    # first.conf lives in dialplan/ but names its sibling from the config dir, like Asterisk.
    write("conf/dialplan/first.conf", "[one]\nexten => s,1,NoOp()\n#include dialplan/second.conf\n")
    write("conf/dialplan/second.conf", "[two]\nexten => s,1,NoOp()\n")
    sections = read_conf(conf / "extensions.conf", conf)
    assert [s.name for s in sections] == ["globals", "one", "two"]
    assert sections[2].source == Source(str(conf / "dialplan/second.conf"), 1)
    assert sections[1].entries[0].source.file == str(conf / "dialplan/first.conf")


def test_included_lines_continue_the_includers_section(write: WriteFile, tmp_path: Path) -> None:
    write("c/main.conf", "[a]\nx=1\n#include <more.conf>\ny=3\n")
    write("c/more.conf", "z=2\n")
    [section] = read_conf(tmp_path / "c/main.conf")
    assert [(e.key, Path(e.source.file).name) for e in section.entries] == [
        ("x", "main.conf"),
        ("z", "more.conf"),
        ("y", "main.conf"),
    ]


def test_include_through_a_symlinked_directory(write: WriteFile, tmp_path: Path) -> None:
    write("dialplan/ivr.conf", "[ivr]\nexten => s,1,NoOp()\n")
    write("conf/extensions.conf", '#include "dialplan/ivr.conf"\n')
    (tmp_path / "conf/dialplan").symlink_to("../dialplan", target_is_directory=True)
    assert [s.name for s in read_conf(tmp_path / "conf/extensions.conf")] == ["ivr"]


def test_include_with_a_wildcard_reads_every_match_in_order(
    write: WriteFile, tmp_path: Path
) -> None:
    write("c/main.conf", "#include parts/*.conf\n")
    write("c/parts/b.conf", "[b]\n")
    write("c/parts/a.conf", "[a]\n")
    assert [s.name for s in read_conf(tmp_path / "c/main.conf")] == ["a", "b"]


def test_missing_include_names_the_including_line(write: WriteFile) -> None:
    path = write("main.conf", '[a]\nx=1\n#include "nope.conf"\n')
    with pytest.raises(ConfError) as info:
        read_conf(path)
    assert info.value.file == str(path)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: #include 'nope.conf': no such file")


def test_tryinclude_of_a_missing_file_is_fine(write: WriteFile) -> None:
    path = write("main.conf", "[a]\n#tryinclude nope.conf\nx=1\n")
    [section] = read_conf(path)
    assert section.get("x") == "1"


def test_include_loop_is_an_error(write: WriteFile, tmp_path: Path) -> None:
    write("c/a.conf", "[a]\n#include b.conf\n")
    write("c/b.conf", "#include a.conf\n")
    with pytest.raises(ConfError, match="loop") as info:
        read_conf(tmp_path / "c/a.conf")
    assert (Path(info.value.file).name, info.value.line) == ("b.conf", 1)


def test_templates_are_marked_and_inherited(write: WriteFile) -> None:
    path = write(
        "pjsip.conf",
        """
        [base](!)
        type=endpoint
        context=internal
        [codecs](!)
        allow=ulaw
        [201](base,codecs)
        context=office
        """,
    )
    base, codecs, ep = read_conf(path)
    assert base.is_template and codecs.is_template and not ep.is_template
    assert ep.templates == ("base", "codecs")
    assert [(e.key, e.value) for e in ep.entries] == [
        ("type", "endpoint"),
        ("context", "internal"),
        ("allow", "ulaw"),
        ("context", "office"),
    ]
    assert ep.get("context") == "office"
    assert ep.entries[0].source.line == 2  # inherited lines point at the template


def test_unknown_template_is_an_error_at_the_header(write: WriteFile) -> None:
    path = write("x.conf", "[a]\nx=1\n[b](missing)\n")
    with pytest.raises(ConfError, match="inherits from 'missing'") as info:
        read_conf(path)
    assert info.value.line == 3


def test_plus_adds_to_an_earlier_section(write: WriteFile) -> None:
    path = write("x.conf", "[a]\nx=1\n[b]\n[a](+)\ny=2\n")
    a, b = read_conf(path)
    assert [e.key for e in a.entries] == ["x", "y"]
    assert b.entries == []


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[a]\nx=1\njust words\n", 3, "Item must be in name = value pairs: 'just words'"),
        ("[a]\n[broken\n", 2, "section header '[broken' has no closing ']'"),
        ("[a] junk\n", 1, "unexpected text 'junk' after [a]"),
        ("x=1\n[a]\n", 1, "'x' comes before any [section]"),
        ("[a]\n= value\n", 2, "a line with no name before '='"),
        ("[a]\n#exec /bin/true\n#frobnicate x\n", 3, "unknown directive '#frobnicate'"),
        ("[]\n", 1, "section header with an empty name"),
    ],
)
def test_bad_syntax_is_reported_with_file_and_line(
    write: WriteFile, text: str, line: int, message: str
) -> None:
    path = write("bad.conf", text)
    with pytest.raises(ConfError) as info:
        read_conf(path)
    assert (info.value.file, info.value.line) == (str(path), line)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.conf"
    path.write_bytes("\ufeff[a]\nx=1\n".encode())
    assert [s.name for s in read_conf(path)] == ["a"]


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(ConfError, match="cannot read: No such file") as info:
        read_conf(tmp_path / "absent.conf")
    assert info.value.line is None
    bad = tmp_path / "latin1.conf"
    bad.write_bytes(b"[a]\nname=Jos\xe9\n")
    with pytest.raises(ConfError, match="not valid UTF-8") as info:
        read_conf(bad)
    assert info.value.line == 2
