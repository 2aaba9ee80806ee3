"""Build the illustrative demo layers in data/demo/ (deterministic).

Everything written here is ILLUSTRATIVE (示意数据): the parks are placed plausibly in real
districts (integrated circuits and biomedicine around Zhangjiang, automotive/NEV in Jiading
and Lingang, aerospace in Lingang and Minhang, materials in Baoshan and Jinshan, ...) but
their names, sites, capacities, institutions and candidates are invented. Invented
organisations carry invented names with the suffix （示意）/(illustrative), never real company
names.

Run ``python data/build_demo.py``; the same seed gives the same files byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).parent
OUT = HERE / "demo"
SOURCE = "示意数据 illustrative (parkplan demo)"
SEED = 20260528  # the policy's date

# park_id, zh, en, lon, lat, adcode, specialties (sectors), heavy/hazard emphasis
PARKS = [
    (
        "P01",
        "张江科学城检测认证园",
        "Zhangjiang Science City TIC Park",
        121.600,
        31.205,
        "310115",
        ["ic", "biomed", "ai"],
        "hazard",
    ),
    (
        "P02",
        "金桥智能制造检测园",
        "Jinqiao Smart Manufacturing TIC Park",
        121.615,
        31.262,
        "310115",
        ["electronics", "equipment", "auto_nev"],
        "heavy",
    ),
    (
        "P03",
        "临港新片区检测认证园",
        "Lingang Special Area TIC Park",
        121.905,
        30.905,
        "310115",
        ["auto_nev", "aerospace", "ic", "equipment"],
        "heavy",
    ),
    (
        "P04",
        "嘉定汽车检测认证园",
        "Jiading Automotive TIC Park",
        121.165,
        31.295,
        "310114",
        ["auto_nev", "electronics"],
        "heavy",
    ),
    (
        "P05",
        "闵行紫竹航空航天检测园",
        "Minhang Zizhu Aerospace TIC Park",
        121.455,
        31.025,
        "310112",
        ["aerospace", "equipment", "ai"],
        "heavy",
    ),
    (
        "P06",
        "松江G60检测认证园",
        "Songjiang G60 TIC Park",
        121.225,
        31.045,
        "310117",
        ["electronics", "new_materials", "ic"],
        "none",
    ),
    (
        "P07",
        "宝山先进材料检测园",
        "Baoshan Advanced Materials TIC Park",
        121.445,
        31.375,
        "310113",
        ["new_materials", "equipment", "green_low_carbon"],
        "heavy",
    ),
    (
        "P08",
        "青浦长三角数字检测园",
        "Qingpu Yangtze Delta Digital TIC Park",
        121.115,
        31.155,
        "310118",
        ["ai", "electronics", "green_low_carbon"],
        "none",
    ),
    (
        "P09",
        "徐汇漕河泾检测认证中心",
        "Xuhui Caohejing TIC Centre",
        121.400,
        31.170,
        "310104",
        ["ai", "ic", "medical_devices"],
        "none",
    ),
    (
        "P10",
        "杨浦环同济检测园",
        "Yangpu Tongji Ring TIC Park",
        121.505,
        31.285,
        "310110",
        ["green_low_carbon", "new_materials", "ai"],
        "none",
    ),
    (
        "P11",
        "奉贤东方美谷检测园",
        "Fengxian Oriental Beauty Valley TIC Park",
        121.500,
        30.920,
        "310120",
        ["consumer_goods", "biomed", "medical_devices"],
        "hazard",
    ),
    (
        "P12",
        "金山化工新材料检测园",
        "Jinshan Chemicals and Materials TIC Park",
        121.330,
        30.730,
        "310116",
        ["new_materials", "green_low_carbon"],
        "hazard",
    ),
]

# cluster sector, zh, en, lon, lat, weight
CLUSTERS = [
    ("ic", "张江集成电路产业集群", "Zhangjiang IC cluster", 121.595, 31.200, 10.0),
    ("ic", "临港集成电路产业集群", "Lingang IC cluster", 121.915, 30.915, 6.0),
    ("ic", "松江集成电路装备集群", "Songjiang IC equipment cluster", 121.235, 31.040, 3.0),
    ("biomed", "张江生物医药产业集群", "Zhangjiang biomedicine cluster", 121.610, 31.215, 9.0),
    ("biomed", "奉贤生物医药集群", "Fengxian biomedicine cluster", 121.490, 30.925, 4.0),
    (
        "medical_devices",
        "张江医疗器械集群",
        "Zhangjiang medical devices cluster",
        121.620,
        31.195,
        5.0,
    ),
    ("medical_devices", "徐汇医疗器械集群", "Xuhui medical devices cluster", 121.420, 31.160, 2.0),
    ("auto_nev", "嘉定汽车产业集群", "Jiading automotive cluster", 121.170, 31.300, 9.0),
    ("auto_nev", "临港新能源汽车集群", "Lingang NEV cluster", 121.895, 30.895, 8.0),
    ("auto_nev", "金桥智能网联汽车集群", "Jinqiao connected-vehicle cluster", 121.620, 31.270, 4.0),
    ("aerospace", "临港航空航天集群", "Lingang aerospace cluster", 121.880, 30.920, 6.0),
    ("aerospace", "闵行航空航天集群", "Minhang aerospace cluster", 121.460, 31.020, 5.0),
    ("ai", "徐汇人工智能集群", "Xuhui AI cluster", 121.455, 31.180, 7.0),
    ("ai", "张江人工智能岛集群", "Zhangjiang AI cluster", 121.605, 31.190, 5.0),
    ("new_materials", "宝山新材料集群", "Baoshan new materials cluster", 121.450, 31.380, 6.0),
    (
        "new_materials",
        "金山化工新材料集群",
        "Jinshan chemical materials cluster",
        121.340,
        30.725,
        7.0,
    ),
    ("electronics", "松江电子信息集群", "Songjiang electronics cluster", 121.215, 31.050, 6.0),
    ("electronics", "青浦电子电器集群", "Qingpu electronics cluster", 121.110, 31.160, 3.0),
    (
        "green_low_carbon",
        "杨浦绿色低碳集群",
        "Yangpu green low-carbon cluster",
        121.510,
        31.290,
        4.0,
    ),
    (
        "green_low_carbon",
        "宝山氢能与绿色燃料集群",
        "Baoshan hydrogen and green fuels cluster",
        121.430,
        31.390,
        4.0,
    ),
    ("consumer_goods", "奉贤美妆消费品集群", "Fengxian cosmetics cluster", 121.505, 30.915, 6.0),
    ("equipment", "临港高端装备集群", "Lingang high-end equipment cluster", 121.890, 30.930, 7.0),
    ("equipment", "闵行高端装备集群", "Minhang equipment cluster", 121.440, 31.035, 4.0),
]

TRANSPORT = [
    ("metro", "张江高科站", "Zhangjiang Hi-Tech Park Stn", 121.588, 31.203),
    ("metro", "金桥站", "Jinqiao Stn", 121.612, 31.258),
    ("metro", "滴水湖站", "Dishui Lake Stn", 121.925, 30.903),
    ("metro", "安亭站", "Anting Stn", 121.168, 31.290),
    ("metro", "紫竹高新区站", "Zizhu Hi-Tech Zone Stn", 121.452, 31.030),
    ("metro", "松江新城站", "Songjiang New Town Stn", 121.220, 31.040),
    ("metro", "宝山路站", "Baoshan Rd Stn", 121.450, 31.370),
    ("metro", "徐泾东站", "Xujing East Stn", 121.300, 31.190),
    ("metro", "漕河泾开发区站", "Caohejing Development Zone Stn", 121.398, 31.172),
    ("metro", "同济大学站", "Tongji University Stn", 121.503, 31.282),
    ("metro", "奉贤新城站", "Fengxian New Town Stn", 121.495, 30.925),
    ("rail", "金山卫站", "Jinshanwei Stn", 121.330, 30.738),
    ("rail", "上海虹桥站", "Shanghai Hongqiao Stn", 121.320, 31.195),
    ("rail", "上海南站", "Shanghai South Stn", 121.430, 31.155),
    ("rail", "松江南站", "Songjiang South Stn", 121.230, 30.985),
    ("airport", "浦东国际机场", "Pudong International Airport", 121.805, 31.150),
    ("airport", "虹桥国际机场", "Hongqiao International Airport", 121.340, 31.195),
    ("port", "洋山深水港", "Yangshan Deep-Water Port", 122.060, 30.630),
    ("port", "外高桥港区", "Waigaoqiao Port Area", 121.600, 31.355),
]

# Invented brand syllables (zh, pinyin): combined two at a time; the suffix （示意）
# makes every name plainly fictional.
SYLLABLES = [
    ("瀚", "Han"),
    ("澄", "Cheng"),
    ("翎", "Ling"),
    ("溯", "Su"),
    ("岚", "Lan"),
    ("珩", "Heng"),
    ("曜", "Yao"),
    ("霁", "Ji"),
    ("朔", "Shuo"),
    ("砚", "Yan"),
    ("棠", "Tang"),
    ("渟", "Ting"),
    ("琮", "Cong"),
    ("芃", "Peng"),
    ("沅", "Yuan"),
]
SECOND = [
    ("衡", "heng"),
    ("准", "zhun"),
    ("鉴", "jian"),
    ("度", "du"),
    ("序", "xu"),
    ("格", "ge"),
    ("微", "wei"),
    ("析", "xi"),
    ("睿", "rui"),
    ("邦", "bang"),
    ("拓", "tuo"),
    ("量", "liang"),
    ("驰", "chi"),
    ("研", "yan"),
    ("联", "lian"),
    ("启", "qi"),
]

TIER_PLAN = {  # tier: (count, value range, subsidy range 万元, zh word, en word)
    "international_major": (
        12,
        (40, 80),
        (1500, 3500),
        "国际检测认证集团",
        "International TIC Group",
    ),
    "national_qi_centre": (16, (30, 60), (1000, 2500), "国家质检中心", "National QI Centre"),
    "local_champion": (26, (15, 35), (500, 1500), "检测技术股份公司", "Testing Technology Co."),
    "specialist": (36, (8, 20), (200, 800), "专业检测实验室", "Specialist Laboratory"),
    "startup": (30, (3, 10), (50, 300), "检测科技创新公司", "Testing Tech Start-up"),
}

SECTOR_WORDS = {
    "ic": ("集成电路", "IC"),
    "ai": ("人工智能", "AI"),
    "biomed": ("生物医药", "Biomedical"),
    "medical_devices": ("医疗器械", "Medical Device"),
    "aerospace": ("航空航天", "Aerospace"),
    "auto_nev": ("汽车", "Automotive"),
    "new_materials": ("材料", "Materials"),
    "electronics": ("电子电器", "Electronics"),
    "green_low_carbon": ("绿色低碳", "Green"),
    "consumer_goods": ("消费品", "Consumer Goods"),
    "equipment": ("装备", "Equipment"),
}

# Space a candidate needs by its main sector: (office, lab, heavy, hazard) base m².
SECTOR_NEEDS = {
    "ic": (1500, 3000, 0, 400),
    "ai": (2000, 1200, 0, 0),
    "biomed": (1200, 2500, 0, 900),
    "medical_devices": (1000, 2000, 300, 300),
    "aerospace": (1200, 1500, 2500, 200),
    "auto_nev": (1200, 1500, 3500, 300),
    "new_materials": (1000, 2000, 800, 800),
    "electronics": (1000, 2000, 600, 0),
    "green_low_carbon": (1200, 1500, 300, 300),
    "consumer_goods": (800, 1500, 0, 300),
    "equipment": (1000, 1200, 2000, 0),
}
TIER_SCALE = {
    "international_major": 2.0,
    "national_qi_centre": 1.6,
    "local_champion": 1.1,
    "specialist": 0.6,
    "startup": 0.3,
}

INSTITUTION_PLAN = [  # type, count, zh word, en word
    ("international_tic", 8, "检测认证（上海）有限公司", "Testing & Certification (Shanghai)"),
    ("national_qi_centre", 8, "国家质量检验检测中心", "National QI Centre"),
    ("state_tic", 10, "检测研究院", "Testing Institute"),
    ("private_tic", 14, "检测技术有限公司", "Testing Technology"),
    ("research_lab", 6, "研究院实验室", "Research Laboratory"),
]


def _park_polygon(lon: float, lat: float) -> shapely.Polygon:
    # About 1.3 km × 1.3 km: the size of a TIC park's core area.
    return shapely.box(lon - 0.007, lat - 0.006, lon + 0.007, lat + 0.006)


def _name(rng: np.random.Generator, used: set) -> tuple[str, str]:
    while True:
        a = SYLLABLES[rng.integers(len(SYLLABLES))]
        b = SECOND[rng.integers(len(SECOND))]
        if (a, b) not in used:
            used.add((a, b))
            return a[0] + b[0], a[1] + b[1]


def build(out: Path = OUT) -> None:
    """Write the demo layers to ``out``."""
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    districts = gpd.read_file(HERE / "shanghai_districts.geojson")

    parks = gpd.GeoDataFrame(
        {
            "park_id": [p[0] for p in PARKS],
            "name_zh": [p[1] + "（示意）" for p in PARKS],
            "name_en": [p[2] + " (illustrative)" for p in PARKS],
            "district_adcode": [p[5] for p in PARKS],
            "source": SOURCE,
        },
        geometry=[_park_polygon(p[3], p[4]) for p in PARKS],
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(
        parks.set_geometry(parks.representative_point()), districts, predicate="within"
    )
    mismatch = joined[joined["district_adcode"] != joined["adcode"]]
    assert len(joined) == len(parks) and mismatch.empty, mismatch

    site_rows = []
    for p_id, zh, en, lon, lat, _adcode, _sectors, emphasis in PARKS:
        n_sites = 6
        for k in range(n_sites):
            gx, gy = k % 3, k // 3
            x = lon - 0.0045 + 0.0045 * gx + rng.uniform(-0.0008, 0.0008)
            y = lat - 0.003 + 0.006 * gy + rng.uniform(-0.0008, 0.0008)
            office = float(rng.choice([2000, 3000, 4000, 6000, 8000]))
            lab = float(rng.choice([0, 2000, 3000, 5000, 6000, 8000, 10000]))
            heavy = (
                float(rng.choice([3000, 5000, 8000]))
                if emphasis == "heavy" and k % 2 == 0
                else float(rng.choice([0, 0, 1500]))
            )
            hazard = (
                float(rng.choice([1000, 1500, 2500]))
                if emphasis == "hazard" and k % 2 == 1
                else float(rng.choice([0, 0, 500]))
            )
            site_rows.append(
                {
                    "site_id": f"S{len(site_rows) + 1:04d}",
                    "park_id": p_id,
                    "name_zh": f"{zh}{k + 1}号楼（示意）",
                    "name_en": f"{en} Building {k + 1} (illustrative)",
                    "available_from": int(rng.choice([2026, 2026, 2027, 2027, 2028, 2029])),
                    "fitout_cost": float(round(rng.uniform(200, 1500), -1)),
                    "office_m2": office,
                    "lab_m2": lab,
                    "heavy_lab_m2": heavy,
                    "hazard_lab_m2": hazard,
                    "source": SOURCE,
                    "lon": round(x, 6),
                    "lat": round(y, 6),
                }
            )
    sites = pd.DataFrame(site_rows)

    used: set = set()
    inst_rows = []
    all_sectors = list(SECTOR_WORDS)
    for inst_type, count, zh_word, en_word in INSTITUTION_PLAN:
        for _ in range(count):
            zh, en = _name(rng, used)
            park = PARKS[rng.integers(len(PARKS))]
            sectors = list(rng.choice(park[6], size=min(2, len(park[6])), replace=False))
            accreditation = {
                "international_tic": "CNAS;CMA",
                "national_qi_centre": "CNAS;CMA",
                "state_tic": "CNAS;CMA",
                "private_tic": "CMA",
                "research_lab": "CNAS",
            }[inst_type]
            inst_rows.append(
                {
                    "inst_id": f"I{len(inst_rows) + 1:03d}",
                    "name_zh": f"{zh}{zh_word}（示意）",
                    "name_en": f"{en} {en_word} (illustrative)",
                    "inst_type": inst_type,
                    "sectors": ";".join(sectors),
                    "accreditation": accreditation,
                    "headcount": int(rng.integers(40, 900)),
                    "source": SOURCE,
                    "lon": round(park[3] + rng.uniform(-0.03, 0.03), 6),
                    "lat": round(park[4] + rng.uniform(-0.025, 0.025), 6),
                }
            )
    institutions = pd.DataFrame(inst_rows)

    clusters = pd.DataFrame(
        [
            {
                "cluster_id": f"K{i + 1:02d}",
                "name_zh": zh + "（示意）",
                "name_en": en + " (illustrative)",
                "sector": sector,
                "weight": weight,
                "source": SOURCE,
                "lon": lon,
                "lat": lat,
            }
            for i, (sector, zh, en, lon, lat, weight) in enumerate(CLUSTERS)
        ]
    )

    transport = pd.DataFrame(
        [
            {
                "stop_id": f"T{i + 1:02d}",
                "name_zh": zh,
                "name_en": en,
                "mode": mode,
                "source": "示意数据 illustrative (approximate positions)",
                "lon": lon,
                "lat": lat,
            }
            for i, (mode, zh, en, lon, lat) in enumerate(TRANSPORT)
        ]
    )

    cand_rows = []
    for tier, (count, (v_lo, v_hi), (s_lo, s_hi), zh_word, en_word) in TIER_PLAN.items():
        for _ in range(count):
            zh, en = _name(rng, used)
            main = str(rng.choice(all_sectors))
            sectors = [main]
            if rng.random() < 0.35:
                other = str(rng.choice([s for s in all_sectors if s != main]))
                sectors.append(other)
            scale = TIER_SCALE[tier] * rng.uniform(0.7, 1.3)
            need = [float(round(base * scale, -1)) for base in SECTOR_NEEDS[main]]
            sz, se = SECTOR_WORDS[main]
            cand_rows.append(
                {
                    "cand_id": f"C{len(cand_rows) + 1:04d}",
                    "name_zh": f"{zh}{sz}{zh_word}（示意）",
                    "name_en": f"{en} {se} {en_word} (illustrative)",
                    "tier": tier,
                    "sectors": ";".join(sectors),
                    "value": float(round(rng.uniform(v_lo, v_hi), 1)),
                    "subsidy": float(round(rng.uniform(s_lo, s_hi), -1)),
                    "ready_year": int(rng.choice([2026, 2027, 2027, 2028, 2029])),
                    "office_m2": need[0],
                    "lab_m2": need[1],
                    "heavy_lab_m2": need[2],
                    "hazard_lab_m2": need[3],
                    "stage": str(
                        rng.choice(
                            ["identified", "identified", "contacted", "contacted", "mou", "signed"]
                        )
                    ),
                    "source": SOURCE,
                }
            )
    candidates = pd.DataFrame(cand_rows)

    features = [
        {
            "type": "Feature",
            "properties": {k: row[k] for k in parks.columns if k != "geometry"},
            "geometry": json.loads(shapely.to_geojson(shapely.set_precision(row.geometry, 1e-7))),
        }
        for _, row in parks.iterrows()
    ]
    (out / "parks.geojson").write_text(
        json.dumps(
            {"type": "FeatureCollection", "name": "parks", "features": features},
            ensure_ascii=False,
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    for name, frame in (
        ("sites", sites),
        ("institutions", institutions),
        ("clusters", clusters),
        ("transport", transport),
        ("candidates", candidates),
    ):
        frame.to_csv(out / f"{name}.csv", index=False, encoding="utf-8", lineterminator="\n")
    print(
        f"parks {len(parks)}, sites {len(sites)}, institutions {len(institutions)}, "
        f"clusters {len(clusters)}, transport {len(transport)}, "
        f"candidates {len(candidates)} -> {out}"
    )


if __name__ == "__main__":
    build()
