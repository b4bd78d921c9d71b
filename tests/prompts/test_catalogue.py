"""The prompt catalogue: what loads, and every mistake reported at the catalogue's file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastagi.menus import MenuError
from fastagi.menus.problems import Problem
from fastagi.prompts.catalogue import Catalogue, load_catalogue, parse_catalogue, placeholders

REPO = Path(__file__).resolve().parents[2]


def parse(text: str) -> Catalogue:
    return parse_catalogue(textwrap.dedent(text).lstrip("\n"), "cat.yaml")


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(MenuError) as caught:
        parse(text)
    return list(caught.value.problems)


def only_problem(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_the_demo_catalogue_has_every_prompt_in_english_and_russian() -> None:
    catalogue = load_catalogue(REPO / "prompts" / "catalogue.yaml")
    assert catalogue.languages == ("en", "ru")
    assert catalogue.folder == "ivr"
    assert len(catalogue.texts) > 20
    for prompt_id, by_language in catalogue.texts.items():
        assert set(by_language) == {"en", "ru"}, prompt_id
        assert all(text.text.strip() for text in by_language.values()), prompt_id
    goodbye = catalogue.text("goodbye", "en")
    assert goodbye is not None and "Demo Telecom" in goodbye.text


def test_a_plain_text_and_a_text_with_a_voice_both_load() -> None:
    catalogue = parse(
        """
        languages: [en, ru]
        prompts:
          hello:
            en: "  Hello.  "
            ru:
              text: Привет.
              voice: ru-cl
        """
    )
    hello_en = catalogue.text("hello", "en")
    hello_ru = catalogue.text("hello", "ru")
    assert hello_en.text == "Hello."  # surrounding blanks are not spoken
    assert hello_en.voice is None
    assert (hello_ru.text, hello_ru.voice) == ("Привет.", "ru-cl")


def test_a_text_of_its_own_voice_is_used_before_the_language_voice() -> None:
    catalogue = parse(
        """
        languages: [en]
        voices:
          en: {espeak-ng: en-gb, gtts: en}
        prompts:
          plain: {en: Hello.}
          special:
            en: {text: Hello., voice: en-us+f3}
        """
    )
    voice = catalogue.voice
    special = catalogue.text("special", "en")
    plain = catalogue.text("plain", "en")
    assert voice("en", "espeak-ng", special) == "en-us+f3"
    assert voice("en", "espeak-ng", plain) == "en-gb"
    assert voice("en", "gtts", plain) == "en"
    assert voice("en", "espeak-ng") == "en-gb"


def test_a_known_language_without_voices_gets_the_default_ones() -> None:
    catalogue = parse("languages: [ru]\nprompts:\n  a: {ru: Да.}\n")
    assert catalogue.voice("ru", "espeak-ng") == "ru"
    assert catalogue.voice("ru", "gtts") == "ru"


def test_an_unknown_language_without_voices_is_reported_at_languages() -> None:
    problem = only_problem(
        """
        folder: ivr
        languages: [en, xx]
        prompts:
          hello: {en: Hello., xx: Hello.}
        """
    )
    assert (problem.file, problem.line) == ("cat.yaml", 2)
    assert "unknown language 'xx'" in problem.message
    assert problem.code == "unknown-language"


def test_an_unknown_language_with_voices_for_every_engine_is_fine() -> None:
    catalogue = parse(
        """
        languages: [xx]
        voices:
          xx: {espeak-ng: en, gtts: en}
        prompts:
          hello: {xx: Hello.}
        """
    )
    assert catalogue.voice("xx", "espeak-ng") == "en"


@pytest.mark.parametrize("text", ["''", "'   '", '"\\t\\n "'])
def test_an_empty_text_is_one_problem_at_its_line(text: str) -> None:
    problem = only_problem(
        f"languages: [en]\nprompts:\n  hello:\n    en: Hi.\n  bye:\n    en: {text}\n"
    )
    assert (problem.file, problem.line) == ("cat.yaml", 6)
    assert problem.key_path.startswith("prompts.bye.en")
    assert "the text is empty" in problem.message


def test_an_empty_text_in_the_long_form_is_reported_at_the_text() -> None:
    problem = only_problem(
        """
        prompts:
          hello:
            en:
              voice: en-us
              text: " "
        """
    )
    assert problem.line == 5
    assert "the text is empty" in problem.message


def test_an_unknown_placeholder_kind_is_reported_with_the_known_ones() -> None:
    problem = only_problem(
        """
        languages: [en]
        prompts:
          balance:
            en: "Your balance is {caller.balance:money}."
        """
    )
    assert problem.line == 4
    assert "unknown kind 'money'" in problem.message
    assert "amount" in problem.message  # the kind they probably meant is offered


@pytest.mark.parametrize(
    "text",
    [
        "Press {1} for sales.",
        "Hello {caller.first_name",
        "Hello caller.first_name}",
        "Hello {name}",
        "Hello {{caller.first_name}}",
    ],
)
def test_stray_braces_are_reported(text: str) -> None:
    problem = only_problem(f'prompts:\n  hello:\n    en: "{text}"\n')
    assert problem.line == 3
    assert "braces are only for caller data" in problem.message


def test_a_prompt_language_missing_from_languages_is_reported_at_its_key() -> None:
    problem = only_problem(
        """
        languages: [en]
        prompts:
          hello:
            en: Hello.
            ru: Привет.
        """
    )
    assert (problem.line, problem.key_path) == (5, "prompts.hello.ru")
    assert "'ru' is not in languages" in problem.message


def test_an_unknown_engine_under_voices_is_reported() -> None:
    problem = only_problem(
        """
        languages: [en]
        voices:
          en:
            espeak-ng: en-us
            polly: Joanna
        prompts:
          hello: {en: Hello.}
        """
    )
    assert (problem.line, problem.code) == (5, "unknown-engine")
    assert "'polly'" in problem.message
    assert "espeak-ng" in problem.hint


@pytest.mark.parametrize("prompt_id", ["Main-Greeting", "main greeting", "-dash", "a/b", "é"])
def test_a_bad_prompt_id_is_reported_at_its_line(prompt_id: str) -> None:
    problem = only_problem(f"prompts:\n  ok:\n    en: Fine.\n  '{prompt_id}':\n    en: Hi.\n")
    assert problem.line == 4
    assert prompt_id in problem.message


def test_an_unknown_currency_is_reported() -> None:
    problem = only_problem("currency: XYZ\nprompts:\n  hello: {en: Hello.}\n")
    assert problem.line == 1
    assert "unknown currency 'XYZ'" in problem.message
    assert "RUB" in problem.hint


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    problems = problems_of(
        """
        languages: [en]
        currency: XYZ
        prompts:
          hello:
            en: Hello.
            de: Hallo.
        """
    )
    assert sorted(p.line for p in problems) == [2, 6]


def test_a_broken_file_is_reported_with_its_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text("languages: [en\nprompts:\n  hello: {en: Hi.}\n", encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_catalogue(path)
    assert f"{path}:2" in str(caught.value)


def test_a_catalogue_that_is_not_a_mapping_is_an_error() -> None:
    problem = only_problem("- hello\n- goodbye\n")
    assert "mapping" in problem.message


def test_dynamic_prompts_are_those_with_caller_data_in_any_language() -> None:
    catalogue = parse(
        """
        languages: [en, ru]
        prompts:
          hello-name:
            en: "Hello, {caller.first_name}!"
            ru: Здравствуйте!
          hello:
            en: Hello!
            ru: Здравствуйте!
        """
    )
    assert catalogue.is_dynamic("hello-name")
    assert not catalogue.is_dynamic("hello")
    assert not catalogue.is_dynamic("no-such-prompt")
    assert catalogue.text("hello-name", "en").is_dynamic
    assert not catalogue.text("hello-name", "ru").is_dynamic


def test_prompt_id_maps_a_menu_sound_name_to_the_catalogue() -> None:
    catalogue = parse("folder: ivr\nprompts:\n  main-greeting: {en: Hi.}\n")
    assert catalogue.prompt_id("ivr/main-greeting") == "main-greeting"
    assert catalogue.prompt_id("ivr/main-greting") is None
    assert catalogue.prompt_id("main-greeting") is None
    assert catalogue.prompt_id("digits/main-greeting") is None
    assert catalogue.prompt_id("x/ivr/main-greeting") is None
    assert catalogue.sound_name("main-greeting") == "ivr/main-greeting"


def test_prompt_id_with_a_folder_of_several_parts() -> None:
    catalogue = parse("folder: acme/ivr\nprompts:\n  hello: {en: Hi.}\n")
    assert catalogue.prompt_id("acme/ivr/hello") == "hello"
    assert catalogue.prompt_id("ivr/hello") is None


def test_placeholders_lists_variable_and_kind() -> None:
    text = "Hi {caller.first_name}, you owe {caller.balance:amount} since {caller.due:date}."
    assert placeholders(text) == [
        ("caller.first_name", ""),
        ("caller.balance", "amount"),
        ("caller.due", "date"),
    ]
    assert placeholders("For {segment} customers") == [("segment", "")]
    assert placeholders("No caller data here.") == []
    assert placeholders("{name} {caller.}") == []  # not caller data


def test_line_of_points_at_the_prompt_and_its_language() -> None:
    catalogue = parse(
        """
        languages: [en, ru]
        prompts:
          hello:
            en: Hello.
            ru: Привет.
        """
    )
    assert catalogue.line_of("hello") == 3
    assert catalogue.line_of("hello", "ru") == 5
