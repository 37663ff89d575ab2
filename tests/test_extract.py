"""``control extract``: places from aliases, dates against the publication time (Syrian time),
denials, duplicate marking against the store, the measurement, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from control.ingest import extract as rules
from control.ingest.record import load_record
from control.ingest.sources import seed_names, seed_text
from control.model.times import parse_instant

ARTICLES = Path(__file__).parent / "articles"
START = parse_instant("2024-11-27T00:00+03:00")


def at(text: str) -> datetime:
    return parse_instant(text)


def one(sentence: str, published: str = "2024-12-07T17:00Z") -> rules.Candidate:
    found = rules.extract(sentence, at(published), START, "a.txt")
    assert len(found) == 1, found
    return found[0]


# --- places -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, place, scope",
    [
        ("the rebels have seized Deir al-Zor in the east", "Deir ez-Zor", "city"),
        ("forces have retreated from Deir Ez Zor", "Deir ez-Zor", "city"),
        ("fighters entered Deir ez Zor city", "Deir ez-Zor", "city"),
        ("forces in the southwestern city of Sweida were redeployed", "As-Suwayda", "city"),
        ("local factions have seized Suweida in the south", "As-Suwayda", "city"),
        ("troops have retreated from Hassaka", "Al-Hasakah", "city"),
        ("rebels took control of Hims", "Homs", "city"),
        ("rebels seized Idleb", "Idlib", "city"),
        ("the army was forced to evacuate Quneitrea", "Quneitra", "city"),  # a typo in 001
        ("rebels have reached the outskirts of Damascus", "Rif Dimashq", "area"),
        ("rebels captured the Damascus suburbs of Jaramana", "Rif Dimashq", "area"),
        ("the army retreated from Palmyra", "Homs", "area"),
        ("rebels are encircling the capital", "Damascus", "city"),
    ],
)
def test_places_are_found_by_any_alias_the_news_uses(sentence: str, place: str, scope: str) -> None:
    mentions = rules.find_places(sentence)
    assert (mentions[0].place, mentions[0].scope) == (place, scope)
    c = one(sentence[0].upper() + sentence[1:] + ".")
    assert (c.place, c.scope) == (place, scope)


def test_the_seeds_spellings_are_all_found_in_the_seeds() -> None:
    text = seed_text("000_0dae3e58c82ba531.txt")
    found = {m.place for s in rules.sentences(text) for m in rules.find_places(s.text)}
    assert {"Deir ez-Zor", "As-Suwayda", "Al-Hasakah", "Quneitra", "Homs", "Daraa"} <= found


def test_a_place_inside_another_word_is_not_a_place() -> None:
    assert rules.find_places("Hamas and Homsi officials met in Tartusville.") == []


def test_sentences_are_exact_substrings_with_their_line() -> None:
    text = seed_text("001_5a8b014f271cd233.txt")
    for s in rules.sentences(text):
        assert text[s.start : s.start + len(s.text)] == s.text
        assert text.count("\n", 0, s.start) + 1 == s.line
    assert rules.sentences("U.S. officials said rebels took Hama. Then they left.")[0].text.startswith("U.S.")


# --- dates ------------------------------------------------------------------------------------

# Published at 22:00Z on Saturday 7 December: 01:00 on Sunday 8 December in Syria (UTC+3).
AFTER_MIDNIGHT = "2024-12-07T22:00Z"
# Published at 20:00Z: 23:00 on Saturday in Syria.
BEFORE_MIDNIGHT = "2024-12-07T20:00Z"


@pytest.mark.parametrize(
    "words, published, earliest, latest",
    [
        ("on Sunday", AFTER_MIDNIGHT, "2024-12-07T21:00Z", AFTER_MIDNIGHT),
        ("on Saturday", AFTER_MIDNIGHT, "2024-12-06T21:00Z", "2024-12-07T21:00Z"),
        ("Friday", AFTER_MIDNIGHT, "2024-12-05T21:00Z", "2024-12-06T21:00Z"),
        ("Thursday", AFTER_MIDNIGHT, "2024-12-04T21:00Z", "2024-12-05T21:00Z"),
        ("Wednesday", AFTER_MIDNIGHT, "2024-12-03T21:00Z", "2024-12-04T21:00Z"),
        ("Tuesday", AFTER_MIDNIGHT, "2024-12-02T21:00Z", "2024-12-03T21:00Z"),
        ("Monday", AFTER_MIDNIGHT, "2024-12-01T21:00Z", "2024-12-02T21:00Z"),
        ("on Saturday", BEFORE_MIDNIGHT, "2024-12-06T21:00Z", BEFORE_MIDNIGHT),
        ("Sunday", BEFORE_MIDNIGHT, "2024-11-30T21:00Z", "2024-12-01T21:00Z"),
        ("Thursday", BEFORE_MIDNIGHT, "2024-12-04T21:00Z", "2024-12-05T21:00Z"),
        ("today", AFTER_MIDNIGHT, "2024-12-07T21:00Z", AFTER_MIDNIGHT),
        ("today", BEFORE_MIDNIGHT, "2024-12-06T21:00Z", BEFORE_MIDNIGHT),
        ("yesterday", AFTER_MIDNIGHT, "2024-12-06T21:00Z", "2024-12-07T21:00Z"),
        ("last week", BEFORE_MIDNIGHT, "2024-11-25T21:00Z", "2024-12-01T21:00Z"),
        ("December 6", AFTER_MIDNIGHT, "2024-12-05T21:00Z", "2024-12-06T21:00Z"),
        ("by report", AFTER_MIDNIGHT, "2024-11-26T21:00Z", AFTER_MIDNIGHT),
    ],
)
def test_weekday_phrases_resolve_against_the_publication_in_syrian_time(
    words: str, published: str, earliest: str, latest: str
) -> None:
    window = rules.resolve_when(words, at(published), START)
    assert window == (at(earliest), at(latest))


def test_the_date_phrase_of_a_sentence_dates_its_candidate_across_midnight() -> None:
    c = one("Homs fell to rebel forces on Saturday.", AFTER_MIDNIGHT)
    assert (c.when, c.window) == ("Saturday", (at("2024-12-06T21:00Z"), at("2024-12-07T21:00Z")))
    c = one("Homs fell to rebel forces on Saturday.", BEFORE_MIDNIGHT)
    assert c.window == (at("2024-12-06T21:00Z"), at(BEFORE_MIDNIGHT))
    c = one("The offensive began on November 27, and rebels seized Hama on December 5.")
    assert c.when == "December 5"
    assert one("Rebels seized Hama.").when == "by report"


def test_without_a_publication_time_relative_words_have_no_window_and_dates_do() -> None:
    [c] = rules.extract("Rebels seized Hama on Thursday.", None, START)
    assert c.window is None
    [c] = rules.extract("Rebels seized Hama on December 5.", None, START)
    assert c.window == (at("2024-12-04T21:00Z"), at("2024-12-05T21:00Z"))


# --- kinds, actors, denials -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, kind, place, actor, scope",
    [
        ("A military source denied that Homs had fallen.", "denial", "Homs", "government", "city"),
        (
            "‘There is no truth to news claiming our forces in Hama have withdrawn,’ it said.",
            "denial",
            "Hama",
            "government",
            "city",
        ),
        (
            "The army said reports that it had left Daraa were not true.",
            "denial",
            "Daraa",
            "government",
            "city",
        ),
        ("The government denied that Assad had fled Damascus.", "denial", "Damascus", "government", "person"),
        (
            "State media denied reports that President Assad has fled.",
            "denial",
            "Damascus",
            "government",
            "person",
        ),
        ("The Syrian army withdrew from Daraa on Saturday.", "withdrawal", "Daraa", "government", "city"),
        ("HTS fighters captured Aleppo last week.", "capture", "Aleppo", "hts", "city"),
        ("The SDF seized Deir ez-Zor on December 6.", "capture", "Deir ez-Zor", "sdf", "city"),
        ("Rebels are encircling Damascus.", "claim", "Damascus", "hts", "city"),
        (
            "State television said a security ring around Damascus held.",
            "claim",
            "Damascus",
            "government",
            "city",
        ),
    ],
)
def test_kinds_actors_and_denials(sentence: str, kind: str, place: str, actor: str, scope: str) -> None:
    c = one(sentence)
    assert (c.kind, c.place, c.actor, c.scope) == (kind, place, actor, scope)
    assert c.quote == sentence


def test_unnamed_rebels_take_the_region_s_usual_actor_and_say_so() -> None:
    c = one("The rebels have seized Suweida.")
    assert (c.actor, c.actor_named) == ("druze", False)
    assert one("HTS has seized Hama.").actor_named


@pytest.mark.parametrize(
    "sentence",
    [
        "If Homs falls, we are talking of a change of regime.",
        "While capturing Homs could close the land route, Russia cannot help.",
        "Homs is the next target for the rebels.",
        "The rebels liberated thousands of prisoners from Homs' city prison.",
        "Residents of Damascus took to the streets.",
        "",
    ],
)
def test_hypotheses_intents_and_non_events_give_no_candidate(sentence: str) -> None:
    assert rules.extract(sentence, at("2024-12-07T17:00Z"), START) == []


def test_one_candidate_per_place_in_a_list() -> None:
    found = rules.extract(
        "Apart from Aleppo in the north, the rebels have seized Hama in the centre and Deir al-Zor "
        "in the east, Quneitra and Suweida in South, among other places.",
        at("2024-12-07T21:00Z"),
        START,
    )
    assert [(c.place, c.kind, c.actor) for c in found] == [
        ("Aleppo", "capture", "hts"),
        ("Hama", "capture", "hts"),
        ("Deir ez-Zor", "capture", "sdf"),
        ("Quneitra", "capture", "southern"),
        ("As-Suwayda", "capture", "druze"),
    ]


# --- duplicates and corroboration -------------------------------------------------------------


def test_candidates_already_in_the_store_are_duplicates_and_others_corroborate() -> None:
    record = load_record()
    name = "002_83a5accc3178cb06.txt"
    text = "Homs, the third largest city in Syria, fell to rebel forces on Saturday, abruptly."
    published = record.published[name]
    [c] = rules.mark(rules.extract(text, published, record.campaign_start, name), record.events)
    assert (c.status, c.matches[:1]) == ("duplicate", ("homs-capture-002",))
    [c] = rules.mark(rules.extract(text, published, record.campaign_start, "mine.txt"), record.events)
    assert c.status == "corroborates"
    assert "homs-capture-002" in c.matches and "homs-capture-004" not in c.matches  # Sunday: no overlap
    # a report of the government taking Homs back is no corroboration of anything
    [c] = rules.mark(
        rules.extract("Government troops took control of Homs on Saturday.", published, START, "mine.txt"),
        record.events,
    )
    assert (c.kind, c.actor, c.status) == ("capture", "government", "new")


def test_retracted_events_are_not_matched() -> None:
    record = load_record()
    live = {e.id for e in rules.live(record.events)}
    assert "damascus-denial-000" not in live and "damascus-denial-000-r" in live
    assert not any(i.startswith("baseline-") or "correction" in i for i in live)


def test_extracting_a_seed_marks_its_candidates_against_the_store(run) -> None:
    result = run("extract", "003_cbb8445dadc2087e.txt", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert {"capital", "kind", "window", "actor", "quote"} <= set(found[0])
    statuses = {c["status"] for c in found}
    assert "duplicate" in statuses
    homs = [c for c in found if c["quote"].startswith("The insurgents later declared")]
    assert homs[0]["status"] == "duplicate" and "homs-capture-003" in homs[0]["matches"]


# --- the command ------------------------------------------------------------------------------


def test_extract_writes_toml_that_add_accepts(run, tmp_path: Path) -> None:
    article = tmp_path / "news" / "article.txt"
    article.parent.mkdir()
    article.write_text(
        "Rebels said on Sunday they had taken Damascus.\nThe army withdrew from Tartus on Sunday.\n",
        "utf-8",
    )
    out = tmp_path / "review" / "candidates.toml"
    result = run("extract", str(article), "--published", "2024-12-08T06:00Z", "--toml", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    assert 'file = "../news/article.txt"' in text
    assert 'reported_at = "2024-12-08T06:00:00Z"' in text
    assert "# line 1: Rebels said on Sunday they had taken Damascus." in text
    added = run("add", "--toml", str(out))
    assert added.exit_code == 0, added.output
    assert "capture hts at Damascus" in added.output and "withdrawal government at Tartus" in added.output
    again = run("extract", str(article), "--published", "2024-12-08T06:00Z")
    assert again.output.count("DUPLICATE") == 2


def test_text_output_names_kind_actor_place_window_and_quote(run, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Syrian rebels said on Thursday they had taken control of Hama.\n", "utf-8")
    result = run("extract", str(article), "--published", "2024-12-05T21:30Z")
    assert result.exit_code == 0, result.output
    assert "capture hts (not named: the region's usual actor) at Hama [city]  line 1" in result.output
    assert "when 'Thursday': 2024-12-04T21:00:00Z .. 2024-12-05T21:00:00Z" in result.output
    assert "corroborates hama-capture-000, " in result.output and "hama-capture-001, " in result.output


def test_evaluate_on_the_seeds_meets_the_goal(run) -> None:
    result = run("extract", "--evaluate", "--json")
    assert result.exit_code == 0, result.output
    total = json.loads(result.output)["all"]
    assert total["recall"] >= 0.8 and total["precision"] >= 0.6
    assert total["events"] == len(
        rules.live(e for e in load_record().events if e.source.file in seed_names())
    )
    text = run("extract", "--evaluate").output
    assert "recall" in text and "precision" in text and "actor accuracy" in text


def test_evaluate_on_the_three_held_out_articles(run) -> None:
    result = run("extract", "--evaluate", "--truth", str(ARTICLES / "truth.toml"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["files"]) == {"aleppo_30nov.txt", "hama_5dec.txt", "damascus_8dec.txt"}
    assert data["all"]["events"] == 19
    assert data["all"]["recall"] >= 0.6 and data["all"]["precision"] >= 0.5  # measured: 0.737 / 0.636


def test_extract_is_pure_and_deterministic() -> None:
    text = seed_text("001_5a8b014f271cd233.txt")
    published = datetime(2024, 12, 7, 17, tzinfo=UTC)
    assert rules.extract(text, published, START, "x") == rules.extract(text, published, START, "x")


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, says",
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"Rebels seized \x00\x01 Hama", "binary"),
        (b"Rebels seized Hama \xff\xfe on Saturday.", "not UTF-8"),
        (b"Rebels seized Hama on Saturday.", "--published is required: line 1 says 'Saturday'"),
        (b"Rebels seized Hama.", "--published is required: line 1 gives no date"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run, store, fingerprint, tmp_path: Path, content: bytes, says: str
) -> None:
    article = tmp_path / "bad.txt"
    article.write_bytes(content)
    before = fingerprint(store)
    result = run("extract", str(article))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("control: error: ") and says in lines[0], lines
    assert "Traceback" not in result.output
    assert fingerprint(store) == before


@pytest.mark.parametrize(
    "args, says",
    [
        (["missing.txt"], "does not exist"),
        ([], "ARTICLE"),
        (["{dir}"], "is a folder"),
        (["{ok}", "--published", "2020-01-01T00:00Z"], "before the record begins"),
        (["{ok}", "--published", "2024-12-08T06:00"], "no time zone"),
        (["{dated}", "--toml", "out.toml"], "--published is required with --toml"),
        (["{ok}", "--evaluate"], "--evaluate"),
        (["{ok}", "--truth", "t.toml"], "--truth goes with --evaluate"),
        (["--evaluate", "--truth", "{ok}"], "malformed TOML"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(run, tmp_path: Path, args: list[str], says: str) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_text("Rebels seized Hama on Saturday.\n", "utf-8")
    dated = tmp_path / "dated.txt"
    dated.write_text("Rebels seized Hama on December 5.\n", "utf-8")
    args = [a.format(dir=tmp_path, ok=ok, dated=dated) for a in args]
    result = run("extract", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("control: error: ") and says in lines[0], lines
    assert not (tmp_path / "out.toml").exists()


def test_an_article_with_only_absolute_dates_needs_no_publication_time(run, tmp_path: Path) -> None:
    article = tmp_path / "dated.txt"
    article.write_text("Rebels seized Hama on December 5.\n", "utf-8")
    result = run("extract", str(article))
    assert result.exit_code == 0, result.output
    assert "2024-12-04T21:00:00Z .. 2024-12-05T21:00:00Z" in result.output


# --- any gazetteer: a user's places, actors, capital and time zone (issue 26) ----------------

SUDAN = Path(__file__).parent / "fixtures" / "extract"  # three articles and their events
EXAMPLE = Path(__file__).parent.parent / "examples" / "sudan" / "gazetteer.toml"  # the worked example's


@pytest.fixture
def sudan(run):
    """The test's store bound to the worked example's Sudan gazetteer (14 states, saf and rsf)."""
    result = run("gazetteer", "load", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    from control.ingest.gazetteers import load_file

    return load_file(EXAMPLE)


def with_capital(tmp_path: Path, capital: str = "Khartoum") -> Path:
    """The example's gazetteer with ``[gazetteer] capital`` set (as a user would add it)."""
    import shutil

    shutil.copy(EXAMPLE.parent / "outline.geojson", tmp_path / "outline.geojson")
    text = EXAMPLE.read_text("utf-8")
    path = tmp_path / "g.toml"
    path.write_text(text.replace('\nfocus = "saf"', f'\nfocus = "saf"\ncapital = "{capital}"', 1), "utf-8")
    return path


def test_a_user_gazetteer_names_the_places_actors_and_the_capital(tmp_path: Path) -> None:
    from control.ingest.gazetteers import load_file

    sudan = load_file(with_capital(tmp_path))
    start = sudan.baseline_as_of
    found = rules.extract(
        "The RSF took control of El Geneina, the capital of West Darfur, on Saturday.",
        at("2023-11-06T09:00Z"),
        start,
        "a.txt",
        sudan,
    )
    assert [(c.kind, c.actor, c.place, c.capital, c.previous) for c in found] == [
        ("capture", "rsf", "West Darfur", "El Geneina", "saf")
    ]
    # Saturday in Khartoum (UTC+2), not in Syria
    assert found[0].window == (at("2023-11-03T22:00Z"), at("2023-11-04T22:00Z"))
    # "the capital" is the gazetteer's capital; "the army" its focus; aliases are its own
    [c] = rules.extract(
        "The army said it had recaptured the capital.", at("2025-03-27T09:00Z"), start, "", sudan
    )
    assert (c.place, c.actor) == ("Khartoum", "saf")
    # without a capital setting, "the capital" is no place
    plain = load_file(EXAMPLE)
    assert rules.extract("The army recaptured the capital.", at("2025-03-27T09:00Z"), start, "", plain) == []
    [c] = rules.extract("Paramilitary fighters seized al-Fashir.", at("2025-10-27T09:00Z"), start, "", sudan)
    assert (c.place, c.actor, c.actor_named) == ("North Darfur", "rsf", True)
    # Syria's vocabulary is not the user's: no Damascus, no hts
    assert rules.extract("Rebels seized Damascus and Hama.", at("2025-10-27T09:00Z"), start, "", sudan) == []
    [c] = rules.extract("Rebels seized Nyala.", at("2025-10-27T09:00Z"), start, "", sudan)
    assert (c.place, c.actor, c.actor_named) == (
        "South Darfur",
        "rsf",
        False,
    )  # the one side besides the focus


def test_the_builtin_vocabulary_is_data_not_code() -> None:
    data = json.loads(
        (Path(rules.__file__).parent.parent / "data" / rules.VOCABULARY_FILE).read_text("utf-8")
    )
    assert data["builtin"]["capital"] == "Damascus"
    import ast

    tree = ast.parse(Path(rules.__file__).read_text("utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    code = " ".join(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    )
    for word in (
        "Damascus",
        "Rif Dimashq",
        "Daraa",
        "Assad",
        "assad",
        "Jaramana",
        "Kurdish",
        "Syria",
        "Druze",
    ):
        assert word not in code, word
    assert not {"hts", "sdf", "sna", "government", "southern", "druze"} & set(code.split())


def test_extract_with_a_user_store_checks_published_against_its_record(run, sudan, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(
        "The RSF took control of El Geneina, the capital of West Darfur, on Saturday.\n", "utf-8"
    )
    result = run("extract", str(article), "--published", "2023-11-06T09:00Z", "--json")
    assert result.exit_code == 0, result.output
    [c] = json.loads(result.output)
    assert (c["kind"], c["actor"], c["place"], c["capital"]) == (
        "capture",
        "rsf",
        "West Darfur",
        "El Geneina",
    )
    assert "Damascus" not in result.output
    early = run("extract", str(article), "--published", "2023-04-01T00:00Z")
    assert early.exit_code == 2 and "before the record begins (2023-04-14T22:00:00Z)" in early.output


def test_evaluate_on_three_articles_about_another_war(run, sudan) -> None:
    result = run("extract", "--evaluate", "--truth", str(SUDAN / "truth.toml"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["files"]) == {"darfur_nov2023.txt", "gezira_dec2023.txt", "fasher_oct2025.txt"}
    assert data["all"]["events"] == 15
    # measured: recall 0.933, precision 1.000, actor accuracy 0.929 (README "How well it does";
    # the first run, before "retook"/"recaptured" were cues: 0.800, 1.000, 0.917)
    assert data["all"]["recall"] >= 0.85 and data["all"]["precision"] >= 0.9
    assert data["all"]["actor_accuracy"] >= 0.9


def test_a_gazetteer_capital_must_be_one_of_its_places(tmp_path: Path) -> None:
    from control.ingest.gazetteers import load_file
    from control.model.errors import UserError

    assert load_file(with_capital(tmp_path, "Khartoum")).labels["capital"] == "Khartoum"
    with pytest.raises(UserError, match=r"g.toml:14: capital 'Atlantis' is not a place"):
        load_file(with_capital(tmp_path, "Atlantis"))


# --- speed: linear in the article ------------------------------------------------------------


def test_a_long_sentence_and_a_long_article_take_time_in_proportion(tmp_path: Path) -> None:
    import time

    published = at("2024-12-07T17:00Z")
    sentence = "Rebels seized " + ", ".join(["Hama"] * 4000) + " on Saturday."  # 24 KB, one sentence
    started = time.perf_counter()
    [c] = rules.extract(sentence, published, START, "x")
    assert c.place == "Hama"
    lines = [line for name in seed_names() for line in seed_text(name).splitlines() if line.strip()]
    article = "\n".join(f"{line} (update {n})" for n, line in enumerate(lines * 40))[:200_000]
    found = rules.extract(article, published, START, "x")
    assert len(found) > 300
    # generous: about 0.3 s + 0.5 s here; the quadratic rules took minutes on the sentence
    assert time.perf_counter() - started < 10


def test_extract_toml_for_a_user_store_is_accepted_by_add(run, sudan, tmp_path: Path) -> None:
    article = SUDAN / "fasher_oct2025.txt"
    out = tmp_path / "review.toml"
    result = run("extract", str(article), "--published", "2025-10-28T07:00Z", "--toml", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    assert 'actor = "rsf"' in text and 'from = "saf"' in text and 'place = "North Darfur"' in text
    added = run("add", "--toml", str(out))
    assert added.exit_code == 0, added.output
    assert "capture rsf at North Darfur" in added.output and "capture saf at Khartoum" in added.output
    again = run("extract", str(article), "--published", "2025-10-28T07:00Z")
    assert again.output.count("DUPLICATE") == 5


def test_a_text_wrapped_at_a_fixed_width_is_read_by_paragraph() -> None:
    text = (
        "Sinja, 23 November 2024. The army said on Saturday that its troops had recaptured Sinja, the\n"
        "capital of Sennar state, from the Rapid Support Forces.\n\nA second paragraph of words.\n"
    )
    gazetteer = _example()
    [c] = rules.extract(text, at("2024-11-23T18:00Z"), gazetteer.baseline_as_of, "w.txt", gazetteer)
    assert (c.kind, c.place, c.actor, c.previous, c.line) == ("capture", "Sennar", "saf", "rsf", 1)
    assert c.quote in text and "\n" in c.quote
    assert [s.line for s in rules.sentences(text)] == [1, 1, 4]
    # a month is not a modal "may"
    [c] = rules.extract(
        "By the end of May, the RSF controlled most of Khartoum.",
        None,
        gazetteer.baseline_as_of,
        "",
        gazetteer,
    )
    assert (c.place, c.actor) == ("Khartoum", "rsf")


def _example():
    from control.ingest.gazetteers import load_file

    return load_file(EXAMPLE)


def test_extraction_finds_the_worked_example_s_places() -> None:
    """The example's 13 reports, each quoting a short wrapped text: extraction from each text
    proposes the report's place and kind for most (measured: 10 of 13)."""
    import tomllib

    from control.model.gazetteer import resolve_place, using

    gazetteer = _example()
    reports = tomllib.loads((EXAMPLE.parent / "reports.toml").read_text("utf-8"))["event"]
    found = 0
    with using(gazetteer):
        for e in reports:
            text = (EXAMPLE.parent / e["file"]).read_text("utf-8")
            candidates = rules.extract(
                text, at(e["reported_at"]), gazetteer.baseline_as_of, e["file"], gazetteer
            )
            place = resolve_place(e["place"]).name
            found += any(c.place == place and c.kind == e["kind"] for c in candidates)
    assert len(reports) == 13 and found >= 10
