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

from collections.abc import Callable
from datetime import date, datetime

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

# Headings and clauses of policy section 二, verbatim (the policy file's line breaks inside
# （三） "机制创新" and （九） "综合领域" are page breaks of the source, not part of the text).
_POLICY: dict[int, tuple[str, str, str]] = {
    1: (
        "开展认证认可制度型开放研究，推进贸易便利化",
        "Research institutional opening-up of certification and accreditation; facilitate trade",
        "开展认证认可制度型开放研究，推进贸易便利化。与欧盟、“一带一路”共建国家标准认证组织开展对接，"
        "围绕新能源汽车、电子电器等本市重点出口产品领域和绿色燃料等国际碳排放重点关注产品，开展国别制度研究、"
        "政策法规梳理、技术标准比对等工作，推动建立检测认证结果互认协调机制，探索推动一次检测认证、多国认可。",
    ),
    2: (
        "以质量认证为抓手，提升“上海品牌”影响力和美誉度",
        "Use quality certification to raise the reach and reputation of the 'Shanghai Brand'",
        "以质量认证为抓手，提升“上海品牌”影响力和美誉度。发挥质量认证支持区域品牌建设、提升品牌价值作用，"
        "优化标杆性组织评价采信机制，健全认证技术规则制修订程序，完善标准先进性评价环节。建立认证规则报备前"
        "审查机制，统一管理认证实施规则，制定通用的产品和服务领域认证实施规则。推动金融机构对认证结果的采信，"
        "对获证企业给予融资增信，在国家企业信用信息公示系统及上海公共信用平台上对“上海品牌”认证和培育信息予以"
        "展示，继续推动“上品”标志出海。",
    ),
    3: (
        "在上海浦东新区开展强制性产品认证（CCC）机制创新，赋能重点产业提速升级",
        "Innovate compulsory product certification (CCC) in Pudong New Area to speed up key "
        "industries",
        "在上海浦东新区开展强制性产品认证（CCC）机制创新，赋能重点产业提速升级。聚焦浦东新区集成电路、"
        "人工智能、生物医药、航空航天等重点产业领域，发挥质量认证提升产业链供应链韧性作用，对核心装备、"
        "关键生产设备等进口产品，探索试点小批量 CCC 产品的单批次认证。"
        "指导指定认证机构制定单批次认证实施方案，"
        "持续规范认证过程，发放单批次 CCC 认证证书，为重点产业发展提供技术支撑。",
    ),
    4: (
        "试点承接医疗器械领域检验检测机构资质认定事权，释放制度改革红利",
        "Pilot taking over the qualification (CMA) powers for medical-device testing "
        "bodies; reap the reform dividend",
        "试点承接医疗器械领域检验检测机构资质认定事权，释放制度改革红利。用足用好浦东新区立法权，通过制修订"
        "相关地方法规，将医疗器械领域检验机构资质认定许可事项依法下放至上海市市场监管局实施，并在浦东新区先行"
        "先试。探索建立医疗器械领域权责清晰、运行高效、监管有力的资质认定管理新模式，高效配置评审资源，提高"
        "评审质效，持续提升服务便利度和企业获得感。",
    ),
    5: (
        "开展国家质检中心改革试点，促进国家质检中心建设提质优化",
        "Pilot reform of national quality-inspection centres; raise their quality",
        "开展国家质检中心改革试点，促进国家质检中心建设提质优化。推动先进制造业和现代服务业融合，聚焦集成电路、"
        "先进材料等战略新兴产业，建设一批国家质检中心。改革国家质检中心的资质认定许可制度，探索对在沪国家质检"
        "中心取消市场监管总局资质认定许可，以取得上海市市场监管局资质认定许可为申报前提，国家质检中心授权名称"
        "纳入上海市市场监管局资质认定发证信息。同时将国家质检中心获得上海市市场监管局资质认定信息并入国家级"
        "资质认定获证机构相关数据库中，统一对外提供公开查询。",
    ),
    6: (
        "开展产业质量验证创新试点，推动检验检测与产业创新深度融合",
        "Pilot industrial quality verification; integrate testing with industrial innovation",
        "开展产业质量验证创新试点，推动检验检测与产业创新深度融合。基于创新引领原则开展创新试点，为尚未具备"
        "相关成熟标准的新兴产业、先导产业的产品研发、功能验证、可靠性测试等提供检验检测技术赋能。打造覆盖先导"
        "产业、新兴产业、未来产业的全生命周期验证服务平台。针对产业体系前沿领域技术快速迭代、标准跟不上技术"
        "发展的情况，创新制定科学、可信的验证方法，解决产业发展中的堵点、难点、痛点问题。",
    ),
    7: (
        "探索涉绿涉碳类认证监管模式创新，筑牢公信力基石",
        "Innovate supervision of green and carbon certification; secure its credibility",
        "探索涉绿涉碳类认证监管模式创新，筑牢公信力基石。聚焦生活消费、绿色建材、电子电器类产品绿色属性指标"
        "及标识规范使用情况，强化对绿色产品认证活动、认证结果与绿色产品标识的监督管理，规范绿色产品认证活动，"
        "夯实绿色低碳转型的公信力基石。",
    ),
    8: (
        "培育专业化产业园区，形成检验检测集聚效应",
        "Build a specialised industrial park; cluster testing and certification",
        "培育专业化产业园区，形成检验检测集聚效应。建设汇集检验检测、质量认证等一体化专业服务的市级检验检测"
        "认证产业园区，形成产业集聚、功能齐全、布局合理、协同联动的空间载体，持续提升专业服务效能。优化园区"
        "规划布局，引育龙头企业，重点引进国际顶尖检测认证机构、国家级质检中心，培育本土龙头企业开展跨领域、"
        "跨区域并购重组，提升行业引领力。",
    ),
    9: (
        "试点承接市场监管总局综合领域资质认定事权，激发制度改革正向效应",
        "Pilot taking over SAMR's qualification powers for general-field testing bodies",
        "试点承接市场监管总局综合领域资质认定事权，激发制度改革正向效应。全面梳理获得国家认证认可监督管理委员会"
        "资质认定的在沪综合领域检验检测机构。由市场监管总局根据上海产业发展实际与监管能力，科学论证，审慎确定"
        "试点下放的综合领域检验检测机构范围，将综合领域检验检测机构资质认定逐步下放至上海试点。",
    ),
}

# Proposed lead unit and co-units per task (bureau divisions and bodies the clauses name).
CERT = "认证监督管理处"
LAB = "检验检测机构监督管理处"
QUALITY = "质量发展处"
PUDONG = "浦东新区市场监管局"
_UNITS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: (CERT, ("标准化管理处", "国际合作处", "有关检验检测认证机构")),
    2: (QUALITY, (CERT, "信用监督管理处", "有关金融机构")),
    3: (CERT, (PUDONG, "指定认证机构")),
    4: (LAB, ("法规处", PUDONG, "市药品监管局")),
    5: (LAB, (QUALITY, "各区市场监管局")),
    6: (LAB, (QUALITY, "科研院所", "行业组织")),
    7: (CERT, ("执法总队", "各区市场监管局")),
    8: (LAB, (PUDONG, "各区市场监管局", "行业组织")),
    9: (LAB, ("法规处", "专业技术支撑机构")),
}

# id, title_zh, title_en, start, due, depends_on (proposed plan, 2026-06 to 2028-12)
_MILESTONES: dict[int, list[tuple]] = {
    1: [
        (
            "M1-1",
            "组建国别制度研究工作组，确定首批对标国家和重点产品清单",
            "Set up the country-regime research group; first list of countries and products",
            "2026-06-15",
            "2026-08-31",
            (),
        ),
        (
            "M1-2",
            "完成欧盟及“一带一路”重点国家新能源汽车、电子电器认证制度比对报告",
            "Comparison of NEV and electronics certification regimes (EU, Belt and Road)",
            "2026-09-01",
            "2027-03-31",
            ("M1-1",),
        ),
        (
            "M1-3",
            "与首个境外标准认证组织签署检测认证结果互认合作文件",
            "First mutual-recognition agreement with a foreign certification body",
            "2027-04-01",
            "2027-12-31",
            ("M1-2",),
        ),
        (
            "M1-4",
            "绿色燃料等碳排放重点产品“一次检测认证、多国认可”试点项目落地",
            "'Test once, accepted in many countries' pilot for green fuels",
            "2028-01-01",
            "2028-09-30",
            ("M1-3",),
        ),
    ],
    2: [
        (
            "M2-1",
            "建立认证规则报备前审查机制并印发工作细则",
            "Pre-filing review of certification rules in place, procedure issued",
            "2026-06-15",
            "2026-12-31",
            (),
        ),
        (
            "M2-2",
            "发布首批通用产品和服务领域认证实施规则",
            "First general certification implementation rules for products and services",
            "2027-01-01",
            "2027-06-30",
            ("M2-1",),
        ),
        (
            "M2-3",
            "“上海品牌”认证和培育信息在国家企业信用信息公示系统及上海公共信用平台展示",
            "'Shanghai Brand' certification shown on the national and Shanghai credit platforms",
            "2026-09-01",
            "2027-06-30",
            (),
        ),
        (
            "M2-4",
            "首批金融机构采信认证结果、对获证企业融资增信合作落地",
            "First banks accept certification for credit enhancement of certified firms",
            "2027-07-01",
            "2027-12-31",
            ("M2-2",),
        ),
    ],
    3: [
        (
            "M3-1",
            "确定单批次认证试点进口产品目录（核心装备、关键生产设备）",
            "List of imported core and key production equipment for single-batch CCC",
            "2026-06-15",
            "2026-09-30",
            (),
        ),
        (
            "M3-2",
            "指导指定认证机构制定单批次认证实施方案",
            "Designated certification bodies' single-batch implementation schemes",
            "2026-10-01",
            "2026-12-31",
            ("M3-1",),
        ),
        (
            "M3-3",
            "发放首张单批次 CCC 认证证书",
            "First single-batch CCC certificate issued",
            "2027-01-01",
            "2027-03-31",
            ("M3-2",),
        ),
        (
            "M3-4",
            "单批次认证试点评估，形成可复制推广经验",
            "Evaluation of the single-batch pilot; lessons for replication",
            "2028-01-01",
            "2028-06-30",
            ("M3-3",),
        ),
    ],
    4: [
        (
            "M4-1",
            "起草医疗器械检验机构资质认定浦东新区法规草案",
            "Draft Pudong regulation on qualification of medical-device testing bodies",
            "2026-06-15",
            "2026-12-31",
            (),
        ),
        (
            "M4-2",
            "浦东新区法规审议通过并公布施行",
            "Pudong regulation adopted and in force",
            "2027-01-01",
            "2027-06-30",
            ("M4-1",),
        ),
        (
            "M4-3",
            "承接医疗器械检验机构资质认定事权，受理首批评审",
            "Powers taken over; first qualification reviews accepted",
            "2027-07-01",
            "2027-09-30",
            ("M4-2",),
        ),
        (
            "M4-4",
            "资质认定管理新模式运行评估，报市场监管总局",
            "Evaluation of the new qualification model, reported to SAMR",
            "2027-10-01",
            "2028-09-30",
            ("M4-3",),
        ),
    ],
    5: [
        (
            "M5-1",
            "梳理在沪国家质检中心名录及资质认定现状",
            "Inventory of national QI centres in Shanghai and their qualifications",
            "2026-06-15",
            "2026-09-30",
            (),
        ),
        (
            "M5-2",
            "制定国家质检中心资质认定改革试点方案并报市场监管总局同意",
            "Reform pilot scheme for national QI centres agreed with SAMR",
            "2026-10-01",
            "2027-03-31",
            ("M5-1",),
        ),
        (
            "M5-3",
            "首批国家质检中心以上海市市场监管局资质认定申报获批",
            "First national QI centres approved on Shanghai's qualification",
            "2027-04-01",
            "2027-12-31",
            ("M5-2",),
        ),
        (
            "M5-4",
            "获证信息并入国家级资质认定获证机构数据库，统一对外公开查询",
            "Qualification data merged into the national database, public look-up",
            "2027-06-01",
            "2027-12-31",
            ("M5-2",),
        ),
    ],
    6: [
        (
            "M6-1",
            "印发产业质量验证创新试点工作方案",
            "Industrial quality-verification pilot work plan issued",
            "2026-07-01",
            "2026-10-31",
            (),
        ),
        (
            "M6-2",
            "遴选首批验证服务试点项目（集成电路、先进材料等）",
            "First verification pilot projects selected (IC, advanced materials)",
            "2026-11-01",
            "2027-03-31",
            ("M6-1",),
        ),
        (
            "M6-3",
            "全生命周期验证服务平台上线运行",
            "Life-cycle verification service platform in operation",
            "2027-04-01",
            "2028-06-30",
            ("M6-2",),
        ),
    ],
    7: [
        (
            "M7-1",
            "制定涉绿涉碳类认证监管工作方案",
            "Supervision plan for green and carbon certification",
            "2026-06-15",
            "2026-09-30",
            (),
        ),
        (
            "M7-2",
            "开展绿色产品认证及标识专项监督检查（第一轮）",
            "First round of inspections of green-product certification and labels",
            "2026-10-01",
            "2027-06-30",
            ("M7-1",),
        ),
        (
            "M7-3",
            "建立涉绿涉碳认证监管长效机制",
            "Standing supervision mechanism for green and carbon certification",
            "2027-07-01",
            "2028-06-30",
            ("M7-2",),
        ),
    ],
    8: [
        (
            "M8-1",
            "编制市级检验检测认证产业园区规划布局方案",
            "Siting and layout plan of the municipal TIC park",
            "2026-06-15",
            "2026-10-31",
            (),
        ),
        (
            "M8-2",
            "认定首批市级检验检测认证产业园区",
            "First municipal TIC parks designated",
            "2026-11-01",
            "2027-03-31",
            ("M8-1",),
        ),
        (
            "M8-3",
            "首批园区场地交付（张江科学城检测认证园3号楼）",
            "First park site handed over (Zhangjiang building 3)",
            "2026-11-01",
            "2026-12-31",
            ("M8-1",),
        ),
        (
            "M8-4",
            "引进首批龙头机构入驻（国际顶尖检测认证机构、国家级质检中心）",
            "First anchor organisations move in (top international TIC, national QI centres)",
            "2027-04-01",
            "2027-12-31",
            ("M8-2", "M8-3"),
        ),
        (
            "M8-5",
            "园区入驻面积达到规划目标的一半",
            "Half of the planned floor space occupied",
            "2028-01-01",
            "2028-12-31",
            ("M8-4", "M5-3"),
        ),
    ],
    9: [
        (
            "M9-1",
            "全面梳理获国家认监委资质认定的在沪综合领域检验检测机构",
            "Inventory of general-field testing bodies qualified by CNCA in Shanghai",
            "2026-06-15",
            "2026-09-30",
            (),
        ),
        (
            "M9-2",
            "配合市场监管总局论证并确定试点下放机构范围",
            "Scope of bodies to devolve settled with SAMR",
            "2026-10-01",
            "2027-06-30",
            ("M9-1",),
        ),
        (
            "M9-3",
            "承接首批综合领域资质认定事权并开展评审",
            "First general-field qualification powers taken over; reviews under way",
            "2027-10-01",
            "2028-03-31",
            ("M9-2", "M4-3"),
        ),
        (
            "M9-4",
            "逐步扩大下放范围，试点总结报市场监管总局",
            "Scope widened step by step; pilot summary reported to SAMR",
            "2028-04-01",
            "2028-12-31",
            ("M9-3",),
        ),
    ],
}

#: The site whose handover milestone M8-3 is (a demo site; only linked in the demo).
DEMO_SITE_MILESTONE = ("M8-3", "S0003")

# task, name_zh, name_en, unit, target, target_date, direction, source
_KPIS: list[tuple] = [
    (
        1,
        "检测认证结果互认合作覆盖的国家（组织）数",
        "Countries/bodies covered by mutual recognition",
        "个",
        5,
        "2028-12-31",
        "increase",
        "manual",
    ),
    (
        2,
        "发布通用认证实施规则数",
        "General certification rules issued",
        "项",
        10,
        "2028-12-31",
        "increase",
        "manual",
    ),
    (
        2,
        "“上海品牌”认证获证企业数",
        "'Shanghai Brand' certified firms",
        "家",
        500,
        "2028-12-31",
        "increase",
        "manual",
    ),
    (
        3,
        "单批次 CCC 认证证书发放数",
        "Single-batch CCC certificates issued",
        "张",
        50,
        "2028-12-31",
        "increase",
        "manual",
    ),
    (
        4,
        "医疗器械检验机构资质认定评审完成数",
        "Medical-device testing body reviews completed",
        "家",
        20,
        "2028-12-31",
        "increase",
        "manual",
    ),
    (
        4,
        "资质认定平均评审天数",
        "Average review time",
        "天",
        30,
        "2028-12-31",
        "decrease",
        "manual",
    ),
    (
        5,
        "获批国家质检中心数",
        "National QI centres approved",
        "个",
        3,
        "2028-12-31",
        "increase",
        "manual",
    ),
    (
        6,
        "产业质量验证试点项目数",
        "Quality-verification pilot projects",
        "项",
        10,
        "2028-12-31",
        "increase",
        "manual",
    ),
    (
        7,
        "绿色产品认证监督检查批次",
        "Green-product certification inspections",
        "批次",
        300,
        "2028-12-31",
        "increase",
        "manual",
    ),
    (
        8,
        "引进龙头机构数（采纳的选址方案）",
        "Anchor organisations recruited (adopted siting plan)",
        "家",
        10,
        "2028-12-31",
        "increase",
        "siting:anchors",
    ),
    (
        8,
        "园区入驻面积（采纳的选址方案）",
        "Park floor space occupied (adopted siting plan)",
        "m²",
        100000,
        "2028-12-31",
        "increase",
        "siting:floor_space",
    ),
    (
        9,
        "承接下放资质认定的综合领域机构数",
        "General-field bodies under devolved qualification",
        "家",
        30,
        "2028-12-31",
        "increase",
        "manual",
    ),
]


def policy_tasks() -> list[Task]:
    """Return the nine tasks with their verbatim clauses and proposed units."""
    return [
        Task(
            number=n,
            code=TASK_CODES[n],
            title_zh=zh,
            title_en=en,
            clause_zh=clause,
            lead_unit=_UNITS[n][0],
            co_units=_UNITS[n][1],
            proposed=True,
        )
        for n, (zh, en, clause) in _POLICY.items()
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
    for task, rows in _MILESTONES.items():
        for mid, zh, en, start, due, deps in rows:
            site = DEMO_SITE_MILESTONE[1] if link_sites and mid == DEMO_SITE_MILESTONE[0] else None
            seeder.add_milestone(
                id=mid,
                task=task,
                title_zh=zh,
                title_en=en,
                owner=_UNITS[task][0],
                start=start,
                due=due,
                depends_on=deps,
                linked_site_id=site,
                proposed=True,
            )
    for task, zh, en, unit, target, target_date, direction, source in _KPIS:
        seeder.add_kpi(
            task=task,
            name_zh=zh,
            name_en=en,
            unit=unit,
            target=target,
            target_date=target_date,
            direction=direction,
            source=source,
            proposed=True,
        )


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
