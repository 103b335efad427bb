"""Descriptions reach clients as safe, tidy plain text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tc_calendar.sync.html_text import html_to_text, tidy_text

OUTLOOK_BODY = """<html xmlns:o="urn:schemas-microsoft-com:office:office">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style><!-- p.MsoNormal {margin:0cm;} --></style><title>ignored</title></head>
<body lang="EN-US"><div class="WordSection1">
<p class="MsoNormal">Discussion of the work&nbsp;done   last week.<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]-->
<p class="MsoNormal">Join: <a href="https://video.example.com/c/5576502892">https://video.example.com/c/5576502892</a>
</p></div></body></html>"""


def test_an_outlook_body_becomes_its_visible_text() -> None:
    assert html_to_text(OUTLOOK_BODY) == (
        "Discussion of the work done last week.\n\nJoin: https://video.example.com/c/5576502892"
    )


def test_scripts_and_styles_are_dropped_with_their_content() -> None:
    assert html_to_text("<p>a<script>alert('x')</script>b</p><style>p{}</style>") == "ab"


def test_entities_are_decoded_and_no_markup_survives() -> None:
    assert html_to_text("<b>R&amp;D</b> &lt;script&gt; &#8211; &eacute;t&eacute;") == (
        "R&D <script> \u2013 \u00e9t\u00e9"
    )


def test_line_breaks_lists_and_tables_are_kept_readable() -> None:
    html = "Agenda:<br>one<br/>two<ul><li>first</li><li>second</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
    assert html_to_text(html) == "Agenda:\none\ntwo\n- first\n- second\na b"


def test_outlook_paragraphs_are_lines_and_an_empty_paragraph_is_a_blank_line() -> None:
    html = '<p class="MsoNormal">one</p>\n<p class="MsoNormal">two</p>\n<p>&nbsp;</p>\n<div><div>three</div></div>'
    assert html_to_text(html) == "one\ntwo\n\nthree"


def test_source_line_breaks_inside_a_paragraph_are_spaces() -> None:
    assert html_to_text("<p>one\ntwo\r\nthree</p>") == "one two three"


def test_plain_text_is_tidied() -> None:
    assert tidy_text("  Hello \r\n\r\n\r\n  world\t\t!  \n") == "Hello\n\nworld !"


def test_empty_bodies_stay_empty() -> None:
    assert html_to_text("") == "" and html_to_text("<html><body> </body></html>") == ""


@settings(deadline=None)
@given(st.text())
def test_whatever_the_input_the_output_has_no_tags_or_edge_whitespace(text: str) -> None:
    out = html_to_text(text)
    assert out == out.strip()
    assert "\n\n\n" not in out
    assert html_to_text(f"<p>{out.replace('<', '').replace('&', '')}</p>") == tidy_text(
        out.replace("<", "").replace("&", "").replace("\n", " ")
    )
