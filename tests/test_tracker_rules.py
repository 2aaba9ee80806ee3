"""The tracker's pure parts: CPM, cycles, escalation rules at their boundaries, ratings,
access rules and record validation. No database."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from parkplan.errors import InputError
from parkplan.identity.users import Role, User, Visibility
from parkplan.tracker import access, rating, rules, schedule
from parkplan.tracker.model import (
    Escalation,
    Level,
    MajorMatter,
    Milestone,
    Risk,
    RuleMessage,
    Task,
    build,
)

D0 = date(2027, 1, 1)
AS_OF = date(2026, 11, 25)


def d(days: int) -> date:
    return D0 + timedelta(days=days)


def ms(mid="M3-1", task=3, start=date(2026, 6, 1), due=date(2026, 12, 31), **kw) -> Milestone:
    return Milestone(
        id=mid, task=task, title_zh="测试", owner="认证监督管理处", start=start, due=due, **kw
    )


def risk(rid="R3-1", task=3, likelihood=2, impact=2, **kw) -> Risk:
    kw.setdefault("opened_on", AS_OF)
    return Risk(
        id=rid,
        task=task,
        title_zh="风险",
        cause="c",
        effect="e",
        likelihood=likelihood,
        impact=impact,
        owner="认证监督管理处",
        **kw,
    )


# ------------------------------------------------------------------ CPM
def test_critical_path_of_a_known_network():
    # Hand-computed: A3 B2 | C4←A | D2←A,B | E3←C,D | F1←B, all may start on day 0.
    # Forward: A 0–3, B 0–2, C 3–7, D 3–5, E 7–10, F 2–3; finish day 10.
    # Backward: E 7–10, F 9–10, C 3–7, D 5–7, A 0–3, B 3–5.
    acts = [
        schedule.Activity("A", d(0), d(3)),
        schedule.Activity("B", d(0), d(2)),
        schedule.Activity("C", d(0), d(4), ("A",)),
        schedule.Activity("D", d(0), d(2), ("A", "B")),
        schedule.Activity("E", d(0), d(3), ("C", "D")),
        schedule.Activity("F", d(0), d(1), ("B",)),
    ]
    s = schedule.critical_path(acts)
    assert s.finish == d(10)
    expected = {
        "A": (0, 3, 0, 3, 0),
        "B": (0, 2, 3, 5, 3),
        "C": (3, 7, 3, 7, 0),
        "D": (3, 5, 5, 7, 2),
        "E": (7, 10, 7, 10, 0),
        "F": (2, 3, 9, 10, 7),
    }
    for aid, (es, ef, ls, lf, slack) in expected.items():
        e = s[aid]
        assert (e.early_start, e.early_finish, e.late_start, e.late_finish) == (
            d(es),
            d(ef),
            d(ls),
            d(lf),
        ), aid
        assert e.slack == slack and e.critical == (slack == 0), aid
    assert s.critical_path == ("A", "C", "E")


def test_start_date_is_a_start_no_earlier_than_constraint():
    acts = [
        schedule.Activity("A", d(0), d(2)),
        schedule.Activity("B", d(5), d(6), ("A",)),
    ]  # B cannot start before day 5
    s = schedule.critical_path(acts)
    assert s["B"].early_start == d(5) and s["B"].early_finish == d(6)
    assert s["A"].slack == 3 and s.critical_path == ("B",)


def test_cancelled_milestones_leave_the_network():
    a = ms("M1-1", task=1, start=d(0), due=d(10), status="cancelled", percent=0)
    b = ms("M1-2", task=1, start=d(0), due=d(2), depends_on=("M1-1",))
    s = schedule.programme_schedule([a, b])
    assert s.get("M1-1") is None and s["M1-2"].early_start == d(0)


def test_forecast_drives_the_schedule():
    a = ms("M1-1", task=1, start=d(0), due=d(10), forecast=d(20))
    b = ms("M1-2", task=1, start=d(10), due=d(15), depends_on=("M1-1",))
    s = schedule.programme_schedule([a, b])
    assert s["M1-2"].early_start == d(20) and s["M1-2"].early_finish == d(25)
    assert rating.slip_days(b, s, d(0)) == 10


def test_cycle_is_refused_naming_it():
    graph = {"M3-2": ("M5-1",), "M5-1": ("M3-2",), "M1-1": ()}
    assert schedule.find_cycle(graph) == ["M3-2", "M5-1", "M3-2"]
    with pytest.raises(schedule.CycleError, match="dependency cycle: M3-2 → M5-1 → M3-2"):
        schedule.critical_path([schedule.Activity(k, d(0), d(1), v) for k, v in graph.items()])
    assert schedule.find_cycle({"a": ("b",), "b": ("c",), "c": ()}) is None
    assert schedule.find_cycle({"a": ("b",), "b": ("c",), "c": ("a",)}) == ["a", "b", "c", "a"]


def test_milestone_may_not_depend_on_itself():
    with pytest.raises(ValueError, match="M3-1 → M3-1"):
        ms(depends_on=("M3-1",))


# ------------------------------------------------------------ record validation
@pytest.mark.parametrize(
    "cls, data, field, reason",
    [
        (
            Milestone,
            dict(id="M1-1", task=1, title_zh="x", owner="o", start="2026-06-01", due="2026-05-31"),
            None,
            "due 2026-05-31 is before start 2026-06-01",
        ),
        (
            Milestone,
            dict(
                id="M1-1",
                task=1,
                title_zh="x",
                owner="o",
                start="2026-06-01",
                due="2026-07-01",
                percent=101,
            ),
            "percent",
            "must be ≤ 100",
        ),
        (
            Milestone,
            dict(id="M1-1", task=10, title_zh="x", owner="o", start="2026-06-01", due="2026-07-01"),
            "task",
            "must be ≤ 9",
        ),
        (
            Milestone,
            dict(
                id="M1-1",
                task=1,
                title_zh="x",
                owner="o",
                start="2026-06-01",
                due="2026-07-01",
                status="finished",
            ),
            "status",
            "Input should be",
        ),
        (
            Milestone,
            dict(
                id="M1-1",
                task=1,
                title_zh="x",
                owner="o",
                start="2026-06-01",
                due="2026-07-01",
                status="done",
                percent=50,
            ),
            None,
            "100% complete",
        ),
        (
            Risk,
            dict(
                id="R1",
                task=1,
                title_zh="x",
                cause="c",
                effect="e",
                likelihood=7,
                impact=3,
                owner="o",
                opened_on="2026-06-01",
            ),
            "likelihood",
            "7 is too large: it must be ≤ 5",
        ),
        (
            Risk,
            dict(
                id="R1",
                task=1,
                title_zh="x",
                cause="c",
                effect="e",
                likelihood=3,
                impact=0,
                owner="o",
                opened_on="2026-06-01",
            ),
            "impact",
            "must be ≥ 1",
        ),
        (User, dict(name="u", role="task_owner"), None, "needs the tasks they own"),
        (User, dict(name="u", role="viewer", tasks=[3]), None, "only task owners own tasks"),
    ],
)
def test_records_validate_themselves(cls, data, field, reason):
    with pytest.raises(InputError) as err:
        build(cls, data, what="the record")
    problem = err.value.problems[0]
    assert problem.file == "the record" and problem.column == field
    assert reason in problem.reason


def test_visibility_accepts_chinese_labels_and_orders_levels():
    m = ms(visibility="内部")
    assert m.visibility == Visibility.internal
    assert Visibility.internal.rank > Visibility.shareable.rank > Visibility.public.rank


@pytest.mark.parametrize(
    "score, cadence", [(25, 7), (15, 7), (12, 14), (10, 14), (9, 30), (5, 30), (4, 90), (1, 90)]
)
def test_review_cadence_follows_score(score, cadence):
    from parkplan.tracker.model import review_cadence_days

    assert review_cadence_days(score) == cadence


def test_next_review_counts_from_last_review():
    r = risk(likelihood=3, impact=5, opened_on=date(2026, 1, 1), reviewed_on=date(2026, 11, 1))
    assert r.score == 15 and r.next_review == date(2026, 11, 8)
    assert risk(opened_on=date(2026, 1, 1)).next_review == date(2026, 4, 1)


# --------------------------------------------------------- escalation rules
def _rules(kind: str, level="office", **params) -> rules.RuleSet:
    return rules.parse_rules({"rules": [{"id": "r", "kind": kind, "level": level, **params}]})


def _hits(ruleset, as_of, milestones=(), risks=(), matters=()):
    return rules.evaluate(rules.Records((), milestones, risks, matters), as_of, ruleset)


@pytest.mark.parametrize("late, fires", [(14, False), (15, True), (16, True)])
def test_overdue_by_n_days_boundary(late, fires):
    m = ms(due=AS_OF - timedelta(days=late))
    assert bool(_hits(_rules("overdue", days=15), AS_OF, [m])) is fires


def test_overdue_ignores_done_and_cancelled_and_counts_only_past_due():
    ruleset = _rules("overdue", days=0)
    assert not _hits(ruleset, AS_OF, [ms(due=AS_OF)])  # due today is not overdue
    assert _hits(ruleset, AS_OF, [ms(due=AS_OF - timedelta(days=1))])
    done = ms(due=AS_OF - timedelta(days=40), status="done")
    cancelled = ms(due=AS_OF - timedelta(days=40), status="cancelled")
    assert not _hits(ruleset, AS_OF, [done, cancelled])


@pytest.mark.parametrize("left, fires", [(13, True), (14, True), (15, False), (-1, False)])
def test_due_within_n_days_boundary(left, fires):
    m = ms(due=AS_OF + timedelta(days=left))
    assert bool(_hits(_rules("due_within", days=14), AS_OF, [m])) is fires


@pytest.mark.parametrize("likelihood, impact, fires", [(2, 2, False), (1, 5, True), (2, 3, True)])
def test_risk_score_threshold_boundary(likelihood, impact, fires):
    # threshold 5: scores 4 (below), 5 (at), 6 (above)
    r = risk(likelihood=likelihood, impact=impact)
    assert bool(_hits(_rules("risk_score", threshold=5), AS_OF, risks=[r])) is fires


def test_risk_score_ignores_closed_risks():
    r = risk(likelihood=5, impact=5, status="closed")
    assert not _hits(_rules("risk_score", threshold=5), AS_OF, risks=[r])


@pytest.mark.parametrize("beyond, fires", [(29, False), (30, False), (31, True)])
def test_forecast_beyond_due_plus_tolerance_boundary(beyond, fires):
    due = date(2027, 3, 31)
    m = ms(due=due, forecast=due + timedelta(days=beyond))
    found = _hits(_rules("forecast_beyond_tolerance", days=30), AS_OF, [m])
    assert bool(found) is fires


@pytest.mark.parametrize("lapsed, fires", [(2, False), (3, False), (4, True)])
def test_risk_not_reviewed_on_cadence_boundary(lapsed, fires):
    # score 4 → 90-day cadence; grace 3 days: lapsed 2, 3 (no) and 4 (yes)
    r = risk(opened_on=AS_OF - timedelta(days=90 + lapsed))
    assert (AS_OF - r.next_review).days == lapsed
    assert bool(_hits(_rules("review_overdue", days=3), AS_OF, risks=[r])) is fires


def _matter(opened: datetime, **kw) -> MajorMatter:
    return MajorMatter(
        id=1,
        task=kw.pop("task", 3),
        title="t",
        what_happened="w",
        occurred_at=opened,
        impact="i",
        opened_at=opened,
        opened_by="o",
        report_deadline=rules.matter_deadline(opened),
        **kw,
    )


@pytest.mark.parametrize("hours, fires", [(23, False), (24, False), (25, True)])
def test_major_matter_past_its_deadline_boundary(hours, fires):
    now = datetime(2026, 11, 25, 12, 0)
    mm = _matter(now - timedelta(hours=hours))
    assert (
        bool(_hits(_rules("matter_report_overdue", level="convenor"), now, matters=[mm])) is fires
    )


def test_major_matter_deadline_to_the_second_and_bare_date_is_midnight():
    opened = datetime(2026, 11, 23, 10, 0)
    mm = _matter(opened)
    ruleset = _rules("matter_report_overdue", level="convenor")
    deadline = opened + timedelta(hours=24)
    assert not _hits(ruleset, deadline, matters=[mm])
    assert _hits(ruleset, deadline + timedelta(seconds=1), matters=[mm])
    assert not _hits(ruleset, date(2026, 11, 24), matters=[mm])  # 00:00, before 10:00
    assert _hits(ruleset, date(2026, 11, 25), matters=[mm])
    reported = _matter(
        opened, reported_at=deadline, reported_by="office", reported_to="x", status="reported"
    )
    assert not _hits(ruleset, date(2026, 12, 25), matters=[reported])


def test_shipped_rules_climb_the_ladder_and_reach_national_only_for_tasks_4_and_9():
    shipped = rules.load_rules()
    assert set(rules.KINDS) == {r.kind for r in shipped.rules}
    late = AS_OF - timedelta(days=60)
    found = _hits(shipped, AS_OF, [ms("M4-1", task=4, due=late), ms("M3-1", task=3, due=late)])
    levels = {(p.subject_id, p.level) for p in found if p.rule_id.startswith("overdue")}
    assert levels == {
        ("M4-1", Level.owner),
        ("M4-1", Level.office),
        ("M4-1", Level.convenor),
        ("M4-1", Level.national),
        ("M3-1", Level.owner),
        ("M3-1", Level.office),
        ("M3-1", Level.convenor),
    }
    assert len({p.key for p in found}) == len(found)


def test_evaluate_is_deterministic_with_stable_keys():
    shipped = rules.load_rules()
    recs = [ms("M4-1", task=4, due=AS_OF - timedelta(days=20)), ms("M9-1", task=9, due=AS_OF)]
    first = _hits(shipped, AS_OF, recs)
    second = _hits(shipped, AS_OF, list(reversed(recs)))
    assert [p.key for p in first] == [p.key for p in second]
    assert "overdue_office:milestone:M4-1:office" in {p.key for p in first}


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"id": "x", "kind": "overdue", "level": "national", "days": 3}, "national level"),
        (
            {"id": "x", "kind": "overdue", "level": "national", "days": 3, "tasks": [3]},
            "national level",
        ),
        ({"id": "x", "kind": "late", "level": "office"}, "'late' is not one of"),
        ({"id": "x", "kind": "overdue", "level": "office"}, "needs days"),
        ({"id": "x", "kind": "risk_score", "level": "boss", "threshold": 3}, "'boss' is not one"),
        ({"id": "x", "kind": "overdue", "level": "office", "days": -1}, "needs days"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(rule, message):
    with pytest.raises(InputError, match=message):
        rules.parse_rules({"rules": [rule]}, source="rules.yaml")


def test_rules_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text(
        "rules: [ {id: a, kind: overdue, level: office, days: 1}, {id: a, "
        "kind: overdue, level: office, days: 2} ]"
    )
    with pytest.raises(InputError, match=r"r.yaml, row 2, column 'id': duplicate rule id"):
        rules.load_rules(bad)


# ------------------------------------------------------------------ ratings
def _rate(milestones=(), risks=(), as_of=AS_OF, task=3):
    s = schedule.programme_schedule(milestones)
    return rating.rate_task(task, milestones, risks, s, as_of)


@pytest.mark.parametrize(
    "slip, expected",
    [
        (0, "green"),
        (1, "amber_green"),
        (7, "amber_green"),
        (8, "amber"),
        (30, "amber"),
        (31, "amber_red"),
        (60, "amber_red"),
        (61, "red"),
    ],
)
def test_rating_by_slip(slip, expected):
    due = date(2027, 6, 30)
    m = ms(start=date(2027, 1, 1), due=due, forecast=due + timedelta(days=slip))
    assert _rate([m]).rating == rating.Rating(expected)


def test_rating_counts_an_unfinished_milestone_past_due_as_slipping():
    m = ms(due=AS_OF - timedelta(days=10), forecast=AS_OF - timedelta(days=10))
    tr = _rate([m])
    assert tr.rating == rating.Rating.amber and "projected 10 days" in tr.reasons[0].text
    assert _rate([ms(due=AS_OF - timedelta(days=90), status="done")]).rating == "green"


def test_rating_by_blocked_milestone_on_and_off_the_critical_path():
    on = ms("M3-1", start=d(0), due=d(10), status="blocked")
    off = ms("M3-2", start=d(0), due=d(2), status="blocked")
    assert _rate([on, off], as_of=d(0)).rating == rating.Rating.amber_red
    assert _rate([off, ms("M3-1", start=d(0), due=d(10))], as_of=d(0)).rating == "amber"


@pytest.mark.parametrize(
    "likelihood, impact, tolerance, expected",
    [
        (4, 5, 25, "red"),
        (3, 5, 25, "amber_red"),
        (3, 4, 10, "amber"),
        (2, 5, 12, "amber_green"),
        (3, 3, 12, "green"),
    ],
)
def test_rating_by_risk(likelihood, impact, tolerance, expected):
    r = risk(likelihood=likelihood, impact=impact, tolerance=tolerance)
    assert _rate(risks=[r]).rating == rating.Rating(expected)


@pytest.mark.parametrize(
    "tolerance, expected", [(13, "amber_green"), (12, "amber_green"), (11, "amber")]
)
def test_risk_above_its_own_tolerance_rates_amber_at_the_boundary(tolerance, expected):
    r = risk(likelihood=3, impact=4, tolerance=tolerance)  # score 12: T+1, T, T−1
    tr = _rate(risks=[r])
    assert tr.rating == rating.Rating(expected)
    assert (tr.reasons[0].rule == "risk_above_tolerance") == (expected == "amber")


@pytest.mark.parametrize("tolerance", [1, 12, 25])
def test_risk_score_escalation_reads_the_rule_threshold_not_the_tolerance(tolerance):
    r = risk(likelihood=3, impact=5, tolerance=tolerance)  # score 15
    assert _hits(_rules("risk_score", threshold=15), AS_OF, risks=[r])
    assert not _hits(_rules("risk_score", threshold=16), AS_OF, risks=[r])


def test_rating_by_risk_past_review():
    r = risk(opened_on=AS_OF - timedelta(days=91))
    tr = _rate(risks=[r])
    assert tr.rating == rating.Rating.amber_green and tr.reasons[0].rule == "review_overdue"


def test_reasons_carry_the_figures_of_their_text():
    due = AS_OF - timedelta(days=10)
    slip = _rate([ms(due=due, forecast=due)]).reasons[0]
    assert slip.values == {"milestone": "M3-1", "days": 10, "due": due.isoformat()}
    assert slip.text == f"M3-1 projected 10 days after due {due}"  # the library's words
    assert json.loads(json.dumps(slip.to_dict()))["values"] == slip.values
    blocked = _rate([ms(status="blocked")]).reasons[0]
    assert (blocked.rule, blocked.values) == ("blocked_critical", {"milestone": "M3-1"})
    r = risk(likelihood=3, impact=4, tolerance=11, opened_on=AS_OF - timedelta(days=40))
    by_rule = {x.rule: x for x in _rate(risks=[r]).reasons}
    above = by_rule["risk_above_tolerance"]
    assert above.values == {"risk": "R3-1", "score": 12, "tolerance": 11}
    assert above.text == "risk R3-1 scores 12 (tolerance 11)"
    review = by_rule["review_overdue"]
    assert review.values == {"risk": "R3-1", "review_date": r.next_review.isoformat()}
    assert review.text == f"risk R3-1 was due for review on {r.next_review}"
    assert set(rating.REASON_TEXTS) == {
        "slip",
        "blocked",
        "blocked_critical",
        "risk_score",
        "risk_above_tolerance",
        "review_overdue",
    }


def test_trend_and_baseline_comparison():
    assert rating.trend(rating.Rating.amber, rating.Rating.red) == rating.Trend.improving
    assert rating.trend(rating.Rating.red, rating.Rating.amber) == rating.Trend.worsening
    assert rating.trend(rating.Rating.red, rating.Rating.red) == rating.Trend.steady
    assert rating.trend(rating.Rating.red, None) == rating.Trend.new
    due = date(2027, 6, 30)
    before_ms = [ms(start=date(2027, 1, 1), due=due)]
    after_ms = [
        ms(start=date(2027, 1, 1), due=due, forecast=due + timedelta(days=45)),
        ms("M3-2", start=date(2027, 1, 1), due=due),
    ]
    tasks = [Task(number=3, code="（三）", title_zh="t", clause_zh="c", lead_unit="u")]

    def snap(milestones):
        s = schedule.programme_schedule(milestones)
        return rating.snapshot(
            milestones, [], rating.rate_all(tasks, milestones, [], s, AS_OF), AS_OF
        )

    comp = rating.compare("b1", snap(before_ms), snap(after_ms))
    by_id = {(c.kind, c.id): c for c in comp.changes}
    assert by_id[("milestone", "M3-1")].forecast_delta_days == 45
    assert by_id[("milestone", "M3-2")].change == "added"
    assert by_id[("rating", "3")].trend == rating.Trend.worsening
    assert by_id[("rating", "3")].after == {"rating": "amber_red"}


# ------------------------------------------------------------------- access
def user(role, tasks=(), clearance="internal", **kw) -> User:
    return User(name=f"u_{role}", role=role, tasks=tasks, clearance=clearance, **kw)


def escalation(level, task=3, vis="internal") -> Escalation:
    return Escalation(
        id=1,
        key="k",
        rule_id="r",
        level=level,
        subject_type="milestone",
        subject_id="M3-1",
        task=task,
        message=RuleMessage(code="overdue", values={}),
        as_of=AS_OF,
        opened_at=datetime(2026, 11, 25),
        visibility=vis,
    )


M3 = ms("M3-1", task=3)
M8 = ms("M8-1", task=8)
ALLOWED = {  # role -> records it may update
    "admin": {"user"},
    "convenor": {
        "M3",
        "M8",
        "risk",
        "kpi_run",
        "esc_owner",
        "esc_office",
        "esc_convenor",
        "esc_national",
        "matter",
    },
    "office": {"M3", "M8", "risk", "kpi_run", "esc_owner", "esc_office", "matter"},
    "task_owner": {"M3", "risk", "esc_owner"},
    "planner": set(),
    "viewer": set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_permission_matrix(role):
    u = user(role, tasks=(3,) if role == "task_owner" else ())
    cases = {
        "M3": ("update", M3),
        "M8": ("update", M8),
        "risk": ("update", risk()),
        "kpi_run": ("run", access.ESCALATION_RUN),
        "esc_owner": ("acknowledge", escalation(Level.owner)),
        "esc_office": ("acknowledge", escalation(Level.office)),
        "esc_convenor": ("acknowledge", escalation(Level.convenor)),
        "esc_national": ("acknowledge", escalation(Level.national, task=4)),
        "matter": ("report", _matter(datetime(2026, 11, 25))),
        "user": ("create", user("viewer")),
    }
    for name, (action, record) in cases.items():
        if name in ALLOWED[role]:
            access.check_write(u, action, record)
        else:
            with pytest.raises(access.PermissionDenied, match=f"{u.name} .* may not {action}"):
                access.check_write(u, action, record)


def test_permission_messages_say_why():
    owner = user("task_owner", tasks=(3,))
    with pytest.raises(
        access.PermissionDenied,
        match=r"may not update milestone M8-1: task owners edit only their own "
        r"tasks' records; this is task （八）",
    ):
        access.check_write(owner, "update", M8)
    with pytest.raises(access.PermissionDenied, match="planners edit siting scenarios"):
        access.check_write(user("planner"), "update", M3)
    with pytest.raises(access.PermissionDenied, match="above your clearance"):
        access.check_write(
            user("office", clearance="shareable"), "create", ms(visibility="internal")
        )
    with pytest.raises(access.PermissionDenied, match="deactivated"):
        access.check_write(user("convenor", active=False), "update", M3)
    owner8 = user("task_owner", tasks=(8,))
    with pytest.raises(access.PermissionDenied, match="their own tasks only"):
        access.check_write(owner8, "acknowledge", escalation(Level.owner, task=3))


def test_task_owner_opens_matters_of_own_task_only():
    owner = user("task_owner", tasks=(3,))
    access.check_write(owner, "create", _matter(datetime(2026, 11, 25), task=3))
    with pytest.raises(access.PermissionDenied, match="own tasks only"):
        access.check_write(owner, "create", _matter(datetime(2026, 11, 25), task=8))


OWNER3 = user("task_owner", tasks=(3,))
REFUSED = [  # (user, action, record, code, the code's own values)
    (user("convenor", active=False), "update", M3, "deactivated", {}),
    (user("viewer"), "update", M3, "viewer_read_only", {}),
    (user("planner"), "update", M3, "planner_no_records", {}),
    (user("office"), "create", user("viewer"), "admin_only_users", {}),
    (user("admin"), "update", M3, "admin_users_only", {}),
    (
        user("office", clearance="shareable"),
        "create",
        ms(visibility="internal"),
        "above_clearance",
        {"visibility": "internal", "clearance": "shareable"},
    ),
    (
        user("office"),
        "acknowledge",
        escalation(Level.convenor),
        "escalation_level",
        {"level": "convenor", "roles": ["convenor"]},
    ),
    (
        user("task_owner", tasks=(8,)),
        "acknowledge",
        escalation(Level.owner, task=3),
        "own_escalations_only",
        {},
    ),
    (OWNER3, "report", _matter(datetime(2026, 11, 25)), "matter_office_only", {}),
    (OWNER3, "create", _matter(datetime(2026, 11, 25), task=8), "own_matters_only", {}),
    (OWNER3, "run", access.ESCALATION_RUN, "office_only", {}),
    (OWNER3, "update", M8, "own_tasks_only", {}),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[3] for c in REFUSED])
def test_refusals_carry_a_code_and_the_values_of_their_sentence(case):
    who, action, record, code, own = case
    with pytest.raises(access.PermissionDenied) as err:
        access.check_write(who, action, record)
    assert err.value.code == code and code in access.REFUSALS
    assert set(own) == set(access.REFUSALS[code])
    v = err.value.values
    assert {k: v[k] for k in own} == own
    assert (v["user"], v["role"], v["action"]) == (who.name, who.role.value, action)
    assert v["tasks"] == list(who.tasks)
    assert v["entity"] == access.entity_name(record)
    assert v["record"] == access.record_reference(record)
    assert v["task"] == (None if isinstance(record, str) else access.record_task(record))
    assert json.loads(json.dumps(v)) == v
    # the English message is the library's, as before
    assert str(err.value).startswith(f"{who.name} (") and f"may not {action} " in str(err.value)


def test_every_refusal_of_check_write_has_a_code():
    # planning_role is parkplan.services.planning's refusal, not check_write's
    assert {c[3] for c in REFUSED} | {"planning_role"} == set(access.REFUSALS)


def test_visibility_by_clearance():
    public, shareable, internal = (ms(visibility=v) for v in ("public", "shareable", "internal"))
    viewer = user("viewer", clearance="public")
    planner = user("planner", clearance="shareable")
    convenor = user("convenor", clearance="internal")
    assert [access.visible(viewer, r) for r in (public, shareable, internal)] == [
        True,
        False,
        False,
    ]
    assert [access.visible(planner, r) for r in (public, shareable, internal)] == [
        True,
        True,
        False,
    ]
    assert all(access.visible(convenor, r) for r in (public, shareable, internal))
    assert Role.viewer in {u.role for u in [viewer]}
