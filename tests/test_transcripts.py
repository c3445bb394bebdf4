"""transcripts.py: one WebVTT source with voices -> VTT, SRT, Podcast Index JSON and HTML, identical."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from grandirenhlm.errors import ConfigError
from grandirenhlm.transcripts import (
    FORMATS,
    Cue,
    Transcript,
    load_transcript,
    parse_vtt,
    to_html,
    to_json,
    to_srt,
    to_vtt,
)

SOURCE = """\ufeffWEBVTT

NOTE a comment the outputs drop

intro
00:00:00.000 --> 00:00:04.250 align:start
<v Voix de synthèse>Grandir en Hlm &amp; l’enfance : « 1 &lt; 2 » ‘’ "

00:00:04.250 --> 00:01:05.500
<v.loud Deuxième voix>Deux lignes,
<b>la seconde</b> en gras</v>

01:00:00.000 --> 01:00:02.000
Sans voix
"""


def write(tmp_path: Path, text: str, name: str = "t.vtt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reads_timings_voices_and_plain_text(tmp_path):
    t = load_transcript(write(tmp_path, SOURCE), language="fr")
    assert t.language == "fr"
    assert t.cues == (
        Cue(0.0, 4.25, "Voix de synthèse", 'Grandir en Hlm & l’enfance : « 1 < 2 » ‘’ "'),
        Cue(4.25, 65.5, "Deuxième voix", "Deux lignes,\nla seconde en gras"),
        Cue(3600.0, 3602.0, None, "Sans voix"),
    )
    assert t.speakers == ("Voix de synthèse", "Deuxième voix")
    assert t.duration == 3602.0


def test_vtt_output_parses_back_identically(tmp_path):
    t = load_transcript(write(tmp_path, SOURCE))
    again = load_transcript(write(tmp_path, to_vtt(t), "again.vtt"))
    assert again.cues == t.cues
    # and webvtt-py itself reads the voices we wrote
    assert [c.voice for c in webvtt.from_string(to_vtt(t))] == ["Voix de synthèse", "Deuxième voix", None]


def test_srt_output_parses_back_with_speaker_prefix(tmp_path):
    t = load_transcript(write(tmp_path, SOURCE))
    subs = list(srt.parse(to_srt(t)))
    assert [s.index for s in subs] == [1, 2, 3]
    assert [(s.start.total_seconds(), s.end.total_seconds()) for s in subs] == [
        (c.start, c.end) for c in t.cues
    ]
    assert subs[0].content == 'Voix de synthèse: Grandir en Hlm & l’enfance : « 1 < 2 » ‘’ "'
    assert subs[1].content == "Deuxième voix: Deux lignes,\nla seconde en gras"
    assert subs[2].content == "Sans voix"


def test_json_output_is_the_podcast_index_format(tmp_path):
    t = load_transcript(write(tmp_path, SOURCE))
    data = json.loads(to_json(t))
    assert data["version"] == "1.0.0"
    assert data["segments"][0] == {
        "speaker": "Voix de synthèse",
        "startTime": 0.0,
        "endTime": 4.25,
        "body": 'Grandir en Hlm & l’enfance : « 1 < 2 » ‘’ "',
    }
    assert "speaker" not in data["segments"][2]
    assert [(s["startTime"], s["endTime"], s["body"]) for s in data["segments"]] == [
        (c.start, c.end, c.text) for c in t.cues
    ]


def test_html_output_escapes_and_names_each_speaker_change(tmp_path):
    t = load_transcript(write(tmp_path, SOURCE))
    fragment = to_html(t)
    assert "&lt; 2" in fragment and "<script" not in fragment
    doc = lxml.html.fragment_fromstring(fragment, create_parent="div")
    assert [c.text_content() for c in doc.findall("cite")] == ["Voix de synthèse:", "Deuxième voix:"]
    assert [x.text for x in doc.findall("time")] == ["0:00", "0:04", "1:00:00"]
    assert [p.text_content() for p in doc.findall("p")] == [
        'Grandir en Hlm & l’enfance : « 1 < 2 » ‘’ "',
        "Deux lignes,la seconde en gras",  # <br> between the lines
        "Sans voix",
    ]


def test_markup_in_a_cue_stays_text_in_every_output(tmp_path):
    source = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v A>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co\n"
    t = load_transcript(write(tmp_path, source))
    assert t.cues[0].text == "<script>alert(1)</script> & co"
    fragment = to_html(t)
    assert "<script" not in fragment and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in fragment
    assert "&lt;script&gt;" in to_vtt(t)  # WebVTT escapes it again, SRT is plain text
    assert "<script>alert(1)</script> & co" in to_srt(t)


def test_formats_announce_exact_mime_types():
    assert [(f.extension, f.mime_type, f.timed) for f in FORMATS] == [
        (".vtt", "text/vtt", True),
        (".srt", "application/x-subrip", True),
        (".json", "application/json", True),
        (".html", "text/html", False),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not a vtt\n", "t.vtt: not a WebVTT file"),
        ("WEBVTT\n", "t.vtt: no cues"),
        (
            "WEBVTT\n\n00:00:02.000 --> 00:00:01.000\n<v A>x\n",
            "t.vtt: cue 1 (00:00:02.000): ends at 00:00:01.000, not after it starts",
        ),
        (
            "WEBVTT\n\n00:00:02.000 --> 00:00:03.000\nx\n\n00:00:01.000 --> 00:00:04.000\ny\n",
            "t.vtt: cue 2 (00:00:01.000): starts before the cue above it; cues must be in time order",
        ),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v A></v>\n", "t.vtt: cue 1 (00:00:01.000): no text"),
    ],
)
def test_bad_files_name_the_file_and_the_cue(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_transcript(write(tmp_path, text))
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_missing_and_binary_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^nope\.vtt: no such file$"):
        load_transcript(tmp_path / "nope.vtt")
    (tmp_path / "bin.vtt").write_bytes(b"WEBVTT\n\n\xff\xfe")
    with pytest.raises(ConfigError, match=r"^bin\.vtt: not UTF-8 text$"):
        load_transcript(tmp_path / "bin.vtt")


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\n\r-"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10_000_000), st.integers(1, 600_000), st.none() | texts, texts),
        min_size=1,
        max_size=5,
    )
)
def test_every_format_carries_the_same_cues(raw):
    cues, start = [], 0
    for gap, length, speaker, text in raw:
        start += gap
        cues.append(Cue(start / 1000, (start + length) / 1000, speaker, text))
    t = Transcript(tuple(cues))
    assert parse_vtt(to_vtt(t), "x.vtt").cues == t.cues
    segments = json.loads(to_json(t))["segments"]
    assert [(s["startTime"], s["endTime"], s.get("speaker"), s["body"]) for s in segments] == [
        (c.start, c.end, c.speaker, c.text) for c in cues
    ]
    subs = list(srt.parse(to_srt(t)))
    assert [(s.start.total_seconds(), s.end.total_seconds()) for s in subs] == [
        (c.start, c.end) for c in cues
    ]
