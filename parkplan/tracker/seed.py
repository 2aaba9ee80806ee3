"""Seed the tracker: the nine tasks from the policy, a proposed plan, and the demo.

:func:`seed_tasks` gives any workspace the nine tasks of 沪市监认监〔2026〕117号 section 二,
each with its heading and clause quoted verbatim, proposed lead and co-units, a proposed
first set of milestones for the pilot period (2026-06 to 2028-12), proposed KPIs, and the
first admin account. Everything parkplan proposes is marked ``proposed=True``: the task
force edits it.

:func:`seed_demo` adds the demo's users (one per role), progress as of the demo date
2026-11-25, risks, KPI actuals and a major matter, then runs the escalation rules as of
that date. The demo is illustrative (示意数据).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from importlib import resources
from typing import Any

import yaml

from parkplan.identity.users import Role, User, Visibility
from parkplan.store import Workspace
from parkplan.tracker.commands.tasks import seed
from parkplan.tracker.model import TASK_CODES, Task
from parkplan.tracker.service import Tracker

#: The identity seeding writes as (not a stored user).
SYSTEM = User(
    name="system", role=Role.convenor, clearance=Visibility.internal, display_name="系统 system"
)

#: The demo's "today".
DEMO_DATE = date(2026, 11, 25)

#: Units the demo's task owners belong to (the seed plan's leads of tasks （三） and （八）).
CERT = "认证监督管理处"
LAB = "检验检测机构监督管理处"


@functools.cache
def seed_plan() -> dict[str, Any]:
    """Return the seed plan shipped in ``seed_plan.yaml``: tasks, milestones and KPIs.

    The tasks' headings and clauses are policy section 二 verbatim (the policy file's line
    breaks inside （三） "机制创新" and （九） "综合领域" are page breaks of the source, not part
    of the text); their units, the milestones (2026-06 to 2028-12) and KPIs are proposed.
    """
    text = resources.files(__package__).joinpath("seed_plan.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


#: The site whose handover milestone M8-3 is (a demo site; only linked in the demo).
DEMO_SITE_MILESTONE = ("M8-3", "S0003")


def policy_tasks() -> list[Task]:
    """Return the nine tasks with their verbatim clauses and proposed units."""
    return [
        Task(**{**t, "co_units": tuple(t["co_units"])}, code=TASK_CODES[t["number"]], proposed=True)
        for t in seed_plan()["tasks"]
    ]


def seed_tasks(
    workspace: Workspace,
    *,
    admin: str = "admin",
    link_sites: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Give a workspace the nine tasks, the proposed plan and KPIs, and an admin account.

    Parameters
    ----------
    workspace : Workspace
    admin : str
        Name of the first admin account (it adds the other users).
    link_sites : bool
        Link the park-handover milestone to a demo site (demo only).
    clock : callable, optional
        "Now" for the journal (the demo fixes it); default the real clock.

    Raises
    ------
    ParkplanError
        If the workspace already holds the tasks.
    """
    seeder = Tracker(workspace, SYSTEM, clock=clock)
    with seeder.transaction():
        _seed_plan(seeder, admin, link_sites)


def _seed_plan(seeder: Tracker, admin: str, link_sites: bool) -> None:
    seed(
        seeder.repository,
        policy_tasks(),
        [
            User(
                name=admin,
                role=Role.admin,
                clearance=Visibility.internal,
                display_name="系统管理员",
            )
        ],
    )
    plan = seed_plan()
    leads = {t["number"]: t["lead_unit"] for t in plan["tasks"]}
    for m in plan["milestones"]:
        linked = link_sites and m["id"] == DEMO_SITE_MILESTONE[0]
        seeder.add_milestone(
            **m,
            owner=leads[m["task"]],
            linked_site_id=DEMO_SITE_MILESTONE[1] if linked else None,
            proposed=True,
        )
    for k in plan["kpis"]:
        seeder.add_kpi(**k, proposed=True)


# name, display name, role, tasks, clearance, unit
DEMO_USERS: list[tuple] = [
    (
        "convenor",
        "局主要领导（召集人）",
        Role.convenor,
        (),
        Visibility.internal,
        "上海市市场监督管理局",
    ),
    ("office", "工作专班办公室", Role.office, (), Visibility.internal, "工作专班办公室"),
    ("owner3", "任务（三）牵头人", Role.task_owner, (3,), Visibility.internal, CERT),
    ("owner8", "任务（八）牵头人", Role.task_owner, (8,), Visibility.internal, LAB),
    ("planner", "园区规划人员", Role.planner, (), Visibility.shareable, "园区规划组"),
    ("viewer", "公众查询", Role.viewer, (), Visibility.public, ""),
]


def _at(day: str, hm: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}")


def seed_demo(workspace: Workspace) -> None:
    """Seed the tracker and the demo's progress, risks, KPIs and a major matter.

    Users: ``admin``, ``convenor``, ``office``, ``owner3`` (task （三）), ``owner8`` (task
    （八）), ``planner``, ``viewer``. After the records as of 2026-11-25, the escalation
    rules run as of that date, and the office acknowledges and acts on one escalation
    (others stay open). Deterministic: the demo's clock is fixed.
    """
    root = Tracker(workspace, SYSTEM, clock=lambda: _at("2026-06-01", "08:00"))
    with root.transaction():
        _seed_plan(root, "admin", link_sites=True)
        _seed_demo(root)


def _seed_demo(root: Tracker) -> None:
    admin = root.as_user("admin", clock=lambda: _at("2026-06-01"))
    for name, display, role, tasks, clearance, unit in DEMO_USERS:
        admin.add_user(
            name, role, tasks=tasks, clearance=clearance, display_name=display, unit=unit
        )

    def as_(user: str, day: str, hm: str = "09:00") -> Tracker:
        return root.as_user(user, clock=lambda: _at(day, hm))

    office = as_("office", "2026-11-20")
    progress = [  # id, changes
        ("M1-1", {"status": "done", "forecast": "2026-08-28"}),
        ("M1-2", {"status": "in_progress", "percent": 40}),
        ("M2-1", {"status": "in_progress", "percent": 60}),
        ("M2-3", {"status": "in_progress", "percent": 20}),
        (
            "M4-1",
            {
                "status": "in_progress",
                "percent": 70,
                "forecast": "2027-02-28",
                "note": "法规草案征求意见环节延长",
            },
        ),
        ("M5-1", {"status": "done", "forecast": "2026-10-20"}),
        ("M5-2", {"status": "in_progress", "percent": 30}),
        ("M6-1", {"status": "in_progress", "percent": 80, "forecast": "2026-12-15"}),
        ("M7-1", {"status": "done", "forecast": "2026-09-26"}),
        ("M7-2", {"status": "in_progress", "percent": 25}),
        ("M8-1", {"status": "done", "forecast": "2026-10-30"}),
        ("M8-2", {"status": "in_progress", "percent": 40}),
        ("M9-1", {"status": "done", "forecast": "2026-10-10"}),
        ("M9-2", {"status": "blocked", "percent": 20, "note": "待市场监管总局明确论证安排"}),
    ]
    for mid, changes in progress:
        office.update_milestone(mid, office.milestone(mid).version, **changes)
    owner3 = as_("owner3", "2026-11-18")
    owner3.update_milestone("M3-1", 1, status="done", forecast="2026-09-25")
    owner3.update_milestone("M3-2", 1, status="in_progress", percent=50, forecast="2027-01-15")
    owner8 = as_("owner8", "2026-11-19")
    owner8.update_milestone("M8-3", 1, status="in_progress", percent=60, forecast="2026-12-20")
    owner8.add_evidence(
        "M8-1",
        "园区规划布局方案（示意）\n".encode(),
        filename="M8-1-园区规划布局方案.txt",
        note="示意 illustrative",
    )

    risks = [  # user, task, title, cause, effect, L, I, owner, mitigation, opened, reviewed
        (
            "office",
            4,
            "浦东新区法规制修订周期长于预期",
            "立法计划排期及征求意见环节较多",
            "医疗器械资质认定事权承接推迟",
            3,
            5,
            LAB,
            "提前与立法机关沟通，分段推进配套文件",
            "2026-07-01",
            "2026-11-10",
        ),
        (
            "office",
            9,
            "总局下放范围论证周期不确定",
            "下放范围需总局科学论证、审慎确定",
            "综合领域事权承接时间无法锁定",
            4,
            4,
            LAB,
            "专班定期与总局对接，准备分批承接预案",
            "2026-07-01",
            "2026-10-01",
        ),
        (
            "owner3",
            3,
            "指定认证机构实施方案准备不足",
            "单批次认证缺少成熟先例",
            "首张证书发放推迟",
            2,
            3,
            CERT,
            "组织机构间经验交流，出具方案编制指引",
            "2026-10-01",
            "2026-11-01",
        ),
        (
            "owner8",
            8,
            "首批场地交付延期影响龙头机构入驻",
            "装修改造及验收进度不确定",
            "龙头机构入驻推迟、招引意向流失",
            3,
            4,
            LAB,
            "与园区运营方建立周调度，预留备选场地",
            "2026-09-01",
            "2026-11-20",
        ),
        (
            "office",
            7,
            "绿色产品标识使用不规范问题反弹",
            "市场主体对标识规则理解不一",
            "认证公信力受损",
            3,
            3,
            CERT,
            "结合专项检查开展宣贯，公布典型案例",
            "2026-10-01",
            "2026-11-05",
        ),
        (
            "office",
            1,
            "境外认证组织对接进度受国际形势影响",
            "国际合作环境变化",
            "互认合作文件签署推迟",
            3,
            3,
            CERT,
            "多渠道储备对接对象",
            "2026-07-01",
            "2026-11-02",
        ),
    ]
    for user, task, title, cause, effect, lk, im, owner, mitigation, opened, reviewed in risks:
        as_(user, "2026-11-20").add_risk(
            task=task,
            title_zh=title,
            cause=cause,
            effect=effect,
            likelihood=lk,
            impact=im,
            owner=owner,
            mitigation=mitigation,
            opened_on=opened,
            reviewed_on=reviewed,
        )

    actuals = [
        ("K2-2", "2026-10-31", 286),
        ("K7-1", "2026-10-31", 85),
        ("K3-1", "2026-10-31", 0),
        ("K1-1", "2026-10-31", 0),
    ]
    for kid, on, value in actuals:
        office.add_kpi_actual(kid, on, value, note="示意 illustrative")

    as_("owner3", "2026-11-23", "10:00").add_matter(
        task=3,
        title="指定认证机构单批次认证样品检测数据存疑（示意）",
        what_happened="某指定认证机构在单批次认证样品检测中发现一份检测报告数据与原始记录不一致。",
        occurred_at=_at("2026-11-22", "16:30"),
        impact="可能影响首批单批次认证证书的发放进度及试点公信力。",
        measures="已暂停该批次认证评价，要求机构开展自查并封存原始记录。",
        coordination_requested="请专班办公室协调认证监督管理处、浦东新区市场监管局联合核查。",
    )

    run = as_("office", "2026-11-25").escalate(DEMO_DATE)
    first = next(e for e in run.created if e.rule_id == "overdue_office")
    as_("office", "2026-11-25", "10:00").acknowledge(first.id, "已收悉，已约谈牵头处室")
    as_("office", "2026-11-25", "15:00").act(first.id, "工作方案已报局务会审议，预计12月中旬印发")


__all__ = ["DEMO_DATE", "DEMO_USERS", "policy_tasks", "seed_demo", "seed_tasks"]
