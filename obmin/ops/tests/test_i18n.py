"""The interface in Ukrainian beside English, and a catalog that cannot fall behind the code.

Pages are asked for in Ukrainian the two ways a visitor does it (the language switcher's POST
to /i18n/setlang/, or the browser's Accept-Language); English stays the default. The catalog
tests read the committed .po and .mo: every string the code marks must be translated, and the
.mo a fresh install uses must say exactly what the .po says.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partner_api.services import apikey_create

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
PO = LOCALE_DIR / "uk" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
UK = {"HTTP_ACCEPT_LANGUAGE": "uk"}


# --- a tiny .po reader ----------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # plural index (0 when singular)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> str:
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values()) and "fuzzy" not in self.flags


KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


def read_po(path: Path) -> list[Entry]:
    """Entries of a .po file, the header (msgid "") first; enough of the format for gettext's
    own output (makemessages, msgmerge, msgcat)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry is not None:
                entries.append(entry)
            entry, target = None, None
            continue
        if entry is None:
            entry = Entry()
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = KEYWORD.match(line)
        if match:
            keyword, index, text = match.groups()
            value = ast.literal_eval(text)
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                entry.msgstr[target[1]] = value
            else:
                target = (keyword, 0)
                setattr(entry, keyword, value)
        elif line.startswith('"') and target is not None:
            value = ast.literal_eval(line)
            if target[0] == "msgstr":
                entry.msgstr[target[1]] += value
            else:
                setattr(entry, target[0], getattr(entry, target[0]) + value)
    return entries


def messages(path: Path) -> list[Entry]:
    return [e for e in read_po(path) if e.msgid != "" and not e.obsolete]


PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[-#0 +]*\d*(?:\.\d+)?[sdrfi%]")
TAG = re.compile(r"</?[a-z]+[^>]*>")


# --- pages in Ukrainian ---------------------------------------------------------------------


def referred(direction, partner):
    exchange = exchange_create(direction=direction, amount_give=Decimal(100),
                               email="customer@example.org", account_get="acc",
                               partner_id=partner.pk)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    return exchange


@pytest.mark.django_db
def test_english_is_the_default(client, pm_btc):
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Exchange directions" in html and "Напрямки обміну" not in html
    html = client.get("/exchange/").content.decode()
    assert "Create exchange" in html and "You give" in html


@pytest.mark.django_db
def test_language_switcher_turns_the_site_ukrainian(client, pm_btc, pm_usdt):
    response = client.post("/i18n/setlang/", {"language": "uk", "next": "/exchange/"})
    assert response.status_code == 302 and response["Location"] == "/exchange/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "uk"

    html = client.get("/exchange/").content.decode()
    assert '<html lang="uk">' in html
    for text in ("Обмін", "Ви віддаєте", "Ви отримуєте", "Сума, яку ви віддаєте",
                 "Створити обмін", "Мова"):
        assert text in html, text
    # The script's words come from the catalog too.
    assert '"Курс"' in html and '"резерв"' in html and "ви віддаєте від {min} до {max}" in html
    assert "you give from {min}" not in html

    html = client.get("/").content.decode()
    for text in ("Напрямки обміну", "Курс", "Резерв", "Партнерам"):
        assert text in html, text
    # Each language is offered in its own name.
    assert ">English</option>" in html and ">Українська</option>" in html
    # Rates and amounts keep the decimal point customers copy into wallets (locale/uk/formats.py).
    assert "1 : 0.98" in html and "0,98" not in html

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Exchange directions" in client.get("/").content.decode()


@pytest.mark.django_db
def test_exchange_form_errors_are_ukrainian(client, pm_btc):
    client.post("/i18n/setlang/", {"language": "uk"})
    response = client.post("/exchange/", {"cur_from": "PMUSD", "cur_to": "BTC",
                                          "amount_give": "1", "email": "customer@example.org",
                                          "account_get": "bc1qwallet"})
    assert response.status_code == 400
    assert "Мінімум для цього напрямку — 10 PMUSD." in response.content.decode()

    response = client.post("/exchange/", {"cur_from": "PMUSD", "cur_to": "BTC",
                                          "amount_give": "100000",
                                          "email": "customer@example.org",
                                          "account_get": "bc1qwallet"})
    assert "Максимум для цього напрямку — 5000 PMUSD." in response.content.decode()


@pytest.mark.django_db
def test_exchange_page_and_its_status_in_ukrainian(client, pm_btc):
    exchange = exchange_create(direction=pm_btc, amount_give=Decimal(100),
                               email="customer@example.org", account_get="bc1qwallet")
    html = client.get(f"/exchange/{exchange.token}/", **UK).content.decode()
    for text in (f"Обмін #{exchange.pk}", "новий", "Надішліть 100 PMUSD, потім натисніть кнопку.",
                 "Оплату здійснено", "Історія"):
        assert text in html, text


@pytest.mark.django_db
def test_cabinet_login_in_ukrainian(client, alice):
    html = client.get("/cabinet/login/", **UK).content.decode()
    for text in ("Вхід для партнерів", "Електронна пошта", "Пароль", "Увійти",
                 "Стати партнером"):
        assert text in html, text
    assert "Забули пароль?" in html
    html = client.get("/cabinet/signup/", **UK).content.decode()
    assert "Надіслати посилання" in html and "Стати партнером" in html


@pytest.mark.django_db
def test_cabinet_dashboard_in_ukrainian(client, alice, pm_usdt):
    referred(pm_usdt, alice)
    client.force_login(alice.user)
    html = client.get("/cabinet/", **UK).content.decode()
    for text in ("Партнерська програма", "Ваше партнерське посилання", "Статистика · 30 днів",
                 "Переходи", "Унікальні переходи", "Залучені обміни", "Винагороди, USD",
                 "Успішні обміни", "Вийти"):
        assert text in html, text
    assert 'id="stat-successful">1<' in html

    html = client.get("/cabinet/exchanges/", **UK).content.decode()
    assert "Напрямок" in html and "успішний" in html
    html = client.get("/cabinet/payouts/", **UK).content.decode()
    assert "Як ви заробляєте" in html and "Мінімальна виплата, USD" in html


@pytest.mark.django_db
def test_partner_api_docs_in_ukrainian_with_english_wire_examples(client):
    html = client.get("/partners/api/", **UK).content.decode()
    assert "Як отримати ключ" in html
    # Field texts built at import time are translated when shown.
    assert "коли відвідувач перейшов за посиланням, секунди unix" in html
    # The error example is what api.php answers: English.
    assert "start_time: a whole number from 0 to 253402300799 is expected." in html


@pytest.mark.django_db
def test_partner_api_error_text_stays_english(client, alice):
    _key, raw = apikey_create(partner=alice)
    base = {"api_action": "pp", "api_key": raw}
    answer = client.get("/service/partner/api.php", {**base, "api_key": "nope",
                                                      "method": "get_info"}, **UK).json()
    assert answer["error"] == 1 and answer["error_text"] == "Unknown or revoked API key."
    answer = client.get("/service/partner/api.php",
                        {**base, "method": "add_payout", "method_id": "99", "account": "x"},
                        **UK).json()
    # A message shared with the cabinet (which shows it in Ukrainian).
    assert answer["error_text"] == "method_id: Unknown payout method: 99."
    answer = client.get("/service/partner/api.php",
                        {**base, "method": "get_links", "start_time": "yesterday"},
                        **UK).json()
    assert answer["error_text"].startswith("start_time: a whole number")


@pytest.mark.django_db
def test_admin_action_names_follow_the_operator_language(client, carol, pm_btc):
    exchange_create(direction=pm_btc, amount_give=Decimal(100), email="customer@example.org",
                    account_get="bc1qwallet")  # the action menu shows over a non-empty list
    client.force_login(carol)
    html = client.get("/admin/exchange/exchange/", **UK).content.decode()
    assert "Встановити статус: успішний" in html
    assert "Сума (віддає)" in html and "Винагорода партнера" in html  # column headers
    html = client.get("/admin/exchange/exchange/").content.decode()
    assert "Set status: success" in html


# --- the catalog ----------------------------------------------------------------------------


def test_catalog_has_no_untranslated_or_fuzzy_entries() -> None:
    header = read_po(PO)[0]
    assert header.msgid == "" and "fuzzy" not in header.flags
    assert "Language: uk\n" in header.msgstr[0]
    assert "nplurals=3;" in header.msgstr[0]
    entries = messages(PO)
    assert len(entries) > 400
    missing = [e.key for e in entries if not e.translated]
    assert not missing, f"untranslated or fuzzy in {PO.name}: {missing}"
    for e in entries:
        if e.msgid_plural is not None:
            assert sorted(e.msgstr) == [0, 1, 2], e.key


def test_translations_keep_placeholders_and_markup() -> None:
    for e in messages(PO):
        for index, text in e.msgstr.items():
            source = e.msgid if index == 0 or e.msgid_plural is None else e.msgid_plural
            if "python-format" in e.flags:
                assert Counter(PLACEHOLDER.findall(text)) == Counter(
                    PLACEHOLDER.findall(source)), e.key
            assert Counter(TAG.findall(text)) == Counter(TAG.findall(source)), e.key
    if shutil.which("msgfmt"):
        # GNU's own check of format strings and headers.
        subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(PO)], check=True,
                       capture_output=True)


def test_compiled_catalog_says_what_the_po_says() -> None:
    """The committed .mo (what a fresh install reads) is compiled from the committed .po."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    expected: dict[object, str] = {}
    for e in messages(PO):
        if e.msgid_plural is None:
            expected[e.key] = e.msgstr[0]
        else:
            expected.update({(e.key, i): text for i, text in e.msgstr.items()})
    # GNUTranslations keeps the catalog in `_catalog`: the only way to see every msgid in it.
    actual = {k: v for k, v in compiled._catalog.items() if k != ""}
    hint = "run: obmin compilemessages --ignore=.venv"
    assert not expected.keys() - actual.keys(), (
        f"in {PO.name}, not in {MO.name}: {sorted(map(str, expected.keys() - actual.keys()))}; "
        + hint)
    assert not actual.keys() - expected.keys(), (
        f"in {MO.name}, not in {PO.name}: {sorted(map(str, actual.keys() - expected.keys()))}; "
        + hint)
    changed = sorted(str(k) for k in expected if expected[k] != actual[k])
    assert not changed, f"{MO.name} translates these differently from {PO.name}: {changed}; {hint}"


@pytest.mark.skipif(not shutil.which("xgettext"),
                    reason="GNU gettext (xgettext) is needed to extract the marked strings")
def test_catalog_covers_every_marked_string(tmp_path, settings):
    """What makemessages would extract now, against what the committed .po translates.

    Run on a copy of the code, so the shared tree gets none of makemessages' temporary files.
    """
    source = tmp_path / "src"
    shutil.copytree(Path(settings.BASE_DIR), source / "obmin",
                    ignore=shutil.ignore_patterns("__pycache__", "locale", "tests", "*.pyc"))
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(source)
        call_command("makemessages", locale=["uk"], verbosity=0, stdout=StringIO(),
                     no_obsolete=True)
    extracted = {e.key for e in messages(tmp_path / "locale" / "uk" / "LC_MESSAGES"
                                         / "django.po")}
    translated = {e.key for e in messages(PO) if e.translated}
    missing = sorted(extracted - translated)
    assert not missing, (
        f"marked for translation but not translated in {PO}: {missing}\n"
        "run: obmin makemessages -l uk --ignore=.venv --ignore=bench --ignore=data, "
        "translate, then obmin compilemessages --ignore=.venv")
