"""Generate the deterministic sample data of the ``card_transactions`` project.

Run it from anywhere (standard library only, no numpy)::

    python data/generate.py

It rewrites, byte for byte identically on every run (``random.Random(42)``):

* ``data/users.csv``            ~2,000 card holders
* ``data/merchants.csv``        ~300 merchants (online merchants have no city)
* ``data/transactions.csv.gz``  ~50,000 card transactions, 2025-11-01 .. 2026-10-31
* ``data/chargebacks.csv``      disputes reported by card holders (the fraud labels)
* ``seeds/merchant_categories.csv``  MCC code -> category name and risk tier

The story behind the numbers, so that the features have something to find:

* Card holders shop at a few favourite merchants, more in November/December and at weekends;
  some of them have busy periods (travel, holidays) with many more transactions.
* About 1.8 % of transactions are fraud. Most fraud comes in bursts after a card is
  compromised: a couple of tiny "card testing" charges, then large online purchases at
  high-risk merchants the card holder never used before, often at night. A handful of
  merchants attract much more fraud than the rest.
* Fraud is only known when the card holder disputes it: ~93 % of fraud transactions get a
  ``fraud`` chargeback, days to weeks later. A few legitimate transactions get non-fraud
  disputes. Chargebacks reported after the extract date (2026-10-31) are not in the file.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

SEED = 42
START = datetime(2025, 11, 1)
END = datetime(2026, 11, 1)  # exclusive: the extract covers up to 2026-10-31 23:59:59
N_USERS = 2000
N_MERCHANTS = 300
LEGIT_TXNS_PER_DAY = 134.0  # the whole population; tuned for ~50k transactions a year
N_COMPROMISES = 135
N_SINGLE_FRAUDS = 110
TS_FORMAT = "%Y-%m-%d %H:%M:%S"

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent

# mcc, category, risk tier, typical amount in dollars, share of merchants, online share
CATEGORIES: list[tuple[int, str, str, float, float, float]] = [
    (5411, "grocery", "low", 55.0, 18, 0.05),
    (5812, "restaurants", "low", 38.0, 12, 0.02),
    (5814, "fast_food", "low", 12.0, 12, 0.05),
    (5541, "fuel", "low", 45.0, 8, 0.0),
    (5912, "pharmacy", "low", 25.0, 5, 0.05),
    (5311, "department_stores", "medium", 70.0, 5, 0.3),
    (5651, "clothing", "medium", 65.0, 5, 0.45),
    (5942, "books", "low", 22.0, 2, 0.5),
    (4121, "rideshare", "low", 18.0, 5, 1.0),
    (4814, "telecom", "low", 60.0, 2, 1.0),
    (4900, "utilities", "low", 90.0, 2, 1.0),
    (7832, "cinemas", "low", 24.0, 2, 0.3),
    (5815, "digital_media", "low", 12.0, 5, 1.0),
    (5816, "digital_games", "high", 25.0, 2, 1.0),
    (5732, "electronics", "high", 180.0, 3, 0.5),
    (5944, "jewelry", "high", 350.0, 1, 0.3),
    (4511, "airlines", "medium", 380.0, 1, 1.0),
    (7011, "hotels", "medium", 210.0, 2, 0.6),
    (7995, "gambling", "high", 60.0, 1, 1.0),
    (6051, "quasi_cash", "high", 150.0, 1, 1.0),
    (5999, "misc_retail", "medium", 40.0, 3, 0.4),
]
CAT_BY_MCC = {c[0]: c for c in CATEGORIES}
TRAVEL_MCCS = (4511, 7011, 5812, 4121)
CITIES = [
    "New York",
    "Los Angeles",
    "Chicago",
    "Houston",
    "Phoenix",
    "Philadelphia",
    "San Antonio",
    "San Diego",
    "Dallas",
    "Austin",
    "Seattle",
    "Denver",
    "Boston",
    "Miami",
]
NAME_PREFIXES = [
    "Blue",
    "North",
    "Sunny",
    "Metro",
    "Golden",
    "Green",
    "City",
    "Union",
    "Pioneer",
    "Harbor",
    "Maple",
    "Summit",
    "Urban",
    "River",
    "Oak",
    "Silver",
    "Bright",
    "Prime",
]
NAME_NOUNS = {
    "grocery": "Market",
    "restaurants": "Kitchen",
    "fast_food": "Burgers",
    "fuel": "Fuel",
    "pharmacy": "Pharmacy",
    "department_stores": "Department Store",
    "clothing": "Outfitters",
    "books": "Books",
    "rideshare": "Rides",
    "telecom": "Mobile",
    "utilities": "Power & Water",
    "cinemas": "Cinema",
    "digital_media": "Streaming",
    "digital_games": "Games",
    "electronics": "Electronics",
    "jewelry": "Jewelers",
    "airlines": "Air",
    "hotels": "Hotel",
    "gambling": "Casino",
    "quasi_cash": "Crypto Exchange",
    "misc_retail": "Goods",
}
# relative activity per hour of day for legitimate spending (0h .. 23h)
HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 5, 6, 8, 7, 6, 5, 5, 6, 8, 8, 6, 4, 3, 2]
MONTH_FACTOR = {11: 1.15, 12: 1.35, 1: 0.85, 2: 0.9, 7: 1.05, 8: 1.05}
DISPUTE_REASONS = [
    "product_not_received",
    "duplicate_charge",
    "not_as_described",
    "subscription_cancelled",
]


@dataclass
class User:
    """A card holder and the hidden parameters that drive their spending."""

    user_id: int
    signup_date: date
    birth_year: int | None
    home_city: str
    card_tier: str
    credit_limit: int
    rate: float  # expected legitimate transactions per day
    favourites: list[int]
    fav_weights: list[float]


@dataclass
class Merchant:
    """A merchant; ``fraud_magnet`` merchants attract most of the fraud."""

    merchant_id: int
    name: str
    mcc: int
    city: str | None
    onboarded_date: date
    fraud_magnet: bool = False


@dataclass
class Txn:
    """One card transaction before ids are assigned."""

    user_id: int
    merchant_id: int
    ts: datetime
    amount_cents: int
    channel: str
    is_fraud: bool


def make_merchants(rng: random.Random) -> list[Merchant]:
    """Merchants spread over categories; online-only merchants have no city."""
    weights = [c[4] for c in CATEGORIES]
    mccs = [c[0] for c in CATEGORIES]  # every category has at least one merchant
    mccs += rng.choices(mccs, weights=weights, k=N_MERCHANTS - len(mccs))
    rng.shuffle(mccs)
    merchants, names = [], set()
    for i, mcc in enumerate(mccs, start=1):
        category = CAT_BY_MCC[mcc][1]
        name = f"{rng.choice(NAME_PREFIXES)} {NAME_NOUNS[category]}"
        while name in names:
            name = f"{name} {rng.randint(2, 99)}"
        names.add(name)
        online_only = CAT_BY_MCC[mcc][5] >= 1.0
        city = None if online_only or rng.random() < 0.02 else rng.choice(CITIES)
        onboarded = date(2015, 1, 1) + timedelta(days=rng.randint(0, 4200))
        merchants.append(Merchant(i, name, mcc, city, onboarded))
    risky = [m for m in merchants if CAT_BY_MCC[m.mcc][2] != "low"]
    for m in rng.sample(risky, 6):
        m.fraud_magnet = True
    return merchants


def make_users(rng: random.Random, merchants: list[Merchant]) -> list[User]:
    """Card holders with a home city, a card tier and a set of favourite merchants."""
    users = []
    for uid in range(1, N_USERS + 1):
        if rng.random() < 0.85:
            signup = date(2017, 1, 1) + timedelta(days=rng.randint(0, 3225))
        else:
            signup = START.date() + timedelta(days=rng.randint(0, 340))
        tier = rng.choices(["standard", "gold", "platinum"], weights=[70, 22, 8])[0]
        limit = {"standard": 2000, "gold": 8000, "platinum": 20000}[tier]
        limit = int(limit * rng.choice([0.5, 0.75, 1, 1, 1.5, 2]))
        birth = None if rng.random() < 0.03 else rng.randint(1950, 2005)
        home = rng.choice(CITIES)
        local = [m for m in merchants if m.city == home]
        online = [m for m in merchants if m.city is None]
        favourites = rng.sample(local, min(len(local), rng.randint(5, 14)))
        favourites += rng.sample(online, rng.randint(1, 4))
        rng.shuffle(favourites)
        fav_weights = [1.0 / (k + 1) for k in range(len(favourites))]
        rate = rng.lognormvariate(0, 0.8)
        users.append(
            User(
                uid,
                signup,
                birth,
                home,
                tier,
                limit,
                rate,
                [m.merchant_id for m in favourites],
                fav_weights,
            )
        )
    scale = LEGIT_TXNS_PER_DAY / sum(u.rate for u in users)
    for u in users:
        u.rate *= scale
    return users


def random_hour(rng: random.Random, weights: list[float]) -> timedelta:
    """A time of day drawn from hourly weights, to the second."""
    hour = rng.choices(range(24), weights=weights)[0]
    return timedelta(hours=hour, seconds=rng.randint(0, 3599))


def amount_cents(rng: random.Random, mcc: int, tier: str, factor: float = 1.0) -> int:
    """A lognormal amount around the category's typical ticket size."""
    tier_factor = {"standard": 1.0, "gold": 1.2, "platinum": 1.45}[tier]
    dollars = CAT_BY_MCC[mcc][3] * tier_factor * factor * rng.lognormvariate(0, 0.55)
    return max(50, round(dollars * 100))


def channel_for(rng: random.Random, mcc: int, online_bias: float = 0.0) -> str:
    """online / contactless / in_store, following the category's online share."""
    if rng.random() < min(1.0, CAT_BY_MCC[mcc][5] + online_bias):
        return "online"
    return "contactless" if rng.random() < 0.45 else "in_store"


def busy_periods(rng: random.Random, first: datetime) -> list[tuple[datetime, datetime]]:
    """Travel / holiday periods with 3-6x more spending (for ~8 % of users)."""
    if rng.random() >= 0.08:
        return []
    periods = []
    for _ in range(rng.randint(1, 3)):
        span = (END - first).days
        if span < 12:
            break
        start = first + timedelta(days=rng.randint(0, span - 11))
        periods.append((start, start + timedelta(days=rng.randint(3, 10))))
    return periods


def legit_txns(rng: random.Random, user: User, merchants: list[Merchant]) -> list[Txn]:
    """A Poisson process per user, thinned by season / weekday, boosted in busy periods."""
    first = max(START, datetime.combine(user.signup_date, datetime.min.time()))
    periods = busy_periods(rng, first)
    max_rate = user.rate * 1.35 * 1.15 * 6
    txns, t = [], first
    while True:
        t += timedelta(days=rng.expovariate(max_rate))
        if t >= END:
            return txns
        busy = any(a <= t < b for a, b in periods)
        factor = MONTH_FACTOR.get(t.month, 1.0) * (1.15 if t.weekday() >= 5 else 1.0)
        factor *= rng.uniform(3, 6) if busy else 1.0
        if rng.random() * 1.35 * 1.15 * 6 > factor:
            continue
        if busy and rng.random() < 0.6:
            mcc = rng.choice(TRAVEL_MCCS)
            merchant = rng.choice([m for m in merchants if m.mcc == mcc])
        elif rng.random() < 0.85:
            mid = rng.choices(user.favourites, weights=user.fav_weights)[0]
            merchant = merchants[mid - 1]
        else:
            merchant = rng.choice(merchants)
        day = datetime(t.year, t.month, t.day)
        ts = day + random_hour(rng, HOUR_WEIGHTS)
        if ts >= END or ts < first:
            continue
        txns.append(
            Txn(
                user.user_id,
                merchant.merchant_id,
                ts,
                amount_cents(rng, merchant.mcc, user.card_tier),
                channel_for(rng, merchant.mcc),
                False,
            )
        )


def fraud_burst(rng: random.Random, user: User, merchants: list[Merchant]) -> list[Txn]:
    """A compromised card: tiny card-testing charges, then large high-risk purchases."""
    first = max(START, datetime.combine(user.signup_date, datetime.min.time()))
    span = (END - first).total_seconds() - 3 * 86400
    if span <= 0:
        return []
    t = first + timedelta(seconds=rng.uniform(0, span))
    magnets = [m for m in merchants if m.fraud_magnet]
    risky = [m for m in merchants if CAT_BY_MCC[m.mcc][2] == "high"]
    testing = [m for m in merchants if m.mcc in (5815, 5816)]
    txns = []
    for _ in range(rng.choice([0, 1, 1, 2])):
        m = rng.choice(testing)
        txns.append(Txn(user.user_id, m.merchant_id, t, rng.randint(100, 500), "online", True))
        t += timedelta(minutes=rng.uniform(2, 90))
    for _ in range(rng.randint(2, 8)):
        m = rng.choice(magnets) if rng.random() < 0.55 else rng.choice(risky)
        txns.append(
            Txn(
                user.user_id,
                m.merchant_id,
                t,
                amount_cents(rng, m.mcc, user.card_tier, factor=1.8),
                channel_for(rng, m.mcc, online_bias=0.6),
                True,
            )
        )
        t += timedelta(hours=rng.expovariate(1 / 14))
    return [x for x in txns if x.ts < END]


def single_fraud(rng: random.Random, user: User, merchants: list[Merchant]) -> list[Txn]:
    """A one-off card-not-present fraud at any merchant, often at night."""
    first = max(START, datetime.combine(user.signup_date, datetime.min.time()))
    days = (END - first).days
    if days < 1:
        return []
    day = first.replace(hour=0, minute=0, second=0) + timedelta(days=rng.randint(0, days - 1))
    m = rng.choice(merchants)
    ts = max(first, day + random_hour(rng, [3] * 6 + [1] * 18))
    return [
        Txn(
            user.user_id,
            m.merchant_id,
            ts,
            amount_cents(rng, m.mcc, user.card_tier, factor=2.2),
            "online",
            True,
        )
    ]


def chargebacks(rng: random.Random, txns: list[tuple[int, Txn]]) -> list[tuple[int, datetime, str]]:
    """(txn_id, reported_at, reason) for disputed transactions reported before END."""
    out = []
    for txn_id, x in txns:
        if x.is_fraud and rng.random() < 0.93:
            delay = min(120.0, 1.0 + rng.lognormvariate(math.log(10), 0.7))
            reason = "fraud"
        elif not x.is_fraud and rng.random() < 0.003:
            delay, reason = rng.uniform(5, 75), rng.choice(DISPUTE_REASONS)
        else:
            continue
        reported = x.ts + timedelta(days=delay)
        reported = reported.replace(microsecond=0)
        if reported < END:
            out.append((txn_id, reported, reason))
    out.sort(key=lambda r: (r[1], r[0]))
    return out


def write_csv(path: Path, header: list[str], rows: list[list[object]], gz: bool = False) -> None:
    """Write a CSV with LF line ends; empty fields are NULLs. gzip without a timestamp."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    data = buf.getvalue().encode()
    if gz:
        with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as f:
            f.write(data)
    else:
        path.write_bytes(data)


def main() -> None:
    """Generate every file; print row counts."""
    rng = random.Random(SEED)
    merchants = make_merchants(rng)
    users = make_users(rng, merchants)
    txns: list[Txn] = []
    for u in users:
        txns += legit_txns(rng, u, merchants)
    for u in rng.choices(users, k=N_COMPROMISES):
        txns += fraud_burst(rng, u, merchants)
    for u in rng.choices(users, k=N_SINGLE_FRAUDS):
        txns += single_fraud(rng, u, merchants)
    for x in txns:
        x.ts = x.ts.replace(microsecond=0)
    txns.sort(key=lambda x: (x.ts, x.user_id, x.merchant_id, x.amount_cents))
    numbered = list(enumerate(txns, start=1))
    cbs = chargebacks(rng, numbered)

    write_csv(
        PROJECT / "seeds" / "merchant_categories.csv",
        ["mcc", "category", "risk_tier"],
        [[c[0], c[1], c[2]] for c in sorted(CATEGORIES)],
    )
    write_csv(
        HERE / "merchants.csv",
        ["merchant_id", "merchant_name", "mcc", "city", "onboarded_date"],
        [[m.merchant_id, m.name, m.mcc, m.city, m.onboarded_date.isoformat()] for m in merchants],
    )
    write_csv(
        HERE / "users.csv",
        ["user_id", "signup_date", "birth_year", "home_city", "card_tier", "credit_limit"],
        [
            [
                u.user_id,
                u.signup_date.isoformat(),
                u.birth_year,
                u.home_city,
                u.card_tier,
                u.credit_limit,
            ]
            for u in users
        ],
    )
    write_csv(
        HERE / "transactions.csv.gz",
        ["txn_id", "user_id", "merchant_id", "txn_ts", "amount_cents", "channel"],
        [
            [i, x.user_id, x.merchant_id, x.ts.strftime(TS_FORMAT), x.amount_cents, x.channel]
            for i, x in numbered
        ],
        gz=True,
    )
    write_csv(
        HERE / "chargebacks.csv",
        ["chargeback_id", "txn_id", "reported_at", "reason"],
        [[k, t, r.strftime(TS_FORMAT), reason] for k, (t, r, reason) in enumerate(cbs, 1)],
    )
    n_fraud = sum(x.is_fraud for x in txns)
    print(
        f"users={len(users)} merchants={len(merchants)} transactions={len(txns)} "
        f"fraud={n_fraud} ({n_fraud / len(txns):.2%}) chargebacks={len(cbs)}"
    )


if __name__ == "__main__":
    main()
