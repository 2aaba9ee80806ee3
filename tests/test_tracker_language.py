"""The tracker's rules are said in the reader's language: a Chinese report has no English
rule sentence (escalation messages and rating reasons are rendered from codes and figures)."""

from __future__ import annotations

import re
from datetime import date, datetime

from parkplan.i18n import catalogue
from parkplan.reports import render_html
from parkplan.services.briefs import build_brief
from parkplan.services.reports import build_stocktake
from parkplan.store import Workspace
from parkplan.tracker import Tracker
from parkplan.tracker.model import RuleMessage

AS_OF = date(2026, 11, 25)


def _english_phrases() -> set[str]:
    """Every English phrase of a rule or reason sentence between its placeholders."""
    phrases = set()
    for key, label in catalogue().items():
        if key.startswith(("rule.", "reason.")):
            for part in re.split(r"\{[^}]*\}", label["en"]):
                part = part.strip(" ()#,;:")
                if " " in part and len(part) >= 8:
                    phrases.add(part)
    return phrases


def test_rule_messages_are_said_in_either_language():
    m = RuleMessage(
        code="overdue", values={"id": "M3-2", "title": "测试", "days": 5, "due": "2026-11-20"}
    )
    assert m.text("zh") == "里程碑 M3-2 测试 已逾期 5 天（计划完成 2026-11-20）"
    assert m.text("en") == "milestone M3-2 测试 is 5 days overdue (due 2026-11-20)"
    assert RuleMessage.model_validate_json(m.to_json()) == m


def test_a_chinese_stocktake_and_brief_hold_no_english_rule_sentence(demo_gpkg):
    english = _english_phrases()
    assert "days overdue (due" in english
    with Workspace.open(demo_gpkg) as ws:
        office = Tracker(ws, "office", clock=lambda: datetime(2026, 11, 25, 14, 0))
        data = build_stocktake(office, "2026-W48", as_of=AS_OF)
        brief = build_brief(ws, user="convenor", as_of=AS_OF)
    html = render_html(data, "zh")
    said = [e["message"]["zh"] for g in data["escalations"] for e in g["items"]]
    said += [r["zh"] for task in data["tasks"] for r in task["reasons"]]
    said += [e["message"] for e in brief.escalations]
    assert said and brief.escalations  # the demo has escalations and rated reasons
    for text in [html, *said]:
        found = [p for p in english if p in text]
        assert not found, found


def test_an_escalation_recorded_before_codes_reads_back_with_its_sentence():
    from parkplan.tracker.model import Escalation, Level

    old = "milestone M3-2 Lab accreditation is 5 days overdue (due 2026-11-30)"
    row = {
        "key": "overdue:M3-2",
        "rule_id": "overdue",
        "level": list(Level)[0],
        "subject_type": "milestone",
        "subject_id": "M3-2",
        "message": old,
        "as_of": date(2026, 12, 4),
        "opened_at": datetime(2026, 12, 4, 9, 0),
    }
    escalation = Escalation.model_validate(row)
    assert escalation.message.text("zh") == old
    assert escalation.message.text("en") == old
    assert RuleMessage.model_validate_json(escalation.message.to_json()) == escalation.message
